"""Training batches for Mask R-CNN: checked, padded, fixed-shape arrays.

The model needs static shapes, so every image gets ``max_instances``
ground-truth slots: boxes (float32, pixels, the course convention of
:mod:`segtutor.boxes`), class ids (0 marks an empty slot) and full-size
masks. Bad input is caught here, before any tensor is made:

- an image **without instances** is fine: all its RoIs learn "background";
- an instance whose mask is **empty** (a box of zero area) is dropped, since
  box regression would take ``log(0)``; :func:`prepare_instances` reports how
  many it dropped;
- masks whose size differs from their image, more instances than
  ``max_instances``, and class ids outside ``1..num_classes`` raise a
  ``ValueError`` that says what to fix.

Examples
--------
>>> from segtutor.datasets import make_shapes
>>> batch = prepare_instances_from(make_shapes(3, size=64, seed=0), num_classes=3, max_instances=4)
>>> batch["images"].shape, batch["masks"].shape, batch["class_ids"].shape
((3, 64, 64, 3), (3, 4, 64, 64), (3, 4))
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import (ArgumentTypeError, describe, as_array, check_bool, check_finite, check_scalar, check_seed,
                         check_size_budget)
from ..boxes import masks_to_boxes


def _per_image(values, name: str) -> list:
    """A sequence with one entry per image (a list, tuple or array), as a list."""
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(
            f"{name} should be a list with one array per image, got {describe(values)}. "
            f"For one image, wrap its array: [{name}0]."
        )
    return list(values)

__all__ = ["prepare_instances", "prepare_instances_from", "training_dataset"]


def prepare_instances(images, masks, class_ids, *, num_classes: int, max_instances: int) -> dict:
    """Check and pad per-image instance annotations.

    Parameters
    ----------
    images : array, shape (N, H, W, 3)
        Floats in [0, 1].
    masks : sequence of N arrays, shape (K_i, H, W)
        Boolean (or 0/1) instance masks.
    class_ids : sequence of N arrays, shape (K_i,)
        Integers in ``1..num_classes``.
    num_classes : int
        Object classes, background excluded.
    max_instances : int
        Slots per image.

    Returns
    -------
    dict of ndarrays
        ``images`` (N, H, W, 3) float32, ``boxes`` (N, M, 4) float32,
        ``class_ids`` (N, M) int32, ``masks`` (N, M, H, W) uint8, and
        ``dropped`` (int): empty instances removed.

    Raises
    ------
    ValueError
        For mismatched sizes, too many instances or class ids out of range.
    """
    imgs = as_array(images, "images")
    if imgs.ndim != 4 or imgs.shape[-1] != 3 or not np.issubdtype(imgs.dtype, np.number):
        raise ValueError(f"images should be a numeric array of shape (N, H, W, 3), got shape {imgs.shape}.")
    num_classes = check_scalar(num_classes, "num_classes", integer=True, low=1)
    max_instances = check_scalar(max_instances, "max_instances", integer=True, low=1)
    masks, class_ids = _per_image(masks, "masks"), _per_image(class_ids, "class_ids")
    n, h, w = imgs.shape[:3]
    check_size_budget(n * max_instances * h * w, "max_instances", what="the padded masks")
    if len(masks) != n or len(class_ids) != n:
        raise ValueError(
            f"give one masks array and one class_ids array per image: {n} images, {len(masks)} masks, "
            f"{len(class_ids)} class_ids."
        )
    if imgs.size and (not np.all(np.isfinite(imgs)) or imgs.min() < 0 or imgs.max() > 1):
        raise ValueError("images should hold finite values in [0, 1]; divide uint8 images by 255.")
    out_masks = np.zeros((n, max_instances, h, w), np.uint8)
    out_ids = np.zeros((n, max_instances), np.int32)
    out_boxes = np.zeros((n, max_instances, 4), np.float32)
    dropped = 0
    for i, (m, c) in enumerate(zip(masks, class_ids)):
        m = check_finite(as_array(m, f"masks[{i}]"), f"masks[{i}]")
        c = as_array(c, f"class_ids[{i}]").reshape(-1)
        if m.ndim == 2 and m.size == 0:
            m = m.reshape(0, h, w)
        if m.ndim != 3 or m.shape[1:] != (h, w):
            raise ValueError(
                f"masks[{i}] has shape {m.shape} but image {i} is {h}x{w}; expected (K, {h}, {w}). "
                "Resize masks with the image (nearest neighbour), or check that they belong to this image."
            )
        if c.shape[0] != m.shape[0]:
            raise ValueError(f"image {i} has {m.shape[0]} masks but {c.shape[0]} class ids; give one per mask.")
        if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 1 or c.max() > num_classes):
            raise ValueError(
                f"class_ids[{i}] = {c.tolist()} should be integers in 1..{num_classes}; 0 is the background "
                "and is never annotated. Check num_classes or the labels."
            )
        keep = m.reshape(m.shape[0], h * w).any(axis=1)
        dropped += int((~keep).sum())
        m, c = m[keep].astype(bool), c[keep]
        if m.shape[0] > max_instances:
            raise ValueError(
                f"image {i} has {m.shape[0]} instances but max_instances={max_instances}; raise max_instances "
                "(in MaskRCNNConfig too) or split the image into tiles."
            )
        k = m.shape[0]
        out_masks[i, :k] = m
        out_ids[i, :k] = c
        out_boxes[i, :k] = masks_to_boxes(m) if k else np.zeros((0, 4))
    return {"images": imgs.astype(np.float32), "boxes": out_boxes, "class_ids": out_ids, "masks": out_masks,
            "dropped": dropped}


def prepare_instances_from(data, *, num_classes: int, max_instances: int) -> dict:
    """:func:`prepare_instances` for a :class:`segtutor.datasets.ShapesData`-like object."""
    if not all(hasattr(data, k) for k in ("images", "masks", "class_ids")):
        raise ArgumentTypeError(
            f"data should have images, masks and class_ids, as make_shapes() gives, got {describe(data)}."
        )
    return prepare_instances(data.images, data.masks, data.class_ids, num_classes=num_classes,
                             max_instances=max_instances)


def training_dataset(batch: dict, *, batch_size: int = 8, seed: int = 0, flip: bool = True):
    """An endless, shuffled ``tf.data.Dataset`` of fixed-size batches.

    Parameters
    ----------
    batch : dict from :func:`prepare_instances`
    batch_size : int
    seed : int
        Shuffling and flipping seed.
    flip : bool
        Random horizontal flips (images, masks and boxes together).

    Returns
    -------
    tf.data.Dataset
        Elements are dicts ``images``, ``boxes``, ``class_ids``, ``masks``
        (float32 masks), batches of exactly ``batch_size``.
    """
    tf = _backend.tensorflow()

    keys = ("images", "boxes", "class_ids", "masks")
    if not isinstance(batch, dict) or not all(k in batch for k in keys):
        raise ArgumentTypeError(
            f"batch should be the dict that prepare_instances() returns (keys {list(keys)}), got {describe(batch)}."
        )
    if not all(isinstance(batch[k], np.ndarray) for k in keys) or batch["images"].ndim != 4 or any(
            batch[k].shape[0] != batch["images"].shape[0] for k in keys):
        raise ValueError("batch should hold arrays with one entry per image, as prepare_instances() makes them; "
                         "make it again with prepare_instances().")
    n = batch["images"].shape[0]
    batch_size = check_scalar(batch_size, "batch_size", integer=True, low=1)
    seed = check_seed(seed)
    flip = check_bool(flip, "flip")
    if n < batch_size:
        raise ValueError(f"{n} images cannot fill a batch of {batch_size}; make more images or lower batch_size.")
    width = batch["images"].shape[2]
    # Images travel as uint8 (a quarter of the memory: 2,000 images of 128 x 128 take 98 MB instead of 393 MB)
    # and become floats again per batch; the rounding, at most 1/510, is far below the images' own noise.
    arrays = {k: batch[k] for k in ("boxes", "class_ids", "masks")}
    arrays["images"] = np.round(batch["images"] * 255).astype(np.uint8)
    ds = tf.data.Dataset.from_tensor_slices(arrays)
    ds = ds.shuffle(min(n, 4096), seed=seed, reshuffle_each_iteration=True).repeat()

    def augment(item, flip_seed):
        masks = tf.cast(item["masks"], tf.float32)
        images, boxes = tf.cast(item["images"], tf.float32) / 255.0, item["boxes"]
        if flip:
            do = tf.random.stateless_uniform([], seed=flip_seed) < 0.5
            flipped = tf.stack([boxes[:, 0], width - boxes[:, 3], boxes[:, 2], width - boxes[:, 1]], axis=1)
            # Padded slots keep their zero boxes.
            flipped = tf.where(item["class_ids"][:, None] > 0, flipped, 0.0)
            images = tf.cond(do, lambda: images[:, ::-1], lambda: images)
            masks = tf.cond(do, lambda: masks[:, :, ::-1], lambda: masks)
            boxes = tf.cond(do, lambda: flipped, lambda: boxes)
        return {"images": images, "boxes": boxes, "class_ids": item["class_ids"], "masks": masks}

    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    ds = tf.data.Dataset.zip((ds, seeds)).map(lambda item, s: augment(item, tf.cast(s, tf.int32)),
                                              num_parallel_calls=2)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)
