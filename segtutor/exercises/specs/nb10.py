"""Notebook 10 (training and evaluating Mask R-CNN): COCO's interpolated average precision."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _reference(scores, is_true_positive, n_truth):
    from segtutor.maskrcnn.evaluate import average_precision

    return average_precision(scores, is_true_positive, n_truth)


def _case(rng):
    d = int(rng.integers(0, 12))
    tp = rng.random(d) < rng.uniform(0.2, 0.9)
    n_truth = int(tp.sum() + rng.integers(0, 4)) or 1
    scores = rng.permutation(d).astype(float) / max(d, 1) + 0.01
    return Case((scores, tp, n_truth))


def _sorted(scores, tp):
    order = np.argsort(-np.asarray(scores, float), kind="mergesort")
    return np.asarray(tp, bool)[order]


def _no_envelope(scores, tp, n_truth):
    hits = _sorted(scores, tp)
    tps, fps = np.cumsum(hits), np.cumsum(~hits)
    recall, precision = tps / n_truth, tps / np.maximum(tps + fps, 1)
    levels = np.linspace(0, 1, 101)
    first = np.searchsorted(recall, levels, side="left")
    return float(np.mean([precision[i] if i < len(recall) else 0.0 for i in first]))


def _unsorted(scores, tp, n_truth):
    return _reference(-np.arange(len(tp), dtype=float), tp, n_truth)


def _recall_over_detections(scores, tp, n_truth):
    return _reference(scores, tp, max(int(np.asarray(tp).sum()), 1))


register(Exercise(
    name="average_precision",
    function="my_average_precision",
    signature="(scores, is_true_positive, n_truth)",
    reference=_reference,
    fixed=[
        Case((np.array([0.9, 0.8, 0.7]), np.array([True, True, True]), 3), "every detection right, all found: AP 1"),
        Case((np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2),
             "precision 1 up to recall 0.5, then the envelope 2/3 up to recall 1: (51 + 50 * 2/3) / 101"),
        Case((np.array([0.3, 0.9]), np.array([True, False]), 1),
             "sort by score first: the false positive comes first, so precision is 1/2 at full recall"),
        Case((np.array([0.9]), np.array([True]), 4), "one of four found: recall levels above 0.25 score 0"),
        Case((np.array([0.5, 0.5]), np.array([False, True]), 1),
             "equal scores keep their order (a stable sort): the false positive first, so AP is 1/2"),
    ],
    random_case=_case,
    edge=[
        Case((np.zeros(0), np.zeros(0, bool), 2), "no detections at all: AP 0"),
        Case((np.array([0.5]), np.array([False]), 0), "no ground truth: AP is undefined, raise a ValueError"),
        Case((np.array([0.5]), np.array([True]), -1), "a negative n_truth is below 1 too: raise a ValueError"),
    ],
    mistakes={
        "use the precision envelope: at each rank, the best precision at this or any later rank": _no_envelope,
        "sort the detections by decreasing score before accumulating": _unsorted,
        "recall divides by the number of ground-truth instances, not by the true positives found": _recall_over_detections,
    },
    compare=lambda e, g, a: g.shape == e.shape and bool(np.allclose(g, e, rtol=1e-6, atol=1e-9)),
))
