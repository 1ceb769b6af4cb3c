"""Images as arrays: the small computations behind notebooks 00 and 01.

An image is a NumPy array: ``(H, W)`` for grayscale, ``(H, W, 3)`` for RGB.
Its dtype fixes its range: ``uint8`` images hold whole numbers 0..255, float
images conventionally hold values in [0, 1]. The functions here convert
between those conventions, stretch contrast and count pixels; each one is
also the reference answer for an exercise.

Examples
--------
>>> import numpy as np
>>> from segtutor.arrays import fraction_above, intensity_window
>>> image = np.array([[0, 100], [200, 255]], dtype=np.uint8)
>>> fraction_above(image, 100)
0.5
>>> intensity_window(image, 100, 200)
array([[0., 0.],
       [1., 1.]])
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_array, check_finite, check_image, check_positive_int

__all__ = [
    "LUMA_WEIGHTS",
    "describe",
    "fraction_above",
    "histogram",
    "intensity_window",
    "saturating_add",
    "to_float",
    "to_grayscale",
    "window_from_level",
]

#: scikit-image's ``rgb2gray`` weights for (R, G, B). They are close to, but not
#: exactly, ITU-R BT.709's luma coefficients (0.2126, 0.7152, 0.0722).
LUMA_WEIGHTS = (0.2125, 0.7154, 0.0721)
_MAX_BINS = 1 << 20  # a histogram with more bins than this is a typo, not a finer view


def check_number(value, name: str) -> float:
    """Check a finite real number (never a bool) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(
            f"{name} should be a finite number, got {type(value).__name__} {value!r}. "
            "Pass a plain number such as 0.5 or 128."
        )
    return float(value)


def describe(image) -> dict:
    """Summarise an image the way notebook 01 prints it.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any numeric image.

    Returns
    -------
    dict
        ``shape``, ``dtype`` (as a string), ``min``, ``max`` and ``mean`` (Python floats).

    Examples
    --------
    >>> describe(np.zeros((2, 3), np.uint8))["shape"]
    (2, 3)
    """
    arr = check_image(image)
    return {
        "shape": tuple(int(s) for s in arr.shape),
        "dtype": str(arr.dtype),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
    }


def to_float(image) -> np.ndarray:
    """Return ``image`` as float64, with integer images scaled into [0, 1].

    ``uint8`` is divided by 255 and ``uint16`` by 65535 (the dtype's maximum),
    booleans become 0.0 / 1.0, and float images are returned unchanged (as a
    float64 copy). This matches ``skimage.util.img_as_float`` for unsigned
    integers.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)

    Returns
    -------
    ndarray of float64, same shape as ``image``

    Examples
    --------
    >>> to_float(np.array([[0, 255]], np.uint8))
    array([[0., 1.]])
    """
    arr = check_image(image)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.unsignedinteger):
        # Multiply by the reciprocal, as scikit-image does, so results match it bit for bit.
        return np.multiply(arr, 1.0 / np.iinfo(arr.dtype).max, dtype=np.float64)
    if np.issubdtype(arr.dtype, np.signedinteger):
        raise ValueError(
            f"image has signed integer dtype {arr.dtype}, whose range is ambiguous for an image. "
            "Convert it yourself, e.g. image.astype(float) / image.max(), or use uint8."
        )
    return arr.astype(np.float64)


def fraction_above(image, threshold) -> float:
    """Fraction of pixels strictly greater than ``threshold``.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Compared value by value, in the image's own units (0..255 for uint8).
    threshold : float
        The cut; pixels equal to it do not count.

    Returns
    -------
    float
        A number in [0, 1].

    Examples
    --------
    >>> fraction_above(np.array([1, 2, 3, 4]).reshape(2, 2), 2)
    0.5
    """
    # The image's own shape check: a batch, a channels-first array or a single
    # number would otherwise give a fraction of something that is not an image.
    arr = check_image(image)
    threshold = check_number(threshold, "threshold")
    return float(np.count_nonzero(arr > threshold) / arr.size)


def to_grayscale(rgb) -> np.ndarray:
    """Convert an RGB image to gray: luma with scikit-image's weights.

    ``Y' = 0.2125 R + 0.7154 G + 0.0721 B``, the same weights and scaling as
    ``skimage.color.rgb2gray``; ITU-R BT.709 rounds them slightly differently
    (0.2126, 0.7152, 0.0722). Applied to the gamma-encoded values of an
    ordinary (sRGB) image, the result is **luma**, not the physical
    luminance, which would need linear values. Green counts most because the
    eye is most sensitive to it.

    Parameters
    ----------
    rgb : array_like, shape (H, W, 3) or (H, W, 4)
        uint8 (0..255, scaled by 1/255) or float in [0, 1]. An alpha channel
        is ignored.

    Returns
    -------
    ndarray of float64, shape (H, W)
        Values in [0, 1] for inputs in range.

    Examples
    --------
    >>> to_grayscale(np.array([[[255, 255, 255]]], np.uint8))
    array([[1.]])
    """
    arr = as_array(rgb, "rgb")
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"rgb should have shape (H, W, 3), got shape {arr.shape}. "
            "A grayscale (H, W) image needs no conversion; for RGBA, pass it as is (alpha is ignored)."
        )
    if arr.size == 0:
        raise ValueError(f"rgb is empty (shape {arr.shape}); expected at least one pixel.")
    check_finite(arr, "rgb")
    arr = to_float(arr[..., :3])
    return arr @ np.asarray(LUMA_WEIGHTS, dtype=np.float64)


