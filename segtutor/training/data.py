"""The data of ``segtutor train``: loading, the split, and Mask R-CNN's batches as a pure function of the step.

A run that can be resumed at any step must be able to make batch ``s``
without replaying batches ``0 .. s-1``. The semantic models (U-Net,
DeepLabv3+) get theirs from the notebooks' batch maker,
:func:`segtutor.datasets.segmentation_dataset` with ``start_step``. Mask
R-CNN's batches are instance data (boxes and one mask per instance, and a
flip must move the boxes too), which that pipeline does not carry:
:func:`instance_chunk` makes them from :func:`batch_indices` and a flip plan
that depend only on ``(seed, step)``.

Examples
--------
>>> batch_indices(0, 5, 4, seed=0).tolist() == batch_indices(0, 5, 4, seed=0).tolist()
True
>>> train, val = split_items(10, 0.2, seed=0)
>>> len(train), len(val)
(8, 2)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .._validate import check_in_range, check_positive_int, check_seed
from .errors import TrainError

__all__ = ["BUILTIN_DATA", "load_training_data", "batch_indices", "split_items"]

BUILTIN_DATA = ("nuclei", "shapes")
MAX_IMAGE_SIZE = 1024


def _resize(image, size: int, order: int):
    from skimage.transform import resize

    if image.shape[:2] == (size, size):
        return image
    out = resize(image, (size, size) + image.shape[2:], order=order, preserve_range=True,
                 anti_aliasing=order > 0, mode="edge")
    return out.astype(image.dtype)


def load_training_data(data, *, image_size: int = 64, n_images: int = 64, seed: int = 0) -> dict:
    """Images, class masks and instances for training, from a built-in name or a path.

    Parameters
    ----------
    data : str or Path
        ``"nuclei"`` (``make_nuclei(vary=True)``, one class), ``"shapes"``
        (``make_shapes``, three classes), a folder with ``images/`` and
        ``masks/``, or a COCO ``.json`` file (read with
        :func:`segtutor.datasets.quality.load_checked`: bad items are left
        out and reported).
    image_size : int
        Every image is resized to ``image_size`` x ``image_size`` (masks with
        nearest-neighbour), so batches have one shape.
    n_images : int
        Built-in data only: how many images to make.
    seed : int
        Built-in data only: the generator's seed.

    Returns
    -------
    dict
        ``images`` (N, S, S, C) float32, ``masks`` (N, S, S) int32,
        ``instances`` list of (K, S, S) bool, ``class_ids`` list of (K,) int32,
        ``classes`` tuple (background first), ``name`` str, ``report`` (a
        :class:`~segtutor.datasets.quality.QualityReport` or None) and
        ``fingerprint``, a hash of the arrays.

    Raises
    ------
    TrainError
        Missing path, unknown format, empty data set, or fewer than 2 clean images.
    """
    try:
        image_size = check_positive_int(image_size, "image_size", minimum=32)
        n_images = check_positive_int(n_images, "n_images", minimum=2)
        seed = check_seed(seed)
    except ValueError as exc:
        raise TrainError(str(exc)) from None
    if image_size > MAX_IMAGE_SIZE or image_size % 16:
        raise TrainError(f"image_size (--image-size) should be a multiple of 16 from 32 to {MAX_IMAGE_SIZE}, "
                         f"got {image_size}.")
    if n_images > 10_000:
        raise TrainError(f"n_images (--n-images) should be at most 10000, got {n_images}.")
    report = None
    if isinstance(data, str) and not data.strip():  # Path("") would silently mean the current folder
        raise TrainError(f"--data should be {' or '.join(BUILTIN_DATA)}, a folder or a COCO .json file, got {data!r}.")
    if isinstance(data, str) and data in BUILTIN_DATA:
        if data == "nuclei":
            from ..datasets import make_nuclei
            from ..models.pretrained import normalise_percentile

            made = make_nuclei(n_images, size=image_size, vary=True, seed=seed)
            images = np.stack([normalise_percentile(im) for im in made.images])[..., None].astype(np.float32)
            masks = np.asarray(made.masks, np.int32)
            instances, class_ids = [], []
            for lab in made.labels:
                ids = np.arange(1, int(lab.max()) + 1)
                instances.append(lab[None] == ids[:, None, None])
                class_ids.append(np.ones(len(ids), np.int32))
            classes = ("background", "nucleus")
        else:
            from ..datasets import make_shapes

            made = make_shapes(n_images, size=image_size, seed=seed)
            images, masks = made.images.astype(np.float32), made.semantic_masks().astype(np.int32)
            instances, class_ids, classes = list(made.masks), list(made.class_ids), tuple(made.class_names)
        name = data
    else:
        from ..datasets.quality import load_checked

        if not isinstance(data, (str, Path)):
            raise TrainError(f"--data should be {' or '.join(BUILTIN_DATA)}, a folder or a COCO .json file, "
                             f"got {data!r}.")
        try:
            checked, report = load_checked(data)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            raise TrainError(str(exc)) from None
        if len(checked) < 2:
            raise TrainError(f"{data} has {len(checked)} usable image(s) after the quality check "
                             f"({report.n_problems} problem(s): {', '.join(sorted(report.kinds())) or 'none'}); "
                             "training needs at least 2 (one for validation).")
        images = np.stack([_resize(im, image_size, 1) for im in checked.images]).astype(np.float32)
        masks = np.stack([_resize(m, image_size, 0) for m in checked.masks]).astype(np.int32)
        instances, class_ids = [], []
        for inst, ids in zip(checked.instances, checked.class_ids):
            resized = np.stack([_resize(m.astype(np.uint8), image_size, 0) > 0 for m in inst]) if len(inst) \
                else np.zeros((0, image_size, image_size), bool)
            keep = resized.any(axis=(1, 2))
            instances.append(resized[keep])
            class_ids.append(np.asarray(ids, np.int32)[keep])
        classes, name = tuple(checked.classes), str(data)
    digest = hashlib.sha256()
    for array in (images, masks):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"images": images, "masks": masks, "instances": instances, "class_ids": class_ids, "classes": classes,
            "name": name, "report": report, "fingerprint": digest.hexdigest()[:16]}


def split_items(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices (sorted, disjoint, at least one of each) of ``n`` items.

    Examples
    --------
    >>> [a.tolist() for a in split_items(4, 0.5, seed=0)]
    [[1, 2], [0, 3]]
    """
    n = check_positive_int(n, "n", minimum=2)
    val_fraction = check_in_range(val_fraction, "val_fraction", 0.01, 0.9)
    seed = check_seed(seed)
    order = np.random.default_rng([seed, 7]).permutation(n)
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """Which training items batch ``step`` holds: a pure function of its arguments.

    Items are visited in a fresh random order each epoch (every item once per
    epoch), and batches run on across epoch ends, so resuming at any step
    needs nothing but the step number.

    Examples
    --------
    >>> batch_indices(0, 5, 4, seed=0).tolist() == batch_indices(0, 5, 4, seed=0).tolist()
    True
    >>> sorted(np.concatenate([batch_indices(s, 6, 3, seed=1) for s in (0, 1)]).tolist())
    [0, 1, 2, 3, 4, 5]
    """
    step = check_positive_int(step, "step", minimum=0)
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    if n > 100_000_000 or batch_size > 100_000 or step > 10**12:
        raise ValueError(f"n, batch_size and step should be at most 1e8, 1e5 and 1e12, got {n}, {batch_size}, {step}.")
    flat = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, positions = flat // n, flat % n
    out = np.empty(batch_size, np.int64)
    for epoch in np.unique(epochs):
        order = np.random.default_rng([seed, 1, int(epoch)]).permutation(n)
        out[epochs == epoch] = order[positions[epochs == epoch]]
    return out


