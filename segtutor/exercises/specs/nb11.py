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


# -- AdaBN's statistic swap (section 4, domain shift) ----------------------------------------------------
# Features are multiples of 1/8 and gamma, beta multiples of 1/4; the output is compared with np.allclose.

def _adabn_case(rng):
    n, h, w = (int(v) for v in rng.integers(1, 5, 3))
    c = int(rng.integers(1, 5))
    x = rng.integers(-24, 25, (n, h, w, c)) / 8.0 + rng.integers(-8, 9, c) / 2.0
    gamma = rng.integers(1, 9, c) / 4.0
    beta = rng.integers(-8, 9, c) / 4.0
    return Case((x, gamma, beta, 1e-3))


def _adabn(x, gamma, beta, epsilon, *, axes=None, ddof=0, eps_on_std=False, scale_shift=True, power=0.5):
    x = np.asarray(x, float)
    axes = tuple(range(x.ndim - 1)) if axes is None else axes
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, ddof=ddof, keepdims=True)
    z = (x - mean) / (np.sqrt(var) + epsilon if eps_on_std else (var + epsilon) ** power)
    return gamma * z + beta if scale_shift else z


_X = np.array([[[[1.0, 10.0]], [[3.0, 30.0]]], [[[5.0, 20.0]], [[7.0, 20.0]]]])  # (2, 2, 1, 2)

register(
    Exercise(
        name="adabn",
        function="my_adabn",
        signature="(features, gamma, beta, epsilon)",
        reference="segtutor.semi.adabn_normalise",
        fixed=[
            Case((_X, np.ones(2), np.zeros(2), 1e-3),
                 "each channel has its own mean and variance, over every image and pixel (all axes but the last)"),
            Case((_X, np.array([2.0, 0.5]), np.array([1.0, -1.0]), 1e-3),
                 "gamma scales and beta shifts each channel after the normalisation"),
            Case((_X[:1], np.ones(2), np.zeros(2), 0.5),
                 "epsilon is added to the variance, inside the square root"),
            Case((np.array([[2.0], [4.0], [6.0]]), np.ones(1), np.zeros(1), 1e-3),
                 "the population variance (ddof=0), as batch normalization uses: var of [2, 4, 6] is 8/3"),
        ],
        random_case=_adabn_case,
        edge=[
            Case((np.full((2, 3, 3, 1), 5.0), np.ones(1), np.array([0.25]), 1e-3),
                 "a constant channel has variance 0: the output is beta"),
            Case((_X, np.ones(1), np.zeros(2), 1e-3), "gamma should have one value per channel: raise a ValueError"),
            Case((_X, np.ones(2), np.zeros(2), 0.0),
                 "epsilon 0 would divide by 0 on a constant channel: raise a ValueError"),
            Case((np.array([1.0, 2.0]), np.ones(2), np.zeros(2), 1e-3),
                 "a 1-D array has no image axis to average over: raise a ValueError"),
        ],
        mistakes={
            "average over every axis but the channels, not over everything: each channel has its own statistics":
                lambda x, g, b, e: _adabn(x, g, b, e, axes=tuple(range(np.ndim(x)))),
            "average over all images and pixels, not over the images only: axes (0, 1, 2) for (N, H, W, C)":
                lambda x, g, b, e: _adabn(x, g, b, e, axes=(0,)),
            "one mean and variance for the whole target set, not one per image (that would be instance norm)":
                lambda x, g, b, e: _adabn(x, g, b, e, axes=tuple(range(1, np.ndim(x) - 1)) or (0,)),
            "batch normalization uses the population variance (ddof=0), not the sample variance":
                lambda x, g, b, e: _adabn(x, g, b, e, ddof=1),
            "add epsilon to the variance, inside the square root, not to the standard deviation":
                lambda x, g, b, e: _adabn(x, g, b, e, eps_on_std=True),
            "divide by the square root of the variance, not by the variance":
                lambda x, g, b, e: _adabn(x, g, b, e, power=1.0),
            "multiply by gamma and add beta after normalising: AdaBN keeps the learned scale and offset":
                lambda x, g, b, e: _adabn(x, g, b, e, scale_shift=False),
        },
        n_random=12,
        n_hidden=10,
        hides=("segtutor.semi.adapt.adabn_normalise",),
    )
)
