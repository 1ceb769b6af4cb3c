"""Convolution by hand: the arithmetic behind every CNN layer.

Everything here is plain NumPy, small enough to read in one sitting, and
checked against TensorFlow in the tests. Notebook 03 uses these functions to
explain a convolution before Keras hides it.

Conventions
-----------
* Like every deep-learning library, :func:`conv2d` computes a
  **cross-correlation**: the kernel is not flipped. :func:`convolve2d` flips it
  first, which is the convolution of signal processing.
* Images are ``(H, W)`` or ``(H, W, C)``; kernels are ``(kh, kw)`` or
  ``(kh, kw, C_in, C_out)``, the layout of ``tf.nn.conv2d``.
* ``padding`` is ``"valid"`` (none), ``"same"`` (TensorFlow's rule: the output
  has ``ceil(n / stride)`` pixels, any odd extra pad goes after), or a
  non-negative integer of zeros added on every side.

The output-size formula (Dumoulin & Visin 2016) for an input of ``n``
pixels, kernel ``k``, padding ``p``, stride ``s`` and dilation ``d`` is::

    out = floor((n + 2p - d(k - 1) - 1) / s) + 1

Examples
--------
>>> import numpy as np
>>> image = np.arange(16.0).reshape(4, 4)
>>> conv2d(image, np.ones((2, 2)))
array([[10., 14., 18.],
       [26., 30., 34.],
       [42., 46., 50.]])
>>> conv_output_size(28, 3, stride=2, padding=1)
14
>>> receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)])
10
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import (ArgumentTypeError, as_array, check_bool, check_finite, check_image, check_pixel_budget,
                        check_positive_int, check_size_budget, check_str)
# The signed colour map is a picture helper, so it lives in viz with the others.
from .viz import signed_rgb

__all__ = [
    "conv2d",
    "convolve2d",
    "max_pool2d",
    "conv_output_size",
    "receptive_field",
    "receptive_field_table",
    "input_taps",
    "KERNEL_PRESETS",
    "kernel_preset",
    "check_kernel",
    "describe_kernel",
    "filter_image",
    "kernel_playground_picture",
    "conv_arithmetic_picture",
    "describe_conv_arithmetic",
]


# Elements of the temporary copy conv2d lets einsum make per block of rows (64 MB of float64).
_CHUNK_ELEMENTS = 1 << 23


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def _check_padding(padding):
    if isinstance(padding, str):
        value = padding.lower()
        if value not in ("valid", "same"):
            raise ValueError(
                f"padding should be 'valid', 'same' or a non-negative integer, got {padding!r}."
            )
        return value
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(
            f"padding should be 'valid', 'same' or a non-negative integer, got {padding!r}. "
            "Use 0 for no padding."
        )
    return int(padding)


def _pad_amounts(n: int, k: int, stride: int, dilation: int, padding) -> tuple[int, int]:
    """Zeros added before and after one axis of length ``n``."""
    span = dilation * (k - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "same":
        # TensorFlow's rule: aim for ceil(n / stride) outputs, put the odd pixel last.
        out = -(-n // stride)
        total = max((out - 1) * stride + span - n, 0)
        return total // 2, total - total // 2
    return padding, padding


def check_kernel(kernel, name: str = "kernel", *, square: bool = True, odd: bool = False) -> np.ndarray:
    """Check a 2-D kernel and return it as a float64 array.

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
        The kernel weights.
    name : str
        Name used in error messages.
    square : bool
        Require ``kh == kw``.
    odd : bool
        Require an odd size, so that the kernel has a centre pixel.

    Returns
    -------
    ndarray, shape (kh, kw), float64

    Raises
    ------
    ValueError
        If the kernel is not 2-D, is empty, holds NaN or infinite values, or
        breaks the ``square`` / ``odd`` requirements.

    Examples
    --------
    >>> check_kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]).shape
    (3, 3)
    """
    check_str(name, "name")
    square = check_bool(square, "square")
    odd = check_bool(odd, "odd")
    arr = as_array(kernel, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} should be 2-D (rows, columns), got shape {arr.shape}. "
            "Write it as a list of rows, for example [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); give it at least one weight.")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} should hold numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"{name} has {bad} NaN or infinite weight(s); every weight must be a finite number. "
            "Check for an empty cell or a division by zero when you normalised it."
        )
    if square and arr.shape[0] != arr.shape[1]:
        raise ValueError(
            f"{name} should be square, got {arr.shape[0]}×{arr.shape[1]}. "
            "Give every row as many numbers as there are rows (3×3 or 5×5)."
        )
    if odd and (arr.shape[0] % 2 == 0 or arr.shape[1] % 2 == 0):
        raise ValueError(
            f"{name} should have an odd size so it has a centre pixel, got {arr.shape[0]}×{arr.shape[1]}. "
            "Use 3×3 or 5×5."
        )
    return arr


def _check_image_and_kernel(image, kernel):
    img = check_finite(as_array(image, "image"), "image")
    ker = check_finite(as_array(kernel, "kernel"), "kernel")
    if img.size == 0:
        raise ValueError(f"image is empty (shape {img.shape}); expected at least one pixel.")
    if ker.size == 0:
        raise ValueError(
            f"kernel is empty (shape {ker.shape}); give it at least one weight, e.g. [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]."
        )
    if img.ndim == 2 and ker.ndim == 2:
        return img[..., None].astype(np.float64), ker[:, :, None, None].astype(np.float64), True
    if img.ndim == 3 and ker.ndim == 4:
        if ker.shape[2] != img.shape[2]:
            raise ValueError(
                f"the kernel expects {ker.shape[2]} input channel(s) but the image has {img.shape[2]}. "
                "A kernel of shape (kh, kw, C_in, C_out) needs an image of shape (H, W, C_in)."
            )
        return img.astype(np.float64), ker.astype(np.float64), False
    raise ValueError(
        f"got an image of shape {img.shape} and a kernel of shape {ker.shape}; expected a 2-D image "
        "with a 2-D kernel (kh, kw), or an (H, W, C_in) image with a (kh, kw, C_in, C_out) kernel "
        "as in tf.nn.conv2d. Add the missing axes with [..., None]."
    )


# ---------------------------------------------------------------------------
# The operations
# ---------------------------------------------------------------------------
def conv2d(image, kernel, *, stride: int = 1, padding="valid", dilation: int = 1) -> np.ndarray:
    """Slide a kernel over an image and take weighted sums (cross-correlation).

    This is what ``keras.layers.Conv2D`` and ``tf.nn.conv2d`` compute: the
    kernel is *not* flipped.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C_in)
    kernel : array_like, shape (kh, kw) or (kh, kw, C_in, C_out)
        2-D with a 2-D image, 4-D with a 3-D image.
    stride : int
        Step between neighbouring windows, in pixels.
    padding : {"valid", "same"} or int
        Zero padding, see the module docstring.
    dilation : int
        Gap between kernel taps; ``dilation=2`` reads every other pixel.

    Returns
    -------
    ndarray, shape (H_out, W_out) or (H_out, W_out, C_out), float64
        Sizes given by :func:`conv_output_size`.

    Raises
    ------
    ValueError
        If the shapes do not match, the kernel or image is empty or holds NaN
        or infinity, the (dilated) kernel is larger than the padded image, or
        the padded image or the output would exceed
        :data:`segtutor._validate.MAX_ELEMENTS` elements.

    Notes
    -----
    The windows are a strided *view* of the padded image; the weighted sums
    are taken a block of output rows at a time so that the temporary copy
    einsum makes stays under about 64 MB whatever the image and kernel size.

    Examples
    --------
    >>> conv2d(np.eye(3), [[1, 0], [0, 1]])
    array([[2., 0.],
           [0., 2.]])
    """
    stride = check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    padding = _check_padding(padding)
    img, ker, squeeze = _check_image_and_kernel(image, kernel)
    kh, kw = ker.shape[:2]
    pads = [_pad_amounts(n, k, stride, dilation, padding) for n, k in zip(img.shape[:2], (kh, kw))]
    for axis, (n, k, (before, after)) in enumerate(zip(img.shape[:2], (kh, kw), pads)):
        span = dilation * (k - 1) + 1
        if n + before + after < span:
            raise ValueError(
                f"the kernel spans {span} pixels along axis {axis} (size {k}, dilation {dilation}) but the "
                f"padded image has only {n + before + after}. Use a smaller kernel or dilation, more padding, "
                "or a larger image."
            )
    padded_shape = [n + b + a for n, (b, a) in zip(img.shape[:2], pads)]
    check_size_budget(padded_shape[0] * padded_shape[1] * img.shape[2], "padding", what="the padded image")
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    out_h = (padded_shape[0] - span_h) // stride + 1
    out_w = (padded_shape[1] - span_w) // stride + 1
    check_size_budget(out_h * out_w * ker.shape[3], "image", what="the output")
    padded = np.pad(img, (pads[0], pads[1], (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (span_h, span_w), axis=(0, 1))
    # windows: (H', W', C_in, span_h, span_w); keep every stride-th window and every dilation-th tap.
    windows = windows[::stride, ::stride, :, ::dilation, ::dilation]
    out = np.empty((out_h, out_w, ker.shape[3]), np.float64)
    per_row = out_w * ker.shape[2] * kh * kw  # elements einsum copies for one output row
    rows = max(1, _CHUNK_ELEMENTS // per_row)
    for top in range(0, out_h, rows):
        out[top : top + rows] = np.einsum("hwcij,ijco->hwo", windows[top : top + rows], ker, optimize=True)
    return out[..., 0] if squeeze else out


def convolve2d(image, kernel, *, stride: int = 1, padding="valid", dilation: int = 1) -> np.ndarray:
    """True convolution: flip the kernel in both axes, then :func:`conv2d`.

    Parameters and returns are those of :func:`conv2d`. For a symmetric
    kernel (blur, Laplacian) the two agree; for Sobel they differ in sign.

    Examples
    --------
    An impulse convolved with a kernel gives the kernel back; correlation
    would give it upside down.

    >>> impulse = np.zeros((3, 3)); impulse[1, 1] = 1
    >>> kernel = np.arange(1, 10).reshape(3, 3)
    >>> convolve2d(impulse, kernel, padding=1)
    array([[1., 2., 3.],
           [4., 5., 6.],
           [7., 8., 9.]])
    >>> conv2d(impulse, kernel, padding=1)[0]
    array([9., 8., 7.])
    """
    ker = as_array(kernel, "kernel")
    if ker.ndim not in (2, 4):
        raise ValueError(f"kernel should be 2-D or 4-D, got shape {ker.shape}.")
    return conv2d(image, ker[::-1, ::-1], stride=stride, padding=padding, dilation=dilation)


def max_pool2d(image, pool_size: int = 2, *, stride: int | None = None, padding="valid") -> np.ndarray:
    """Keep the largest value in each ``pool_size × pool_size`` window.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Channels are pooled independently.
    pool_size : int
        Window size.
    stride : int, optional
        Step between windows; defaults to ``pool_size`` (non-overlapping).
    padding : {"valid", "same"}
        ``"same"`` pads with -inf, so padding never wins the max.

    Returns
    -------
    ndarray, shape (H_out, W_out) or (H_out, W_out, C)

    Examples
    --------
    >>> max_pool2d(np.arange(16).reshape(4, 4))
    array([[ 5,  7],
           [13, 15]])
    """
    pool_size = check_positive_int(pool_size, "pool_size")
    stride = pool_size if stride is None else check_positive_int(stride, "stride")
    padding = _check_padding(padding)
    if not isinstance(padding, str):
        raise ValueError(f"max_pool2d takes padding 'valid' or 'same', got {padding!r}.")
    arr = check_finite(as_array(image, "image"), "image")
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(f"image should have a non-empty shape (H, W) or (H, W, C), got {arr.shape}.")
    if arr.dtype == bool:  # a mask: pool it as 0/1 (bool has no -inf to pad with) and give a mask back
        return max_pool2d(arr.astype(np.uint8), pool_size, stride=stride, padding=padding).astype(bool)
    squeeze = arr.ndim == 2
    x = arr[..., None] if squeeze else arr
    pads = [_pad_amounts(n, pool_size, stride, 1, padding) for n in x.shape[:2]]
    if min(x.shape[0] + sum(pads[0]), x.shape[1] + sum(pads[1])) < pool_size:
        raise ValueError(
            f"the {pool_size}×{pool_size} pooling window does not fit in an image of {x.shape[:2]}. "
            "Use a smaller pool_size or padding='same'."
        )
    if padding == "same":
        fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
        x = np.pad(x, (pads[0], pads[1], (0, 0)), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size), axis=(0, 1))
    out = windows[::stride, ::stride].max(axis=(-2, -1))
    return out[..., 0] if squeeze else out


def conv_output_size(input_size: int, kernel_size: int, *, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """Number of outputs along one axis of a convolution or pooling layer.

    ``out = floor((n + 2p - d(k - 1) - 1) / s) + 1`` for integer padding;
    ``"same"`` gives ``ceil(n / s)`` and ``"valid"`` means ``p = 0``.

    Parameters
    ----------
    input_size : int
        Pixels along the axis, ``n``.
    kernel_size : int
        Kernel (or pooling window) size, ``k``.
    stride : int
        ``s``.
    padding : {"valid", "same"} or int
        ``p``, zeros added on *each* side.
    dilation : int
        ``d``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the dilated kernel does not fit in the padded input.

    Examples
    --------
    >>> conv_output_size(32, 5)
    28
    >>> conv_output_size(7, 3, stride=2, padding="same")
    4
    """
    n = check_positive_int(input_size, "input_size")
    k = check_positive_int(kernel_size, "kernel_size")
    s = check_positive_int(stride, "stride")
    d = check_positive_int(dilation, "dilation")
    padding = _check_padding(padding)
    if padding == "same":
        return -(-n // s)
    p = 0 if padding == "valid" else padding
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"a kernel of size {k} with dilation {d} spans {span} pixels, more than the padded input "
            f"({n} + 2×{p} = {n + 2 * p}). Add padding or use a smaller kernel."
        )
    return (n + 2 * p - span) // s + 1


def _layer_spec(layer, index: int) -> tuple[int, int, int]:
    if isinstance(layer, dict):
        try:
            k = layer["kernel_size"]
        except KeyError:
            raise ValueError(f"layer {index} is a dict without 'kernel_size': {layer!r}.") from None
        return k, layer.get("stride", 1), layer.get("dilation", 1)
    if isinstance(layer, np.ndarray):  # a row of an (L, 2) or (L, 3) integer array
        layer = layer.tolist()
    if isinstance(layer, (tuple, list)) and len(layer) in (2, 3):
        return (*layer, 1)[:3] if len(layer) == 2 else tuple(layer)
    raise ValueError(
        f"layer {index} should be (kernel_size, stride), (kernel_size, stride, dilation) or a dict, "
        f"got {layer!r}. A 2×2 max-pool is (2, 2)."
    )


def receptive_field_table(layers) -> list[dict]:
    """Receptive field after each layer of a stack of convolutions and pools.

    With ``r`` the receptive field and ``j`` the *jump* (distance in input
    pixels between neighbouring outputs), each layer updates::

        r <- r + d (k - 1) j
        j <- j s

    starting from ``r = j = 1`` (Araujo et al. 2019).

    Parameters
    ----------
    layers : sequence or ndarray of shape (L, 2) or (L, 3)
        One ``(kernel_size, stride)``, ``(kernel_size, stride, dilation)`` or
        ``{"kernel_size":, "stride":, "dilation":}`` per layer, input first.

    Returns
    -------
    list of dict
        ``{"layer", "kernel_size", "stride", "dilation", "receptive_field", "jump"}``
        per layer.

    Examples
    --------
    >>> [row["receptive_field"] for row in receptive_field_table([(3, 1), (3, 1)])]
    [3, 5]
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise ValueError(f"layers should be a list of (kernel_size, stride) pairs, got {layers!r}.")
    rows, r, j = [], 1, 1
    for i, layer in enumerate(layers):
        k, s, d = _layer_spec(layer, i)
        k = check_positive_int(k, f"kernel_size of layer {i}")
        s = check_positive_int(s, f"stride of layer {i}")
        d = check_positive_int(d, f"dilation of layer {i}")
        r += d * (k - 1) * j
        j *= s
        rows.append({"layer": i, "kernel_size": k, "stride": s, "dilation": d, "receptive_field": r, "jump": j})
    if not rows:
        raise ValueError("layers is empty; give at least one (kernel_size, stride) pair.")
    return rows


