"""Notebook 06: the U-Net's encoder and decoder blocks in Keras (the only mutants that need TensorFlow)."""

import numpy as np


def _keras():
    from segtutor.environment import import_tensorflow

    import_tensorflow()
    import keras

    return keras.layers, keras.initializers.HeNormal


def _encoder(x, filters, seed=0, *, seeds=(0, 1), pool="max", kernel=3, padding="same", activation="relu"):
    layers, he = _keras()
    x = np.asarray(x, "float32")
    for s in seeds:
        x = layers.Conv2D(filters, kernel, padding=padding, activation=activation, kernel_initializer=he(seed + s))(x)
    if pool == "max":
        x = layers.MaxPooling2D(2)(x)
    elif pool == "average":
        x = layers.AveragePooling2D(2)(x)
    return np.asarray(x)


def _pool_first(x, filters, seed=0):
    layers, he = _keras()
    x = layers.MaxPooling2D(2)(np.asarray(x, "float32"))
    for s in (0, 1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=he(seed + s))(x)
    return np.asarray(x)


def _decoder(x, skip, filters, seed=0, *, up="transpose", seeds=(0, 1, 2), merge="concat", convs=2):
    layers, he = _keras()
    x, skip = np.asarray(x, "float32"), np.asarray(skip, "float32")
    if up == "transpose":
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", kernel_initializer=he(seed + seeds[0]))(x)
    else:
        x = layers.UpSampling2D(2)(x)
    if merge == "concat":
        x = layers.Concatenate()([x, skip])
    elif merge == "crop":  # crops or pads the skip to fit instead of raising
        h, w = x.shape[1], x.shape[2]
        s = skip[:, :h, :w]
        s = np.pad(s, ((0, 0), (0, h - s.shape[1]), (0, w - s.shape[2]), (0, 0)))
        x = layers.Concatenate()([x, s])
    for s in seeds[1:1 + convs]:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=he(seed + s))(x)
    return np.asarray(x)


MUTANTS = {
    "encoder_block": {
        "both convolutions use HeNormal(seed)": lambda x, f, seed=0: _encoder(x, f, seed, seeds=(0, 0)),
        "one convolution only": lambda x, f, seed=0: _encoder(x, f, seed, seeds=(0,)),
        "average pooling": lambda x, f, seed=0: _encoder(x, f, seed, pool="average"),
        "'valid' padding": lambda x, f, seed=0: _encoder(x, f, seed, padding="valid"),
        "pools before the convolutions": _pool_first,
        "sigmoid instead of ReLU": lambda x, f, seed=0: _encoder(x, f, seed, activation="sigmoid"),
    },
    "decoder_block": {
        "UpSampling2D instead of the transposed convolution": lambda x, s, f, seed=0: _decoder(x, s, f, seed, up="nearest"),
        "crops or pads the skip instead of raising": lambda x, s, f, seed=0: _decoder(x, s, f, seed, merge="crop"),
        "no skip connection": lambda x, s, f, seed=0: _decoder(x, s, f, seed, merge="none"),
        "one convolution after the merge": lambda x, s, f, seed=0: _decoder(x, s, f, seed, convs=1),
        "the convolutions reuse HeNormal(seed)": lambda x, s, f, seed=0: _decoder(x, s, f, seed, seeds=(0, 0, 0)),
    },
}
