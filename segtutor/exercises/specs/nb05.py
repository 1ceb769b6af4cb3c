"""Notebook 05 (dense prediction): transposed convolution, pixel-wise cross-entropy, soft Dice."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register
from . import _random


def _transposed_case(rng):
    h, w = _random.shape(rng, 1, 6)
    k = int(rng.integers(1, 5))
    return Case((rng.normal(size=(h, w)).round(2), rng.normal(size=(k, k)).round(2), int(rng.integers(1, 4))))


register(
    Exercise(
        name="transposed_conv2d",
        function="my_transposed_conv2d",
        signature="(image, kernel, stride)",
        reference="segtutor.dense.transposed_conv2d",
        fixed=[
            Case((np.array([[1.0, 2.0]]), np.ones((2, 2)), 2), "stride 2, 2x2 kernel: each pixel stamps a 2x2 block"),
            Case((np.array([[1.0, 1.0]]), np.ones((1, 3)), 2), "3-wide stamps 2 apart overlap by one column: it adds to 2"),
            Case((np.array([[2.0]]), np.arange(9.0).reshape(3, 3), 1), "one pixel stamps the kernel, scaled by 2"),
            Case((np.eye(2), np.array([[1.0, -1.0]]), 1), "stride 1: output is (H - 1) * 1 + kh by (W - 1) * 1 + kw"),
        ],
        random_case=_transposed_case,
        edge=[
            Case((np.ones((1, 1)), np.ones((1, 1)), 3), "a 1x1 image and kernel: stride does not matter"),
            Case((np.ones((3, 3)), np.ones((2, 2)), 0), "stride 0 is meaningless and should raise a ValueError"),
            Case((np.ones((1, 1)), np.ones((2, 2)), -1),
                 "a negative stride is below 1 too: raise a ValueError (even for one pixel, where no step is taken)"),
        ],
        mistakes={
            "the output is (H - 1) * stride + k pixels high; it looks like you used H * stride":
                lambda x, k, s: np.kron(np.asarray(x, float), np.ones((s, s)))[: (len(x) - 1) * s + len(k)],
            "overlapping stamps must be added (+=), not overwritten (=)":
                lambda x, k, s: _overwrite(x, k, s),
        },
    )
)


def _overwrite(x, k, s):
    x, k = np.asarray(x, float), np.asarray(k, float)
    out = np.zeros(((x.shape[0] - 1) * s + k.shape[0], (x.shape[1] - 1) * s + k.shape[1]))
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * s:i * s + k.shape[0], j * s:j * s + k.shape[1]] = x[i, j] * k
    return out


def _ce_case(rng):
    h, w = _random.shape(rng, 1, 8)
    k = int(rng.integers(2, 5))
    scores = rng.normal(size=(h, w, k)) * 2
    prob = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    return Case((prob.round(6), rng.integers(0, k, (h, w))))


_P = np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]])

register(
    Exercise(
        name="pixel_cross_entropy",
        function="my_pixel_cross_entropy",
        signature="(prob, labels)",
        reference="segtutor.losses.categorical_cross_entropy",
        fixed=[
            Case((_P, np.array([[0, 2]])), "two pixels: -(log 0.7 + log 0.8) / 2"),
            Case((np.array([[[1.0, 0.0]]]), np.array([[0]])), "a sure and right prediction costs 0"),
            Case((np.full((2, 2, 4), 0.25), np.array([[0, 1], [2, 3]])), "a uniform guess over 4 classes costs log 4"),
        ],
        random_case=_ce_case,
        edge=[
            Case((np.array([[[0.5, 0.5]]]), np.array([[[0]]])), "labels with an extra axis: shapes do not match, raise"),
            Case((np.full((2, 2, 3), 1 / 3), np.array([[0, 1]])),
                 "prob (2, 2, 3) and labels (1, 2): NumPy would broadcast them, but prob.shape[:-1] != labels.shape: raise"),
        ],
        mistakes={
            "cross-entropy is minus the log: -log p of the true class":
                lambda p, y: float(np.log(np.take_along_axis(np.asarray(p), np.asarray(y)[..., None], -1)).mean()),
            "take the mean over pixels, not the sum":
                lambda p, y: float(-np.log(np.take_along_axis(np.asarray(p), np.asarray(y)[..., None], -1)).sum()),
            "use only the probability of each pixel's true class, not the sum of the logs of all classes":
                lambda p, y: float(-np.log(np.asarray(p)).sum(-1).mean()),
        },
    )
)


def _dice_case(rng):
    size = _random.shape(rng, 1, 12)
    truth = _random.mask(rng, size).astype(float)
    return Case((rng.random(size).round(4), truth))


register(
    Exercise(
        name="soft_dice",
        function="my_soft_dice",
        signature="(prob, truth, smooth=1.0)",
        reference="segtutor.losses.soft_dice",
        fixed=[
            Case((np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])), "(2 * 1 + 1) / (2 + 1 + 1) = 0.75"),
            Case((np.array([0.5, 0.5]), np.array([1.0, 1.0])), "probabilities count in part: (2 * 1 + 1) / (1 + 2 + 1)"),
            Case((np.array([[0.9, 0.1], [0.8, 0.3]]), np.array([[1.0, 0.0], [1.0, 0.0]]), ), "a 2-D mask: sum over all pixels"),
            Case((np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])),
                 "smooth=0.5: (2 * 1 + 0.5) / (2 + 1 + 0.5) = 5/7", kwargs={"smooth": 0.5}),
            Case((np.array([0.5, 0.5]), np.array([1.0, 1.0])), "smooth=0: 2 * 1 / (1 + 2) = 2/3", kwargs={"smooth": 0.0}),
        ],
        random_case=_dice_case,
        edge=[
            Case((np.zeros((3, 3)), np.zeros((3, 3))), "two empty masks: the smoothing term makes it 1"),
            Case((np.zeros((2, 2)), np.zeros((2, 2))), "two empty masks with smooth=0.25: still 1", kwargs={"smooth": 0.25}),
            Case((np.array([1.0, 0.0]), np.array([1.0, 0.0]), ), "a perfect prediction: 1"),
        ],
        mistakes={
            "the numerator is 2 * sum(p * t) + smooth: you forgot the factor 2":
                lambda p, t, smooth=1.0: float(((np.asarray(p) * t).sum() + smooth) / (np.sum(p) + np.sum(t) + smooth)),
            "add the smoothing term to both the numerator and the denominator":
                lambda p, t, smooth=1.0: float(2 * (np.asarray(p) * t).sum() / (np.sum(p) + np.sum(t) + smooth)),
            "this is IoU-like: the denominator is sum(p) + sum(t), not sum(p) + sum(t) - sum(p * t)":
                lambda p, t, smooth=1.0: float((2 * (np.asarray(p) * t).sum() + smooth)
                                               / (np.sum(p) + np.sum(t) - (np.asarray(p) * t).sum() + smooth)),
        },
    )
)
