"""Dense prediction: from a classifier to a network that labels every pixel (notebook 05).

Three ideas live here, each as small NumPy functions that read like the
formulas, plus the Keras conversions the notebook runs:

* **Upsampling.** Nearest-neighbour and bilinear resizing, and the
  **transposed convolution**: every input pixel stamps a copy of the kernel,
  scaled by its value, onto the output, ``stride`` pixels apart; overlapping
  stamps add up. Output size along one axis: ``(n - 1) * stride + k``
  (without padding). A kernel initialised to bilinear weights makes it start
  as bilinear interpolation (Long, Shelhamer and Darrell 2015).
* **The checkerboard artefact** (Odena, Dumoulin and Olah 2016): when the
  kernel size is not divisible by the stride, some output pixels receive more
  stamps than others, so even a constant input comes out striped.
  :func:`overlap_counts` counts the stamps.
* **Fully convolutional networks** (Long et al. 2015): a Dense layer that
  reads a whole (h, w, c) feature map is a convolution whose kernel covers
  that whole map, with the same weights. :func:`fully_convolutional` converts
  the course CNN of notebook 03 this way, so it runs on a larger image and
  returns a map of class scores.

Array shapes: single-channel images (H, W); kernels (k, k).

Examples
--------
>>> import numpy as np
>>> transposed_conv2d(np.array([[1.0, 2.0]]), np.ones((2, 2)), stride=2)
array([[1., 1., 2., 2.],
       [1., 1., 2., 2.]])
>>> overlap_counts(4, kernel_size=3, stride=2)[0]
array([1., 1., 2., 1., 2., 1., 2., 1., 1.])
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _backend
from ._validate import as_array, check_choice, check_positive_int, check_seed, check_size_budget

__all__ = [
    "transposed_conv2d",
    "transposed_output_size",
    "bilinear_kernel",
    "upsample",
    "overlap_counts",
    "UPSAMPLING_METHODS",
    "fully_convolutional",
    "imbalance_example",
    "upsampling_picture",
]

UPSAMPLING_METHODS = ("nearest", "bilinear", "transposed (bilinear init)", "transposed (random init)")

_MAX_PIXELS = 4096 * 4096  # a course function refuses to build outputs larger than this


def _image2d(x, name: str) -> np.ndarray:
    arr = as_array(x, name)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} should be a non-empty 2-D array (H, W), got shape {arr.shape}.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise TypeError(f"{name} should hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def transposed_output_size(n: int, kernel_size: int, stride: int) -> int:
    """Output length of a transposed convolution without padding: ``(n - 1) * stride + kernel_size``.

    Examples
    --------
    >>> transposed_output_size(4, 2, 2)   # doubles the size
    8
    """
    n = check_positive_int(n, "n")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    stride = check_positive_int(stride, "stride")
    return (n - 1) * stride + kernel_size


def transposed_conv2d(image, kernel, stride: int = 2) -> np.ndarray:
    """Transposed convolution of a 2-D image, no padding ("valid"), one channel.

    Every input pixel ``image[i, j]`` adds ``image[i, j] * kernel`` to the
    output window whose top-left corner is ``(i * stride, j * stride)``.
    This is what ``keras.layers.Conv2DTranspose(1, k, strides=stride,
    padding="valid")`` computes (tests check it).

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (kh, kw)
    stride : int

    Returns
    -------
    ndarray of float64, shape ((H - 1) * stride + kh, (W - 1) * stride + kw)

    Examples
    --------
    >>> transposed_conv2d(np.array([[1.0]]), np.arange(4.0).reshape(2, 2), stride=3)
    array([[0., 1.],
           [2., 3.]])
    """
    x = _image2d(image, "image")
    k = _image2d(kernel, "kernel")
    stride = check_positive_int(stride, "stride")
    out_h = transposed_output_size(x.shape[0], k.shape[0], stride)
    out_w = transposed_output_size(x.shape[1], k.shape[1], stride)
    if out_h * out_w > _MAX_PIXELS:
        raise ValueError(f"stride {stride} and a {k.shape[0]}x{k.shape[1]} kernel make the output "
                         f"{out_h}x{out_w} pixels; this teaching function stops at 4096x4096 "
                         "(use a smaller image, kernel or stride).")
    out = np.zeros((out_h, out_w))
    kh, kw = k.shape
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride:i * stride + kh, j * stride:j * stride + kw] += x[i, j] * k
    return out


def bilinear_kernel(size: int) -> np.ndarray:
    """The (size, size) kernel that makes a transposed convolution interpolate bilinearly.

    FCN (Long et al. 2015) initialises its upsampling layers with it: with
    ``size = 2 * factor`` and ``stride = factor`` the transposed convolution
    starts as bilinear upsampling by ``factor`` and can then learn.

    Examples
    --------
    >>> bilinear_kernel(4)
    array([[0.0625, 0.1875, 0.1875, 0.0625],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.0625, 0.1875, 0.1875, 0.0625]])
    """
    size = check_positive_int(size, "size")
    if size > 4096:
        raise ValueError(f"size should be at most 4096, got {size:,}; upsampling kernels are 2 x factor wide.")
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(size) - centre) / factor
    return np.outer(ramp, ramp)


def upsample(image, factor: int, method: str = "bilinear", *, seed: int = 0) -> np.ndarray:
    """Upsample a 2-D image by an integer factor.

    Parameters
    ----------
    image : array_like, shape (H, W)
    factor : int
        2 doubles the height and width.
    method : str
        One of :data:`UPSAMPLING_METHODS`. The transposed convolutions use a
        kernel of size ``2 * factor`` and stride ``factor``, cropped back to
        ``(H * factor, W * factor)`` as ``padding="same"`` would; "random
        init" draws the kernel from a uniform distribution, as an untrained
        layer starts.
    seed : int
        Seed of the random kernel.

    Returns
    -------
    ndarray of float64, shape (H * factor, W * factor)

    Examples
    --------
    >>> upsample(np.array([[0.0, 1.0]]), 2, "nearest")
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.]])
    """
    x = _image2d(image, "image")
    factor = check_positive_int(factor, "factor")
    method = check_choice(method, "method", UPSAMPLING_METHODS)
    seed = check_seed(seed)
    out_h, out_w = x.shape[0] * factor, x.shape[1] * factor
    if out_h * out_w > _MAX_PIXELS:
        raise ValueError(f"factor {factor} makes the output {out_h}x{out_w} pixels; "
                         "this teaching function stops at 4096x4096.")
    if method == "nearest":
        return np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)
    if method == "bilinear":
        from skimage.transform import resize

        return resize(x, (out_h, out_w), order=1, mode="edge", anti_aliasing=False)
    size = 2 * factor
    if method.endswith("(bilinear init)"):
        kernel = bilinear_kernel(size)
    else:
        kernel = np.random.default_rng(seed).uniform(0.0, 2.0 / size, (size, size))
    full = transposed_conv2d(x, kernel, stride=factor)
    crop = (size - factor) // 2
    return full[crop:crop + out_h, crop:crop + out_w]


def overlap_counts(n: int, kernel_size: int, stride: int) -> np.ndarray:
    """How many kernel stamps land on each output pixel of a transposed convolution of an n x n input.

    Uneven counts are the checkerboard artefact (Odena et al. 2016): they
    appear whenever ``kernel_size`` is not a multiple of ``stride``.

    Returns
    -------
    ndarray of float64, shape (m, m) with m = (n - 1) * stride + kernel_size

    Examples
    --------
    >>> bool(np.ptp(overlap_counts(5, 4, 2)[2:-2, 2:-2]) == 0)   # 4 divisible by 2: even inside
    True
    """
    n = check_positive_int(n, "n")
    if n > 512:
        raise ValueError(f"n={n} is larger than this picture needs; use at most 512.")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    stride = check_positive_int(stride, "stride")
    return transposed_conv2d(np.ones((n, n)), np.ones((kernel_size, kernel_size)), stride)


def imbalance_example(size: int = 64, foreground: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """A mask with a small object and the all-background "prediction" that scores high pixel accuracy.

    Returns
    -------
    truth, pred : ndarray of bool, shape (size, size)
        ``truth`` has a square covering about ``foreground`` of the image;
        ``pred`` is all False.

    Examples
    --------
    >>> t, p = imbalance_example(100, 0.04)
    >>> float((t == p).mean()), int(p.sum())
    (0.96, 0)
    """
    size = check_positive_int(size, "size", minimum=4)
    check_size_budget(size * size, "size", what="the mask")
    if isinstance(foreground, bool) or not isinstance(foreground, numbers.Real) or not 0 < foreground < 1:
        raise ValueError(f"foreground should be a fraction between 0 and 1, got {foreground!r}.")
    side = max(1, int(round(size * np.sqrt(foreground))))
    truth = np.zeros((size, size), bool)
    start = (size - side) // 2
    truth[start:start + side, start:start + side] = True
    return truth, np.zeros_like(truth)


def fully_convolutional(model, input_shape=(None, None, 1)):
    """Turn the course CNN (notebook 03) into a fully convolutional network with the same weights.

    The Dense layer that reads the flattened (h, w, c) map of the last pool
    becomes an (h x w) convolution with ``valid`` padding: at one position it
    computes exactly the same weighted sum, so its kernel is the Dense weight
    matrix reshaped to (h, w, c, units). Later Dense layers become 1x1
    convolutions. Dropout (inactive at inference) is dropped. On a larger
    image the network then slides the classifier over every position and
    returns a map of class scores, one every ``2**stages`` pixels.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`segtutor.models.cnn.build_cnn` (layers ``conv1``,
        ``pool1``, ..., ``flatten``, ``dense``, ``logits``).
    input_shape : tuple (H, W, C)
        H and W may be None.

    Returns
    -------
    keras.Model
        Outputs (N, H', W', n_classes) softmax probabilities; the layer
        ``"logits_conv"`` holds the scores.
    """
    keras = _backend.keras()
    layers = keras.layers
    try:
        convs = [layer for layer in model.layers if layer.name.startswith(("conv", "pool"))]
        flatten, dense, logits = model.get_layer("flatten"), model.get_layer("dense"), model.get_layer("logits")
    except (ValueError, AttributeError) as exc:
        raise ValueError(
            "model should be the course CNN from segtutor.models.cnn.build_cnn, with layers named "
            f"conv1, pool1, ..., flatten, dense and logits ({exc})."
        ) from exc
    h, w, c = flatten.input.shape[1:]
    channels = model.input.shape[-1]
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3 or input_shape[-1] != channels:
        raise ValueError(f"input_shape should be (H, W, {channels}) to match the model, got {input_shape!r}.")

    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for layer in convs:
        x = layer.__class__.from_config(layer.get_config())(x)
    kernel, bias = dense.get_weights()
    fc_conv = layers.Conv2D(kernel.shape[1], (h, w), activation=dense.activation, name="dense_conv")
    x = fc_conv(x)
    fc_conv.set_weights([kernel.reshape(h, w, c, -1), bias])
    k2, b2 = logits.get_weights()
    logit_conv = layers.Conv2D(k2.shape[1], 1, name="logits_conv")
    x = logit_conv(x)
    logit_conv.set_weights([k2.reshape(1, 1, *k2.shape), b2])
    outputs = layers.Softmax(name="probs")(x)
    fcn = keras.Model(inputs, outputs, name="course_fcn")
    for layer in convs:
        fcn.get_layer(layer.name).set_weights(layer.get_weights())
    return fcn


def _magnify(x: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement to about ``size`` pixels a side, so single pixels stay visible."""
    factor = max(1, size // max(x.shape))
    return np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)


def upsampling_picture(image, method: str = "bilinear", factor: int = 2, *, kernel_size: int = 3,
                       stride: int = 2, size: int = 192) -> np.ndarray:
    """Three panels: the small input, its upsampling by ``method``, and a transposed convolution's overlap counts.

    Parameters
    ----------
    image : array_like, shape (h, w)
        A small image, values in [0, 1].
    method, factor
        See :func:`upsample`.
    kernel_size, stride : int
        Of the transposed convolution whose stamp counts the third panel
        shows, on a 6 x 6 input (:func:`overlap_counts`).
    size : int
        Side of each panel in pixels.

    Returns
    -------
    ndarray of uint8, shape (size, 3 * size + gaps, 3)
    """
    from .viz import side_by_side

    x = _image2d(image, "image")
    up = upsample(x, factor, method)
    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size:,}.")
    counts = overlap_counts(6, kernel_size, stride)
    lo, hi = float(x.min()), float(x.max())
    scale = (lambda a: np.clip((a - lo) / (hi - lo), 0, 1)) if hi > lo else (lambda a: np.clip(a, 0, 1))
    greys = counts / counts.max()
    return side_by_side([_magnify(scale(x), size), _magnify(scale(up), size), _magnify(greys, size)])
