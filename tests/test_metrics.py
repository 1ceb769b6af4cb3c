"""segtutor.metrics: hand-computed cases, properties, and scikit-learn as a reference."""

import itertools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

from segtutor import metrics
from segtutor.metrics import (
    confusion_matrix,
    dice,
    dice_per_class,
    instance_iou_matrix,
    instance_scores,
    iou,
    iou_per_class,
    match_instances,
    mean_iou,
    pixel_accuracy,
)

# -- hand-computed semantic cases ---------------------------------------------

TRUTH = np.array([[0, 1, 1, 0],
                  [0, 1, 1, 0],
                  [0, 0, 0, 0]], bool)           # 4 pixels
PRED = np.array([[0, 0, 1, 1],
                 [0, 1, 1, 1],
                 [0, 0, 0, 0]], bool)            # 5 pixels, 3 shared


def test_hand_computed_binary_scores():
    assert iou(PRED, TRUTH) == pytest.approx(3 / 6)
    assert dice(PRED, TRUTH) == pytest.approx(2 * 3 / (5 + 4))
    assert pixel_accuracy(PRED, TRUTH) == pytest.approx(9 / 12)


def test_integer_and_whole_float_masks_equal_bool_masks():
    assert iou(PRED.astype(np.uint8), TRUTH.astype(np.int64)) == iou(PRED, TRUTH)
    assert dice(PRED.astype(np.float32), TRUTH) == dice(PRED, TRUTH)
    assert iou(PRED.tolist(), TRUTH.tolist()) == iou(PRED, TRUTH)


def test_empty_mask_convention():
    empty = np.zeros((3, 3), bool)
    some = empty.copy()
    some[1, 1] = True
    assert iou(empty, empty) == 1.0 and dice(empty, empty) == 1.0
    assert iou(some, empty) == 0.0 and dice(some, empty) == 0.0   # empty truth, something predicted
    assert iou(empty, some) == 0.0 and dice(empty, some) == 0.0   # object missed entirely


def test_batch_is_pooled_by_default_and_per_image_on_request():
    # Image 0: pred 2 px inside a 4 px truth -> IoU 0.5. Image 1: both empty -> 1.0.
    truth = np.zeros((2, 4, 4), bool)
    pred = np.zeros((2, 4, 4), bool)
    truth[0, :2, :2] = True
    pred[0, 0, :2] = True
    assert iou(pred, truth) == pytest.approx(2 / 4)          # pooled: 2 shared / 4 in union
    np.testing.assert_allclose(iou(pred, truth, reduction="per_image"), [0.5, 1.0])
    np.testing.assert_allclose(dice(pred, truth, reduction="per_image"), [2 * 2 / 6, 1.0])
    # Pooling differs from the mean of per-image scores: the empty image counts in the mean only.
    assert iou(pred, truth) != pytest.approx(np.mean(iou(pred, truth, reduction="per_image")))
    single = iou(PRED, TRUTH, reduction="per_image")
    assert single.shape == (1,) and single[0] == pytest.approx(0.5)


def test_confusion_matrix_hand_computed_rows_are_truth():
    truth = np.array([[0, 0, 1, 2]])
    pred = np.array([[0, 1, 1, 1]])
    cm = confusion_matrix(pred, truth, n_classes=3)
    expected = np.array([[1, 1, 0],    # truth 0: one right, one called 1
                         [0, 1, 0],
                         [0, 1, 0]])   # truth 2 predicted as 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64


def test_per_class_scores_and_mean_iou_hand_computed():
    truth = np.array([[0, 0, 1, 1, 1, 0]])
    pred = np.array([[0, 1, 1, 1, 0, 0]])
    # class 0: truth {0,1,5}, pred {0,4,5}: inter 2, union 4. class 1: truth {2,3,4}, pred {1,2,3}: 2 / 4.
    np.testing.assert_allclose(iou_per_class(pred, truth, 3), [0.5, 0.5, np.nan])
    np.testing.assert_allclose(dice_per_class(pred, truth, 3), [2 / 3, 2 / 3, np.nan])
    assert mean_iou(pred, truth, 3) == pytest.approx(0.5)
    # Only background in both: it agrees perfectly; without it nothing is left to score.
    assert mean_iou(np.zeros((2, 2), int), np.zeros((2, 2), int), 3) == 1.0
    with pytest.warns(RuntimeWarning, match="undefined"):  # and it says why (issue 24)
        assert np.isnan(mean_iou(np.zeros((2, 2), int), np.zeros((2, 2), int), 3, ignore_background=True))


