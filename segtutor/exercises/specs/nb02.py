"""Notebook 02 (classical segmentation): IoU, Dice and Otsu's threshold."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register
from . import _random


def _counts(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    inter = np.logical_and(pred, truth).sum()
    return float(inter), float(pred.sum()), float(truth.sum())


def _ratio(num, den):
    # An empty denominator gives the spec's convention (two empty masks: 1.0),
    # so each mistake below is blamed only for what it really gets wrong; with
    # NaN here every mistake "matched" a NaN from 0 / 0 and the first one won.
    return 1.0 if den == 0 else num / den


def _unguarded(num, den):
    """Division as the common beginner version does it: 0 / 0 is NaN."""
    return float("nan") if den == 0 else num / den


EMPTY_UNION = (
    "two empty masks give 0 / 0 = NaN: with nothing predicted and nothing true the union is empty, so "
    "(pred & truth).sum() / (pred | truth).sum() divides by zero. The spec defines the IoU of two empty "
    "masks as 1.0 (they agree perfectly): return 1.0 when the union is 0, before dividing"
)
EMPTY_SUM = (
    "two empty masks give 0 / 0 = NaN: |pred| + |truth| is 0, so the division has nothing to divide by. "
    "The spec defines the Dice of two empty masks as 1.0 (they agree perfectly): return 1.0 when both are "
    "empty, before dividing"
)


def _pair_case(rng):
    return Case(_random.overlapping_masks(rng))


def _m(rows):
    return np.array(rows, bool)


HALF = (_m([[1, 1, 0, 0], [1, 1, 0, 0]]), _m([[0, 1, 1, 0], [0, 1, 1, 0]]))
NESTED = (_m([[1, 1, 1], [1, 1, 1], [0, 0, 0]]), _m([[1, 1, 1], [0, 0, 0], [0, 0, 0]]))
MISMATCH = (np.zeros((4, 5), bool), np.zeros((5, 4), bool))
# NumPy broadcasts (1, 3) against (3, 3) without complaint: only a shape check catches it.
BROADCASTS = (np.ones((1, 3), bool), np.eye(3, dtype=bool))

register(
    Exercise(
        name="iou",
        function="my_iou",
        signature="(pred, truth)",
        reference="segtutor.metrics.iou",
        hides=("segtutor.metrics.iou", "segtutor.metrics.dice", "segtutor.metrics.iou_per_class", "segtutor.metrics.dice_per_class", "segtutor.metrics.mean_iou"),
        forbids=("sklearn.metrics.jaccard_score", "sklearn.metrics.f1_score"),
        fixed=[
            Case((_m([[1, 0], [0, 1]]), _m([[1, 0], [0, 1]])), "identical masks: IoU is 1"),
            Case((_m([[1, 1], [0, 0]]), _m([[0, 0], [1, 1]])), "disjoint masks: IoU is 0"),
            Case(HALF, "overlap 2 pixels, union 6 pixels: IoU = 2/6"),
            Case(NESTED, "truth inside pred: IoU = 3/6"),
            Case((_m([[1, 0, 0, 0, 0]]), _m([[1, 1, 0, 0, 0]])), "one of two true pixels predicted: IoU = 1/2"),
        ],
        random_case=_pair_case,
        edge=[
            Case((np.zeros((3, 3), bool), np.zeros((3, 3), bool)), "two empty masks agree perfectly: 1.0 by convention"),
            Case((_m([[1]]), _m([[1]])), "one pixel, both on"),
            Case((np.ones((3, 3), bool), np.zeros((3, 3), bool)), "nothing in truth, everything predicted: 0"),
            Case(MISMATCH, "masks of different shapes should raise an error"),
            Case(BROADCASTS, "shapes (1, 3) and (3, 3) differ even though NumPy would broadcast them: raise"),
        ],
        mistakes={
            EMPTY_UNION:
                lambda p, t: _unguarded(_counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2] - _counts(p, t)[0]),
            "the union counts the intersection twice: union = |pred| + |truth| - |intersection|":
                lambda p, t: _ratio(_counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2]),
            "this is the Dice score 2|A∩B| / (|A| + |B|), not IoU = |A∩B| / |A∪B|":
                lambda p, t: _ratio(2 * _counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2]),
            "you divided by the truth's area only (that is recall); divide by the union":
                lambda p, t: _ratio(_counts(p, t)[0], _counts(p, t)[2]),
            "you divided by the prediction's area only (that is precision); divide by the union":
                lambda p, t: _ratio(_counts(p, t)[0], _counts(p, t)[1]),
        },
    )
)

register(
    Exercise(
        name="dice",
        function="my_dice",
        signature="(pred, truth)",
        reference="segtutor.metrics.dice",
        hides=("segtutor.metrics.iou", "segtutor.metrics.dice", "segtutor.metrics.iou_per_class", "segtutor.metrics.dice_per_class", "segtutor.metrics.mean_iou"),
        forbids=("sklearn.metrics.jaccard_score", "sklearn.metrics.f1_score"),
        fixed=[
            Case((_m([[1, 0], [0, 1]]), _m([[1, 0], [0, 1]])), "identical masks: Dice is 1"),
            Case((_m([[1, 1], [0, 0]]), _m([[0, 0], [1, 1]])), "disjoint masks: Dice is 0"),
            Case(HALF, "overlap 2, sizes 4 and 4: Dice = 2*2/8"),
            Case(NESTED, "sizes 6 and 3, overlap 3: Dice = 6/9"),
            Case((_m([[1, 0, 0, 0, 0]]), _m([[1, 1, 0, 0, 0]])), "one of two true pixels predicted: Dice = 2 * 1 / 3"),
        ],
        random_case=_pair_case,
        edge=[
            Case((np.zeros((3, 3), bool), np.zeros((3, 3), bool)), "two empty masks agree perfectly: 1.0 by convention"),
            Case((_m([[1]]), _m([[1]])), "one pixel, both on"),
            Case(MISMATCH, "masks of different shapes should raise an error"),
            Case(BROADCASTS, "shapes (1, 3) and (3, 3) differ even though NumPy would broadcast them: raise"),
        ],
        mistakes={
            EMPTY_SUM:
                lambda p, t: _unguarded(2 * _counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2]),
            "this is IoU |A∩B| / |A∪B|; Dice is 2|A∩B| / (|A| + |B|)":
                lambda p, t: _ratio(_counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2] - _counts(p, t)[0]),
            "the factor 2 is missing: Dice = 2|A∩B| / (|A| + |B|)":
                lambda p, t: _ratio(_counts(p, t)[0], _counts(p, t)[1] + _counts(p, t)[2]),
        },
    )
)


def _bimodal(rng, size=None, dark=None, bright=None):
    size = size or _random.shape(rng, 8, 32)
    dark = int(rng.integers(20, 100)) if dark is None else dark
    bright = int(rng.integers(140, 230)) if bright is None else bright
    fg = _random.mask(rng, size, density=float(rng.uniform(0.2, 0.6)))
    noise = rng.normal(0, rng.uniform(5, 20), size)
    image = np.where(fg, bright, dark) + noise
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _same_segmentation(expected, got, args):
    """Otsu passes when ``image > t`` gives the reference's segmentation, or
    when t is within one grey level of the reference (implementations differ
    in where, inside the optimal bin, they put t)."""
    if got.shape != ():
        return False
    image = np.asarray(args[0])
    t_ref, t = float(expected), float(got)
    return abs(t - t_ref) <= 1.0 or bool(np.array_equal(image > t_ref, image > t))


def _otsu_fixed():
    rng = np.random.default_rng(2)
    return [
        Case((np.array([[10, 10, 200, 200]], np.uint8),), "two grey levels: any t from 10 up to 199 separates them"),
        Case((_bimodal(rng, (16, 16), 50, 180),), "dark background at 50, bright objects at 180, some noise"),
        Case((_bimodal(rng, (20, 12), 90, 140),), "close peaks (90 and 140)"),
        Case((np.array([[20] * 6 + [90] * 6 + [100] + [240] * 3], np.uint8),),
             "three grey levels: Otsu groups 20, 90 and 100 against 240 (the mean, 92.5, would split 90 from 100)"),
        Case((np.array([[10] * 10 + [100] * 4 + [200] * 2], np.uint8),),
             "10 against 100 and 200: Otsu's t is 10 (a fixed 127 would leave the 100s out)"),
    ]


def _between_class_argmax_mean(image):
    return float(np.asarray(image).mean())


register(
    Exercise(
        name="otsu_threshold",
        function="my_otsu_threshold",
        signature="(image)",
        reference="skimage.filters.threshold_otsu",
        hides=("segtutor.classical.otsu_threshold",),
        forbids=("skimage.filters.threshold_otsu", "skimage.filters.threshold_multiotsu", "skimage.filters.threshold_isodata"),
        fixed=_otsu_fixed(),
        random_case=lambda rng: Case((_bimodal(rng),)),
        edge=[
            Case((np.array([[0, 255]], np.uint8),), "two pixels, black and white"),
            Case((np.array([[0, 0, 0, 0, 0, 0, 0, 255]], np.uint8),), "one bright pixel among seven dark ones"),
        ],
        compare=_same_segmentation,
        mistakes={
            "that is the mean grey level; Otsu picks the t that maximises the between-class variance":
                _between_class_argmax_mean,
            "that is the median grey level; Otsu picks the t that maximises the between-class variance":
                lambda image: float(np.median(image)),
        },
    )
)
