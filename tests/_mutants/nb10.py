"""Notebook 10: COCO's 101-point interpolated average precision."""

import numpy as np


def _ap(scores, tp, n_truth, *, check="below one", sort="stable", envelope=True, levels=101, reach=">=", empty="zero"):
    if check == "below one" and n_truth < 1 or check == "zero only" and n_truth == 0:
        raise ValueError("no ground truth")
    scores = np.asarray(scores, float)
    if len(scores) == 0 and empty == "raise":
        raise ValueError("no detections")
    order = np.argsort(-scores, kind="stable") if sort == "stable" else np.argsort(scores, kind="stable")[::-1]
    hits = np.asarray(tp, bool)[order]
    tps, fps = np.cumsum(hits), np.cumsum(~hits)
    with np.errstate(all="ignore"):
        recall = tps / n_truth
    precision = tps / np.maximum(tps + fps, 1)
    if envelope and len(precision):
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    total = 0.0
    grid = np.linspace(0, 1, levels)
    for level in grid:
        reached = np.flatnonzero(recall >= level if reach == ">=" else recall > level)
        total += precision[reached[0]] if reached.size else 0.0
    return total / len(grid)


def _non_interpolated(scores, tp, n_truth):
    if n_truth < 1:
        raise ValueError("no ground truth")
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    hits = np.asarray(tp, bool)[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].sum() / n_truth)


MUTANTS = {"average_precision": {
    "no ValueError without ground truth": lambda s, t, n: _ap(s, t, n, check="none") if n != 0 else float("inf"),
    "raises only for n_truth == 0, not negative": lambda s, t, n: _ap(s, t, n, check="zero only"),
    "equal scores: the later detection first": lambda s, t, n: _ap(s, t, n, sort="reversed ties"),
    "11 recall levels (VOC 2007) instead of 101": lambda s, t, n: _ap(s, t, n, levels=11),
    "recall must exceed the level (>) instead of reach it": lambda s, t, n: _ap(s, t, n, reach=">"),
    "raises on no detections": lambda s, t, n: _ap(s, t, n, empty="raise"),
    "non-interpolated AP (mean precision at each hit)": _non_interpolated,
}}