def augment_plan(step: int, batch_size: int, seed: int) -> np.ndarray:
    """(B, 3) ints: flip left-right, flip up-down, quarter turns, per item of batch ``step``.

    :func:`instance_chunk` reads the first column only (Mask R-CNN trains on left-right flips).
    """
    rng = np.random.default_rng([seed, 2, step])
    return np.stack([rng.integers(0, 2, batch_size), rng.integers(0, 2, batch_size),
                     rng.integers(0, 4, batch_size)], axis=1)


def instance_chunk(prepared: dict, start: int, n_steps: int, batch_size: int, seed: int) -> dict:
    """The Mask R-CNN arrays of batches ``start .. start + n_steps - 1`` (horizontal flips, boxes follow)."""
    parts = {k: [] for k in ("images", "boxes", "class_ids", "masks")}
    width = prepared["images"].shape[2]
    for step in range(start, start + n_steps):
        idx = batch_indices(step, len(prepared["images"]), batch_size, seed)
        for i, (lr, _, _) in zip(idx, augment_plan(step, batch_size, seed)):
            image, masks, boxes = prepared["images"][i], prepared["masks"][i], prepared["boxes"][i]
            if lr:  # horizontal flips only, as in the course's Mask R-CNN training (boxes follow)
                image, masks = image[:, ::-1], masks[:, :, ::-1]
                flipped = np.stack([boxes[:, 0], width - boxes[:, 3], boxes[:, 2], width - boxes[:, 1]], axis=1)
                boxes = np.where(prepared["class_ids"][i][:, None] > 0, flipped, 0.0)
            parts["images"].append(image)
            parts["masks"].append(masks)
            parts["boxes"].append(boxes)
            parts["class_ids"].append(prepared["class_ids"][i])
    return {"images": np.ascontiguousarray(np.stack(parts["images"]), np.float32),
            "boxes": np.stack(parts["boxes"]).astype(np.float32),
            "class_ids": np.stack(parts["class_ids"]).astype(np.int32),
            "masks": np.ascontiguousarray(np.stack(parts["masks"])).astype(np.uint8)}
