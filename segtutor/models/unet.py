"""U-Net (Ronneberger, Fischer and Brox 2015), the padded variant the course trains.

The network has a **contracting path** of encoder blocks (two 3x3
convolutions, then a 2x2 max pool that halves the size) and an **expanding
path** of decoder blocks (a 2x2 transposed convolution that doubles the size,
concatenation with the encoder's features at the same size, the *skip
connection*, then two 3x3 convolutions). A 1x1 convolution maps the last
features to class scores.

What differs from the paper, and why: the paper uses unpadded convolutions, so
every block loses a border and the skip features must be cropped before they
are concatenated; its output is smaller than its input and large images are
tiled with an overlap. With ``"same"`` padding every block keeps its size, so
input and output align pixel for pixel and any size divisible by ``2**depth``
works. The course also adds batch normalisation (Ioffe and Szegedy 2015),
which lets a small network train quickly from scratch on a CPU.

Array shapes: images are (H, W) or (H, W, C) float arrays; batches (N, H, W, C).
The model returns probabilities: (N, H, W, 1) from a sigmoid for one class,
(N, H, W, K) from a softmax for K >= 2 classes.

Examples
--------
>>> from segtutor.models import unet
>>> model = unet.build_unet((64, 64, 1), depth=3, width=8)
>>> model.output_shape
(None, 64, 64, 1)
"""

from __future__ import annotations

import numbers

from .. import _backend
from .._validate import (
    check_choice,
    check_in_range,
    check_keras_tensor,
    check_positive_int,
    check_str,
)

_MAX_FILTERS = 4096  # channels of one layer; the course's models use 4-256

__all__ = [
    "build_unet",
    "encoder_block",
    "decoder_block",
    "conv_block",
    "check_input_size",
]

NORMALISATIONS = ("batch", "none")


def conv_block(x, filters: int, *, normalization: str = "batch", dropout: float = 0.0, name: str = "block"):
    """Two 3x3 "same" convolutions, each followed by normalisation and ReLU.

    Parameters
    ----------
    x : KerasTensor or tensor, shape (N, H, W, C)
    filters : int
        Output channels of both convolutions.
    normalization : {"batch", "none"}
        Batch normalisation between each convolution and its ReLU, or none.
    dropout : float in [0, 1)
        Spatial dropout after the block (0 for none).
    name : str
        Prefix of the layer names.

    Returns
    -------
    tensor, shape (N, H, W, filters)
    """
    keras = _backend.keras()
    check_keras_tensor(x, "x")
    filters = check_filters(filters)
    normalization = check_choice(normalization, "normalization", NORMALISATIONS)
    dropout = check_in_range(dropout, "dropout", 0.0, 0.95)
    name = check_str(name, "name")
    layers = keras.layers
    for i in (1, 2):
        # No bias before batch normalisation: BN's own shift does its job.
        x = layers.Conv2D(filters, 3, padding="same", use_bias=normalization == "none",
                          kernel_initializer="he_normal", name=f"{name}_conv{i}")(x)
        if normalization == "batch":
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    if dropout > 0:
        x = layers.SpatialDropout2D(dropout, name=f"{name}_dropout")(x)
    return x


def encoder_block(x, filters: int, **kwargs):
    """One step down the contracting path.

    Returns
    -------
    skip : tensor, shape (N, H, W, filters)
        The features kept for the skip connection.
    down : tensor, shape (N, H // 2, W // 2, filters)
        The same features after a 2x2 max pool, passed down.
    """
    keras = _backend.keras()
    check_keras_tensor(x, "x")
    filters = check_filters(filters)
    name = check_str(kwargs.setdefault("name", "enc"), "name")
    skip = conv_block(x, filters, **kwargs)
    down = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(skip)
    return skip, down


def decoder_block(x, skip, filters: int, **kwargs):
    """One step up the expanding path.

    A 2x2 transposed convolution with stride 2 doubles the size, the skip
    features from the encoder are concatenated along the channels, and a
    :func:`conv_block` mixes the two.

    Parameters
    ----------
    x : tensor, shape (N, H, W, C)
    skip : tensor, shape (N, 2H, 2W, C_skip)

    Returns
    -------
    tensor, shape (N, 2H, 2W, filters)
    """
    keras = _backend.keras()
    check_keras_tensor(x, "x")
    check_keras_tensor(skip, "skip")
    filters = check_filters(filters)
    name = check_str(kwargs.setdefault("name", "dec"), "name")
    for i in (1, 2):
        if x.shape[i] is not None and skip.shape[i] is not None and 2 * x.shape[i] != skip.shape[i]:
            raise ValueError(f"skip should be twice the size of x, got {tuple(skip.shape)} and {tuple(x.shape)}; "
                             "pass the encoder features of the matching level.")
    up = keras.layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_up")(x)
    merged = keras.layers.Concatenate(name=f"{name}_concat")([up, skip])
    return conv_block(merged, filters, **kwargs)


