"""Headless tests of the notebook 05-07 widgets: move a control, the picture and the numbers follow."""

import numpy as np
import pytest

from segtutor import dense
from segtutor.models import deeplab
from segtutor.widgets.atrous import AtrousExplorer, layer_rates
from segtutor.widgets.overlay import MaskThreshold, dice_at, threshold_picture
from segtutor.widgets.upsampling import UpsamplingExplorer


def test_upsampling_explorer_recomputes():
    w = UpsamplingExplorer()
    before = w.snapshot()
    w.method.value = "nearest"
    assert not np.array_equal(before, w.snapshot())
    np.testing.assert_array_equal(w.snapshot(), dense.upsampling_picture(w.data, "nearest", 2, kernel_size=3, stride=2))
    assert "checkerboard" in w.message.value
    w.kernel_size.value = 4
    assert "no checkerboard" in w.message.value
    with pytest.raises(ValueError, match="small"):
        UpsamplingExplorer(np.zeros((100, 100)))


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(0)
    truth = rng.random((3, 32, 32)) < 0.3
    prob = np.clip(truth * 0.7 + rng.random((3, 32, 32)) * 0.5, 0, 1)
    return rng.random((3, 32, 32)), truth, prob


def test_mask_threshold_scores_follow_the_slider(stack):
    images, truth, prob = stack
    w = MaskThreshold(images, truth, prob)
    assert w.scores["dice_all"] == pytest.approx(dice_at(prob, truth, 0.5))
    before = w.snapshot()
    w.threshold.value = 0.8
    assert w.scores["dice"] == pytest.approx(dice_at(prob[0], truth[0], 0.8))
    assert not np.array_equal(before, w.snapshot())
    w.index.value = 2
    assert w.scores["dice"] == pytest.approx(dice_at(prob[2], truth[2], 0.8))
    with pytest.raises(ValueError, match="probabilities"):
        MaskThreshold(images, truth, prob * 3)


def test_error_view_is_the_colour_blind_safe_error_overlay(stack):
    from segtutor.viz import error_overlay
    from segtutor.widgets._base import to_rgb_uint8

    images, truth, prob = stack
    picture = threshold_picture(images[0], prob[0], truth[0], 0.5, size=32)
    lo, hi = np.percentile(images[0], [1, 99.8])
    expected = error_overlay(np.clip((images[0] - lo) / (hi - lo), 0, 1), truth[0], prob[0] > 0.5)
    np.testing.assert_array_equal(picture[:, -32:], to_rgb_uint8(expected))


def test_atrous_explorer_shows_gridding():
    w = AtrousExplorer(np.random.default_rng(1).random((64, 64)))
    w.layers.value = 3
    assert "gridding" in w.message.value
    same = w.snapshot()
    w.schedule.value = "doubling (1, 2, 4, ...)"
    assert "gridding" not in w.message.value and not np.array_equal(same, w.snapshot())
    assert layer_rates(3, 2, "same rate") == [3, 3]
    np.testing.assert_array_equal(w.snapshot(), deeplab.atrous_picture(w.data, [1, 2, 4]))
