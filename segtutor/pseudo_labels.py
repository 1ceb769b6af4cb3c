"""Pseudo-labels: which pixels of a model's prediction become training targets (notebook 11, section 2).

Pure NumPy, below every layer that uses it: the semi-supervised training in
:mod:`segtutor.semi` (which re-exports every name) and the
:class:`segtutor.widgets.PseudoLabels` widget.

Self-training (Lee 2013) keeps the pixels a binary model is confident about
and ignores the rest (:data:`IGNORE`). This module selects them, either with
one confidence threshold (:func:`select_pseudo_labels`, the notebook's
exercise) or with class-balanced thresholds (:func:`class_balanced_thresholds`,
Zou et al. 2018), and scores a selection against the truth.

Examples
--------
>>> import numpy as np
>>> p = np.array([[0.97, 0.6], [0.1, 0.02]])
>>> labels, keep = select_pseudo_labels(p, 0.9)
>>> labels.tolist(), keep.tolist()
([[1, 0], [0, 0]], [[True, False], [False, True]])
>>> pseudo_label_targets(p, 0.9).tolist()
[[1, 255], [255, 0]]
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ._validate import as_array, check_positive_int

__all__ = ["IGNORE", "select_pseudo_labels", "pseudo_label_targets", "class_balanced_thresholds",
           "balanced_pseudo_label_targets", "pseudo_label_quality",
           "pseudo_label_picture"]

#: Target value of a pixel that the loss ignores (not confident enough to be a pseudo-label).
IGNORE = 255

#: Most pixels one call handles (~270 million): larger inputs are a mistake, not a data set.
MAX_PIXELS = 2**28


def check_probabilities(probabilities, name: str = "probabilities") -> np.ndarray:
    """Check probabilities in [0, 1] (any shape, not empty, finite) and return them as float64."""
    p = as_array(probabilities, name)
    if p.dtype == bool or not np.issubdtype(p.dtype, np.number):
        raise TypeError(f"{name} should be a float array of probabilities in [0, 1], got dtype {p.dtype}.")
    if p.ndim < 1 or p.size == 0:
        raise ValueError(f"{name} should be a non-empty array (H, W) or (N, H, W), got shape {p.shape}.")
    if p.size > MAX_PIXELS:
        raise ValueError(f"{name} has {p.size:,} values, more than the {MAX_PIXELS:,} this course handles; "
                         "process the images in smaller batches.")
    p = p.astype(np.float64, copy=False)
    if not np.isfinite(p).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model's output (a diverged training?).")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} should lie in [0, 1], got values from {p.min():.3g} to {p.max():.3g}. "
                         "If these are logits, apply a sigmoid first (segtutor.losses.sigmoid).")
    return p


def check_threshold(threshold) -> float:
    """Check a confidence threshold in [0.5, 1] and return it as a float."""
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold should be a number between 0.5 and 1, got {type(threshold).__name__} "
                        f"{threshold!r}.")
    t = float(threshold)
    if not math.isfinite(t) or not 0.5 <= t <= 1.0:
        raise ValueError(
            f"threshold should be between 0.5 and 1, got {threshold!r}. Below 0.5 a pixel could be confident "
            "foreground (p >= t) and confident background (p <= 1 - t) at once; 0.9 is a common choice.")
    return t


def select_pseudo_labels(probabilities, threshold):
    """Keep the pixels a binary model is confident about, as pseudo-labels.

    A pixel is *confident foreground* when ``p >= threshold`` and *confident
    background* when ``p <= 1 - threshold``; every other pixel is ignored.
    This is the confidence filter of self-training (Lee 2013 took the most
    probable class of every pixel; filtering by confidence, as in FixMatch,
    Sohn et al. 2020, keeps fewer but more often correct labels).

    Parameters
    ----------
    probabilities : array_like, shape (..., H, W)
        Foreground probabilities in [0, 1] (the sigmoid output).
    threshold : float in [0.5, 1]
        Confidence needed; 0.5 keeps every pixel, 1 keeps only p = 0 or 1.

    Returns
    -------
    labels : ndarray of uint8, same shape
        1 for confident foreground, 0 everywhere else.
    keep : ndarray of bool, same shape
        True where the pixel is confident (either side).

    Raises
    ------
    ValueError
        For probabilities outside [0, 1], NaN, or a threshold below 0.5.

    Examples
    --------
    >>> labels, keep = select_pseudo_labels([0.75, 0.5, 0.25], 0.75)
    >>> labels.tolist(), keep.tolist()
    ([1, 0, 0], [True, False, True])
    """
    p = check_probabilities(probabilities)
    t = check_threshold(threshold)
    foreground = p >= t
    keep = foreground | (p <= 1.0 - t)
    return foreground.astype(np.uint8), keep


def pseudo_label_targets(probabilities, threshold) -> np.ndarray:
    """Training targets from probabilities: 1, 0, or :data:`IGNORE` where not confident.

    Parameters
    ----------
    probabilities : array_like, shape (..., H, W)
    threshold : float in [0.5, 1]

    Returns
    -------
    ndarray of uint8, same shape

    Examples
    --------
    >>> pseudo_label_targets([0.99, 0.5, 0.01], 0.9).tolist()
    [1, 255, 0]
    """
    labels, keep = select_pseudo_labels(probabilities, threshold)
    return np.where(keep, labels, IGNORE).astype(np.uint8)


def check_share(share) -> float:
    """Check the share of each predicted class to keep, in (0, 1]."""
    if isinstance(share, (bool, np.bool_)) or not isinstance(share, numbers.Real):
        raise TypeError(f"share should be a number in (0, 1], got {type(share).__name__} {share!r}.")
    share = float(share)
    if not math.isfinite(share) or not 0.0 < share <= 1.0:
        raise ValueError(f"share should be in (0, 1], the fraction of each predicted class to keep; got {share!r} "
                         "(0.5 to 0.8 are common).")
    return share


def class_balanced_thresholds(probabilities, share) -> tuple[float, float]:
    """Confidence thresholds that keep the same share of each predicted class (CBST, Zou et al. 2018).

    One threshold for both classes keeps far more background than
    foreground: nucleus pixels sit on outlines, dim nuclei and glow, where the
    model is unsure, so the pseudo-labels are biased towards background.
    Class-balanced self-training sets one threshold per class instead: among
    the pixels predicted foreground (``p >= 0.5``) it keeps the ``share``
    most confident, and likewise among those predicted background.

    Parameters
    ----------
    probabilities : array_like, shape (..., H, W)
        Foreground probabilities in [0, 1].
    share : float in (0, 1]
        Fraction of each predicted class to keep; 1 keeps every pixel.

    Returns
    -------
    foreground, background : float
        Keep a pixel as foreground when ``p >= foreground`` (at least 0.5) and
        as background when ``p <= background`` (at most 0.5). Without a
        predicted pixel of a class its threshold keeps none of it (1.0 or 0.0).

    Examples
    --------
    >>> class_balanced_thresholds([0.6, 0.7, 0.8, 0.9, 0.0, 0.1, 0.2, 0.3], 0.5)
    (0.8, 0.1)
    """
    p = check_probabilities(probabilities)
    share = check_share(share)
    fg, bg = p[p >= 0.5], p[p < 0.5]
    # The k-th most confident value of each class is its threshold (ties at the cut are kept too).
    foreground = float(-np.partition(-fg, math.ceil(share * fg.size) - 1)[math.ceil(share * fg.size) - 1]) \
        if fg.size else 1.0
    background = float(np.partition(bg, math.ceil(share * bg.size) - 1)[math.ceil(share * bg.size) - 1]) \
        if bg.size else 0.0
    return foreground, background


def balanced_pseudo_label_targets(probabilities, share) -> np.ndarray:
    """Training targets 1, 0 or :data:`IGNORE` with class-balanced thresholds (:func:`class_balanced_thresholds`).

    Parameters
    ----------
    probabilities : array_like, shape (..., H, W)
    share : float in (0, 1]

    Returns
    -------
    ndarray of uint8, same shape

    Examples
    --------
    >>> balanced_pseudo_label_targets([0.6, 0.7, 0.8, 0.9, 0.0, 0.1, 0.2, 0.3], 0.5).tolist()
    [255, 255, 1, 1, 0, 0, 255, 255]
    """
    p = check_probabilities(probabilities)
    foreground, background = class_balanced_thresholds(p, share)
    return np.where(p >= foreground, 1, np.where(p <= background, 0, IGNORE)).astype(np.uint8)


class PseudoLabelQuality(NamedTuple):
    """How many pixels a threshold keeps and how many of them are right (fractions in [0, 1])."""

    coverage: float  # kept pixels / all pixels
    precision: float  # right kept pixels / kept pixels (1.0 when none is kept)
    foreground_coverage: float  # true foreground pixels kept as foreground / true foreground
    kept: int
    wrong: int


def pseudo_label_quality(probabilities, truth, threshold) -> PseudoLabelQuality:
    """Score pseudo-labels against the truth: coverage and precision.

    Parameters
    ----------
    probabilities : array_like, shape (..., H, W)
    truth : array_like of bool or 0/1, same shape
    threshold : float in [0.5, 1]

    Returns
    -------
    PseudoLabelQuality
        ``coverage`` (fraction of pixels kept), ``precision`` (fraction of kept
        pixels whose pseudo-label equals the truth; 1.0 when nothing is kept,
        since no pseudo-label is wrong), ``foreground_coverage`` (fraction of
        true foreground kept as foreground; 1.0 without true foreground), and
        the counts ``kept`` and ``wrong``.

    Examples
    --------
    >>> q = pseudo_label_quality([0.95, 0.6, 0.05, 0.97], [1, 1, 0, 0], 0.9)
    >>> q.coverage, q.precision, q.wrong
    (0.75, 0.6666666666666666, 1)
    """
    p = check_probabilities(probabilities)
    t = as_array(truth, "truth")
    if t.shape != p.shape:
        raise ValueError(f"truth has shape {t.shape} but probabilities {p.shape}; they should match "
                         "(drop a trailing channel with [..., 0]).")
    if not (t.dtype == bool or np.issubdtype(t.dtype, np.number)) or not np.isin(t, (0, 1)).all():
        raise ValueError("truth should be a binary mask (bool, or 0 and 1); for instance labels pass labels > 0.")
    t = t.astype(bool)
    labels, keep = select_pseudo_labels(p, threshold)
    right = keep & (labels.astype(bool) == t)
    kept, n_right = int(keep.sum()), int(right.sum())
    fg_total = int(t.sum())
    fg_kept = int((keep & t & labels.astype(bool)).sum())
    return PseudoLabelQuality(kept / p.size, n_right / kept if kept else 1.0,
                              fg_kept / fg_total if fg_total else 1.0, kept, kept - n_right)


#: Colours of :func:`pseudo_label_picture` (Okabe-Ito, distinct for colour-blind readers).
_RIGHT_FG = (0.0, 0.62, 0.45)  # bluish green
_RIGHT_BG = (0.0, 0.27, 0.55)  # dark blue
_WRONG = (0.84, 0.37, 0.0)  # vermillion
_IGNORED = (0.75, 0.75, 0.75)


def pseudo_label_picture(image, probabilities, truth, threshold, *, size: int = 256) -> np.ndarray:
    """Image with true outline | probability | pseudo-labels coloured by right and wrong.

    Parameters
    ----------
    image : array_like, shape (H, W)
    probabilities : array_like, shape (H, W), in [0, 1]
    truth : array_like of bool, shape (H, W)
    threshold : float in [0.5, 1]
    size : int
        Longer side of each panel in pixels (nearest-neighbour zoom).

    Returns
    -------
    ndarray of uint8, shape (H', 3 W' + gaps, 3)
        Third panel: green = right foreground pseudo-label, dark blue = right
        background, vermillion = wrong (either side), light grey = ignored.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pseudo_label_picture(rng.random((32, 32)), rng.random((32, 32)), rng.random((32, 32)) > 0.5, 0.9,
    ...                      size=64).shape
    (64, 208, 3)
    """
    from matplotlib import colormaps
    from skimage.segmentation import find_boundaries
    from skimage.transform import resize

    from .viz import side_by_side

    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size}.")
    img = as_array(image, "image")
    if img.ndim != 2 or img.size == 0 or not np.issubdtype(img.dtype, np.number):
        raise ValueError(f"image should be one numeric (H, W) image, got shape {img.shape} and dtype {img.dtype}.")
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError("image contains NaN or infinite values.")
    p = check_probabilities(probabilities)
    if p.shape != img.shape:
        raise ValueError(f"image {img.shape} and probabilities {p.shape} should have one (H, W) shape.")
    quality_truth = as_array(truth, "truth")
    pseudo_label_quality(p, quality_truth, threshold)  # validates truth and threshold
    t = quality_truth.astype(bool)
    labels, keep = select_pseudo_labels(p, threshold)
    lo, hi = np.percentile(img, [1, 99.8])
    grey = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1)
    outlined = np.repeat(grey[..., None], 3, axis=-1)
    outlined[find_boundaries(t, mode="inner")] = (0.0, 0.9, 0.9)
    probability = colormaps["viridis"](p)[..., :3]
    pseudo = np.empty(p.shape + (3,))
    pseudo[:] = _IGNORED
    right = labels.astype(bool) == t
    pseudo[keep & right & t] = _RIGHT_FG
    pseudo[keep & right & ~t] = _RIGHT_BG
    pseudo[keep & ~right] = _WRONG
    scale = size / max(p.shape)
    shape = (max(1, round(p.shape[0] * scale)), max(1, round(p.shape[1] * scale)))
    panels = [resize(q, shape, order=0) for q in (outlined, probability, pseudo)]
    return side_by_side(panels)


