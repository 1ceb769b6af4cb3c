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
            Case((np.ones((5, 2)), np.ones((3, 3))), "a kernel wider than the image should raise an error too"),
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
            Case((np.ones((1, 5)),), "one row cannot hold a 2x2 window, however wide it is: raise an error"),
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
            Case((10, 3), "dilation 3 makes it span 3 * (3 - 1) + 1 = 7 pixels: 4", kwargs={"dilation": 3}),
        ],
        random_case=_size_case,
        edge=[
            Case((3, 3), "kernel as large as the input: exactly one output"),
            Case((8, 3), "a stride larger than the input still fits one window: 1", kwargs={"stride": 20}),
            Case((2, 5), "a kernel larger than the padded input should raise an error"),
            Case((2, 5), "padding 2 on each side makes 6 pixels: a 5-wide kernel fits once", kwargs={"padding": 2}),
            Case((4, 3), "dilation 2 makes the kernel span 5 pixels, more than 4: raise an error",
                 kwargs={"dilation": 2}),
        ],
        mistakes={
            "you forgot the + 1 (a kernel as large as the input still gives one output)":
                lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - dilation * (k - 1) - 1) // stride,
            "padding is added on both sides: use 2 * padding":
                lambda n, k, stride=1, padding=0, dilation=1: (n + padding - dilation * (k - 1) - 1) // stride + 1,
            "you ignored the dilation: a dilated kernel spans d * (k - 1) + 1 pixels":
                lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - k) // stride + 1,
            "a dilated kernel spans d * (k - 1) + 1 pixels, not d * k":
                lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - dilation * k) // stride + 1,
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


# -- how a network learns -------------------------------------------------------
def _xent(logits, labels):
    from segtutor.learning import softmax_cross_entropy

    return softmax_cross_entropy(logits, labels)


def _xent_sum(logits, labels):
    from segtutor.learning import softmax_cross_entropy

    return softmax_cross_entropy(logits, labels) * len(labels)


def _xent_no_softmax(logits, labels):
    chosen = np.asarray(logits, float)[np.arange(len(labels)), labels]
    if np.any(chosen <= 0):
        return float("nan")  # the log of a non-positive score: no student output looks like this
    return float(np.mean(-np.log(chosen)))


def _xent_log10(logits, labels):
    return _xent(logits, labels) / np.log(10)


def _xent_positive(logits, labels):
    return -_xent(logits, labels)


def _xent_case(rng):
    n, c = int(rng.integers(1, 9)), int(rng.integers(2, 11))
    return Case(((rng.normal(size=(n, c)) * 3).round(2), rng.integers(0, c, size=n)))


register(
    Exercise(
        name="softmax_cross_entropy",
        function="my_softmax_cross_entropy",
        signature="(logits, labels)",
        reference=_xent,
        hides=("segtutor.learning.softmax_cross_entropy",),
        forbids=("keras.losses.sparse_categorical_crossentropy", "keras.losses.SparseCategoricalCrossentropy",
                 "tensorflow.keras.losses.sparse_categorical_crossentropy",
                 "tensorflow.nn.sparse_softmax_cross_entropy_with_logits"),
        fixed=[
            Case((np.array([[2.0, 1.0, 0.1]]), np.array([0])),
                 "softmax gives p = (0.659, 0.242, 0.099); the loss is -log(0.659) = 0.417"),
            Case((np.array([[0.0, 0.0, 0.0, 0.0]]), np.array([3])), "equal scores over 4 classes: -log(1/4) = log 4 = 1.386"),
            Case((np.array([[5.0, 0.0], [0.0, 5.0]]), np.array([0, 0])),
                 "the mean of a confident right answer (0.0067) and a confident wrong one (5.0067)"),
            Case((np.array([[1000.0, 0.0]]), np.array([1])),
                 "huge scores: exp(1000) overflows. Subtract each row's maximum first; the loss is 1000"),
        ],
        random_case=_xent_case,
        edge=[
            Case((np.array([[3.0, 3.0]]), np.array([2])), "a label outside 0..C-1 should raise a ValueError"),
            Case((np.array([[3.0, 1.0]]), np.array([-1])),
                 "label -1 is outside 0..C-1 too (NumPy would silently read the last column): raise a ValueError"),
        ],
        mistakes={
            "you summed over the batch; the loss is the mean over examples": _xent_sum,
            "you took -log of the raw scores; apply the softmax first": _xent_no_softmax,
            "you used log10; cross-entropy uses the natural log (np.log)": _xent_log10,
            "the sign is wrong: the loss is -log p, a positive number": _xent_positive,
        },
    )
)