def test_mean_iou_ignore_background():
    truth = np.array([[0, 0, 0, 0, 2, 2]])
    pred = np.array([[0, 0, 0, 0, 2, 0]])
    # class 0: 4 / 5, class 2: 1 / 2, class 1 absent.
    assert mean_iou(pred, truth, 3) == pytest.approx((0.8 + 0.5) / 2)
    assert mean_iou(pred, truth, 3, ignore_background=True) == pytest.approx(0.5)


# -- scikit-learn as an independent reference ---------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_and_per_class_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_classes = 5
    truth = rng.integers(0, n_classes, size=(3, 17, 13))
    pred = np.where(rng.random(truth.shape) < 0.6, truth, rng.integers(0, n_classes, truth.shape))
    labels = list(range(n_classes))
    cm = confusion_matrix(pred, truth, n_classes)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(truth.ravel(), pred.ravel(), labels=labels))
    np.testing.assert_allclose(
        iou_per_class(pred, truth, n_classes),
        skm.jaccard_score(truth.ravel(), pred.ravel(), average=None, labels=labels),
    )
    np.testing.assert_allclose(
        dice_per_class(pred, truth, n_classes),
        skm.f1_score(truth.ravel(), pred.ravel(), average=None, labels=labels),
    )
    assert pixel_accuracy(pred, truth) == pytest.approx(skm.accuracy_score(truth.ravel(), pred.ravel()))


def test_per_class_iou_equals_binary_iou_of_each_class():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 4, size=(20, 20))
    pred = rng.integers(0, 4, size=(20, 20))
    per_class = iou_per_class(pred, truth, 4)
    for k in range(4):
        assert per_class[k] == pytest.approx(iou(pred == k, truth == k))


def test_absent_class_is_nan_where_sklearn_says_zero():
    truth = np.array([[0, 1]])
    pred = np.array([[0, 1]])
    ours = iou_per_class(pred, truth, 3)
    assert np.isnan(ours[2])
    np.testing.assert_allclose(ours[:2], [1.0, 1.0])


# -- properties -------------------------------------------------------------

masks = st.integers(1, 6).flatmap(
    lambda h: st.integers(1, 6).flatmap(
        lambda w: st.tuples(arrays(bool, (h, w)), arrays(bool, (h, w)))
    )
)


@settings(max_examples=150, deadline=None)
@given(masks)
def test_binary_score_properties(pair):
    a, b = pair
    i, d = iou(a, b), dice(a, b)
    assert 0.0 <= i <= 1.0 and 0.0 <= d <= 1.0
    assert i == pytest.approx(iou(b, a)) and d == pytest.approx(dice(b, a))
    assert d == pytest.approx(2 * i / (1 + i))
    assert d >= i - 1e-12
    assert iou(a, a) == 1.0 and dice(a, a) == 1.0
    assert 0.0 <= pixel_accuracy(a, b) <= 1.0


label_maps = st.integers(1, 5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        arrays(np.int64, (4, 5), elements=st.integers(0, n - 1)),
        arrays(np.int64, (4, 5), elements=st.integers(0, n - 1)),
    )
)


@settings(max_examples=150, deadline=None)
@given(label_maps)
def test_label_map_properties(case):
    n, a, b = case
    cm = confusion_matrix(a, b, n)
    assert cm.shape == (n, n) and cm.sum() == a.size
    np.testing.assert_array_equal(cm.T, confusion_matrix(b, a, n))
    # Per-class IoU derived from the matrix by hand.
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    present = union > 0
    per_class = iou_per_class(a, b, n)
    np.testing.assert_allclose(per_class[present], tp[present] / union[present])
    assert np.all(np.isnan(per_class[~present]))
    assert np.all((per_class[present] >= 0) & (per_class[present] <= 1))
    in_a = np.bincount(a.ravel(), minlength=n) > 0
    np.testing.assert_allclose(iou_per_class(a, a, n)[in_a], 1.0)


# -- argument checks --------------------------------------------------------

def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match=r"same shape.*\(3, 4\).*\(4, 3\)"):
        iou(np.zeros((3, 4), bool), np.zeros((4, 3), bool))


def test_probabilities_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="threshold"):
        iou(np.full((2, 2), 0.7), np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="threshold"):
        confusion_matrix(np.full((2, 2), 0.3), np.zeros((2, 2), int), 2)


def test_channel_axis_is_named():
    with pytest.raises(ValueError, match=r"channel axis.*\[\.\.\., 0\]"):
        dice(np.zeros((2, 4, 4, 1)), np.zeros((2, 4, 4, 1)))


def test_label_map_passed_to_binary_iou():
    with pytest.raises(ValueError, match="binary mask.*iou_per_class"):
        iou(np.array([[0, 2]]), np.array([[0, 1]]))