def receptive_field(layers) -> int:
    """Side of the input square that one output of the last layer can see.

    Parameters
    ----------
    layers : sequence
        See :func:`receptive_field_table`.

    Returns
    -------
    int

    Examples
    --------
    >>> receptive_field([(3, 1), (3, 1), (3, 1)])  # three 3×3 convs see 7×7
    7
    """
    return receptive_field_table(layers)[-1]["receptive_field"]


def input_taps(input_size: int, kernel_size: int, out_y: int, out_x: int, *, stride: int = 1,
               padding: int = 0, dilation: int = 1) -> np.ndarray:
    """Input pixels that feed output pixel ``(out_y, out_x)``.

    Parameters
    ----------
    input_size, kernel_size, stride, padding, dilation : int
        A square input and kernel, integer padding.
    out_y, out_x : int
        Output position.

    Returns
    -------
    ndarray, shape (kernel_size**2, 2), int
        ``(row, col)`` of each kernel tap in *unpadded* input coordinates, in
        kernel order; rows or columns outside ``[0, input_size)`` fall on
        padding.

    Examples
    --------
    >>> input_taps(5, 2, 1, 0, stride=2).tolist()
    [[2, 0], [2, 1], [3, 0], [3, 1]]
    """
    out = conv_output_size(input_size, kernel_size, stride=stride, padding=padding, dilation=dilation)
    for name, v in (("out_y", out_y), ("out_x", out_x)):
        v = check_positive_int(v, name, minimum=0)
        if v >= out:
            raise ValueError(f"{name}={v} is outside the {out}×{out} output; use 0..{out - 1}.")
    p = _check_padding(padding)
    if isinstance(p, str):
        raise ValueError("input_taps takes integer padding; convert 'same' with conv_output_size first.")
    offsets = np.arange(kernel_size) * dilation
    rows = out_y * stride - p + offsets
    cols = out_x * stride - p + offsets
    yy, xx = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([yy.ravel(), xx.ravel()], axis=1)


