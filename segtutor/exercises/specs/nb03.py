"""Notebook 03 (convolution basics): conv2d, max pooling, output size, receptive field."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _conv(image, kernel):
    from segtutor.convolution import conv2d

    return conv2d(image, kernel)


def _flipped(image, kernel):
    from segtutor.convolution import convolve2d

    return convolve2d(image, kernel)


def _same(image, kernel):
    from segtutor.convolution import conv2d

    return conv2d(image, kernel, padding="same")


def _conv_case(rng):
    h, w = int(rng.integers(3, 13)), int(rng.integers(3, 13))
    kh, kw = int(rng.integers(1, min(h, 5) + 1)), int(rng.integers(1, min(w, 5) + 1))
    return Case((rng.normal(size=(h, w)).round(2), rng.normal(size=(kh, kw)).round(2)))


IMPULSE = np.zeros((5, 5))
IMPULSE[2, 2] = 1.0

register(
    Exercise(
        name="conv2d",
        function="my_conv2d",
        signature="(image, kernel)",
        reference=_conv,
        hides=("segtutor.convolution.conv2d", "segtutor.convolution.convolve2d", "segtutor.convolution.filter_image"),
        forbids=("scipy.signal.correlate2d", "scipy.signal.correlate", "scipy.ndimage.correlate"),
        fixed=[
            Case((np.arange(16.0).reshape(4, 4), np.ones((2, 2))), "a 2×2 sum: the first output is 0+1+4+5 = 10"),
            Case((np.arange(12.0).reshape(3, 4), np.array([[1.0, -1.0]])), "a 1×2 kernel: shape (3, 3), every value -1"),
            Case((IMPULSE, np.arange(9.0).reshape(3, 3)),
                 "an impulse shows the kernel upside down: deep learning does not flip the kernel"),
        ],
        random_case=_conv_case,
        edge=[
            Case((np.ones((3, 3)), np.ones((3, 3))), "kernel as large as the image: a single output"),
            Case((np.ones((2, 5)), np.ones((3, 3))), "a kernel taller than the image should raise an error"),
        ],
        mistakes={
            "you flipped the kernel (true convolution); Conv2D computes the correlation, no flip": _flipped,
            "the output has the input's size: this task uses no padding ('valid'), so it shrinks by k - 1": _same,
        },
    )
)


def _pool(image, size=2):
    from segtutor.convolution import max_pool2d

    return max_pool2d(image, size)


def _avg_pool(image, size=2):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[: h * size, : w * size].reshape(h, size, w, size).mean(axis=(1, 3))


def _ceil_pool(image, size=2):
    from segtutor.convolution import max_pool2d

    return max_pool2d(image, size, padding="same")


def _pool_case(rng):
    size = int(rng.integers(2, 4))
    h, w = int(rng.integers(size, 13)), int(rng.integers(size, 13))
    return Case((rng.normal(size=(h, w)).round(2),), kwargs={"size": size})


register(
    Exercise(
        name="max_pool2d",
        function="my_max_pool2d",
        signature="(image, size=2)",
        reference=_pool,
        hides=("segtutor.convolution.max_pool2d",),
        forbids=("skimage.measure.block_reduce",),
        fixed=[
            Case((np.arange(16.0).reshape(4, 4),), "2×2 windows of a 4×4 ramp: [[5, 7], [13, 15]]"),
            Case((np.array([[-1.0, -2.0], [-3.0, -4.0]]),), "all negative: the max is -1, not 0"),
            Case((np.arange(36.0).reshape(6, 6),), "3×3 windows on 6×6 give 2×2", kwargs={"size": 3}),
        ],
        random_case=_pool_case,
        edge=[
            Case((np.arange(25.0).reshape(5, 5),), "an odd size: the last row and column are dropped, giving 2×2"),
            Case((np.ones((1, 1)),), "an image smaller than the window should raise an error"),
        ],
        mistakes={
            "you took the mean of each window (average pooling); take the maximum": _avg_pool,
            "you kept the partial windows at the edge; drop rows and columns that do not fill a window": _ceil_pool,
        },
    )
)


def _size(n, kernel, stride=1, padding=0, dilation=1):
    from segtutor.convolution import conv_output_size

    return conv_output_size(n, kernel, stride=stride, padding=padding, dilation=dilation)


def _size_case(rng):
    kwargs = {"stride": int(rng.integers(1, 5)), "padding": int(rng.integers(0, 4)), "dilation": int(rng.integers(1, 4))}
    k = int(rng.integers(1, 8))
    n = int(rng.integers(kwargs["dilation"] * (k - 1) + 1, 80))
    return Case((n, k), kwargs=kwargs)


register(
    Exercise(
        name="conv_output_size",
        function="my_conv_output_size",
        signature="(n, kernel, stride=1, padding=0, dilation=1)",
        reference=_size,
        hides=("segtutor.convolution.conv_output_size",),
        fixed=[
            Case((32, 5), "LeNet: 32 pixels, 5×5 kernel, no padding: 28"),
            Case((28, 3), "padding 1 keeps 28", kwargs={"padding": 1}),
            Case((227, 11), "AlexNet's first layer: stride 4 gives 55", kwargs={"stride": 4}),
            Case((7, 3), "stride 2 with padding 1 on 7 pixels: 4", kwargs={"stride": 2, "padding": 1}),
            Case((10, 3), "dilation 2 makes a 3-tap kernel span 5 pixels: 6", kwargs={"dilation": 2}),
        ],
        random_case=_size_case,
        edge=[
            Case((3, 3), "kernel as large as the input: exactly one output"),
            Case((8, 3), "a stride larger than the input still fits one window: 1", kwargs={"stride": 20}),
            Case((2, 5), "a kernel larger than the padded input should raise an error"),
        ],
        mistakes={
            "you forgot the + 1 (a kernel as large as the input still gives one output)":
                lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - dilation * (k - 1) - 1) // stride,
            "padding is added on both sides: use 2 * padding":
                lambda n, k, stride=1, padding=0, dilation=1: (n + padding - dilation * (k - 1) - 1) // stride + 1,
            "you ignored the dilation: a dilated kernel spans d * (k - 1) + 1 pixels":
                lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - k) // stride + 1,
            "you rounded up; the division rounds down (floor), since a window must fit entirely":
                lambda n, k, stride=1, padding=0, dilation=1: -(-(n + 2 * padding - dilation * (k - 1) - 1) // stride) + 1,
        },
    )
)


def _rf(layers):
    from segtutor.convolution import receptive_field

    return receptive_field(np.asarray(layers).reshape(-1, 2))


def _rf_no_jump(layers):
    return int(1 + sum(int(k) - 1 for k, _ in np.asarray(layers).reshape(-1, 2)))


def _rf_jump_too_early(layers):
    r, j = 1, 1
    for k, s in np.asarray(layers).reshape(-1, 2):
        j *= int(s)
        r += (int(k) - 1) * j
    return r


def _rf_case(rng):
    n = int(rng.integers(1, 7))
    kernels = rng.choice([1, 2, 3, 5, 7], size=n)
    strides = rng.choice([1, 1, 2, 3], size=n)
    return Case((np.stack([kernels, strides], axis=1).astype(np.int64),))


register(
    Exercise(
        name="receptive_field",
        function="my_receptive_field",
        signature="(layers)",
        reference=_rf,
        hides=("segtutor.convolution.receptive_field", "segtutor.convolution.receptive_field_table"),
        fixed=[
            Case((np.array([[3, 1]]),), "one 3×3 convolution sees 3 pixels"),
            Case((np.array([[3, 1], [3, 1], [3, 1]]),), "three stacked 3×3 convolutions see 7 (VGG's argument)"),
            Case((np.array([[3, 1], [2, 2], [3, 1], [2, 2]]),),
                 "conv, pool, conv, pool: after a stride-2 pool each new tap is 2 pixels apart, so 10"),
            Case((np.array([[3, 1], [2, 2], [3, 1], [2, 2], [3, 1], [2, 2]]),), "the course CNN's six layers: 22"),
        ],
        random_case=_rf_case,
        edge=[
            Case((np.array([[1, 1]]),), "a 1×1 convolution sees one pixel"),
            Case((np.array([[2, 2], [1, 1]]),), "a 1×1 layer after a pool adds nothing: 2"),
        ],
        mistakes={
            "you added k - 1 per layer but ignored the strides before it; multiply by the jump (product of earlier strides)":
                _rf_no_jump,
            "you updated the jump before using it; a layer's own stride only matters for the layers after it":
                _rf_jump_too_early,
        },
    )
)
