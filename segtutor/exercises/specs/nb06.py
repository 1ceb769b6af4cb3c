"""Notebook 06 (U-Net): the encoder block and the decoder block, in Keras, on fixed weights.

The student builds each block from Keras layers whose kernels are drawn by
seeded initialisers (``HeNormal(seed)``, ``HeNormal(seed + 1)``, ...), so the
block's output is a fixed function of its input and can be compared with the
reference's; biases start at zero. A wrong layer, a missing ReLU, a wrong
order or a skip joined the wrong way changes the numbers, and a wrong size or
width changes the shape.
"""

from __future__ import annotations

import numpy as np

from ... import _backend
from .. import Case, Exercise, register


def _layers():
    keras = _backend.keras()
    return keras, keras.layers, keras.initializers.HeNormal


def _conv(filters, seed):
    keras, layers, he = _layers()
    return layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=he(seed))


def encoder_block(x, filters, seed=0):
    """Reference: conv 3x3 + ReLU twice (kernels HeNormal(seed), HeNormal(seed + 1)), then 2x2 max pool."""
    keras, layers, _ = _layers()
    x = np.asarray(x, "float32")
    skip = _conv(filters, seed + 1)(_conv(filters, seed)(x))
    return np.asarray(layers.MaxPooling2D(2)(skip))


def decoder_block(x, skip, filters, seed=0):
    """Reference: 2x2 stride-2 transposed conv (HeNormal(seed)), concatenate [up, skip], conv + ReLU twice."""
    keras, layers, he = _layers()
    x, skip = np.asarray(x, "float32"), np.asarray(skip, "float32")
    up = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", kernel_initializer=he(seed))(x)
    merged = layers.Concatenate()([up, skip])
    return np.asarray(_conv(filters, seed + 2)(_conv(filters, seed + 1)(merged)))


def _close(expected, got, args):
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-4, atol=1e-4))


def _encoder_case(rng):
    h, w = (2 * int(v) for v in rng.integers(1, 7, 2))
    return Case((rng.normal(size=(1, h, w, int(rng.integers(1, 4)))).round(3), int(rng.integers(1, 6)),
                 int(rng.integers(0, 1000))))


def _no_relu_encoder(x, filters, seed=0):
    keras, layers, he = _layers()
    c1 = layers.Conv2D(filters, 3, padding="same", kernel_initializer=he(seed))
    c2 = layers.Conv2D(filters, 3, padding="same", kernel_initializer=he(seed + 1))
    return np.asarray(layers.MaxPooling2D(2)(c2(c1(np.asarray(x, "float32")))))


def _skip_not_pooled(x, filters, seed=0):
    return np.asarray(_conv(filters, seed + 1)(_conv(filters, seed)(np.asarray(x, "float32"))))


X4 = np.linspace(-1, 1, 32).reshape(1, 4, 4, 2)

register(
    Exercise(
        name="encoder_block",
        function="my_encoder_block",
        signature="(x, filters, seed=0)",
        reference=encoder_block,
        hides=("segtutor.models.unet.encoder_block",),
        fixed=[
            Case((X4, 3, 0), "a 4x4 input with 2 channels, 3 filters: output (1, 2, 2, 3)"),
            Case((np.ones((1, 2, 2, 1)), 1, 7), "a 2x2 input pools to one pixel"),
            Case((X4, 2, 5), "seed 5: the first kernel uses HeNormal(5), the second HeNormal(6)"),
        ],
        random_case=_encoder_case,
        edge=[Case((np.ones((1, 5, 5, 1)), 2, 0), "an odd size: the 2x2 pool drops the last row and column")],
        mistakes={
            "each convolution needs a ReLU (activation='relu'); without it two convolutions are just one linear map":
                _no_relu_encoder,
            "the block should return the pooled features (half the size); the unpooled ones are the skip":
                _skip_not_pooled,
        },
        compare=_close,
        n_random=6,
        n_hidden=4,
    )
)


def _decoder_case(rng):
    h, w = (int(v) for v in rng.integers(1, 5, 2))
    c, cs = (int(v) for v in rng.integers(1, 4, 2))
    return Case((rng.normal(size=(1, h, w, c)).round(3), rng.normal(size=(1, 2 * h, 2 * w, cs)).round(3),
                 int(rng.integers(1, 5)), int(rng.integers(0, 1000))))


def _skip_first(x, skip, filters, seed=0):
    keras, layers, he = _layers()
    up = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", kernel_initializer=he(seed))(
        np.asarray(x, "float32"))
    merged = layers.Concatenate()([np.asarray(skip, "float32"), up])
    return np.asarray(_conv(filters, seed + 2)(_conv(filters, seed + 1)(merged)))


register(
    Exercise(
        name="decoder_block",
        function="my_decoder_block",
        signature="(x, skip, filters, seed=0)",
        reference=decoder_block,
        hides=("segtutor.models.unet.decoder_block",),
        fixed=[
            Case((np.linspace(-1, 1, 8).reshape(1, 2, 2, 2), np.linspace(1, -1, 16).reshape(1, 4, 4, 1), 2, 0),
                 "2x2 input, 4x4 skip: output (1, 4, 4, 2)"),
            Case((np.ones((1, 1, 1, 1)), np.zeros((1, 2, 2, 3)), 1, 3), "one pixel doubled to 2x2, joined to a 3-channel skip"),
        ],
        random_case=_decoder_case,
        edge=[
            Case((np.ones((1, 2, 2, 1)), np.ones((1, 3, 3, 1)), 1, 0),
                 "a skip whose size is not twice the input cannot be concatenated: raise an error"),
        ],
        mistakes={
            "concatenate in the order [upsampled, skip]: the order decides which weights meet which channels":
                _skip_first,
        },
        compare=_close,
        n_random=6,
        n_hidden=4,
    )
)
