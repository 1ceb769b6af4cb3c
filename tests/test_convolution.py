"""segtutor.convolution against TensorFlow and SciPy on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from segtutor import convolution as C
from segtutor.environment import import_tensorflow

tf = import_tensorflow()
RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- conv2d
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)])
def test_conv2d_matches_tf_multichannel(padding, stride, dilation):
    x = RNG.normal(size=(13, 11, 3))
    k = RNG.normal(size=(3, 4, 3, 5))
    ours = C.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    theirs = tf.nn.conv2d(x[None], k, strides=stride, padding=padding.upper(), dilations=dilation)[0].numpy()
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv2d_integer_padding_matches_tf_explicit_padding(pad):
    x = RNG.normal(size=(9, 9))
    k = RNG.normal(size=(3, 3))
    ours = C.conv2d(x, k, padding=pad, stride=2)
    theirs = tf.nn.conv2d(x[None, ..., None], k[..., None, None], strides=2,
                          padding=[[0, 0], [pad, pad], [pad, pad], [0, 0]])[0, ..., 0].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def test_conv2d_is_correlation_and_convolve2d_flips():
    x = RNG.normal(size=(10, 12))
    k = RNG.normal(size=(3, 5))
    np.testing.assert_allclose(C.conv2d(x, k), signal.correlate2d(x, k, mode="valid"), atol=1e-10)
    np.testing.assert_allclose(C.convolve2d(x, k), signal.convolve2d(x, k, mode="valid"), atol=1e-10)
    # A non-symmetric kernel gives different answers for the two.
    assert not np.allclose(C.conv2d(x, k), C.convolve2d(x, k))


def test_conv2d_hand_example():
    image = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(C.conv2d(image, np.ones((2, 2))),
                                  [[10, 14, 18], [26, 30, 34], [42, 46, 50]])


@pytest.mark.parametrize(
    "image,kernel,kwargs,words",
    [
        (np.ones((2, 2)), np.ones((3, 3)), {}, "padded image has only 2"),
        (np.ones((5, 5)), np.ones((3, 3)), {"padding": "full"}, "padding should be"),
        (np.ones((5, 5)), np.ones((3, 3)), {"stride": 0}, "stride should be at least 1"),
        (np.ones((5, 5, 2)), np.ones((3, 3, 3, 1)), {}, "expects 3 input channel"),
        (np.ones((5, 5, 2)), np.ones((3, 3)), {}, "tf.nn.conv2d"),
    ],
)
def test_conv2d_errors_are_actionable(image, kernel, kwargs, words):
    with pytest.raises(ValueError, match=words):
        C.conv2d(image, kernel, **kwargs)


# ---------------------------------------------------------------- pooling
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,stride", [(2, None), (3, 2), (2, 1), (3, 3)])
def test_max_pool_matches_tf(padding, pool, stride):
    x = RNG.normal(size=(11, 8, 4)).astype(np.float32)
    ours = C.max_pool2d(x, pool, stride=stride, padding=padding)
    theirs = tf.nn.max_pool2d(x[None], pool, stride or pool, padding.upper())[0].numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_max_pool_hand_example_and_errors():
    np.testing.assert_array_equal(C.max_pool2d(np.arange(16).reshape(4, 4)), [[5, 7], [13, 15]])
    with pytest.raises(ValueError, match="does not fit"):
        C.max_pool2d(np.ones((1, 1)), 2)
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        C.max_pool2d(np.ones((4, 4)), 2, padding=1)


# ---------------------------------------------------------------- sizes
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3))
def test_output_size_formula_matches_tf_shape(n, k, s, p, d):
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        with pytest.raises(ValueError, match="Add padding"):
            C.conv_output_size(n, k, stride=s, padding=p, dilation=d)
        return
    # TF refuses stride > 1 together with dilation > 1, so check the shape
    # of our conv2d (verified against TF above) in that case.
    x = np.zeros((1, n, n, 1), np.float32)
    if s > 1 and d > 1:
        expected = C.conv2d(x[0, ..., 0], np.ones((k, k)), stride=s, padding=p, dilation=d).shape[0]
    else:
        expected = tf.nn.conv2d(x, np.ones((k, k, 1, 1), np.float32), strides=s, dilations=d,
                                padding=[[0, 0], [p, p], [p, p], [0, 0]]).shape[1]
    assert C.conv_output_size(n, k, stride=s, padding=p, dilation=d) == expected


@pytest.mark.parametrize("n,s", [(7, 2), (28, 3), (5, 1), (1, 4)])
def test_output_size_same_is_ceil(n, s):
    shape = tf.nn.conv2d(np.zeros((1, n, n, 1), np.float32), np.ones((3, 3, 1, 1), np.float32), s, "SAME").shape
    assert C.conv_output_size(n, 3, stride=s, padding="same") == shape[1]


def test_output_size_known_values():
    assert C.conv_output_size(32, 5) == 28  # LeNet's first layer
    assert C.conv_output_size(227, 11, stride=4) == 55  # AlexNet's first layer
    assert C.conv_output_size(28, 3, stride=2, padding=1) == 14


# ---------------------------------------------------------------- receptive field
def _empirical_receptive_field(specs, size=64):
    """Side of the input region whose pixels change the centre output."""
    x = tf.Variable(np.zeros((1, size, size, 1), np.float32))
    with tf.GradientTape() as tape:
        y = x
        for k, s, d in specs:
            # Dilate by hand (zeros between taps): TF's CPU gradient refuses dilation > 1.
            kernel = np.zeros((d * (k - 1) + 1,) * 2 + (1, 1), np.float32)
            kernel[::d, ::d] = 1
            y = tf.nn.conv2d(y, kernel, strides=s, padding="VALID")
        centre = y[0, y.shape[1] // 2, y.shape[2] // 2, 0]
    grad = tape.gradient(centre, x)[0, ..., 0].numpy()
    rows = np.flatnonzero(grad.any(axis=1))
    return rows[-1] - rows[0] + 1


@pytest.mark.parametrize(
    "specs",
    [[(3, 1, 1)], [(3, 1, 1)] * 3, [(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1)], [(5, 2, 1), (3, 2, 1), (3, 1, 1)],
     [(3, 1, 2), (3, 1, 4)]],
)
def test_receptive_field_matches_gradient_footprint(specs):
    assert C.receptive_field(specs) == _empirical_receptive_field(specs)


def test_receptive_field_table_and_errors():
    table = C.receptive_field_table([(3, 1), {"kernel_size": 2, "stride": 2}])
    assert [(r["receptive_field"], r["jump"]) for r in table] == [(3, 1), (4, 2)]
    with pytest.raises(ValueError, match="empty"):
        C.receptive_field([])
    with pytest.raises(ValueError, match="kernel_size, stride"):
        C.receptive_field([3])


def test_input_taps_match_tf_gradient():
    n, k, s, p, d = 7, 3, 2, 1, 1
    x = tf.Variable(RNG.normal(size=(1, n, n, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]),
                         RNG.uniform(1, 2, size=(k, k, 1, 1)).astype(np.float32), s, "VALID")
        target = y[0, 1, 2, 0]
    used = set(map(tuple, np.argwhere(tape.gradient(target, x)[0, ..., 0].numpy() != 0)))
    taps = C.input_taps(n, k, 1, 2, stride=s, padding=p, dilation=d)
    inside = {tuple(t) for t in taps if 0 <= t[0] < n and 0 <= t[1] < n}
    assert inside == used
    with pytest.raises(ValueError, match="outside the 4×4 output"):
        C.input_taps(n, k, 4, 0, stride=s, padding=p)


# ---------------------------------------------------------------- kernels
def test_check_kernel_messages():
    with pytest.raises(ValueError, match="NaN"):
        C.check_kernel([[np.nan, 0], [0, 1]])
    with pytest.raises(ValueError, match="square"):
        C.check_kernel(np.ones((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        C.check_kernel(np.ones(3))
    with pytest.raises(ValueError, match="odd size"):
        C.check_kernel(np.ones((2, 2)), odd=True)


def test_presets_have_the_documented_sums():
    assert C.kernel_preset("sharpen").sum() == pytest.approx(1)
    assert C.kernel_preset("Gaussian blur 5×5").sum() == pytest.approx(1)
    assert C.kernel_preset("Sobel x (vertical edges)").sum() == 0
    np.testing.assert_array_equal(C.kernel_preset("Sobel y (horizontal edges)"),
                                  C.kernel_preset("Sobel x (vertical edges)").T)
    with pytest.raises(ValueError, match="choose one of"):
        C.kernel_preset("nope")
    assert "blank" in C.describe_kernel(np.zeros((3, 3)))
    assert "edges" in C.describe_kernel(C.kernel_preset("edge (Laplacian)"))


def test_filter_image_refuses_tiny_images_and_huge_strides():
    with pytest.raises(ValueError, match="smaller than the 5×5 kernel"):
        C.filter_image(np.ones((4, 4)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="stride 8 is as large as the image"):
        C.filter_image(np.ones((8, 8)), np.ones((3, 3)), stride=8)


def test_playground_picture_shows_the_filtered_image():
    img = RNG.uniform(size=(40, 50)).astype(np.float32)
    blur = np.ones((3, 3)) / 9
    pic = C.kernel_playground_picture(img, blur)
    assert pic.dtype == np.uint8 and pic.shape[0] == 40
    # Left panel: the input; right panel: the blurred image, both as gray.
    np.testing.assert_array_equal(pic[:, :50, 0], (img * 255 + 0.5).astype(np.uint8))
    expected = (np.clip(signal.correlate2d(img, blur, mode="same"), 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.abs(pic[:, -50:, 1].astype(int) - expected).max() <= 1
    # An edge kernel is drawn on the signed (coloured) scale: white where the image is flat.
    flat = np.full((30, 30), 0.5, np.float32)
    edge = C.kernel_playground_picture(flat, C.kernel_preset("edge (Laplacian)"), padding="valid")
    assert np.all(edge[15, -15] == 255)


# ---------------------------------------------------------------- arithmetic picture
def test_arithmetic_picture_marks_the_right_cells():
    cell, margin = 10, 8
    pic = C.conv_arithmetic_picture(5, 3, padding=1, stride=2, step=0, cell=cell)
    centre = lambda r, c: pic[margin + r * cell + cell // 2, margin + c * cell + cell // 2]  # noqa: E731
    tap = (np.array(C._COLOURS["tap"]) * 255 + 0.5).astype(np.uint8)
    pad_tap = (np.array(C._COLOURS["tap_on_padding"]) * 255 + 0.5).astype(np.uint8)
    # Output (0, 0) with padding 1 reads padded cells rows/cols 0..2: 4 real pixels, 5 zeros.
    real = [(r, c) for r in range(3) for c in range(3) if r >= 1 and c >= 1]
    for r in range(3):
        for c in range(3):
            np.testing.assert_array_equal(centre(r, c), tap if (r, c) in real else pad_tap)
    assert not np.array_equal(centre(3, 3), tap)
    assert "4 input pixel(s) and 5 padding zero(s)" in C.describe_conv_arithmetic(5, 3, padding=1, stride=2)


def test_arithmetic_bad_settings_raise():
    with pytest.raises(ValueError, match="smaller than the kernel"):
        C.conv_arithmetic_picture(3, 7)
    with pytest.raises(ValueError, match="stride 50 is larger"):
        C.conv_arithmetic_picture(5, 3, stride=50)
    assert "never read" in C.describe_conv_arithmetic(9, 2, stride=3)


# ---------------------------------------------------------------- graded exercises (specs/nb03.py)
def _loop_conv2d(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    if h < 1 or w < 1:
        raise ValueError("kernel larger than image")
    return np.array([[(image[i:i + kh, j:j + kw] * kernel).sum() for j in range(w)] for i in range(h)])


def _loop_pool(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    if h < 1 or w < 1:
        raise ValueError("too small")
    return np.array([[image[i * size:(i + 1) * size, j * size:(j + 1) * size].max() for j in range(w)]
                     for i in range(h)])


def _size(n, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    if n + 2 * padding < span:
        raise ValueError("does not fit")
    return (n + 2 * padding - span) // stride + 1


def _rf(layers):
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r


HONEST = {"conv2d": _loop_conv2d, "max_pool2d": _loop_pool, "conv_output_size": _size, "receptive_field": _rf}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_exercise_honest_solution_passes(name):
    # check()'s speed is reported by bench/bench_grading.py; a timed assert would race a busy machine.
    from segtutor.exercises import check

    for seed in (0, 1):
        result = check(name, HONEST[name], verbose=False, seed=seed)
        assert result.passed, result.report


@pytest.mark.parametrize(
    "name,func,words",
    [("conv2d", C.convolve2d, "flipped the kernel"),
     ("max_pool2d", lambda im, size=2: C.max_pool2d(im, size, padding="same"), "partial windows"),
     ("conv_output_size", lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - k) // stride + 1,
      "ignored the dilation"),
     ("receptive_field", lambda layers: 1 + sum(k - 1 for k, _ in layers), "ignored the strides")],
)
def test_exercise_mistakes_are_named(name, func, words):
    from segtutor.exercises import check

    result = check(name, func, verbose=False, seed=0)
    assert not result.passed and words in result.report
