"""Anchors: the reference boxes that the RPN scores and refines.

At every position of a feature map of stride ``s`` (one cell covers ``s x s``
input pixels), the Region Proposal Network of Faster R-CNN (Ren et al. 2015)
places ``len(ratios)`` anchors centred on the cell. With a feature pyramid
(Lin et al. 2017) each level gets one anchor size, proportional to its
stride, so small objects are matched on fine maps and large ones on coarse
maps. An anchor of size ``a`` and ratio ``r = width / height`` has area
``a**2``: height ``a / sqrt(r)``, width ``a * sqrt(r)``.

Examples
--------
>>> a = level_anchors(8, 8, size=4, ratios=[1.0])   # a 1x1 map of stride 8
>>> a
array([[2., 2., 6., 6.]], dtype=float32)
>>> pyramid_anchors(128, sizes=(16, 32, 64), strides=(4, 8, 16), ratios=(0.5, 1, 2)).shape
(4032, 4)
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import ArgumentTypeError, check_size_budget

__all__ = ["level_anchors", "pyramid_anchors", "anchor_level_slices"]


# The most anchors one call makes: 4032 at 128 x 128, about 400,000 for a 1024 x 1024 image on
# three levels; a typo (an extra zero, a stride of 0.001) is far above and would allocate gigabytes.
MAX_ANCHORS = 1 << 24


def _positive(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} should be a positive number, got {type(value).__name__} {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} should be a positive finite number, got {value!r}.")
    return float(value)


def _image_size(image_size) -> tuple[int, int]:
    """``image_size`` as (H, W) positive integers: an int, or a pair of ints."""
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, (bool, np.bool_)):
        image_size = (image_size, image_size)
    if isinstance(image_size, (str, bytes)) or not hasattr(image_size, "__len__") or len(image_size) != 2:
        raise ArgumentTypeError(
            f"image_size should be an integer or a pair (height, width) of integers, such as 128 or (128, 96); "
            f"got {type(image_size).__name__} {image_size!r}."[:200]
        )
    out = []
    for v in image_size:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ArgumentTypeError(f"image_size should hold integers (pixels), got {image_size!r}."[:200])
        if v < 1:
            raise ValueError(f"image_size should be positive, got {image_size!r}.")
        out.append(int(v))
    return out[0], out[1]


def _ratios(ratios) -> np.ndarray:
    try:
        r = np.asarray(ratios, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"ratios should be positive numbers (width / height), such as (0.5, 1, 2); got {ratios!r}."[:200]
        ) from None
    if isinstance(ratios, (str, bytes)) or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"ratios should be positive numbers (width / height), such as (0.5, 1, 2); got {ratios!r}.")
    return r


def _levels(values, name: str) -> tuple:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ArgumentTypeError(f"{name} should be a sequence with one number per pyramid level, got {values!r}."[:200])
    return tuple(values)


_MAX_ANCHOR_SIZE = 1 << 20  # pixels; the course's anchors are 8-256


def level_anchors(image_size, stride, size, ratios=(0.5, 1.0, 2.0)) -> np.ndarray:
    """Anchors of one pyramid level, in the order (row, column, ratio).

    Parameters
    ----------
    image_size : int or (int, int)
        Input image height and width in pixels.
    stride : int
        Input pixels per feature-map cell; the map has ``ceil(H / stride)``
        rows.
    size : float
        Anchor side for ratio 1, in pixels (the square root of its area).
    ratios : sequence of float
        Width / height of the anchors placed at every cell.

    Returns
    -------
    anchors : ndarray of float32, shape (rows * cols * len(ratios), 4)
        ``(y1, x1, y2, x2)``, centred on the cell centres
        ``((i + 0.5) * stride, (j + 0.5) * stride)``. Anchors may reach past
        the image border; they are not clipped, as in the paper.

    Examples
    --------
    >>> level_anchors(16, 8, 8, ratios=[2.0])[:2].round(2)
    array([[ 1.17, -1.66,  6.83,  9.66],
           [ 1.17,  6.34,  6.83, 17.66]], dtype=float32)
    """
    h, w = _image_size(image_size)
    stride = _positive(stride, "stride")
    size = _positive(size, "size")
    if size > _MAX_ANCHOR_SIZE:  # boxes that large are outside every image (and box checks refuse them)
        raise ValueError(f"size should be at most {_MAX_ANCHOR_SIZE:,} pixels, got {size:g}; "
                         "anchor sizes are about the objects' sizes, e.g. 32.")
    r = _ratios(ratios)
    rows, cols = int(np.ceil(h / stride)), int(np.ceil(w / stride))
    check_size_budget(rows * cols * r.size, "image_size / stride", limit=MAX_ANCHORS, what="the anchor count")
    cy = (np.arange(rows) + 0.5) * stride
    cx = (np.arange(cols) + 0.5) * stride
    heights = size / np.sqrt(r)
    widths = size * np.sqrt(r)
    cy, cx, hh = np.meshgrid(cy, cx, heights, indexing="ij")
    _, _, ww = np.meshgrid(np.arange(rows), np.arange(cols), widths, indexing="ij")
    boxes = np.stack([cy - hh / 2, cx - ww / 2, cy + hh / 2, cx + ww / 2], axis=-1)
    return boxes.reshape(-1, 4).astype(np.float32)


def pyramid_anchors(image_size, sizes=(16, 32, 64), strides=(4, 8, 16), ratios=(0.5, 1.0, 2.0)) -> np.ndarray:
    """Anchors of every pyramid level, finest level first.

    Parameters
    ----------
    image_size : int or (int, int)
    sizes : sequence of float
        One anchor size per level.
    strides : sequence of int
        The stride of each level (4, 8, 16 for P2-P4).
    ratios : sequence of float

    Returns
    -------
    anchors : ndarray of float32, shape (A, 4)
        The concatenation of :func:`level_anchors` per level; this order is
        the order of the RPN outputs.
    """
    sizes, strides = _levels(sizes, "sizes"), _levels(strides, "strides")
    sizes = tuple(_positive(v, "sizes") for v in sizes)
    strides = tuple(_positive(v, "strides") for v in strides)
    if len(sizes) != len(strides) or not sizes:
        raise ValueError(
            f"sizes and strides should have one entry per pyramid level, got {len(sizes)} sizes and "
            f"{len(strides)} strides."
        )
    return np.concatenate([level_anchors(image_size, s, a, ratios) for a, s in zip(sizes, strides)])


def anchor_level_slices(image_size, strides=(4, 8, 16), n_ratios: int = 3) -> list[slice]:
    """Where each level's anchors sit in :func:`pyramid_anchors`' output.

    Examples
    --------
    >>> anchor_level_slices(128)
    [slice(0, 3072, None), slice(3072, 3840, None), slice(3840, 4032, None)]
    """
    h, w = _image_size(image_size)
    strides = _levels(strides, "strides")
    if not strides:
        raise ValueError("strides should give one stride per pyramid level, such as (4, 8, 16); got none.")
    if isinstance(n_ratios, (bool, np.bool_)) or not isinstance(n_ratios, numbers.Integral):
        raise ArgumentTypeError(f"n_ratios should be an integer (anchors per cell), got {n_ratios!r}.")
    if n_ratios < 1:
        raise ValueError(f"n_ratios should be at least 1 (anchors per cell), got {n_ratios}.")
    out, start = [], 0
    for s in strides:
        s = _positive(s, "strides")
        n = int(np.ceil(h / s)) * int(np.ceil(w / s)) * int(n_ratios)
        out.append(slice(start, start + n))
        start += n
    return out
