"""Notebook 11: the pseudo-label widget follows its sliders; Exercise 11.1 passes honest code, names mistakes."""

import io

import numpy as np
import pytest

from segtutor import semi
from segtutor.exercises import check
from segtutor.widgets.pseudo_labels import PseudoLabels


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(0)
    truth = rng.random((3, 32, 32)) < 0.3
    prob = np.where(truth, rng.beta(5, 1.5, truth.shape), rng.beta(1.5, 5, truth.shape))
    return rng.random((3, 32, 32)), prob, truth


def test_widget_picture_and_numbers_follow_the_threshold(stack):
    images, prob, truth = stack
    w = PseudoLabels(images, prob, truth)
    assert w.threshold.value == pytest.approx(0.9)
    first = w.snapshot()
    np.testing.assert_array_equal(first, semi.pseudo_label_picture(images[0], prob[0], truth[0], 0.9))
    q_high = w.quality_all
    assert q_high == semi.pseudo_label_quality(prob, truth, 0.9)
    w.threshold.value = 0.6
    assert not np.array_equal(first, w.snapshot())
    assert w.quality_all.coverage > q_high.coverage and w.quality_all.precision < q_high.precision
    assert f"{w.quality_all.coverage:.1%} kept" in w.message.value
    w.index.value = 2
    np.testing.assert_array_equal(w.snapshot(), semi.pseudo_label_picture(images[2], prob[2], truth[2], 0.6))
    assert w.quality == semi.pseudo_label_quality(prob[2], truth[2], 0.6)


def test_picture_colours_right_wrong_and_ignored():
    p = np.array([[0.99, 0.99], [0.01, 0.6]])
    truth = np.array([[True, False], [False, True]])
    pic = semi.pseudo_label_picture(np.zeros((2, 2)), p, truth, 0.9, size=16)
    third = pic[:, 2 * 16 + 2 * 8:]   # third panel, after two 16-pixel panels and two 8-pixel gaps
    colours = {tuple(third[y * 8, x * 8]) for y in (0, 1) for x in (0, 1)}
    assert len(colours) == 4  # right nucleus, wrong, right background, ignored: four colours


def test_widget_rejects_bad_input(stack):
    images, prob, truth = stack
    with pytest.raises(ValueError, match="one shape"):
        PseudoLabels(images[:2], prob, truth)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PseudoLabels(images, prob * 3, truth)


def quiet(func):
    return check("pseudo_labels", func, file=io.StringIO(), seed=0)


def honest(probabilities, threshold):
    p = np.asarray(probabilities, dtype=float)
    if threshold < 0.5 or threshold > 1 or p.min() < 0 or p.max() > 1:
        raise ValueError("bad input")
    return (p >= threshold).astype(np.uint8), (p >= threshold) | (1 - p >= threshold)


def test_honest_solution_passes():
    result = quiet(honest)
    assert result.passed, result.report


def test_reference_passes():
    assert quiet(semi.select_pseudo_labels).passed


def _valid(p, t):
    if t < 0.5 or np.min(p) < 0 or np.max(p) > 1:
        raise ValueError("bad")
    return np.asarray(p, float)


@pytest.mark.parametrize("func, words", [
    (lambda p, t: ((_valid(p, t) >= t).astype(np.uint8), _valid(p, t) >= t), "confident background"),
    (lambda p, t: ((_valid(p, t) > t).astype(np.uint8), (_valid(p, t) > t) | (_valid(p, t) < 1 - t)), ">="),
    (lambda p, t: ((_valid(p, t) >= t).astype(float), (_valid(p, t) >= t) | (_valid(p, t) <= 1 - t)), "integers"),
    (lambda p, t: ((_valid(p, t) >= 0.5).astype(np.uint8), (_valid(p, t) >= t) | (_valid(p, t) <= 1 - t)),
     "ignored pixels get label 0"),
    (lambda p, t: ((_valid(p, t) >= t) | (_valid(p, t) <= 1 - t), (_valid(p, t) >= t).astype(np.uint8)), "order"),
])
def test_classic_mistakes_fail_with_their_hint(func, words):
    result = quiet(func)
    assert not result.passed
    assert words in result.report, result.report


def test_forgetting_to_raise_fails():
    def no_checks(p, t):
        p = np.asarray(p, float)
        return (p >= t).astype(np.uint8), (p >= t) | (p <= 1 - t)

    result = quiet(no_checks)
    assert not result.passed and "raise" in result.report
