"""DeepLabv3+ (Chen, Zhu, Papandreou, Schroff and Adam 2018), small enough for a CPU.

The architecture, as in the paper, with a small backbone trained from scratch:

* **Encoder**: a backbone of depthwise separable convolutions that reduces
  the image to 1/``output_stride`` of its size; the last stage uses
  **atrous (dilated) convolutions** instead of more striding, so the
  features keep their resolution while their receptive field grows.
* **ASPP** (atrous spatial pyramid pooling, DeepLabv3; Chen et al. 2017): in
  parallel, a 1x1 convolution, three 3x3 atrous convolutions with growing
  rates, and **image pooling** (global average, 1x1 convolution, upsampled
  back), concatenated and projected by a 1x1 convolution.
* **Decoder**: the ASPP output is upsampled bilinearly to the 1/4
  resolution of the backbone's **low-level features**, by
  ``output_stride / 4``: 2x at the default output stride 8, 4x at 16 (the
  paper's setting). It is concatenated with those features (first reduced to
  a few channels by a 1x1 convolution), refined by two 3x3 separable
  convolutions and upsampled 4x to the input size.

A **depthwise separable convolution** (Sifre 2014; Chollet 2017) is a
depthwise spatial convolution, one k x k filter per input channel, followed
by a 1x1 *pointwise* convolution that mixes channels. For C_in input and
C_out output channels it has k*k*C_in + C_in*C_out weights instead of
k*k*C_in*C_out; :func:`separable_savings` computes the ratio.

What differs from the paper: the paper's backbone is a modified Aligned
Xception (or ResNet-101) pretrained on ImageNet and COCO, with output stride
16 and ASPP rates (6, 12, 18) for 513x513 crops. Here the backbone has four
small stages trained from scratch, and the rates are scaled down to the
course's 128-pixel training patches (default (2, 4, 6) at output stride 8):
those give 16x16 feature maps, and a 3x3 kernel at rate 6 spans 13 of their
16 positions, where a larger rate would mostly read the zero padding.

Examples
--------
>>> from segtutor.models import deeplab
>>> model = deeplab.build_deeplab((64, 64, 1), width=8)
>>> model.output_shape
(None, 64, 64, 1)
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from .. import _backend
from .._validate import (
    as_array,
    check_choice,
    check_finite,
    check_keras_tensor,
    check_positive_int,
    check_str,
)
from .unet import check_filters, check_input_size

__all__ = [
    "build_deeplab",
    "aspp",
    "separable_conv",
    "separable_savings",
    "atrous_receptive_field",
    "atrous_footprint",
    "atrous_picture",
]


@functools.cache
def custom_layers():
    """The two layers DeepLabv3+ adds to Keras, ``(BroadcastToMap, ResizeLike)``.

    Defined on the first call, not at import, so that importing this module
    (for :func:`atrous_picture`, say) does not import TensorFlow; registered
    with Keras under ``segtutor>`` so that a saved model finds them.
    """
    keras = _backend.keras()

    @keras.saving.register_keras_serializable(package="segtutor")
    class BroadcastToMap(keras.layers.Layer):
        """Copy a (N, 1, 1, C) summary to every position of a (N, h, w, *) map, for any h and w."""

        def call(self, pooled, like):
            return pooled + keras.ops.zeros_like(like[..., :1])  # (N,1,1,C) + (N,h,w,1) -> (N,h,w,C)

        def compute_output_shape(self, pooled_shape, like_shape):
            return (like_shape[0], like_shape[1], like_shape[2], pooled_shape[3])


    @keras.saving.register_keras_serializable(package="segtutor")
    class ResizeLike(keras.layers.Layer):
        """Bilinear resize of ``x`` to the height and width of ``like``, known only when the model runs."""

        def call(self, x, like):
            tf = _backend.tensorflow()
            return tf.image.resize(x, tf.shape(like)[1:3], method="bilinear")

        def compute_output_shape(self, x_shape, like_shape):
            return (x_shape[0], like_shape[1], like_shape[2], x_shape[3])

    return BroadcastToMap, ResizeLike


def separable_conv(x, filters: int, *, dilation: int = 1, stride: int = 1, name: str = "sep"):
    """Depthwise 3x3 (dilated) convolution, then pointwise 1x1, each with batch norm and ReLU."""
    check_keras_tensor(x, "x")
    filters = check_filters(filters)
    # Keras wants Python ints here: np.int64 would fail inside it.
    dilation = check_positive_int(dilation, "dilation")
    stride = check_positive_int(stride, "stride")
    if dilation > 1 and stride > 1:
        raise ValueError(f"dilation and stride cannot both exceed 1 (got {dilation} and {stride}); Keras forbids it.")
    name = check_str(name, "name")
    keras = _backend.keras()
    layers = keras.layers
    x = layers.DepthwiseConv2D(3, strides=stride, dilation_rate=dilation, padding="same", use_bias=False,
                               name=f"{name}_depthwise")(x)
    x = layers.BatchNormalization(name=f"{name}_depthwise_bn")(x)
    x = layers.ReLU(name=f"{name}_depthwise_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pointwise")(x)
    x = layers.BatchNormalization(name=f"{name}_pointwise_bn")(x)
    return layers.ReLU(name=f"{name}_pointwise_relu")(x)


def _conv_bn_relu(x, filters, kernel, *, name, dilation=1, stride=1):
    keras = _backend.keras()
    layers = keras.layers
    x = layers.Conv2D(filters, kernel, strides=stride, dilation_rate=dilation, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def aspp(x, filters: int, rates=(2, 4, 6), *, name: str = "aspp"):
    """Atrous spatial pyramid pooling with image pooling (DeepLabv3).

    Parameters
    ----------
    x : tensor, shape (N, h, w, C)
    filters : int
        Channels of each branch and of the output.
    rates : sequence of int
        Dilation rates of the 3x3 branches.

    Returns
    -------
    tensor, shape (N, h, w, filters)
    """
    check_keras_tensor(x, "x")
    filters = check_filters(filters)
    rates = _check_rates(rates)
    name = check_str(name, "name")
    keras = _backend.keras()
    layers = keras.layers
    branches = [_conv_bn_relu(x, filters, 1, name=f"{name}_1x1")]
    for rate in rates:
        branches.append(separable_conv(x, filters, dilation=rate, name=f"{name}_rate{rate}"))
    # Image pooling: one global average summarises the whole image (context),
    # is projected, then broadcast back to every position.
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_image_pool")(x)
    pooled = _conv_bn_relu(pooled, filters, 1, name=f"{name}_image_pool_conv")
    BroadcastToMap, _ = custom_layers()
    pooled = BroadcastToMap(name=f"{name}_image_pool_broadcast")(pooled, x)
    branches.append(pooled)
    merged = layers.Concatenate(name=f"{name}_concat")(branches)
    return _conv_bn_relu(merged, filters, 1, name=f"{name}_project")


def build_deeplab(input_shape=(None, None, 1), n_classes: int = 1, *, width: int = 16, output_stride: int = 8,
                  rates=(2, 4, 6), low_level_channels: int = 24, dropout: float = 0.1, name: str = "deeplabv3plus"):
    """Build a small DeepLabv3+.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
        H and W may be None; known sizes must be divisible by ``output_stride``.
    n_classes : int
        1: sigmoid mask; K >= 2: softmax over K classes.
    width : int
        Channels of the first backbone stage; the stages have width, 2x, 4x
        and 8x, and ASPP uses 4x.
    output_stride : {8, 16}
        Ratio of input size to encoder output size.
    rates : sequence of int
        ASPP dilation rates.
    low_level_channels : int
        Channels the decoder keeps from the 1/4-resolution features.
    dropout : float
        Dropout after ASPP.
    name : str

    Returns
    -------
    keras.Model
        (N, H, W, C) images to (N, H, W, max(n_classes, 1)) probabilities.
    """
    keras = _backend.keras()
    layers = keras.layers
    width = check_positive_int(width, "width")
    n_classes = check_positive_int(n_classes, "n_classes")
    if width > 1024 or n_classes > 1024:
        raise ValueError(f"width and n_classes should be at most 1024, got {width:,} and {n_classes:,}; "
                         "the course's models use width 16-32 and 1-3 classes.")
    output_stride = check_choice(output_stride, "output_stride", (8, 16))
    low_level_channels = check_positive_int(low_level_channels, "low_level_channels")
    rates = _check_rates(rates)
    if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"dropout should be a number in [0, 1), got {dropout!r}.")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), got {input_shape!r}.")
    for side, value in zip(("height", "width"), input_shape[:2]):
        if value is not None:
            check_input_size(check_positive_int(value, f"input_shape's {side}"), {8: 3, 16: 4}[output_stride],
                             what=side)
    check_positive_int(input_shape[2], "input_shape's channels")

    inputs = keras.Input(tuple(input_shape), name="image")
    x = _conv_bn_relu(inputs, width, 3, stride=2, name="stem")                       # 1/2
    x = separable_conv(x, width, name="stage1")
    x = separable_conv(x, 2 * width, stride=2, name="stage2_down")                    # 1/4
    low_level = separable_conv(x, 2 * width, name="stage2")
    x = separable_conv(low_level, 4 * width, stride=2, name="stage3_down")            # 1/8
    x = separable_conv(x, 4 * width, name="stage3")
    dilation = 1
    if output_stride == 16:
        x = separable_conv(x, 8 * width, stride=2, name="stage4_down")                # 1/16
    else:
        dilation = 2  # atrous instead of striding: same receptive-field growth, resolution kept
    x = separable_conv(x, 8 * width, dilation=dilation, name="stage4_a")
    x = separable_conv(x, 8 * width, dilation=dilation, name="stage4_b")

    x = aspp(x, 4 * width, rates)
    if dropout:
        x = layers.Dropout(dropout, name="aspp_dropout")(x)
    _, ResizeLike = custom_layers()
    x = ResizeLike(name="decoder_up1")(x, low_level)                   # to 1/4: x2 at stride 8, x4 at 16
    low = _conv_bn_relu(low_level, low_level_channels, 1, name="decoder_low_level")
    x = layers.Concatenate(name="decoder_concat")([x, low])
    x = separable_conv(x, 4 * width, name="decoder_refine1")
    x = separable_conv(x, 4 * width, name="decoder_refine2")
    x = ResizeLike(name="decoder_up2")(x, inputs)                                       # to full size
    activation = "sigmoid" if n_classes == 1 else "softmax"
    outputs = layers.Conv2D(n_classes, 1, activation=activation, name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def separable_savings(kernel_size: int, c_in: int, c_out: int) -> dict:
    """Weights and multiply-adds per output pixel of a standard versus a depthwise separable convolution.

    Returns
    -------
    dict
        ``standard``, ``separable`` (weights, no biases) and ``ratio``
        (standard / separable); per output pixel the multiply-adds equal the
        weights, so the same ratio holds for FLOPs.

    Examples
    --------
    >>> separable_savings(3, 64, 128)
    {'standard': 73728, 'separable': 8768, 'ratio': 8.408759124087592}
    """
    k = check_positive_int(kernel_size, "kernel_size")
    c_in = check_positive_int(c_in, "c_in")
    c_out = check_positive_int(c_out, "c_out")
    standard = k * k * c_in * c_out
    separable = k * k * c_in + c_in * c_out
    return {"standard": standard, "separable": separable, "ratio": standard / separable}


def atrous_receptive_field(kernel_size: int, dilation: int) -> int:
    """Span, in pixels, of one k-tap convolution with dilation rate d: ``d * (k - 1) + 1``.

    Examples
    --------
    >>> [atrous_receptive_field(3, d) for d in (1, 2, 4, 8)]
    [3, 5, 9, 17]
    """
    k = check_positive_int(kernel_size, "kernel_size")
    d = check_positive_int(dilation, "dilation")
    return d * (k - 1) + 1


def atrous_footprint(rates, kernel_size: int = 3) -> np.ndarray:
    """How many paths lead from each input pixel to one output pixel of a stack of atrous convolutions.

    Stack 3x3 convolutions with dilation rates ``rates`` (stride 1); the
    centre output pixel depends on the input pixels where the result is
    above zero, its receptive field. With one rate repeated (2, 2, 2) the
    field has holes, the *gridding* artefact (Wang et al. 2018); rates that
    grow (1, 2, 4) cover it densely.

    Parameters
    ----------
    rates : sequence of int
        One dilation rate per layer, input side first.
    kernel_size : int

    Returns
    -------
    ndarray of float64, shape (F, F) with F = 1 + sum(rate * (k - 1))

    Examples
    --------
    >>> atrous_footprint([2]).astype(int)
    array([[1, 0, 1, 0, 1],
           [0, 0, 0, 0, 0],
           [1, 0, 1, 0, 1],
           [0, 0, 0, 0, 0],
           [1, 0, 1, 0, 1]])
    >>> int((atrous_footprint([2, 2]) == 0).sum())     # gridding: holes remain
    56
    """
    from scipy.signal import convolve2d

    k = check_positive_int(kernel_size, "kernel_size")
    rates = list(_check_rates(rates))
    if not rates:
        raise ValueError("rates is empty; give at least one dilation rate, for example [1, 2, 4].")
    span = 1 + sum(r * (k - 1) for r in rates)
    if span > 1025:
        raise ValueError(f"rates and kernel_size give a receptive field {span} pixels wide; "
                         "keep it under 1026 (smaller rates or kernel_size).")
    field = np.ones((1, 1))
    for r in rates:
        taps = np.zeros((r * (k - 1) + 1,) * 2)
        taps[::r, ::r] = 1.0
        field = convolve2d(field, taps)
    return field


def atrous_picture(image, rates, *, kernel_size: int = 3, centre=None, size: int = 320) -> np.ndarray:
    """An image with the receptive field of one output pixel of a stack of atrous convolutions on it.

    Pixels outside the field are dimmed; inside, a yellow-to-purple tint
    shows how many paths lead there (perceptually uniform *viridis*), and the
    last layer's own taps are marked in red.

    Returns
    -------
    ndarray of uint8, shape (size, size, 3)
    """
    from matplotlib import colormaps
    from skimage.transform import resize

    img = check_finite(as_array(image, "image"), "image").astype(np.float32)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image should be a non-empty 2-D (H, W), got shape {img.shape}.")
    size = check_positive_int(size, "size", minimum=8)
    if size > 4096:
        raise ValueError(f"size should be at most 4096 pixels, got {size}.")
    field = atrous_footprint(rates, kernel_size)
    h, w = img.shape
    if centre is None:
        cy, cx = h // 2, w // 2
    else:
        if not isinstance(centre, (tuple, list)) or len(centre) != 2:
            raise TypeError(f"centre should be (row, column) or None, got {centre!r:.80}.")
        cy, cx = (check_positive_int(v, "centre", minimum=0) for v in centre)
        if cy >= h or cx >= w:
            raise ValueError(f"centre {(cy, cx)} is outside the {h}x{w} image.")
    lo, hi = np.percentile(img, [1, 99.8])
    grey = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = np.repeat(grey[..., None], 3, axis=-1) * 0.55
    half = field.shape[0] // 2
    ys, xs = np.nonzero(field)
    yy, xx = ys - half + cy, xs - half + cx
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    colours = colormaps["viridis"](field[ys, xs] / field.max())[:, :3]
    rgb[yy[inside], xx[inside]] = 0.45 * grey[yy[inside], xx[inside], None] + 0.55 * colours[inside]
    last = int(np.atleast_1d(rates)[-1])
    for dy in range(-(kernel_size // 2), kernel_size // 2 + 1):
        for dx in range(-(kernel_size // 2), kernel_size // 2 + 1):
            y, x = cy + dy * last, cx + dx * last
            if 0 <= y < h and 0 <= x < w:
                rgb[y, x] = (1.0, 0.1, 0.1)
    scale = size / max(h, w)
    return (resize(rgb, (round(h * scale), round(w * scale)), order=0) * 255).astype(np.uint8)


def _check_rates(rates) -> tuple[int, ...]:
    """Dilation rates: a positive integer or a non-empty sequence of them (NumPy integers accepted)."""
    if isinstance(rates, (numbers.Integral, np.integer)) and not isinstance(rates, (bool, np.bool_)):
        rates = (rates,)
    if isinstance(rates, np.ndarray):
        rates = rates.tolist() if rates.ndim == 1 else rates
    if not isinstance(rates, (tuple, list)):
        raise TypeError(f"rates should be a sequence of positive integers such as (2, 4, 6), got {rates!r:.80}.")
    if not rates:
        raise ValueError("rates is empty; give at least one dilation rate, for example [1, 2, 4].")
    out = tuple(check_positive_int(r, "each entry of rates") for r in rates)
    if max(out) > 1024:
        raise ValueError(f"rates should be at most 1024, got {max(out)}.")
    return out
