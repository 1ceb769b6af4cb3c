"""Notebook 08 (detection basics): IoU of boxes, anchors, box encoding, NMS."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _close(expected, got, args):
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-4, atol=1e-4))


def _random_boxes(rng, n, span=40.0, min_side=1.0):
    yx = rng.uniform(0, span, (n, 2)).round(1)
    hw = rng.uniform(min_side, span / 2, (n, 2)).round(1)
    return np.concatenate([yx, yx + hw], axis=1)


# -- 8.1 IoU matrix --------------------------------------------------------------------------------
def _iou_case(rng):
    return Case((_random_boxes(rng, int(rng.integers(1, 6))), _random_boxes(rng, int(rng.integers(1, 6)))))


def _iou_inclusive(a, b):
    a, b = np.asarray(a, float).copy(), np.asarray(b, float).copy()
    a[:, 2:] += 1
    b[:, 2:] += 1
    from segtutor.boxes import box_iou

    return box_iou(a, b)


def _areas_and_union(a, b, inter):
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return area(a)[:, None] + area(b)[None, :] - inter


def _iou_no_clamp(a, b):
    # Only the clamp is missing: a zero union still gives 0, so this mistake
    # is not blamed for the NaN of two zero-area boxes (that is _iou_no_guard).
    a, b = np.asarray(a, float), np.asarray(b, float)
    h = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    w = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = h * w
    union = _areas_and_union(a, b, inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


def _iou_no_guard(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    h = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    w = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = h * w
    with np.errstate(all="ignore"):
        return inter / _areas_and_union(a, b, inter)


def _iou_over_min(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    h = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    w = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return h * w / np.minimum(area(a)[:, None], area(b)[None, :])


register(Exercise(
    name="box_iou_matrix",
    function="my_box_iou",
    signature="(boxes_a, boxes_b)",
    reference="segtutor.boxes.box_iou",
    fixed=[
        Case((np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 5, 15, 15]])),
             "two 10x10 boxes sharing a 5x5 corner: 25 / (100 + 100 - 25)"),
        Case((np.array([[0.0, 0, 4, 4], [0, 0, 2, 2]]), np.array([[0.0, 0, 4, 4], [10, 10, 12, 12], [1, 1, 3, 3]])),
             "a (2, 3) matrix: identical boxes give 1, disjoint ones 0"),
        Case((np.array([[0.0, 0, 10, 10]]), np.array([[0.0, 10, 10, 20]])),
             "boxes that touch along an edge do not overlap: ends are exclusive"),
        Case((np.array([[0.0, 0, 10, 10]]), np.array([[11.0, 11, 21, 21]])),
             "diagonal neighbours 1 apart: height and width of the overlap are both -1, each clamped to 0, so IoU 0"),
    ],
    random_case=_iou_case,
    edge=[Case((np.array([[3.0, 3, 3, 3]]), np.array([[3.0, 3, 3, 3]])), "two zero-area boxes: IoU 0, not NaN")],
    mistakes={
        "ends look inclusive (+1 on width and height): in this course y2 and x2 are exclusive": _iou_inclusive,
        "disjoint boxes need the overlap clamped at 0 before multiplying height by width": _iou_no_clamp,
        "two zero-area boxes have a union of 0, so inter / union is 0 / 0 = NaN: return 0 where the union is 0":
            _iou_no_guard,
        "that is intersection over the smaller area, not over the union": _iou_over_min,
    },
    compare=_close,
))


# -- 8.2 anchors -------------------------------------------------------------------------------------
def _anchor_case(rng):
    stride = int(rng.choice([4, 8, 16]))
    size = int(rng.integers(1, 5)) * stride
    image = stride * int(rng.integers(1, 4))
    ratios = np.unique(rng.choice([0.5, 1.0, 2.0, 3.0], size=int(rng.integers(1, 4))))
    return Case((image, stride, size, ratios))


def _anchors_reference(image_size, stride, size, ratios):
    from segtutor.maskrcnn.anchors import level_anchors

    return level_anchors(image_size, stride, size, ratios)


def _anchors_ratio_inverted(image_size, stride, size, ratios):
    return _anchors_reference(image_size, stride, size, 1.0 / np.asarray(ratios, float))


def _anchors_corner(image_size, stride, size, ratios):
    a = _anchors_reference(image_size, stride, size, ratios)
    return a - stride / 2


register(Exercise(
    name="level_anchors",
    function="my_level_anchors",
    signature="(image_size, stride, size, ratios)",
    reference=_anchors_reference,
    fixed=[
        Case((8, 8, 4, np.array([1.0])), "one cell, centre (4, 4): a 4x4 square around it"),
        Case((8, 8, 4, np.array([0.5, 2.0])), "ratio = width / height: 0.5 is tall, 2 is wide; area stays 16"),
        Case((16, 8, 8, np.array([1.0])), "2x2 cells in row-major order: (4,4), (4,12), (12,4), (12,12)"),
        Case((16, 8, 8, np.array([0.5, 2.0])), "row, then column, then ratio: both ratios of cell (0, 0) come first"),
    ],
    random_case=_anchor_case,
    edge=[Case((4, 8, 4, np.array([1.0])), "an image smaller than one stride still gets one cell (ceil)")],
    mistakes={
        "ratio is width / height here: your tall and wide anchors are swapped": _anchors_ratio_inverted,
        "anchors should be centred on cell centres (i + 0.5) * stride, not on cell corners": _anchors_corner,
    },
    compare=_close,
))


# -- 8.3 box encoding -------------------------------------------------------------------------------------
def _encode_case(rng):
    n = int(rng.integers(1, 6))
    ref = _random_boxes(rng, n)
    boxes = ref + rng.normal(0, 2, ref.shape).round(1)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    return Case((boxes, ref))


def _encode_reference(boxes, reference):
    from segtutor.maskrcnn.box_coding import encode_boxes

    return encode_boxes(boxes, reference)


def _encode_no_variance(boxes, reference):
    return _encode_reference(boxes, reference) * np.array([0.1, 0.1, 0.2, 0.2])


def _encode_corner_offset(boxes, reference):
    from segtutor.maskrcnn.box_coding import encode_boxes

    b, a = np.asarray(boxes, float), np.asarray(reference, float)
    d = encode_boxes(b, a)
    d[:, 0] = (b[:, 0] - a[:, 0]) / (a[:, 2] - a[:, 0]) / 0.1
    d[:, 1] = (b[:, 1] - a[:, 1]) / (a[:, 3] - a[:, 1]) / 0.1
    return d


def _encode_no_log(boxes, reference):
    b, a = np.asarray(boxes, float), np.asarray(reference, float)
    d = _encode_reference(b, a).astype(float)
    d[:, 2] = ((b[:, 2] - b[:, 0]) / (a[:, 2] - a[:, 0]) - 1) / 0.2
    d[:, 3] = ((b[:, 3] - b[:, 1]) / (a[:, 3] - a[:, 1]) - 1) / 0.2
    return d


register(Exercise(
    name="encode_boxes",
    function="my_encode_boxes",
    signature="(boxes, reference)",
    reference=_encode_reference,
    fixed=[
        Case((np.array([[0.0, 0, 10, 10]]), np.array([[0.0, 0, 10, 10]])), "a box equal to its anchor: all deltas 0"),
        Case((np.array([[5.0, 0, 15, 20]]), np.array([[0.0, 0, 10, 10]])),
             "centre down by half a height: dy = 0.5 / 0.1 = 5; width doubled: dw = log(2) / 0.2"),
        Case((np.array([[2.0, 4, 12, 24]]), np.array([[0.0, 0, 10, 10]])),
             "centre 2 down and 9 right of the anchor's: dy = 0.2 / 0.1 = 2, dx = 0.9 / 0.1 = 9; dw = log(2) / 0.2"),
        Case((np.array([[0.0, 0, 5, 5]]), np.array([[0.0, 0, 10, 10]])), "a box half the anchor's size: dh = dw = log(0.5) / 0.2"),
    ],
    random_case=_encode_case,
    edge=[
        Case((np.array([[2.0, 2, 2, 6]]), np.array([[0.0, 0, 10, 10]])),
             "a zero-height box would need log(0): raise a ValueError"),
        Case((np.array([[2.0, 2, 6, 2]]), np.array([[0.0, 0, 10, 10]])), "a zero-width box: raise a ValueError"),
        Case((np.array([[2.0, 2, 6, 6]]), np.array([[0.0, 0, 10, 0]])),
             "a zero-width reference box is bad too (dx would divide by 0): raise a ValueError"),
        Case((np.array([[2.0, 2, 6, 6]]), np.array([[5.0, 0, 0, 10]])),
             "a reference box with negative height (y2 < y1): raise a ValueError"),
        Case((np.array([[0.0, 0, 10, 10], [8, 2, 4, 6]]), np.array([[0.0, 0, 10, 10], [0, 0, 10, 10]])),
             "the second of two boxes has negative height: check every row, raise a ValueError"),
    ],
    mistakes={
        "you forgot to divide by the variances (0.1, 0.1, 0.2, 0.2)": _encode_no_variance,
        "dy and dx compare box centres, not top-left corners": _encode_corner_offset,
        "dh and dw are logarithms of the size ratio, log(h / h_a)": _encode_no_log,
    },
    compare=_close,
))


# -- 8.4 NMS -------------------------------------------------------------------------------------
def _nms_case(rng):
    n = int(rng.integers(1, 12))
    boxes = _random_boxes(rng, n, span=30.0, min_side=4.0)
    if rng.random() < 0.5:
        scores = rng.permutation(n).astype(float) / n + 0.01
    else:  # few distinct scores, so the tie rule is tested too
        scores = rng.integers(1, 4, n) / 4.0
    return Case((boxes, scores, float(rng.choice([0.3, 0.5, 0.7]))))


def _same_indices(expected, got, args):
    # Indices must be integers: a float array cannot index boxes[keep].
    return (got.shape == expected.shape and np.issubdtype(got.dtype, np.integer)
            and bool(np.array_equal(got, expected)))


def _nms_reference(boxes, scores, iou_threshold):
    from segtutor.maskrcnn.proposals import nms

    return nms(boxes, scores, iou_threshold)


def _nms_unsorted(boxes, scores, iou_threshold):
    keep = _nms_reference(boxes, scores, iou_threshold)
    return np.sort(keep)


def _nms_ascending(boxes, scores, iou_threshold):
    return _nms_reference(boxes, -np.asarray(scores, float), iou_threshold)


def _nms_suppress_below(boxes, scores, iou_threshold):
    from segtutor.boxes import box_iou

    b = np.asarray(boxes, float)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    iou = box_iou(b, b)
    keep, gone = [], np.zeros(len(b), bool)
    for i in order:
        if gone[i]:
            continue
        keep.append(i)
        gone |= iou[i] < iou_threshold
    return np.array(keep)


register(Exercise(
    name="nms",
    function="my_nms",
    signature="(boxes, scores, iou_threshold)",
    reference=_nms_reference,
    fixed=[
        Case((np.array([[0.0, 0, 10, 10], [0, 1, 10, 11], [0, 20, 10, 30]]), np.array([0.5, 0.9, 0.1]), 0.5),
             "box 1 scores highest and removes box 0 (IoU 0.82); box 2 is far away: keep [1, 2]"),
        Case((np.array([[0.0, 0, 10, 10], [0, 5, 10, 15]]), np.array([0.9, 0.8]), 0.5),
             "IoU 1/3 is below the threshold: both boxes stay"),
        Case((np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]), np.array([0.2, 0.3, 0.1]), 0.5),
             "three copies of one box: only the best-scoring one survives"),
        Case((np.array([[0.0, 0, 10, 10], [0, 20, 10, 30]]), np.array([0.3, 0.8]), 0.5),
             "two far-apart boxes are both kept, highest score first: [1, 0], not sorted by index"),
        Case((np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 20, 10, 30]]), np.array([0.5, 0.5, 0.5]), 0.5),
             "equal scores: the lower index goes first, so box 0 is kept, removes its copy 1, and box 2 follows: [0, 2]"),
        Case((np.array([[0.0, 0, 10, 10], [0, 0, 10, 5]]), np.array([0.9, 0.8]), 0.5),
             "IoU exactly 0.5 = the threshold is not *above* it: both boxes stay"),
        Case((np.array([[0.0, 0, 10, 10], [0, 3, 10, 13], [0, 6, 10, 16]]), np.array([0.9, 0.8, 0.7]), 0.5),
             "box 0 removes box 1 (IoU 0.54); a removed box removes nothing, so box 2 (IoU 0.25 with box 0) stays"),
    ],
    random_case=_nms_case,
    edge=[
        Case((np.array([[0.0, 0, 10, 10]]), np.array([0.4]), 0.5), "a single box is always kept"),
        Case((np.zeros((0, 4)), np.zeros(0), 0.5), "no boxes: an empty integer array, np.array([], dtype=int)"),
    ],
    mistakes={
        "return the kept indices in order of decreasing score, not sorted by index": _nms_unsorted,
        "visit boxes from the highest score down, not from the lowest": _nms_ascending,
        "a box is suppressed when its IoU with a kept box is *above* the threshold, not below": _nms_suppress_below,
        "return the indices as integers, np.array(keep, dtype=int) (also when nothing is kept): "
        "a float array cannot index boxes[keep]":
            lambda boxes, scores, iou_threshold: _nms_reference(boxes, scores, iou_threshold).astype(float),
    },
    compare=_same_indices,
))