def test_n_classes_too_small():
    with pytest.raises(ValueError, match=r"label 4.*n_classes=3.*n_classes=5"):
        iou_per_class(np.array([[0, 4]]), np.array([[0, 1]]), 3)
    with pytest.raises(ValueError, match="negative"):
        confusion_matrix(np.array([[0, -1]]), np.array([[0, 1]]), 3)
    with pytest.raises(ValueError, match="n_classes"):
        mean_iou(np.array([[0, 1]]), np.array([[0, 1]]), 0)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        iou(TRUTH, TRUTH, reduction="mean")


@pytest.mark.parametrize("bad", [0, 0.0, -0.2, 1.5, 50, float("nan"), "0.5", None])
def test_thresholds_outside_unit_interval(bad):
    a = np.array([[1, 1, 0]])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        match_instances(a, a, threshold=bad)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        instance_scores(a, a, thresholds=[0.5, bad])


def test_instance_images_must_be_single_images():
    with pytest.raises(ValueError, match="one image at a time"):
        instance_iou_matrix(np.zeros((2, 4, 4), int), np.zeros((2, 4, 4), int))
    with pytest.raises(ValueError, match="threshold"):
        match_instances(np.full((3, 3), 0.5), np.zeros((3, 3), int))


# -- instances ----------------------------------------------------------------

def _reference_iou_matrix(pred, truth):
    """Per-pair loops: slow, obvious, independent of the joint histogram."""
    p_ids = [i for i in np.unique(pred) if i != 0]
    t_ids = [j for j in np.unique(truth) if j != 0]
    out = np.zeros((len(p_ids), len(t_ids)))
    for r, i in enumerate(p_ids):
        for c, j in enumerate(t_ids):
            a, b = pred == i, truth == j
            out[r, c] = (a & b).sum() / (a | b).sum()
    return out


def _reference_tp(ious, threshold):
    """Largest number of one-to-one pairs with IoU >= threshold, by trying every assignment."""
    n_pred, n_true = ious.shape
    best = 0
    if n_pred <= n_true:
        for cols in itertools.permutations(range(n_true), n_pred):
            best = max(best, sum(ious[r, c] >= threshold for r, c in enumerate(cols)))
    else:
        for rows in itertools.permutations(range(n_pred), n_true):
            best = max(best, sum(ious[r, c] >= threshold for c, r in enumerate(rows)))
    return best


def _random_instances(rng, shape=(12, 12), n=4, ids=None):
    """Label image of up to n random rectangles; later ones cover earlier ones."""
    labels = np.zeros(shape, np.int64)
    ids = ids if ids is not None else range(1, n + 1)
    for k in ids:
        y, x = rng.integers(0, shape[0] - 2), rng.integers(0, shape[1] - 2)
        h, w = rng.integers(2, 6, size=2)
        labels[y:y + h, x:x + w] = k
    return labels


@pytest.mark.parametrize("seed", range(8))
def test_iou_matrix_matches_pairwise_reference(seed):
    rng = np.random.default_rng(seed)
    truth = _random_instances(rng, ids=[3, 10, 11, 250])       # non-consecutive ids
    pred = _random_instances(rng, ids=[1, 2, 7])
    np.testing.assert_allclose(instance_iou_matrix(pred, truth), _reference_iou_matrix(pred, truth))


def test_instance_matching_hand_built_case_needs_optimal_assignment():
    # One row of 20 pixels. Truth X = cols 0-9 (id 3), Y = cols 10-19 (id 4).
    # Pred B = cols 0-2 (id 5), A = cols 3-14 (id 8).
    truth = np.array([[3] * 10 + [4] * 10])
    pred = np.array([[5] * 3 + [8] * 12 + [0] * 5])
    expected = np.array([[3 / 10, 0.0],
                         [7 / 15, 5 / 17]])
    np.testing.assert_allclose(instance_iou_matrix(pred, truth), expected)
    # At 0.25 the greedy choice A-X (best IoU) would leave B and Y alone;
    # the optimal assignment pairs B-X and A-Y: two matches.
    m = match_instances(pred, truth, threshold=0.25)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    np.testing.assert_array_equal(m.truth_ids, [3, 4])
    np.testing.assert_array_equal(m.pred_ids, [5, 8])
    np.testing.assert_allclose(m.ious, [0.3, 5 / 17])
    m = match_instances(pred, truth, threshold=0.4)
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.pred_ids.tolist() == [8] and m.truth_ids.tolist() == [3]
    assert m.unmatched_pred.tolist() == [5] and m.unmatched_truth.tolist() == [4]
    m = match_instances(pred, truth, threshold=0.5)
    assert (m.tp, m.fp, m.fn) == (0, 2, 2)