def window_from_level(level, width) -> tuple[float, float]:
    """Turn a window *level* (centre) and *width* into ``(low, high)``.

    Radiology viewers describe contrast this way; :func:`intensity_window`
    takes the two ends.

    Examples
    --------
    >>> window_from_level(100, 50)
    (75.0, 125.0)
    """
    level = check_number(level, "level")
    width = check_number(width, "width")
    if width <= 0:
        raise ValueError(f"width should be positive, got {width}. The window must span some intensities.")
    return level - width / 2.0, level + width / 2.0


def intensity_window(image, low, high) -> np.ndarray:
    """Stretch the intensities between ``low`` and ``high`` to [0, 1].

    Values at or below ``low`` become 0, at or above ``high`` become 1, and
    values in between map linearly. Narrowing the window raises contrast
    for the intensities inside it and discards detail outside it.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any numeric image; ``low`` and ``high`` are in its units
        (0..255 for uint8).
    low, high : float
        The window's ends, ``low < high``.

    Returns
    -------
    ndarray of float64, same shape as ``image``, values in [0, 1]

    Examples
    --------
    >>> intensity_window(np.array([0., 0.25, 0.5, 1.0]).reshape(2, 2), 0.0, 0.5)
    array([[0. , 0.5],
           [1. , 1. ]])
    """
    arr = check_image(image)
    low = check_number(low, "low")
    high = check_number(high, "high")
    if not low < high:
        raise ValueError(
            f"low should be smaller than high, got low={low} and high={high}. "
            "Swap them, or widen the window."
        )
    # Halved, so that a window as wide as float64 itself (-1e308, 1e308) does
    # not overflow to inf; halving is exact, so the result is the same.
    out = (arr.astype(np.float64) * 0.5 - low * 0.5) / (high * 0.5 - low * 0.5)
    return np.clip(out, 0.0, 1.0)


def _default_range(arr: np.ndarray) -> tuple[float, float]:
    if arr.dtype == np.uint8:
        return 0.0, 256.0
    if arr.dtype == bool:
        return 0.0, 2.0
    lo, hi = float(arr.min()), float(arr.max())
    if np.issubdtype(arr.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    if lo == hi:
        return lo - 0.5, hi + 0.5
    return lo, hi


def histogram(image, bins: int = 256, value_range=None) -> tuple[np.ndarray, np.ndarray]:
    """Count pixels per intensity bin.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        All channels are pooled; pass ``image[..., 0]`` for one channel.
    bins : int
        Number of equal-width bins.
    value_range : (float, float), optional
        The histogram's span. By default ``(0, 256)`` for uint8 (so 256 bins
        give one bin per grey level), ``(0, 1)`` for floats in [0, 1], and
        the data's min and max otherwise.

    Returns
    -------
    counts : ndarray of int64, shape (bins,)
    edges : ndarray of float64, shape (bins + 1,)
        As in ``numpy.histogram``: bin ``i`` covers ``[edges[i], edges[i+1])``,
        the last bin also includes its right edge.

    Examples
    --------
    >>> counts, edges = histogram(np.array([[0, 0], [1, 255]], np.uint8))
    >>> counts[:2], counts[255], counts.sum()
    (array([2, 1]), np.int64(1), np.int64(4))
    """
    arr = check_image(image)
    bins = check_positive_int(bins, "bins")
    if bins > _MAX_BINS:
        raise ValueError(f"bins should be at most {_MAX_BINS:,}, got {bins:,}; 256 suits a uint8 image.")
    if value_range is None:
        lo, hi = _default_range(arr)
    else:
        try:
            lo, hi = value_range
        except (TypeError, ValueError):
            raise ValueError(
                f"value_range should be a pair (low, high), got {value_range!r}."
            ) from None
        lo, hi = check_number(lo, "value_range[0]"), check_number(hi, "value_range[1]")
        if not lo < hi:
            raise ValueError(f"value_range should have low < high, got ({lo}, {hi}).")
    values = arr.ravel()
    if not np.isfinite(hi - lo):
        # A span past float64's range (values near +-1e308): NumPy cannot
        # compute the bin width. Halving is exact and keeps every value in its bin.
        counts, edges = np.histogram(values * 0.5, bins=bins, range=(lo * 0.5, hi * 0.5))
        return counts.astype(np.int64), edges.astype(np.float64) * 2.0
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return counts.astype(np.int64), edges.astype(np.float64)


def saturating_add(image, value) -> np.ndarray:
    """Add ``value`` to a uint8 image, clipping at 0 and 255 instead of wrapping.

    ``np.uint8(250) + np.uint8(10)`` is 4 in NumPy: the sum wraps around
    modulo 256. This function computes in a wider type first, then clips.

    Parameters
    ----------
    image : array_like of uint8, shape (H, W) or (H, W, C)
    value : int or array_like
        Added to every pixel (broadcast).

    Returns
    -------
    ndarray of uint8, same shape as ``image``

    Examples
    --------
    >>> saturating_add(np.array([[250, 5]], np.uint8), 10)
    array([[255,  15]], dtype=uint8)
    """
    arr = check_image(image)
    if arr.dtype != np.uint8:
        raise ValueError(
            f"saturating_add expects a uint8 image, got dtype {arr.dtype}. "
            "Float images do not wrap around; add to them directly and np.clip the result."
        )
    addend = check_finite(as_array(value, "value"), "value")
    if not np.issubdtype(addend.dtype, np.number):
        raise ValueError(f"value should be numeric, got dtype {addend.dtype}.")
    try:
        fits = np.broadcast_shapes(arr.shape, addend.shape) == arr.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"value has shape {addend.shape}, which does not broadcast to the image's {arr.shape}; "
                         "pass a number, or one value per channel (shape (C,)).")
    return np.clip(np.rint(arr.astype(np.float64) + addend), 0, 255).astype(np.uint8)
