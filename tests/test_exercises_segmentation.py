"""Exercises 5.1-7.2: honest solutions written here pass, classic mistakes are named."""

import io

import numpy as np
import pytest
from scipy.signal import correlate2d

from segtutor.exercises import check


def quiet(name, func, **kw):
    return check(name, func, file=io.StringIO(), **kw)


def transposed(image, kernel, stride):
    if stride < 1:
        raise ValueError("stride")
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    # Dilate the image with stride - 1 zeros, then a full convolution with the kernel.
    up = np.zeros(((image.shape[0] - 1) * stride + 1, (image.shape[1] - 1) * stride + 1))
    up[::stride, ::stride] = image
    from scipy.signal import convolve2d

    return convolve2d(up, kernel, mode="full")


def pixel_ce(prob, labels):
    prob, labels = np.asarray(prob, float), np.asarray(labels)
    if prob.shape[:-1] != labels.shape:
        raise ValueError("shapes")
    onehot = np.eye(prob.shape[-1])[labels]
    return float(-(onehot * np.log(np.clip(prob, 1e-7, 1))).sum(-1).mean())


def soft_dice(prob, truth, smooth=1.0):
    p, t = np.ravel(prob).astype(float), np.ravel(truth).astype(float)
    return float((2 * p @ t + smooth) / (p.sum() + t.sum() + smooth))


def atrous(image, kernel, rate):
    kernel = np.asarray(kernel, float)
    holes = np.zeros(((kernel.shape[0] - 1) * rate + 1, (kernel.shape[1] - 1) * rate + 1))
    holes[::rate, ::rate] = kernel
    if holes.shape[0] > np.shape(image)[0] or holes.shape[1] > np.shape(image)[1]:
        raise ValueError("does not fit")
    return correlate2d(np.asarray(image, float), holes, mode="valid")


def field(layers):
    return 1 + sum(int(r) * (int(k) - 1) for k, r in np.asarray(layers).reshape(-1, 2))


HONEST = {"transposed_conv2d": transposed, "pixel_cross_entropy": pixel_ce, "soft_dice": soft_dice,
          "atrous_conv2d": atrous, "atrous_receptive_field": field}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_solutions_pass(name):
    result = quiet(name, HONEST[name], seed=0)
    assert result.passed, result.report


def test_keras_blocks_written_independently_pass():
    from keras import layers
    from keras.initializers import HeNormal

    def encoder(x, filters, seed=0):
        for i in range(2):
            x = layers.Conv2D(filters, 3, padding="same", kernel_initializer=HeNormal(seed + i))(x)
            x = layers.Activation("relu")(x)
        return layers.MaxPooling2D(pool_size=(2, 2))(x)

    def decoder(x, skip, filters, seed=0):
        x = layers.Conv2DTranspose(filters, (2, 2), strides=(2, 2), kernel_initializer=HeNormal(seed))(x)
        x = layers.Concatenate(axis=-1)([x, skip])
        for i in (1, 2):
            x = layers.ReLU()(layers.Conv2D(filters, 3, padding="same", kernel_initializer=HeNormal(seed + i))(x))
        return x

    assert quiet("encoder_block", encoder, seed=0).passed
    assert quiet("decoder_block", decoder, seed=0).passed


@pytest.mark.parametrize("name, func, words", [
    ("soft_dice", lambda p, t, smooth=1.0: float(((np.asarray(p) * t).sum() + smooth) / (np.sum(p) + np.sum(t) + smooth)),
     "factor 2"),
    ("pixel_cross_entropy", lambda p, y: float(-np.log(np.take_along_axis(np.asarray(p), np.asarray(y)[..., None], -1)).sum()),
     "mean over pixels"),
    ("atrous_receptive_field", lambda layers: int(1 + sum(int(d) * int(k) for k, d in np.asarray(layers).reshape(-1, 2))),
     "rate * (k - 1)"),
    ("atrous_conv2d", lambda image, kernel, rate: correlate2d(np.asarray(image, float), np.asarray(kernel, float), "valid"),
     "spreads the taps"),
])
def test_classic_mistakes_are_named(name, func, words):
    result = quiet(name, func, seed=0)
    assert not result.passed and words in result.report, result.report
