"""Tests for segtutor.arrays: every value checked against an independent reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as np_arrays
from skimage.color import rgb2gray
from skimage.util import img_as_float

from segtutor import arrays

uint8_rgb = np_arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3)))
float_rgb = np_arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3)),
                   elements=st.floats(0, 1))


@settings(max_examples=50, deadline=None)
@given(uint8_rgb)
def test_to_grayscale_equals_skimage_for_uint8(rgb):
    out = arrays.to_grayscale(rgb)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, rgb2gray(rgb))


@settings(max_examples=50, deadline=None)
@given(float_rgb)
def test_to_grayscale_equals_skimage_for_float(rgb):
    np.testing.assert_allclose(arrays.to_grayscale(rgb), rgb2gray(rgb), rtol=0, atol=1e-12)


def test_to_grayscale_weights_and_alpha():
    pure = np.eye(3, dtype=np.uint8)[None] * 255  # (1, 3, 3): red, green, blue pixels
    np.testing.assert_allclose(arrays.to_grayscale(pure)[0], [0.2125, 0.7154, 0.0721])
    rgba = np.concatenate([pure, np.zeros((1, 3, 1), np.uint8)], axis=-1)
    np.testing.assert_allclose(arrays.to_grayscale(rgba), arrays.to_grayscale(pure))


def test_to_grayscale_rejects_gray_with_advice():
    with pytest.raises(ValueError, match=r"\(H, W, 3\).*no conversion"):
        arrays.to_grayscale(np.zeros((4, 4)))


def test_fraction_above_is_strict():
    image = np.array([[0, 10, 10, 20]], np.uint8)
    assert arrays.fraction_above(image, 10) == 0.25
    assert arrays.fraction_above(image, 9.5) == 0.75
    assert arrays.fraction_above(image, 20) == 0.0
    assert arrays.fraction_above(image, -1) == 1.0


@settings(max_examples=50, deadline=None)
@given(np_arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 10)), elements=st.floats(-5, 5)),
       st.floats(-6, 6))
def test_fraction_above_matches_count(image, t):
    expected = sum(1 for v in image.ravel() if v > t) / image.size
    assert arrays.fraction_above(image, t) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [None, "high", float("nan"), True])
def test_fraction_above_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold"):
        arrays.fraction_above(np.zeros((2, 2)), bad)


def test_intensity_window_values():
    image = np.array([[0, 50, 100], [150, 200, 255]], np.uint8)
    out = arrays.intensity_window(image, 50, 150)
    np.testing.assert_allclose(out, [[0, 0, 0.5], [1, 1, 1]])
    assert out.dtype == np.float64


def test_intensity_window_does_not_wrap_uint8():
    # (image - low) in uint8 would wrap around to large values; the result must clip to 0.
    assert arrays.intensity_window(np.array([[10]], np.uint8), 200, 250)[0, 0] == 0.0


@pytest.mark.parametrize("low, high", [(5, 5), (10, 2)])
def test_intensity_window_needs_low_below_high(low, high):
    with pytest.raises(ValueError, match="low should be smaller than high"):
        arrays.intensity_window(np.zeros((2, 2)), low, high)


def test_window_from_level():
    assert arrays.window_from_level(40, 400) == (-160.0, 240.0)
    with pytest.raises(ValueError, match="width should be positive"):
        arrays.window_from_level(40, 0)


@settings(max_examples=30, deadline=None)
@given(np_arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_histogram_uint8_is_bincount(image):
    counts, edges = arrays.histogram(image)
    np.testing.assert_array_equal(counts, np.bincount(image.ravel(), minlength=256))
    np.testing.assert_array_equal(edges, np.arange(257))


def test_histogram_float_default_range_and_errors():
    image = np.array([[0.0, 0.1], [0.6, 1.0]])
    counts, edges = arrays.histogram(image, bins=2)
    np.testing.assert_array_equal(counts, [2, 2])
    np.testing.assert_array_equal(edges, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="bins"):
        arrays.histogram(image, bins=0)
    with pytest.raises(ValueError, match="low < high"):
        arrays.histogram(image, value_range=(1, 0))


def test_to_float_matches_img_as_float():
    for dtype in (np.uint8, np.uint16):
        image = np.array([[0, 1, 2, np.iinfo(dtype).max]], dtype)
        np.testing.assert_array_equal(arrays.to_float(image), img_as_float(image))
    with pytest.raises(ValueError, match="signed integer"):
        arrays.to_float(np.array([[-1, 1]], np.int16))


def test_saturating_add_versus_wraparound():
    image = np.array([[250, 5, 0]], np.uint8)
    wrapped = image + np.uint8(10)
    assert wrapped[0, 0] == 4  # NumPy's modular arithmetic: the bug this function avoids
    np.testing.assert_array_equal(arrays.saturating_add(image, 10), [[255, 15, 10]])
    np.testing.assert_array_equal(arrays.saturating_add(image, -10), [[240, 0, 0]])
    with pytest.raises(ValueError, match="uint8"):
        arrays.saturating_add(image.astype(float), 1)


def test_describe():
    d = arrays.describe(np.array([[1, 3]], np.uint8))
    assert d == {"shape": (1, 2), "dtype": "uint8", "min": 1.0, "max": 3.0, "mean": 2.0}