def test_instance_scores_hand_computed():
    # Truth: two 2x2 squares (ids 1, 2) and one 1x2 bar (id 9).
    truth = np.zeros((6, 8), int)
    truth[0:2, 0:2] = 1
    truth[0:2, 4:6] = 2
    truth[4, 0:2] = 9
    # Pred: square 1 exactly (IoU 1), square 2 with one pixel missing (IoU 0.75),
    # bar missed, plus an extra object (id 40).
    pred = np.zeros_like(truth)
    pred[0:2, 0:2] = 7
    pred[0:2, 4:6] = 8
    pred[1, 5] = 0
    pred[3:5, 6:8] = 40
    s = instance_scores(pred, truth, thresholds=[0.5, 0.75, 0.8, 1.0])
    np.testing.assert_array_equal(s.tp, [2, 2, 1, 1])
    np.testing.assert_array_equal(s.fp, [1, 1, 2, 2])
    np.testing.assert_array_equal(s.fn, [1, 1, 2, 2])
    np.testing.assert_allclose(s.precision, [2 / 3, 2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(s.recall, [2 / 3, 2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(s.dsb_score, [2 / 4, 2 / 4, 1 / 5, 1 / 5])
    np.testing.assert_allclose(s.f1, [4 / 6, 4 / 6, 2 / 6, 2 / 6])
    assert s.mean_dsb_score == pytest.approx((0.5 + 0.5 + 0.2 + 0.2) / 4)
    assert "mean DSB score" in str(s) and len(s.as_dict()["tp"]) == 4


def test_default_thresholds_are_the_data_science_bowl_ones():
    truth = np.zeros((10, 10), int)
    truth[2:6, 2:6] = 1            # 16 px
    pred = np.zeros_like(truth)
    pred[2:6, 2:5] = 1             # 12 px inside: IoU 0.75
    s = instance_scores(pred, truth)
    np.testing.assert_allclose(s.thresholds, np.arange(0.5, 0.96, 0.05))
    # Matched at 0.5 ... 0.75 (six thresholds, 0.75 counts: IoU >= threshold), missed above.
    np.testing.assert_array_equal(s.tp, [1] * 6 + [0] * 4)
    np.testing.assert_allclose(s.dsb_score, [1.0] * 6 + [0.0] * 4)
    assert s.mean_dsb_score == pytest.approx(0.6)


def test_empty_instance_images():
    empty = np.zeros((5, 5), int)
    one = empty.copy()
    one[1:3, 1:3] = 4
    both_empty = instance_scores(empty, empty, thresholds=0.5)
    assert both_empty.dsb_score.tolist() == [1.0] and both_empty.f1.tolist() == [1.0]
    missed = instance_scores(empty, one, thresholds=0.5)
    assert (missed.tp[0], missed.fp[0], missed.fn[0]) == (0, 0, 1)
    assert missed.precision[0] == 0.0 and missed.recall[0] == 0.0 and missed.dsb_score[0] == 0.0
    assert instance_iou_matrix(empty, one).shape == (0, 1)
    m = match_instances(one, empty)
    assert (m.tp, m.fp, m.fn) == (0, 1, 0) and m.unmatched_pred.tolist() == [4]


def test_image_without_background_pixels():
    truth = np.array([[1, 1, 2, 2]])
    pred = np.array([[5, 5, 5, 6]])   # 5 covers truth 1 (2 px) and one pixel of 2
    np.testing.assert_allclose(instance_iou_matrix(pred, truth), [[2 / 3, 1 / 4], [0.0, 1 / 2]])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.1, 0.3, 0.5, 0.55, 0.7, 0.9]))
def test_matching_is_optimal_and_relabelling_does_not_change_it(seed, threshold):
    rng = np.random.default_rng(seed)
    truth = _random_instances(rng, shape=(10, 10), n=4)
    pred = _random_instances(rng, shape=(10, 10), n=4)
    ious = _reference_iou_matrix(pred, truth)
    m = match_instances(pred, truth, threshold)
    assert m.tp == _reference_tp(ious, threshold)
    assert m.tp + m.fp == ious.shape[0] and m.tp + m.fn == ious.shape[1]
    assert np.all(m.ious >= threshold)
    assert len(set(m.pred_ids)) == m.tp and len(set(m.truth_ids)) == m.tp
    # Arbitrary, non-consecutive ids give the same counts.
    relabel = np.concatenate([[0], rng.permutation(np.arange(100, 110))])
    m2 = match_instances(relabel[pred], relabel[truth] * 3, threshold)
    assert (m2.tp, m2.fp, m2.fn) == (m.tp, m.fp, m.fn)


def test_metrics_do_not_import_tensorflow():
    code = "import sys, segtutor.metrics as m; m.iou([[1]], [[1]]); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names():
    for name in metrics.__all__:
        assert hasattr(metrics, name)
