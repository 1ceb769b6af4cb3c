"""Bounding boxes: the one box convention of the whole course.

Convention
----------
A box is ``(y1, x1, y2, x2)`` in pixel coordinates, with ``y1``/``x1``
inclusive and ``y2``/``x2`` **exclusive**, like a Python slice:
``image[y1:y2, x1:x2]`` is exactly the boxed region. A box covering rows
3, 4 and 5 has ``y1 = 3`` and ``y2 = 6``, so its height is ``y2 - y1 = 3``.
Arrays of boxes have shape (N, 4) and dtype int32 (or float32 after
resizing). This is the order of Matterport's Mask R-CNN ``utils.py``
(rows first, as NumPy indexes), with the exclusive end of Python slices.

COCO stores boxes as ``[x, y, width, height]``; :func:`boxes_to_xywh` and
:func:`xywh_to_boxes` convert between the two.

Examples
--------
>>> import numpy as np
>>> mask = np.zeros((1, 8, 8), bool)
>>> mask[0, 3:6, 2:4] = True
>>> masks_to_boxes(mask)
array([[3, 2, 6, 4]], dtype=int32)
>>> int(box_area(masks_to_boxes(mask))[0])
6
"""

from __future__ import annotations

import numpy as np

from ._validate import ArgumentTypeError, as_array, check_mask

__all__ = ["masks_to_boxes", "box_area", "box_iou", "boxes_to_xywh", "xywh_to_boxes"]

_MAX_COORD = 2**31