# ---------------------------------------------------------------------------
# Kernel playground: compute behind segtutor.widgets.kernels
# ---------------------------------------------------------------------------
_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
_GAUSS5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0

#: Named kernels a student can start from. The values are plain lists so a
#: student can read and copy them.
KERNEL_PRESETS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur 3×3": (np.ones((3, 3)) / 9).tolist(),
    "box blur 5×5": (np.ones((5, 5)) / 25).tolist(),
    "Gaussian blur 5×5": _GAUSS5.tolist(),
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edge (Laplacian)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "Sobel x (vertical edges)": _SOBEL_X,
    "Sobel y (horizontal edges)": np.transpose(_SOBEL_X).tolist(),
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def kernel_preset(name: str) -> np.ndarray:
    """Return a named kernel from :data:`KERNEL_PRESETS` as a float array.

    Examples
    --------
    >>> float(kernel_preset("sharpen").sum())
    1.0
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name should be the name of a kernel preset, one of {sorted(KERNEL_PRESETS)}; "
                                f"got {type(name).__name__} {name!r:.60}.")
    if name not in KERNEL_PRESETS:
        raise ValueError(f"name: unknown kernel preset {name!r}; choose one of {sorted(KERNEL_PRESETS)}.")
    return np.array(KERNEL_PRESETS[name], dtype=np.float64)


def describe_kernel(kernel) -> str:
    """One sentence on what a kernel does to brightness, for the widget.

    Examples
    --------
    >>> describe_kernel(np.ones((3, 3)) / 9)
    'weights sum to 1: average brightness is kept (blur / sharpen family).'
    """
    k = check_kernel(kernel, square=False)
    total = float(k.sum())
    if np.all(k == 0):
        return "all weights are 0: every output pixel is 0, so the output is blank."
    if abs(total) < 1e-9:
        return "weights sum to 0: flat regions become 0 and only changes (edges) remain; white is 0, red positive, blue negative."
    if abs(total - 1) < 1e-9:
        return "weights sum to 1: average brightness is kept (blur / sharpen family)."
    return f"weights sum to {total:.3g}: flat regions are scaled by {total:.3g}."


def filter_image(image, kernel, *, stride: int = 1, padding="same") -> np.ndarray:
    """Filter a grayscale image with a square 2-D kernel, for display.

    Like :func:`conv2d` but with checks worded for the playground: the kernel
    must be square and finite and the image at least as large as the kernel.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (k, k)
    stride : int
    padding : {"valid", "same"} or int

    Returns
    -------
    ndarray, shape (H_out, W_out), float64

    Examples
    --------
    >>> filter_image(np.ones((4, 4)), np.ones((3, 3)) / 9, padding="valid")
    array([[1., 1.],
           [1., 1.]])
    """
    img = as_array(image, "image")
    if img.ndim != 2:
        raise ValueError(f"image should be a grayscale (H, W) array, got shape {img.shape}. Try rgb2gray first.")
    ker = check_kernel(kernel)
    stride = check_positive_int(stride, "stride")
    k = ker.shape[0]
    if min(img.shape) < k:
        raise ValueError(
            f"the image ({img.shape[0]}×{img.shape[1]}) is smaller than the {k}×{k} kernel; "
            "use a larger image or a smaller kernel."
        )
    if stride >= min(img.shape):
        raise ValueError(
            f"stride {stride} is as large as the image ({img.shape[0]}×{img.shape[1]}): the kernel would be "
            "placed only once. Use a stride of a few pixels."
        )
    return conv2d(img, ker, stride=stride, padding=padding)


def _blank(h: int, w: int, value: float = 1.0) -> np.ndarray:
    return np.full((h, w, 3), value, np.float32)


def _upscale(x: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)


def _kernel_tile(kernel: np.ndarray, cell: int) -> np.ndarray:
    """The kernel as coloured cells with grid lines (red > 0, blue < 0)."""
    scale = float(np.max(np.abs(kernel))) or 1.0
    tile = _upscale(signed_rgb(kernel, scale), cell)
    tile[::cell, :] = 0.6
    tile[:, ::cell] = 0.6
    tile = np.pad(tile, ((0, 1), (0, 1), (0, 0)), constant_values=0.6)
    return tile


# Largest image the playground draws (2048 x 2048): its picture takes ~100 bytes a pixel.
_MAX_PLAYGROUND_PIXELS = 1 << 22


def kernel_playground_picture(image, kernel, *, stride: int = 1, padding="same") -> np.ndarray:
    """Input, kernel and output side by side, as the kernel playground shows them.

    The output is drawn in gray when the kernel's weights sum to a positive
    number (values clipped to [0, 1]) and on a blue-white-red scale, white at
    zero, when they sum to zero or less (edge detectors), so that negative
    responses are visible; that scale saturates at the 99th percentile of
    the absolute response. With a stride above 1 each output pixel is drawn
    as a ``stride × stride`` block, so the loss of resolution shows.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grayscale image in [0, 1].
    kernel : array_like, shape (k, k)
    stride : int
    padding : {"valid", "same"} or int

    Returns
    -------
    ndarray, shape (H, 2 W + gaps + kernel tile, 3), uint8

    Raises
    ------
    ValueError
        For a non-square or non-finite kernel, an image smaller than the
        kernel, or a stride as large as the image.
    """
    # Finite first: clipping would turn inf into a white pixel without a word.
    # The picture and its intermediates take ~100 bytes per pixel.
    img = check_pixel_budget(check_image(image, "image", allow_rgb=False), "image",
                             limit=_MAX_PLAYGROUND_PIXELS, what="kernel_playground_picture")
    img = np.clip(img.astype(np.float32), 0, 1)
    out = filter_image(img, kernel, stride=stride, padding=padding)
    ker = check_kernel(kernel)
    h, w = img.shape
    if ker.sum() > 1e-9:
        shown = np.repeat(np.clip(out, 0, 1)[..., None], 3, axis=-1).astype(np.float32)
    else:
        # The 99th percentile, not the max, sets the scale: zero padding makes
        # a few very strong responses along the border that would wash out the rest.
        shown = signed_rgb(out, float(np.percentile(np.abs(out), 99)) or 1.0)
    shown = _upscale(shown, stride)[:h, :w]
    panel_out = _blank(h, w, 0.85)
    oy, ox = (h - shown.shape[0]) // 2, (w - shown.shape[1]) // 2
    panel_out[oy : oy + shown.shape[0], ox : ox + shown.shape[1]] = shown
    cell = max(6, min(24, (h // 3) // ker.shape[0]))
    tile = _kernel_tile(ker, cell)
    middle = _blank(h, tile.shape[1] + 24)
    ty = (h - tile.shape[0]) // 2
    middle[ty : ty + tile.shape[0], 12 : 12 + tile.shape[1]] = tile
    picture = np.concatenate([np.repeat(img[..., None], 3, axis=-1), middle, panel_out], axis=1)
    return (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------
# Convolution arithmetic: compute behind segtutor.widgets.conv_arithmetic
# ---------------------------------------------------------------------------
_COLOURS = {
    "input": (0.74, 0.84, 0.95),
    "padding": (0.93, 0.93, 0.93),
    "tap": (0.13, 0.35, 0.75),
    "tap_on_padding": (0.55, 0.55, 0.55),
    "window": (0.85, 0.15, 0.15),
    "output": (0.80, 0.92, 0.82),
    "done": (0.45, 0.72, 0.50),
    "current": (0.85, 0.15, 0.15),
    "grid": (1.0, 1.0, 1.0),
    "background": (1.0, 1.0, 1.0),
}


def _check_arithmetic(input_size, kernel_size, padding, stride, dilation):
    n = check_positive_int(input_size, "input_size")
    k = check_positive_int(kernel_size, "kernel_size")
    p = check_positive_int(padding, "padding", minimum=0)
    s = check_positive_int(stride, "stride")
    d = check_positive_int(dilation, "dilation")
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"the {k}×{k} kernel with dilation {d} spans {span}×{span} pixels but the padded input is only "
            f"{n + 2 * p}×{n + 2 * p}: the input is smaller than the kernel. Add padding, or lower the "
            "kernel size or dilation."
        )
    if s > n + 2 * p:
        raise ValueError(
            f"stride {s} is larger than the whole padded input ({n + 2 * p} pixels): the kernel is placed "
            "once and the stride is never used. Pick a stride smaller than the input."
        )
    return n, k, p, s, d


def describe_conv_arithmetic(input_size: int, kernel_size: int, *, padding: int = 0, stride: int = 1,
                             dilation: int = 1, step: int = 0) -> str:
    """The output-size formula with the current numbers filled in.

    Examples
    --------
    >>> describe_conv_arithmetic(5, 3, padding=1, stride=2).split(";")[0]
    'output = ⌊(5 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3'
    """
    n, k, p, s, d = _check_arithmetic(input_size, kernel_size, padding, stride, dilation)
    out = conv_output_size(n, k, stride=s, padding=p, dilation=d)
    step = check_positive_int(step, "step", minimum=0) % (out * out)
    oy, ox = divmod(step, out)
    taps = input_taps(n, k, oy, ox, stride=s, padding=p, dilation=d)
    inside = np.all((taps >= 0) & (taps < n), axis=1)
    text = (
        f"output = ⌊({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {out}; "
        f"output pixel ({oy}, {ox}) reads {int(inside.sum())} input pixel(s) and {int((~inside).sum())} padding zero(s)"
    )
    if s > d * (k - 1) + 1:
        text += f"; the stride ({s}) is larger than the kernel's span ({d * (k - 1) + 1}), so some inputs are never read"
    return text + "."


def conv_arithmetic_picture(input_size: int, kernel_size: int, *, padding: int = 0, stride: int = 1,
                            dilation: int = 1, step: int = 0, cell: int = 36) -> np.ndarray:
    """Which inputs feed which output: the picture of Dumoulin & Visin (2016).

    Left, the padded input (padding in light grey); the kernel's taps for
    the current output pixel are dark blue (dark grey on padding) inside a red
    window. Right, the output grid; pixels already computed are green and the
    current one is red. Stepping ``step`` from 0 to ``out**2 - 1`` slides the
    kernel in reading order, as in CNN Explainer (Wang et al. 2020).

    Parameters
    ----------
    input_size, kernel_size : int
        Square input and kernel sides.
    padding, stride, dilation : int
    step : int
        Index of the current output pixel in reading order (wraps around).
    cell : int
        Pixels per grid cell in the picture.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8

    Raises
    ------
    ValueError
        If the dilated kernel does not fit in the padded input, or the stride
        exceeds the padded input.

    Examples
    --------
    >>> conv_arithmetic_picture(5, 3, padding=1).shape
    (268, 556, 3)
    """
    n, k, p, s, d = _check_arithmetic(input_size, kernel_size, padding, stride, dilation)
    cell = check_positive_int(cell, "cell", minimum=4)
    if (n + 2 * p) * cell > 8192 or cell > 256:
        raise ValueError(f"input_size {n} with padding {p} and cell {cell} px would draw a picture over 8192 px wide; "
                         "the picture is for small examples (input_size up to about 32).")
    out = conv_output_size(n, k, stride=s, padding=p, dilation=d)
    step = check_positive_int(step, "step", minimum=0) % (out * out)
    oy, ox = divmod(step, out)
    c = {name: np.array(v, np.float32) for name, v in _COLOURS.items()}

    size_in = n + 2 * p
    grid_in = np.empty((size_in, size_in, 3), np.float32)
    grid_in[:] = c["padding"]
    grid_in[p : p + n, p : p + n] = c["input"]
    taps = input_taps(n, k, oy, ox, stride=s, padding=p, dilation=d) + p
    for y, x in taps:
        on_padding = not (p <= y < p + n and p <= x < p + n)
        grid_in[y, x] = c["tap_on_padding"] if on_padding else c["tap"]

    grid_out = np.empty((out, out, 3), np.float32)
    grid_out[:] = c["output"]
    grid_out.reshape(-1, 3)[:step] = c["done"]
    grid_out[oy, ox] = c["current"]

    def draw(grid):
        img = _upscale(grid, cell)
        img[::cell, :] = c["grid"]
        img[:, ::cell] = c["grid"]
        return img

    left, right = draw(grid_in), draw(grid_out)
    # Red outline around the kernel's window (its dilated span) on the input.
    span = d * (k - 1) + 1
    y0, x0 = oy * s * cell, ox * s * cell
    y1, x1 = y0 + span * cell, x0 + span * cell
    for t in range(2):
        left[y0 + t, x0:x1] = c["window"]
        left[y1 - 1 - t, x0:x1] = c["window"]
        left[y0:y1, x0 + t] = c["window"]
        left[y0:y1, x1 - 1 - t] = c["window"]

    margin, gap = 8, 3 * cell
    height = max(left.shape[0], right.shape[0]) + 2 * margin
    width = left.shape[1] + gap + right.shape[1] + 2 * margin
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = c["background"]
    canvas[margin : margin + left.shape[0], margin : margin + left.shape[1]] = left
    rx = margin + left.shape[1] + gap
    ry = margin + (left.shape[0] - right.shape[0]) // 2 if right.shape[0] < left.shape[0] else margin
    canvas[ry : ry + right.shape[0], rx : rx + right.shape[1]] = right
    # An arrow from the input to the output: a shaft and a triangular head.
    ay = margin + left.shape[0] // 2
    ax0, ax1 = margin + left.shape[1] + cell // 2, rx - cell // 2
    canvas[ay - 1 : ay + 2, ax0 : ax1 - 6] = 0.4
    for i in range(7):
        canvas[ay - (6 - i) : ay + (6 - i) + 1, ax1 - 7 + i] = 0.4
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
