"""Box arithmetic for detection: IoU, delta encoding and decoding, clipping.

Boxes follow the course convention of :mod:`segtutor.boxes`: ``(y1, x1, y2,
x2)`` with exclusive ends, so an integer box is also a box in continuous
pixel-edge coordinates (pixel ``i`` spans ``[i, i + 1)``) and its height is
``y2 - y1``. Every function exists twice, in NumPy (for notebooks and tests)
and in TensorFlow (``*_tf``, for the model), with the same formulas.

A box is regressed from a reference box (an anchor or a proposal) as the
deltas of Faster R-CNN (Ren et al. 2015, eq. 2)::

    dy = (cy - cy_a) / h_a     dx = (cx - cx_a) / w_a
    dh = log(h / h_a)          dw = log(w / w_a)

each divided by a *variance* (0.1, 0.1, 0.2, 0.2). matterport's Mask R-CNN
scales the deltas of both stages this way, and so does this package;
Detectron2 applies the same scaling (as weights 10, 10, 5, 5) only in its
second-stage box head and leaves the RPN's deltas unscaled.

Examples
--------
>>> import numpy as np
>>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
>>> boxes = np.array([[2.0, 1.0, 12.0, 21.0]])
>>> deltas = encode_boxes(boxes, anchors)
>>> np.round(deltas, 3)
array([[2.   , 6.   , 0.   , 3.466]], dtype=float32)
>>> np.allclose(decode_boxes(deltas, anchors), boxes)
True
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _backend
from .._validate import ArgumentTypeError, check_scalar
from ..boxes import check_boxes, box_iou
from ._checks import float_tensor

__all__ = [
    "BOX_VARIANCES",
    "box_iou",
    "encode_boxes",
    "decode_boxes",
    "clip_boxes",
    "iou_tf",
    "encode_boxes_tf",
    "decode_boxes_tf",
    "clip_boxes_tf",
]

#: Divisors of (dy, dx, dh, dw), as in matterport's Mask R-CNN (both stages).
BOX_VARIANCES = (0.1, 0.1, 0.2, 0.2)

# exp() of a larger dh/dw would make a box 60 times its anchor: clamp, as Detectron does.
_MAX_LOG_SCALE = float(np.log(1000.0 / 16.0))


def _variances(variances) -> np.ndarray:
    try:
        v = np.asarray(variances, np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"variances should be 4 positive numbers (dy, dx, dh, dw), got {variances!r}."[:200]) from None
    if isinstance(variances, (str, bytes)) or v.shape != (4,) or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"variances should be 4 positive numbers (dy, dx, dh, dw), got {variances!r}.")
    return v


def encode_boxes(boxes, reference, variances=BOX_VARIANCES) -> np.ndarray:
    """Express ``boxes`` as deltas from ``reference`` boxes.

    Parameters
    ----------
    boxes, reference : array, shape (N, 4)
        ``(y1, x1, y2, x2)``; row ``i`` of ``boxes`` is encoded relative to
        row ``i`` of ``reference``.
    variances : 4 positive floats
        The deltas are divided by these.

    Returns
    -------
    deltas : ndarray of float32, shape (N, 4)
        ``(dy, dx, dh, dw)``.

    Raises
    ------
    ValueError
        If a box or reference box has zero or negative height or width:
        ``log(0)`` would give an infinite target. Drop empty instances first.

    Examples
    --------
    >>> encode_boxes([[0, 0, 10, 10]], [[0, 0, 10, 10]])
    array([[0., 0., 0., 0.]], dtype=float32)
    """
    b = check_boxes(boxes, "boxes").astype(np.float64)
    a = check_boxes(reference, "reference").astype(np.float64)
    if b.shape != a.shape:
        raise ValueError(f"boxes and reference should have the same shape (N, 4), got {b.shape} and {a.shape}.")
    v = _variances(variances)
    bh, bw = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    ah, aw = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    for name, h, w in (("boxes", bh, bw), ("reference", ah, aw)):
        if np.any(h <= 0) or np.any(w <= 0):
            bad = int(np.flatnonzero((h <= 0) | (w <= 0))[0])
            raise ValueError(
                f"{name}[{bad}] has zero or negative height or width; encoding would take log(0). "
                "Remove empty instances (boxes of area 0) before encoding."
            )
    deltas = np.stack(
        [
            ((b[:, 0] + b[:, 2]) - (a[:, 0] + a[:, 2])) / 2 / ah,
            ((b[:, 1] + b[:, 3]) - (a[:, 1] + a[:, 3])) / 2 / aw,
            np.log(bh / ah),
            np.log(bw / aw),
        ],
        axis=1,
    )
    return (deltas / v).astype(np.float32)


def decode_boxes(deltas, reference, variances=BOX_VARIANCES) -> np.ndarray:
    """Apply deltas to reference boxes: the inverse of :func:`encode_boxes`.

    Parameters
    ----------
    deltas : array, shape (N, 4)
        ``(dy, dx, dh, dw)``, scaled by ``variances``.
    reference : array, shape (N, 4)
        ``(y1, x1, y2, x2)``.
    variances : 4 positive floats

    Returns
    -------
    boxes : ndarray of float32, shape (N, 4)
        ``dh`` and ``dw`` are clamped at log(1000 / 16) so that a wild
        prediction cannot overflow.

    Examples
    --------
    >>> decode_boxes([[0.0, 0.0, 0.0, 0.0]], [[2, 2, 6, 8]])
    array([[2., 2., 6., 8.]], dtype=float32)
    """
    d = check_boxes(deltas, "deltas").astype(np.float64) * _variances(variances)
    a = check_boxes(reference, "reference").astype(np.float64)
    if d.shape != a.shape:
        raise ValueError(f"deltas and reference should have the same shape (N, 4), got {d.shape} and {a.shape}.")
    ah, aw = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    cy = (a[:, 0] + a[:, 2]) / 2 + d[:, 0] * ah
    cx = (a[:, 1] + a[:, 3]) / 2 + d[:, 1] * aw
    h = ah * np.exp(np.minimum(d[:, 2], _MAX_LOG_SCALE))
    w = aw * np.exp(np.minimum(d[:, 3], _MAX_LOG_SCALE))
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1).astype(np.float32)


def check_image_shape(image_shape) -> tuple[int, int]:
    """(H, W) from an image shape such as ``image.shape``: two (or more) non-negative integers."""
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, (tuple, list)) or len(image_shape) < 2:
        raise ArgumentTypeError(
            f"image_shape should be (H, W), such as image.shape, got {type(image_shape).__name__} "
            f"{image_shape!r}."[:200]
        )
    out = []
    for v in image_shape[:2]:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ArgumentTypeError(f"image_shape should hold integers (pixels), got {image_shape!r}."[:200])
        if v < 0:
            raise ValueError(f"image_shape should not be negative, got {image_shape!r}.")
        out.append(int(v))
    return out[0], out[1]


def clip_boxes(boxes, image_shape) -> np.ndarray:
    """Clip boxes to an image of shape ``(H, W)``: coordinates into [0, H] and [0, W].

    Examples
    --------
    >>> clip_boxes([[-3, 2, 5, 40]], (10, 20))
    array([[ 0,  2,  5, 20]])
    """
    b = check_boxes(boxes)
    h, w = check_image_shape(image_shape)
    return np.stack(
        [np.clip(b[:, 0], 0, h), np.clip(b[:, 1], 0, w), np.clip(b[:, 2], 0, h), np.clip(b[:, 3], 0, w)], axis=1
    )


# -- TensorFlow versions, used inside the model --------------------------------------------------


def iou_tf(boxes_a, boxes_b):
    """IoU matrix of (..., N, 4) and (..., M, 4) float boxes: shape (..., N, M).

    Arrays and eager tensors holding NaN or infinity are refused; inside a
    traced function only the shapes are checked.
    """
    tf = _backend.tensorflow()

    boxes_a = float_tensor(boxes_a, "boxes_a", min_rank=2, last=4)
    boxes_b = float_tensor(boxes_b, "boxes_b", min_rank=2, last=4)
    a = boxes_a[..., :, None, :]
    b = boxes_b[..., None, :, :]
    inter_h = tf.maximum(tf.minimum(a[..., 2], b[..., 2]) - tf.maximum(a[..., 0], b[..., 0]), 0.0)
    inter_w = tf.maximum(tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = inter_h * inter_w
    area_a = tf.maximum(a[..., 2] - a[..., 0], 0.0) * tf.maximum(a[..., 3] - a[..., 1], 0.0)
    area_b = tf.maximum(b[..., 2] - b[..., 0], 0.0) * tf.maximum(b[..., 3] - b[..., 1], 0.0)
    union = area_a + area_b - inter
    return tf.math.divide_no_nan(inter, union)


def _broadcastable(a, b, names) -> None:
    """Raise if two tensors' static shapes cannot broadcast (row i of one pairs with row i of the other)."""
    tf = _backend.tensorflow()

    try:
        tf.broadcast_static_shape(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{names[0]} and {names[1]} should have the same shape (..., 4), one row each, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.") from None


def encode_boxes_tf(boxes, reference, variances=BOX_VARIANCES):
    """TensorFlow :func:`encode_boxes` for (..., 4) float32 tensors.

    Heights and widths are floored at 1e-3 pixel: callers must still mask out
    padded (empty) boxes, but a stray one gives a large finite value, not NaN.
    Arrays and eager tensors holding NaN or infinity are refused.
    """
    tf = _backend.tensorflow()

    boxes = float_tensor(boxes, "boxes", last=4)
    reference = float_tensor(reference, "reference", last=4)
    _broadcastable(boxes, reference, ("boxes", "reference"))
    variances = _variances(variances)
    bh = tf.maximum(boxes[..., 2] - boxes[..., 0], 1e-3)
    bw = tf.maximum(boxes[..., 3] - boxes[..., 1], 1e-3)
    ah = tf.maximum(reference[..., 2] - reference[..., 0], 1e-3)
    aw = tf.maximum(reference[..., 3] - reference[..., 1], 1e-3)
    dy = ((boxes[..., 0] + boxes[..., 2]) - (reference[..., 0] + reference[..., 2])) / 2 / ah
    dx = ((boxes[..., 1] + boxes[..., 3]) - (reference[..., 1] + reference[..., 3])) / 2 / aw
    deltas = tf.stack([dy, dx, tf.math.log(bh / ah), tf.math.log(bw / aw)], axis=-1)
    return deltas / tf.constant(variances, tf.float32)


def decode_boxes_tf(deltas, reference, variances=BOX_VARIANCES):
    """TensorFlow :func:`decode_boxes` for (..., 4) float32 tensors (finite ones: NaN is refused when eager)."""
    tf = _backend.tensorflow()

    deltas = float_tensor(deltas, "deltas", last=4)
    reference = float_tensor(reference, "reference", last=4)
    _broadcastable(deltas, reference, ("deltas", "reference"))
    variances = _variances(variances)
    d = deltas * tf.constant(variances, tf.float32)
    ah = reference[..., 2] - reference[..., 0]
    aw = reference[..., 3] - reference[..., 1]
    cy = (reference[..., 0] + reference[..., 2]) / 2 + d[..., 0] * ah
    cx = (reference[..., 1] + reference[..., 3]) / 2 + d[..., 1] * aw
    h = ah * tf.exp(tf.minimum(d[..., 2], _MAX_LOG_SCALE))
    w = aw * tf.exp(tf.minimum(d[..., 3], _MAX_LOG_SCALE))
    return tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=-1)


def clip_boxes_tf(boxes, height, width):
    """Clip (..., 4) float boxes to [0, height] x [0, width] (finite ones: NaN is refused when eager)."""
    tf = _backend.tensorflow()

    boxes = float_tensor(boxes, "boxes", last=4)
    height = check_scalar(height, "height", low=0)
    width = check_scalar(width, "width", low=0)
    limits = tf.constant([height, width, height, width], tf.float32)
    return tf.clip_by_value(boxes, 0.0, limits)


def smooth_l1(diff, beta: float = 1.0):
    """Smooth L1 (Huber) of Fast R-CNN: quadratic below ``beta``, linear above."""
    tf = _backend.tensorflow()

    a = tf.abs(diff)
    return tf.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)