def check_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Check boxes ``(y1, x1, y2, x2)`` (one box or an (N, 4) array) and return them as an (N, 4) array."""
    arr = as_array(boxes, name)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f"{name} should have shape (N, 4) as (y1, x1, y2, x2), got shape {arr.shape}. "
            "For a single box, pass [[y1, x1, y2, x2]]."
        )
    if not (np.issubdtype(arr.dtype, np.number)) or arr.dtype == bool:
        raise ArgumentTypeError(f"{name} should be numeric, got dtype {arr.dtype}.")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; every coordinate must be finite.")
    if np.issubdtype(arr.dtype, np.integer):
        # Coordinates beyond 2**31 belong to no image, and below that bound
        # int64 widths and areas cannot overflow (uint8 and int32 ones would).
        if arr.size and (arr.max() > _MAX_COORD or (arr.dtype.kind == "i" and arr.min() < -_MAX_COORD)):
            raise ValueError(
                f"{name} has a coordinate beyond +-{_MAX_COORD:,}, far outside any image; got range "
                f"[{arr.min()}, {arr.max()}]. Check the units (pixels) and the box format (y1, x1, y2, x2)."
            )
        arr = arr.astype(np.int64)
    elif arr.size and np.abs(arr).max() > _MAX_COORD:
        # Float coordinates too: areas of boxes near 1e200 overflow to inf and every IoU becomes 0.
        raise ValueError(
            f"{name} has a coordinate beyond +-{_MAX_COORD:,}, far outside any image; got range "
            f"[{arr.min()}, {arr.max()}]. Check the units (pixels) and the box format (y1, x1, y2, x2)."
        )
    return arr


def masks_to_boxes(masks) -> np.ndarray:
    """Return the tight bounding box of each mask.

    Parameters
    ----------
    masks : array of bool, shape (N, H, W)
        One binary mask per instance (a single (H, W) mask is also accepted
        and treated as N = 1). An (H, W, 1) array is refused: it would read
        as H masks of W x 1 pixels; drop the channel axis with ``mask[..., 0]``.

    Returns
    -------
    boxes : ndarray of int32, shape (N, 4)
        ``(y1, x1, y2, x2)`` with exclusive ``y2``/``x2``. An empty mask gives
        ``(0, 0, 0, 0)``, a box of area 0.

    Examples
    --------
    >>> m = np.zeros((2, 5, 5), bool)
    >>> m[0, 1:3, 2:5] = True
    >>> masks_to_boxes(m)
    array([[1, 2, 3, 5],
           [0, 0, 0, 0]], dtype=int32)
    """
    arr = check_mask(masks, "masks", ndim=(2, 3))
    if arr.ndim == 3 and arr.shape[-1] == 1 and arr.shape[0] > 1:
        raise ValueError(
            f"masks has shape {arr.shape}, which looks like one (H, W, 1) mask with a channel axis; "
            "expected (N, H, W) or (H, W). Drop the channel axis: masks[..., 0]."
        )
    if arr.dtype != bool and arr.size and (arr.min() < 0 or arr.max() > 1):
        # A label image or a negated mask would otherwise be read as "nonzero" and boxed whole.
        raise ValueError(
            f"masks should be binary (bool, or 0 and 1), got values from {arr.min()} to {arr.max()}. "
            "For a label image, make one mask per object: np.stack([labels == k for k in range(1, labels.max() + 1)])."
        )
    if arr.ndim == 2:
        arr = arr[None]
    arr = arr.astype(bool, copy=False)
    n, h, w = arr.shape
    boxes = np.zeros((n, 4), np.int32)
    if n == 0 or h == 0 or w == 0:  # no pixels: every mask is empty
        return boxes
    rows = arr.any(axis=2)  # (N, H)
    cols = arr.any(axis=1)  # (N, W)
    present = rows.any(axis=1)
    # argmax finds the first True; on the reversed axis it finds the last.
    boxes[:, 0] = rows.argmax(axis=1)
    boxes[:, 1] = cols.argmax(axis=1)
    boxes[:, 2] = h - rows[:, ::-1].argmax(axis=1)
    boxes[:, 3] = w - cols[:, ::-1].argmax(axis=1)
    boxes[~present] = 0
    return boxes


def box_area(boxes) -> np.ndarray:
    """Return the area of each box in pixels.

    Parameters
    ----------
    boxes : array, shape (N, 4)
        ``(y1, x1, y2, x2)`` boxes.

    Returns
    -------
    area : ndarray, shape (N,)
        ``(y2 - y1) * (x2 - x1)``; inverted boxes (``y2 < y1``) count as 0.
        int64 for integer boxes of any width (uint8 and int32 included, so
        nothing wraps), float64 for float boxes.

    Examples
    --------
    >>> box_area([[0, 0, 2, 3], [5, 5, 5, 9]])
    array([6, 0])
    """
    b = check_boxes(boxes)
    if not np.issubdtype(b.dtype, np.integer):
        b = b.astype(np.float64)
    height = np.clip(b[:, 2] - b[:, 0], 0, None)
    width = np.clip(b[:, 3] - b[:, 1], 0, None)
    return height * width


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """Return the intersection over union of every pair of boxes.

    Parameters
    ----------
    boxes_a : array, shape (N, 4)
    boxes_b : array, shape (M, 4)
        ``(y1, x1, y2, x2)`` boxes.

    Returns
    -------
    iou : ndarray of float64, shape (N, M)
        ``iou[i, j]`` is |A_i ∩ B_j| / |A_i ∪ B_j|, and 0 where the union is
        empty (two zero-area boxes).

    Examples
    --------
    >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2]])
    array([[0.14285714, 1.        ]])
    """
    a = check_boxes(boxes_a, "boxes_a").astype(np.float64)
    b = check_boxes(boxes_b, "boxes_b").astype(np.float64)
    y1 = np.maximum(a[:, None, 0], b[None, :, 0])
    x1 = np.maximum(a[:, None, 1], b[None, :, 1])
    y2 = np.minimum(a[:, None, 2], b[None, :, 2])
    x2 = np.minimum(a[:, None, 3], b[None, :, 3])
    intersection = np.clip(y2 - y1, 0, None) * np.clip(x2 - x1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - intersection
    iou = np.zeros_like(intersection)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou


def boxes_to_xywh(boxes) -> np.ndarray:
    """Convert ``(y1, x1, y2, x2)`` boxes to COCO's ``[x, y, width, height]``.

    Parameters
    ----------
    boxes : array, shape (N, 4)

    Returns
    -------
    xywh : ndarray, shape (N, 4)
        int64 for integer boxes (so that a width never wraps), else the
        input's float dtype.

    Examples
    --------
    >>> boxes_to_xywh([[3, 2, 6, 4]])
    array([[2, 3, 2, 3]])
    """
    b = check_boxes(boxes)
    inverted = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise ValueError(
            f"boxes has {int(inverted.sum())} inverted box(es) (y2 < y1 or x2 < x1), e.g. row {i}: {b[i].tolist()}; "
            "COCO widths and heights cannot be negative. Boxes are (y1, x1, y2, x2): check the order."
        )
    return np.stack([b[:, 1], b[:, 0], b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]], axis=1)


def xywh_to_boxes(xywh) -> np.ndarray:
    """Convert COCO's ``[x, y, width, height]`` to ``(y1, x1, y2, x2)``.

    Parameters
    ----------
    xywh : array, shape (N, 4)

    Returns
    -------
    boxes : ndarray, shape (N, 4)
        int64 for integer input (uint8 250 + 10 is 260, not 4), else the
        input's float dtype. COCO boxes read from files are floats; round
        them yourself if you need integer pixel boxes.

    Raises
    ------
    ValueError
        If a width or height is negative.

    Examples
    --------
    >>> xywh_to_boxes([[2, 3, 2, 3]])
    array([[3, 2, 6, 4]])
    """
    b = check_boxes(xywh, "xywh")
    if b.size and (b[:, 2:] < 0).any():
        raise ValueError(
            "xywh has a negative width or height; expected COCO [x, y, width, height]. "
            "If these are (y1, x1, y2, x2) boxes already, you do not need to convert them."
        )
    return np.stack([b[:, 1], b[:, 0], b[:, 1] + b[:, 3], b[:, 0] + b[:, 2]], axis=1)
