"""Headless tests of the notebook 01 and 02 widgets: set a control, check the picture."""

import numpy as np
import pytest

from segtutor import classical, metrics
from segtutor.widgets._base import to_rgb_uint8
from segtutor.widgets.classical import ThresholdWatershed, watershed_scores
from segtutor.widgets.intensity import IntensityWindow, slider_range, window_view


@pytest.fixture(scope="module")
def gray():
    yy, xx = np.mgrid[:48, :64]
    return ((xx * 3 + yy) % 256).astype(np.uint8)


def test_intensity_window_updates_and_matches_compute(gray):
    w = IntensityWindow(gray)
    assert "segtutor-intensity-window" in w.ui._dom_classes
    before = w.snapshot()
    w.low.value = 60
    after = w.snapshot()
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, to_rgb_uint8(window_view(gray, 60, 255)))
    # The status reports the clipped fractions the window produces.
    assert f"{np.mean(gray <= 60):.0%} of pixels clipped to black" in w.message.value


def test_intensity_window_bad_values_show_a_message(gray):
    w = IntensityWindow(gray, low=100, high=150)
    shown = w.snapshot()
    w.low.value = 200  # above high
    assert w.error is not None and "low should be smaller than high" in w.message.value
    np.testing.assert_array_equal(w.snapshot(), shown)  # the last good picture stays
    w.high.value = 250
    assert w.error is None


def test_slider_range():
    assert slider_range(np.zeros((2, 2), np.uint8)) == (0.0, 255.0, 1.0)
    lo, hi, step = slider_range(np.array([[-1.0, 3.0]]))
    assert (lo, hi) == (-1.0, 3.0) and step == pytest.approx(0.02)


@pytest.fixture(scope="module")
def disks():
    yy, xx = np.mgrid[:80, :120]
    truth = np.zeros((80, 120), np.int32)
    for k, (cy, cx) in enumerate([(40, 30), (40, 53), (40, 95)], start=1):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 < 14**2] = k
    rng = np.random.default_rng(0)
    image = np.where(truth > 0, 180, 60) + rng.normal(0, 10, truth.shape)
    return image.clip(0, 255).astype(np.uint8), truth


def test_threshold_watershed_matches_compute(disks):
    image, truth = disks
    w = ThresholdWatershed(image, truth)
    assert "segtutor-threshold-watershed" in w.ui._dom_classes
    before = w.snapshot()
    assert w.scores["objects"] == 3
    w.min_distance.value = 40  # farther than the touching disks' centres: they share one seed
    after = w.snapshot()
    expected = classical.threshold_watershed(image, classical.otsu_threshold(image), 40, 2, 0.0)
    np.testing.assert_array_equal(after, classical.instance_overlay(image, expected))
    assert not np.array_equal(before, after)
    assert w.scores["objects"] == 2
    scores = metrics.instance_scores(expected, truth, thresholds=0.5)
    assert w.scores["f1"] == pytest.approx(scores.f1[0])
    assert f"instance F1 (IoU ≥ 0.5) = {scores.f1[0]:.3f}" in w.message.value


def test_threshold_watershed_slider_threshold_and_otsu(disks):
    image, truth = disks
    w = ThresholdWatershed(image, truth)
    assert w.threshold.disabled and w.current_threshold() == classical.otsu_threshold(image)
    w.use_otsu.value = False
    assert not w.threshold.disabled
    w.threshold.value = 250  # nothing is that bright: no objects
    assert w.scores["objects"] == 0 and w.scores["iou"] == 0.0
    assert "0 objects found, 3 true" in w.message.value
    w.threshold.value = 120
    np.testing.assert_array_equal(
        w.snapshot(), classical.instance_overlay(image, classical.threshold_watershed(image, 120.0, 20, 2, 0.0)))
    assert w.scores["objects"] == 3 and w.scores["iou"] > 0.9


def test_watershed_scores_values():
    truth = np.array([[1, 1, 0, 2, 2]])
    pred = np.array([[5, 5, 0, 0, 0]])
    s = watershed_scores(pred, truth)
    assert s == {"objects": 1, "truth_objects": 2, "iou": 0.5, "f1": pytest.approx(2 / 3)}


def test_threshold_watershed_rejects_mismatched_truth(disks):
    image, truth = disks
    with pytest.raises(ValueError, match="same shape"):
        ThresholdWatershed(image, truth[:10])
