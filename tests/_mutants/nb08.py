"""Notebook 08: box IoU, anchors, box encoding and NMS."""

import numpy as np


def _iou(a, b, *, top=np.maximum, guard=True, clamp="each"):
    a, b = np.asarray(a, float), np.asarray(b, float)
    h = np.minimum(a[:, None, 2], b[None, :, 2]) - top(a[:, None, 0], b[None, :, 0])
    w = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    if clamp == "each":
        inter = np.clip(h, 0, None) * np.clip(w, 0, None)
    else:  # clamps the product: two negative sides give a positive "overlap"
        inter = np.clip(h * w, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    if not guard:
        with np.errstate(all="ignore"):
            return inter / union
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _anchors(image_size, stride, size, ratios, *, cells=np.ceil, order="row col ratio", shape="flat"):
    n = int(cells(image_size / stride))
    ratios = np.asarray(ratios, float).reshape(-1)
    rows = []
    for i in range(n):
        for j in range(n):
            for r in ratios:
                cy, cx = (i + 0.5) * stride, (j + 0.5) * stride
                if order == "col row ratio":
                    cy, cx = cx, cy
                h, w = size / np.sqrt(r), size * np.sqrt(r)
                rows.append([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
    out = np.array(rows, float).reshape(-1, 4)
    if order == "ratio row col":
        out = out.reshape(n * n, len(ratios), 4).transpose(1, 0, 2).reshape(-1, 4)
    if shape == "grid":
        out = out.reshape(n, n, len(ratios), 4)
    return out


def _encode(boxes, reference, *, check="all", scale="reference", swap=False):
    b, a = np.asarray(boxes, float), np.asarray(reference, float)
    bh, bw = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    ah, aw = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    bad = {"all": [bh <= 0, bw <= 0, ah <= 0, aw <= 0], "boxes": [bh <= 0, bw <= 0], "heights": [bh <= 0, ah <= 0],
           "negative": [bh < 0, bw < 0, ah < 0, aw < 0], "first row": [bh[:1] <= 0, bw[:1] <= 0, ah[:1] <= 0, aw[:1] <= 0],
           "none": []}[check]
    if any(np.any(x) for x in bad):
        raise ValueError("bad box")
    sh, sw = (ah, aw) if scale == "reference" else (bh, bw)
    with np.errstate(all="ignore"):
        dy = ((b[:, 0] + b[:, 2]) - (a[:, 0] + a[:, 2])) / 2 / sh
        dx = ((b[:, 1] + b[:, 3]) - (a[:, 1] + a[:, 3])) / 2 / sw
        deltas = np.stack([dy, dx, np.log(bh / ah), np.log(bw / aw)], axis=1)
    if swap:
        deltas = deltas[:, [1, 0, 3, 2]]
    return deltas / np.array([0.1, 0.1, 0.2, 0.2])


def _nms(boxes, scores, iou_threshold, *, tie="lower first", above=True, empty="ok", removed_suppress=False,
         dtype=int, order="score"):
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    scores = np.asarray(scores, float)
    if len(boxes) == 0:
        if empty == "raise":
            raise ValueError("no boxes")
        if empty == "none":
            return None
    if tie == "lower first":
        ranked = np.argsort(-scores, kind="stable")
    else:  # argsort(scores)[::-1]: among equal scores the higher index comes first
        ranked = np.argsort(scores, kind="stable")[::-1]
    iou = _iou(boxes, boxes)
    removed = np.zeros(len(boxes), bool)
    keep = []
    for i in ranked:
        if removed[i] and not removed_suppress:
            continue
        if not removed[i]:
            keep.append(int(i))
        removed |= (iou[i] > iou_threshold) if above else (iou[i] >= iou_threshold)
        removed[i] = removed[i] or i in keep
    keep = np.array(keep, dtype=dtype)
    return np.sort(keep) if order == "index" else keep


def _area_not_kept(image_size, stride, size, ratios):
    return _anchors(image_size, stride, size, np.asarray(ratios, float) ** 2)


MUTANTS = {
    "box_iou_matrix": {
        "no guard: two zero-area boxes give NaN": lambda a, b: _iou(a, b, guard=False),
        "clamps the product h * w instead of each side": lambda a, b: _iou(a, b, clamp="product"),
        "min for the top edge": lambda a, b: _iou(a, b, top=np.minimum),
        "returns the (M, N) matrix": lambda a, b: _iou(a, b).T,
        "the IoU of row i with row i only (a diagonal)": lambda a, b: np.diagonal(_iou(a, b)),
    },
    "level_anchors": {
        "floor instead of ceil for the number of cells": lambda *a: _anchors(*a, cells=np.floor),
        "rounds the number of cells": lambda *a: _anchors(*a, cells=np.round),
        "column-major order": lambda *a: _anchors(*a, order="col row ratio"),
        "ratio first, then row and column": lambda *a: _anchors(*a, order="ratio row col"),
        "returns an (n, n, R, 4) grid": lambda *a: _anchors(*a, shape="grid"),
        "height size / ratio and width size * ratio (the area is not kept)": _area_not_kept,
    },
    "encode_boxes": {
        "no ValueError at all": lambda b, a: _encode(b, a, check="none"),
        "checks the boxes but not the reference": lambda b, a: _encode(b, a, check="boxes"),
        "checks heights but not widths": lambda b, a: _encode(b, a, check="heights"),
        "raises only for negative sides, not zero": lambda b, a: _encode(b, a, check="negative"),
        "checks only the first row": lambda b, a: _encode(b, a, check="first row"),
        "offsets divided by the box's size, not the reference's": lambda b, a: _encode(b, a, scale="box"),
        "(dx, dy, dw, dh) order": lambda b, a: _encode(b, a, swap=True),
        "log(h_a / h), the inverse ratio": lambda b, a: _encode(b, a) * np.array([1, 1, -1, -1]),
        "returns (4, N)": lambda b, a: _encode(b, a).T,
    },
    "nms": {
        "equal scores: the higher index first": lambda b, s, t: _nms(b, s, t, tie="higher first"),
        ">= where the text says above": lambda b, s, t: _nms(b, s, t, above=False),
        "raises on no boxes": lambda b, s, t: _nms(b, s, t, empty="raise"),
        "returns None for no boxes": lambda b, s, t: _nms(b, s, t, empty="none"),
        "a removed box still removes others": lambda b, s, t: _nms(b, s, t, removed_suppress=True),
        "sorted by index": lambda b, s, t: _nms(b, s, t, order="index"),
        "a boolean keep mask instead of indices": lambda b, s, t: np.isin(np.arange(len(np.asarray(s))), _nms(b, s, t)),
    },
}