def check_filters(filters) -> int:
    """Check the filter count of a model's first block and return it as an int."""
    filters = check_positive_int(filters, "filters")
    if filters > _MAX_FILTERS:
        raise ValueError(f"filters should be at most {_MAX_FILTERS}, got {filters:,}; the course's models use 4-256.")
    return filters


def _check_shape(input_shape, depth: int) -> tuple:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape should be (height, width, channels), for example (128, 128, 1); got {input_shape!r}. "
            "Use None for a height or width that can vary: (None, None, 1)."
        )
    h, w, c = input_shape
    if not isinstance(c, numbers.Integral) or c < 1:
        raise ValueError(f"input_shape's channels should be a positive integer, got {c!r}.")
    for side, value in (("height", h), ("width", w)):
        if value is None:
            continue
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"input_shape's {side} should be a positive integer or None, got {value!r}.")
        check_input_size(value, depth, what=side)
    return int(h) if h is not None else None, int(w) if w is not None else None, int(c)


def check_input_size(size, depth: int, *, what: str = "image side") -> int:
    """Check that ``size`` survives ``depth`` halvings and doublings unchanged.

    Each encoder block halves the size (rounding down) and each decoder block
    doubles it, so an image side must be divisible by ``2**depth`` for the
    skip features and the upsampled features to line up.

    Raises
    ------
    ValueError
        Naming the nearest sizes that work.

    Examples
    --------
    >>> check_input_size(128, 4)
    128
    >>> check_input_size(100, 4)
    Traceback (most recent call last):
    ...
    ValueError: input image side 100 is not divisible by 2**4 = 16, so the skip connections would not line up; pad or crop to 96 or 112 (segtutor.models.unet.pad_to_multiple pads for you).
    """
    depth = check_positive_int(depth, "depth", minimum=0)
    if depth > 16:
        raise ValueError(f"depth should be at most 16, got {depth}; U-Nets use 3-6.")
    size = check_positive_int(size, "size")
    check_str(what, "what")
    step = 2**depth
    if size % step:
        below, above = size // step * step, (size // step + 1) * step
        raise ValueError(
            f"input {what} {size} is not divisible by 2**{depth} = {step}, so the skip connections would not line up; "
            f"pad or crop to {below or step} or {above} (segtutor.models.unet.pad_to_multiple pads for you)."
        )
    return int(size)


def build_unet(input_shape=(None, None, 1), n_classes: int = 1, *, depth: int = 4, width: int = 16,
               normalization: str = "batch", dropout: float = 0.0, name: str = "unet"):
    """Build a padded U-Net.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
        H and W may be None (any size divisible by ``2**depth``).
    n_classes : int
        1 for a foreground/background mask (sigmoid output); K >= 2 for K
        classes (softmax output).
    depth : int
        Number of encoder blocks (times the image is halved), 1 to 6.
    width : int
        Filters of the first block; each level down doubles it.
    normalization : {"batch", "none"}
        Batch normalisation in every block, or none (as in the 2015 paper).
    dropout : float in [0, 1)
        Spatial dropout in the bottleneck block, as the paper's dropout at the
        end of the contracting path.
    name : str

    Returns
    -------
    keras.Model
        Maps (N, H, W, C) images to (N, H, W, max(n_classes, 1))
        probabilities.

    Examples
    --------
    >>> m = build_unet((32, 32, 3), n_classes=3, depth=2, width=4)
    >>> m.output_shape
    (None, 32, 32, 3)
    >>> build_unet((30, 30, 1), depth=2)
    Traceback (most recent call last):
    ...
    ValueError: input height 30 is not divisible by 2**2 = 4, so the skip connections would not line up; pad or crop to 28 or 32 (segtutor.models.unet.pad_to_multiple pads for you).
    """
    depth = check_positive_int(depth, "depth")
    if depth > 6:
        raise ValueError(f"depth should be at most 6 (a 64-fold downsampling), got {depth}.")
    width = check_positive_int(width, "width")
    n_classes = check_positive_int(n_classes, "n_classes")
    if width > 1024 or n_classes > 1024:
        raise ValueError(f"width and n_classes should be at most 1024, got {width:,} and {n_classes:,}; "
                         "the course's models use width 16-32 and 1-3 classes.")
    normalization = check_choice(normalization, "normalization", NORMALISATIONS)
    dropout = check_in_range(dropout, "dropout", 0.0, 0.95)
    shape = _check_shape(input_shape, depth)

    keras = _backend.keras()
    inputs = keras.Input(shape, name="image")
    x, skips = inputs, []
    for level in range(depth):
        skip, x = encoder_block(x, width * 2**level, normalization=normalization, name=f"enc{level + 1}")
        skips.append(skip)
    x = conv_block(x, width * 2**depth, normalization=normalization, dropout=dropout, name="bottleneck")
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], width * 2**level, normalization=normalization, name=f"dec{level + 1}")
    activation = "sigmoid" if n_classes == 1 else "softmax"
    outputs = keras.layers.Conv2D(n_classes, 1, activation=activation, name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
