"""Export predictions for other tools: COCO JSON with RLE masks, and PNG masks.

A model is only useful once its output leaves Python. Two formats cover most
tools:

- **COCO JSON** (Lin et al. 2014): one annotation per predicted object, its
  mask run-length encoded (RLE) and a ``score``. Annotation tools (CVAT,
  Label Studio) import it, and ``pycocotools`` scores it.
- **PNG masks**: one single-channel image per input image, holding a class
  id (or instance id) per pixel; every image library reads them.

COCO's RLE walks the mask **column by column** (Fortran order, the first
column top to bottom, then the next) and lists the lengths of alternating
runs, **starting with a run of 0s**, which is empty when the first pixel is
foreground. :func:`rle_counts` is this encoding written out in NumPy (and
Exercise 12.1); the files use ``pycocotools``' compressed form of it.

Examples
--------
>>> import numpy as np
>>> mask = np.array([[0, 1], [1, 1]], bool)
>>> rle_counts(mask).tolist()         # column-major: 0, 1 | 1, 1
[1, 3]
>>> bool((rle_decode(rle_counts(mask), mask.shape) == mask).all())
True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_text
from .._validate import as_array, check_mask, check_names, check_output_file, check_positive_int

__all__ = ["rle_counts", "rle_decode", "semantic_to_instances", "write_coco_predictions", "write_png_masks"]

_MAX_MASK_PIXELS = 100_000_000


def rle_counts(mask) -> np.ndarray:
    """COCO's uncompressed run-length encoding of a binary mask.

    Parameters
    ----------
    mask : array_like of bool or 0/1, shape (H, W)

    Returns
    -------
    ndarray of int64, shape (R,)
        Lengths of alternating runs of 0s and 1s in column-major order,
        starting with 0s (a leading 0 when the first pixel is 1). They sum to
        ``H * W``. ``{"size": [H, W], "counts": list(counts)}`` is what
        ``pycocotools.mask.frPyObjects`` reads.

    Examples
    --------
    >>> rle_counts(np.array([[1, 1], [0, 0]])).tolist()
    [0, 1, 1, 1, 1]
    """
    m = check_mask(mask, "mask", ndim=2)
    if m.size == 0:
        raise ValueError(f"mask is empty (shape {m.shape}); expected at least one pixel.")
    if not np.isin(m, (0, 1)).all():
        raise ValueError(f"mask should hold only 0 and 1 (or booleans), got values {np.unique(m)[:6].tolist()}; "
                         "encode one object at a time, e.g. labels == k.")
    flat = m.astype(bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(edges)
    if flat[0]:
        counts = np.concatenate([[0], counts])
    return counts.astype(np.int64)


def rle_decode(counts, shape) -> np.ndarray:
    """The inverse of :func:`rle_counts`: an (H, W) bool mask.

    Parameters
    ----------
    counts : array_like of int, shape (R,)
    shape : tuple (H, W)
    """
    c = as_array(counts, "counts")
    if c.ndim != 1 or not np.issubdtype(c.dtype, np.integer) or (c < 0).any():
        raise ValueError(f"counts should be a 1-D sequence of non-negative integers, got {np.asarray(counts)!r}"[:200])
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape should be (H, W), got {shape!r}.")
    h, w = (check_positive_int(s, "shape") for s in shape)
    if h * w > _MAX_MASK_PIXELS:
        raise ValueError(f"shape {shape} has over {_MAX_MASK_PIXELS:,} pixels.")
    if int(c.sum()) != h * w:
        raise ValueError(f"counts sum to {int(c.sum())} but shape {shape} has {h * w} pixels.")
    values = np.arange(c.size) % 2 == 1
    return np.repeat(values, c).reshape((h, w), order="F")


def semantic_to_instances(class_mask, n_classes: int):
    """Split a class-id mask into objects: the connected regions of each class.

    Parameters
    ----------
    class_mask : array_like of int, shape (H, W)
        0 background, 1..n_classes-1 classes (a U-Net's ``argmax``).
    n_classes : int
        Classes including the background.

    Returns
    -------
    masks : ndarray of bool, shape (K, H, W)
    class_ids : ndarray of int32, shape (K,)

    Notes
    -----
    Touching objects of one class become one object: semantic masks do not
    separate them (notebook 06 splits them with a watershed).

    Examples
    --------
    >>> masks, ids = semantic_to_instances(np.array([[1, 0, 1], [0, 0, 2]]), 3)
    >>> masks.shape, ids.tolist()
    ((3, 2, 3), [1, 1, 2])
    """
    from skimage.measure import label

    m = check_mask(class_mask, "class_mask", ndim=2)
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    if m.size and (m.min() < 0 or m.max() >= n_classes):
        raise ValueError(f"class_mask holds values outside 0..{n_classes - 1}: {np.unique(m)[:8].tolist()}.")
    masks, ids = [], []
    for c in np.unique(m[m > 0]).tolist():  # the classes present: n_classes may be large
        regions = label(m == c, connectivity=1)
        for r in range(1, int(regions.max()) + 1):
            masks.append(regions == r)
            ids.append(c)
    if not masks:
        return np.zeros((0, *m.shape), bool), np.zeros(0, np.int32)
    return np.stack(masks), np.array(ids, np.int32)


def write_coco_predictions(path, predictions, categories, *, names=None) -> dict:
    """Write predicted objects as a COCO file with compressed RLE masks and scores.

    Parameters
    ----------
    path : str or Path
        The ``.json`` file to write (atomically; the folder is created).
    predictions : sequence of dict
        One per image: ``masks`` (K, H, W) bool, ``class_ids`` (K,) ints in
        ``1..len(categories)``, optional ``scores`` (K,) in [0, 1] (default 1).
    categories : sequence of str
        Class names; a leading ``"background"`` is dropped.
    names : sequence of str, optional
        The images' file names (default ``000000.png``, ...).

    Returns
    -------
    dict
        The COCO content written: ``images``, ``annotations`` (each with
        ``segmentation`` RLE, ``bbox``, ``area``, ``score``) and ``categories``.
        ``pycocotools.coco.COCO(path)`` loads it, and its ``annotations`` list
        is also a valid results list for ``COCO.loadRes``.
    """
    from pycocotools import mask as mask_utils

    from ..boxes import boxes_to_xywh, masks_to_boxes

    path = check_output_file(path, "path")
    cats = check_names(categories, "categories")
    if cats[0] == "background":
        cats = cats[1:]
    if not cats:
        raise ValueError("categories names only the background; give one name per class id, e.g. ['cell'].")
    if isinstance(predictions, dict) or not hasattr(predictions, "__len__"):
        raise TypeError("predictions should be a list of dicts, one per image; wrap a single one as [prediction].")
    if names is not None:
        if not isinstance(names, (list, tuple, np.ndarray)):
            raise TypeError(f"names should be a list of file names, one per prediction, got {type(names).__name__}.")
        names = check_names(names, "names")
        if len(names) != len(predictions):
            raise ValueError(f"names has {len(names)} entries but there are {len(predictions)} predictions.")
    images, annotations = [], []
    for i, pred in enumerate(predictions):
        if not isinstance(pred, dict) or "masks" not in pred or "class_ids" not in pred:
            raise ValueError(f"predictions[{i}] should be a dict with 'masks' (K, H, W) and 'class_ids' (K,).")
        masks = check_mask(pred["masks"], f"predictions[{i}]['masks']", ndim=3).astype(bool)
        ids = np.asarray(pred["class_ids"]).reshape(-1)
        scores = np.ones(len(ids)) if pred.get("scores") is None else np.asarray(pred["scores"], float).reshape(-1)
        if not (len(ids) == len(scores) == masks.shape[0]):
            raise ValueError(f"predictions[{i}] has {masks.shape[0]} masks, {len(ids)} class_ids and "
                             f"{len(scores)} scores; give one of each per object.")
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 1 or ids.max() > len(cats)):
            raise ValueError(f"predictions[{i}]['class_ids'] should be integers in 1..{len(cats)}, got {ids.tolist()}.")
        if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 1).any():
            raise ValueError(f"predictions[{i}]['scores'] should be finite numbers in [0, 1].")
        h, w = masks.shape[1:]
        images.append({"id": i + 1, "file_name": names[i] if names else f"{i:06d}.png", "height": int(h),
                       "width": int(w)})
        keep = masks.any(axis=(1, 2))  # an empty mask has no box and no area
        boxes = boxes_to_xywh(masks_to_boxes(masks[keep])) if keep.any() else np.zeros((0, 4))
        for mask, class_id, score, box in zip(masks[keep], ids[keep], scores[keep], boxes):
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(class_id),
                                "segmentation": rle, "area": int(mask.sum()), "bbox": [float(v) for v in box],
                                "score": round(float(score), 6), "iscrowd": 0})
    content = {"info": {"description": "predictions written by segtutor.datasets.export.write_coco_predictions"},
               "images": images, "annotations": annotations,
               "categories": [{"id": k + 1, "name": n, "supercategory": ""} for k, n in enumerate(cats)]}
    try:
        atomic_write_text(path, json.dumps(content))
    except OSError as exc:
        raise ValueError(f"path: cannot write {str(path)!r} ({exc.strerror or exc}); "
                         "choose a folder you can write to.") from exc
    return content


def write_png_masks(folder, masks, names) -> list:
    """Write one single-channel PNG per mask (class or instance ids), 8-bit or 16-bit as needed.

    Parameters
    ----------
    folder : str or Path
        Created if needed.
    masks : sequence of array_like of int, each (H, W)
        Ids from 0 to 65535.
    names : sequence of str
        File stems (``"cat_01"`` writes ``cat_01.png``).

    Returns
    -------
    list of Path
        The files written. ``skimage.io.imread`` gives back the ids exactly.
    """
    from PIL import Image

    if not isinstance(folder, (str, Path)):
        raise TypeError(f"folder should be a folder path (str or Path), got {type(folder).__name__}.")
    if isinstance(names, str) or not hasattr(names, "__len__"):
        raise TypeError(f"names should be a list of file stems, got {names!r}.")
    if not hasattr(masks, "__len__") or len(masks) != len(names):
        raise ValueError(f"masks and names should have one entry per image; got {len(masks) if hasattr(masks, '__len__') else masks!r} "
                         f"and {len(names)}.")
    stems = [str(n) for n in names]
    if len(set(stems)) != len(stems):
        # The second PNG of a name would silently replace the first.
        twice = sorted({s for s in stems if stems.count(s) > 1})
        raise ValueError(f"names repeats {twice}; each mask needs its own file name.")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is a file, not a folder; choose another path.")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (mask, name) in enumerate(zip(masks, names)):
        m = check_mask(mask, f"masks[{i}]", ndim=2).astype(np.int64)
        if m.size == 0 or m.min() < 0 or m.max() > 65535:
            raise ValueError(f"masks[{i}] should hold ids from 0 to 65535 with at least one pixel.")
        name = str(name)
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"names[{i}] should be a plain file stem such as 'cat_01', got {name!r}.")
        dtype = np.uint8 if m.max() <= 255 else np.uint16
        path = folder / f"{name}.png"
        Image.fromarray(m.astype(dtype)).save(path)
        written.append(path)
    return written
