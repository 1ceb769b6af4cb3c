"""Notebook 11 (semi-supervised segmentation): selecting confident pixels as pseudo-labels.

The function returns ``(labels, keep)``; both become one (2, ...) array of
integers for comparison, so a swapped order, a wrong side, a strict
inequality or float labels all show. Probabilities are multiples of 1/64 and
thresholds multiples of 1/16, exact in binary, so ``p <= 1 - t`` and
``1 - p >= t`` agree and only the rule decides.
"""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register
from . import _random


def _compare(expected, got, args):
    # Labels become training targets with an ignore value (255) next to them: they must be integers.
    return (got.shape == expected.shape and np.issubdtype(got.dtype, np.integer)
            and bool(np.array_equal(got, expected)))


def _case(rng):
    shape = _random.shape(rng, 1, 10)
    p = rng.integers(0, 65, shape) / 64.0
    return Case((p, float(rng.integers(9, 17)) / 16.0))


def _foreground_only(p, t):
    p = np.asarray(p, float)
    return (p >= t).astype(np.uint8), p >= t


def _strict(p, t):
    p = np.asarray(p, float)
    return (p > t).astype(np.uint8), (p > t) | (p < 1 - t)


def _labels_from_half(p, t):
    p = np.asarray(p, float)
    return (p >= 0.5).astype(np.uint8), (p >= t) | (p <= 1 - t)


def _float_labels(p, t):
    p = np.asarray(p, float)
    return (p >= t).astype(float), (p >= t) | (p <= 1 - t)


def _probabilities_as_labels(p, t):
    p = np.asarray(p, float)
    keep = (p >= t) | (p <= 1 - t)
    return p * keep, keep


def _swapped(p, t):
    p = np.asarray(p, float)
    return (p >= t) | (p <= 1 - t), (p >= t).astype(np.uint8)


_P = np.array([[0.875, 0.75, 0.5], [0.25, 0.125, 1.0]])

register(
    Exercise(
        name="pseudo_labels",
        function="my_select_pseudo_labels",
        signature="(probabilities, threshold)",
        reference="segtutor.semi.select_pseudo_labels",
        fixed=[
            Case((_P, 0.875), "threshold 0.875: 0.875 and 1.0 are confident foreground, 0.125 confident background"),
            Case((_P, 0.75), "p equal to the threshold counts (>=), and so does p equal to 1 - threshold (<=)"),
            Case((np.array([0.5, 0.625, 0.375]), 0.5), "threshold 0.5 keeps every pixel; labels are p >= 0.5"),
            Case((np.array([[0.0, 0.0625], [0.9375, 1.0]]), 1.0), "threshold 1 keeps only p = 0 and p = 1"),
        ],
        random_case=_case,
        edge=[
            Case((np.array([0.2, 0.8]), 0.25), "a threshold below 0.5 would make a pixel both sides at once: raise"),
            Case((np.array([0.2, 1.5]), 0.9), "1.5 is not a probability: raise a ValueError"),
            Case((np.array([-0.25, 0.5]), 0.75), "-0.25 is not a probability either: raise a ValueError"),
            Case((np.array([0.2, 0.9]), 1.5), "a threshold above 1 keeps nothing and is a mistake: raise a ValueError"),
            Case((np.full((3, 3), 0.5), 0.75), "nothing is confident: keep is all False, labels all 0"),
        ],
        mistakes={
            "confident background counts too: keep pixels with p <= 1 - threshold as well as p >= threshold":
                _foreground_only,
            "a pixel exactly at the threshold is confident: use >= and <=, not > and <":
                _strict,
            "labels should be 1 only for confident foreground (p >= threshold); ignored pixels get label 0":
                _labels_from_half,
            "return labels as integers (np.uint8), not floats: they become training targets with the "
            "ignore value 255 beside them": _float_labels,
            "labels are 0 or 1, not the probabilities": _probabilities_as_labels,
            "return (labels, keep) in that order": _swapped,
        },
        compare=_compare,
        n_random=12,
        n_hidden=10,
    )
)