def _step(w, x, y, learning_rate):
    from segtutor.learning import gradient_step

    return gradient_step(w, x, y, learning_rate)


def _step_plus(w, x, y, learning_rate):
    from segtutor.learning import mse_gradient

    return np.asarray(w, float) + learning_rate * np.asarray(mse_gradient(w, x, y))


def _step_no_two(w, x, y, learning_rate):
    from segtutor.learning import mse_gradient

    return np.asarray(w, float) - learning_rate * np.asarray(mse_gradient(w, x, y)) / 2


def _step_sum(w, x, y, learning_rate):
    from segtutor.learning import mse_gradient

    return np.asarray(w, float) - learning_rate * np.asarray(mse_gradient(w, x, y)) * len(y)


def _step_case(rng):
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 4))
    x = rng.normal(size=(n, d)).round(2)
    return Case((rng.normal(size=d).round(2), x, rng.normal(size=n).round(2), float(rng.choice([0.01, 0.1, 0.5]))))


X1 = np.array([[1.0], [2.0], [3.0]])
Y1 = np.array([2.0, 4.0, 6.0])

register(
    Exercise(
        name="gradient_step",
        function="my_gradient_step",
        signature="(w, x, y, learning_rate)",
        reference=_step,
        hides=("segtutor.learning.gradient_step", "segtutor.learning.mse_gradient"),
        fixed=[
            Case((np.array([0.5]), X1, Y1, 0.05),
                 "the notebook's example: the gradient is -14, so w moves from 0.5 to 0.5 + 0.05 * 14 = 1.2"),
            Case((np.array([2.0]), X1, Y1, 0.05), "w = 2 fits y = 2x exactly: the gradient is 0 and w stays 2"),
            Case((np.array([1.0, -1.0]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0]), 0.5),
                 "two weights: predictions (1, -1), errors (1, -1), gradient (1, -1), new w (0.5, -0.5)"),
        ],
        random_case=_step_case,
        edge=[
            Case((np.array([0.0]), np.array([[2.0]]), np.array([1.0]), 0.1), "a single example"),
        ],
        mistakes={
            "you stepped uphill: subtract learning_rate * gradient, do not add it": _step_plus,
            "the derivative of e**2 is 2 * e: you dropped the factor 2": _step_no_two,
            "you summed the errors; the loss is a mean, so divide the sum by N": _step_sum,
        },
    )
)


def _dense(x, weights, bias):
    from segtutor.learning import dense_relu

    return dense_relu(x, weights, bias)


def _dense_case(rng):
    n, d_in, d_out = (int(v) for v in rng.integers(1, 7, size=3))
    return Case((rng.normal(size=(n, d_in)).round(2), rng.normal(size=(d_in, d_out)).round(2),
                 rng.normal(size=d_out).round(2)))


register(
    Exercise(
        name="dense_relu",
        function="my_dense_relu",
        signature="(x, weights, bias)",
        reference=_dense,
        hides=("segtutor.learning.dense_relu",),
        forbids=("keras.layers.Dense", "tensorflow.keras.layers.Dense"),
        fixed=[
            Case((np.array([[1.0, 2.0]]), np.array([[1.0, -1.0], [1.0, -1.0]]), np.array([0.0, 0.5])),
                 "unit 0: 1 + 2 + 0 = 3; unit 1: -1 - 2 + 0.5 = -2.5, and the ReLU makes it 0"),
            Case((np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[2.0], [3.0]]), np.array([1.0])),
                 "a batch of two inputs: one row of output per input, (3, 4)"),
        ],
        random_case=_dense_case,
        edge=[
            Case((np.ones((1, 3)), np.ones((2, 4)), np.ones(4)), "weights with the wrong number of rows should raise"),
            Case((np.ones((1, 2)), np.ones((2, 3)), np.ones(1)),
                 "a bias of length 1 for 3 units does not fit (NumPy would broadcast it): raise a ValueError"),
        ],
        mistakes={
            "you forgot the ReLU: negative sums become 0": lambda x, w, b: np.asarray(x) @ np.asarray(w) + np.asarray(b),
            "you forgot the bias": lambda x, w, b: np.maximum(np.asarray(x) @ np.asarray(w), 0),
            "you applied the ReLU before adding the bias": lambda x, w, b: np.maximum(np.asarray(x) @ np.asarray(w), 0) + np.asarray(b),
        },
    )
)
