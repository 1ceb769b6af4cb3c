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
    assert (lo, hi, step) == (-1.0, 3.0, 0.02)
    # A step with one significant digit, so every position is a short decimal.
    lo, hi, step = slider_range(np.array([[0.013, 0.71]]))
    assert step == 0.003 and lo <= 0.013 and hi >= 0.71


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
    # Same objects as the pure pipeline, numbered to keep the previous step's colours.
    assert set(np.unique(w._previous)) <= set(range(0, 10))
    np.testing.assert_array_equal(w._previous > 0, expected > 0)
    np.testing.assert_array_equal(
        after, classical.instance_overlay(image, classical.match_labels(expected, w._previous), fill=0.25))
    assert not np.array_equal(before, after)
    assert w.scores["objects"] == 2
    scores = metrics.instance_scores(expected, truth, thresholds=0.5)
    assert w.scores["f1"] == pytest.approx(scores.f1[0])
    assert f"instance F1 (IoU ≥ 0.5) = {scores.f1[0]:.3f}" in w.message.value


def test_threshold_watershed_slider_threshold_and_otsu(disks):
    image, truth = disks
    w = ThresholdWatershed(image, truth)
    assert w.use_otsu.value and w.current_threshold() == classical.otsu_threshold(image)
    assert not w.threshold.disabled and w.threshold.value == round(classical.otsu_threshold(image))
    w.threshold.value = 250  # moving the slider switches Otsu off
    assert not w.use_otsu.value  # nothing is that bright: no objects
    assert w.scores["objects"] == 0 and w.scores["iou"] == 0.0
    assert "0 objects found, 3 true" in w.message.value
    w.threshold.value = 120
    labels = classical.threshold_watershed(image, 120.0, 20, 2, 0.0)
    np.testing.assert_array_equal(w._previous > 0, labels > 0)
    np.testing.assert_array_equal(w.snapshot(), classical.instance_overlay(image, w._previous, fill=0.25))
    assert w.scores["objects"] == 3 and w.scores["iou"] > 0.9
    w.use_otsu.value = True  # back to Otsu: the slider shows Otsu's value again
    assert w.threshold.value == round(classical.otsu_threshold(image))
    assert w.current_threshold() == classical.otsu_threshold(image)


def test_watershed_scores_values():
    truth = np.array([[1, 1, 0, 2, 2]])
    pred = np.array([[5, 5, 0, 0, 0]])
    s = watershed_scores(pred, truth)
    assert s == {"objects": 1, "truth_objects": 2, "iou": 0.5, "f1": pytest.approx(2 / 3)}


def test_threshold_watershed_rejects_mismatched_truth(disks):
    image, truth = disks
    with pytest.raises(ValueError, match="same shape"):
        ThresholdWatershed(image, truth[:10])


# ------------------------------------------------- fixes from issue 13 (what a student saw in the browser)
def test_intensity_window_uses_integer_sliders_for_uint8(gray):
    # Integer sliders send integers, so the handle's aria-valuetext reads "60", not "59.99999999999999".
    import ipywidgets as widgets

    w = IntensityWindow(gray, low=60.4, high=160)
    assert isinstance(w.low, widgets.IntSlider) and w.low.value == 60
    floaty = IntensityWindow(gray.astype(np.float32) / 255.0)
    assert isinstance(floaty.low, widgets.FloatSlider)
    assert floaty.low.readout_format == ".3f" and floaty.low.step == 0.005


def test_window_view_redraw_keeps_the_background_and_draws_the_window(gray):
    a = window_view(gray, 20, 200)
    b = window_view(gray, 100, 120)
    assert a.shape == b.shape == (256, 640, 3)
    changed = np.any(a != b, axis=-1)
    # The image panel and the histogram's band change; the labels around them do not.
    assert changed[:, :300].any() and changed[:, 330:].any()
    assert not changed[:8].any() and not changed[-8:].any()
    # The window band is tinted orange: more red than blue inside it, grey outside.
    from segtutor.widgets import intensity
    bg = intensity._window_background(gray, 64)
    h0, h1, k0, k1 = bg.hist_box
    mid = round(intensity._to_col(110, bg))
    px = b[h0 + 5, mid].astype(int)
    assert px[0] - px[2] > 40
    with pytest.raises(ValueError, match="low should be smaller than high"):
        window_view(gray, 120, 100)


def test_threshold_watershed_one_key_press_changes_the_picture_and_keeps_colours():
    # On the real coins photograph, as in notebook 02: one ArrowRight on the first slider must show.
    from segtutor.datasets import load_coins

    coins = load_coins()
    w = ThresholdWatershed(coins.image, coins.labels)
    before_labels, before = w._previous.copy(), w.snapshot()
    w.threshold.value = w.threshold.value + w.threshold.step  # one ArrowRight
    assert not np.array_equal(before, w.snapshot())
    # An object that is still (nearly) itself keeps its id, hence its colour.
    kept = 0
    for k in np.unique(before_labels[before_labels > 0]):
        ids, counts = np.unique(w._previous[before_labels == k], return_counts=True)
        j = ids[np.argmax(counts)]
        if j == 0:
            continue
        iou = metrics.iou(before_labels == k, w._previous == j)
        if iou > 0.8:
            assert j == k
            kept += 1
    assert kept >= 20  # most of the 29 coins barely move on one grey level


def test_match_labels_keeps_ids_and_numbers_newcomers_afresh():
    ref = np.array([[1, 1, 0, 2, 2, 0, 0]])
    new = np.array([[7, 7, 0, 3, 3, 0, 4]])
    np.testing.assert_array_equal(classical.match_labels(new, ref), [[1, 1, 0, 2, 2, 0, 3]])
    # A split object: the larger part keeps the id.
    np.testing.assert_array_equal(classical.match_labels(np.array([[1, 1, 2]]), np.array([[5, 5, 5]])),
                                  [[5, 5, 6]])
    with pytest.raises(ValueError, match="same shape"):
        classical.match_labels(new, ref[:, :3])


def test_instance_overlay_fill_tints_inside_and_outlines_stay(disks):
    image, truth = disks
    plain = classical.instance_overlay(image, truth)
    filled = classical.instance_overlay(image, truth, fill=0.25)
    inside = classical.instance_overlay(image, truth, thickness=2) != filled
    assert inside.any()
    edge = np.argwhere((plain != np.repeat(image[..., None], 3, -1)).any(-1))[0]
    np.testing.assert_array_equal(plain[tuple(edge)], filled[tuple(edge)])  # outlines drawn over the fill
    with pytest.raises(ValueError, match="fill"):
        classical.instance_overlay(image, truth, fill=1.5)
