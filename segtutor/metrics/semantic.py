"""Semantic segmentation scores: pixel accuracy, IoU, Dice, confusion matrix.

Conventions (see also :mod:`segtutor.metrics`):

* IoU (Jaccard 1901) is ``|A ∩ B| / |A ∪ B|``; Dice (Dice 1945, Sørensen
  1948) is ``2 |A ∩ B| / (|A| + |B|)``. They rank results in the same order:
  ``Dice = 2 IoU / (1 + IoU)``.
* Two empty masks score **1.0** (perfect agreement that nothing is there);
  an empty truth with a non-empty prediction, or the reverse, scores 0.0.
* A batch (N, H, W) is scored **pooled** by default: the pixels of all
  images are counted together, as if the images were tiled into one. With
  ``reduction="per_image"`` you get one score per image, shape (N,).
* Per-class scores are NaN for a class absent from both masks (there is
  nothing to agree or disagree about), and :func:`mean_iou` skips those NaNs.
* Confusion matrix: **rows are the truth, columns the prediction**, as in
  scikit-learn.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _checks

__all__ = [
    "pixel_accuracy",
    "iou",
    "dice",
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "mean_iou",
]


def pixel_accuracy(pred, truth) -> float:
    """Fraction of pixels whose predicted label equals the true label.

    Parameters
    ----------
    pred, truth : array_like of bool or int, shape (H, W) or (N, H, W)
        Binary masks or label maps of the same shape. A batch is pooled.

    Returns
    -------
    float
        In [0, 1].

    Notes
    -----
    Pixel accuracy flatters a model on images that are mostly background:
    predicting "background" everywhere on an image with 5 % foreground
    scores 0.95. Prefer IoU or Dice for the foreground.

    Examples
    --------
    >>> pixel_accuracy([[0, 1], [1, 1]], [[0, 1], [0, 1]])
    0.75
    """
    pred = _checks.mask_array(pred, "pred", (2, 3), nonnegative=True)
    truth = _checks.mask_array(truth, "truth", (2, 3), nonnegative=True)
    _checks.check_same_shape(pred, truth, ("pred", "truth"))
    if pred.size == 0:
        raise ValueError("pred and truth are empty (no pixels); expected at least one pixel.")
    # Compared as they are: a cast to int64 would wrap uint64 labels of 2**63 and more.
    return float(np.mean(pred == truth))


def _overlap_counts(pred, truth, reduction):
    """Intersection and the two areas, pooled (scalars) or per image (N,)."""
    pred, truth = _checks.binary_pair(pred, truth)
    reduction = _checks.reduction(reduction)
    if reduction == "pooled":
        axes = None
    else:
        # A single image is a batch of one, so the result is always (N,).
        if pred.ndim == 2:
            pred, truth = pred[None], truth[None]
        axes = (1, 2)
    intersection = np.logical_and(pred, truth).sum(axis=axes, dtype=np.int64)
    return intersection, pred.sum(axis=axes, dtype=np.int64), truth.sum(axis=axes, dtype=np.int64)


def _ratio(numerator, denominator):
    """numerator / denominator with 0 / 0 = 1 (both masks empty agree perfectly)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.ones(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def iou(pred, truth, *, reduction: str = "pooled"):
    """Intersection over union (Jaccard index) of two binary masks.

    Parameters
    ----------
    pred, truth : array_like of bool or {0, 1}, shape (H, W) or (N, H, W)
        Binary masks of the same shape. Float masks are accepted only if
        they hold whole numbers: threshold probabilities first
        (``probs > 0.5``).
    reduction : {"pooled", "per_image"}
        ``"pooled"`` counts the pixels of a whole batch together and returns
        one float; ``"per_image"`` returns one score per image, shape (N,)
        (a single (H, W) image counts as a batch of one).

    Returns
    -------
    float or ndarray of shape (N,)
        In [0, 1]; 1.0 when both masks are empty.

    Examples
    --------
    >>> truth = [[0, 1, 1], [0, 1, 1]]
    >>> pred = [[0, 0, 1], [0, 1, 1]]
    >>> iou(pred, truth)
    0.75
    """
    intersection, area_pred, area_truth = _overlap_counts(pred, truth, reduction)
    score = _ratio(intersection, area_pred + area_truth - intersection)
    return float(score) if score.ndim == 0 else score


def dice(pred, truth, *, reduction: str = "pooled"):
    """Dice coefficient (F1 score of the pixels) of two binary masks.

    Parameters
    ----------
    pred, truth : array_like of bool or {0, 1}, shape (H, W) or (N, H, W)
        Binary masks of the same shape.
    reduction : {"pooled", "per_image"}
        As in :func:`iou`.

    Returns
    -------
    float or ndarray of shape (N,)
        In [0, 1]; 1.0 when both masks are empty. Equals
        ``2 * iou / (1 + iou)`` on the same masks.

    Examples
    --------
    >>> truth = [[0, 1, 1], [0, 1, 1]]
    >>> pred = [[0, 0, 1], [0, 1, 1]]
    >>> round(dice(pred, truth), 4)   # 2 * 3 / (3 + 4)
    0.8571
    """
    intersection, area_pred, area_truth = _overlap_counts(pred, truth, reduction)
    score = _ratio(2 * intersection, area_pred + area_truth)
    return float(score) if score.ndim == 0 else score


def confusion_matrix(pred, truth, n_classes: int) -> np.ndarray:
    """Count pixels for every (true class, predicted class) pair.

    Parameters
    ----------
    pred, truth : array_like of int, shape (H, W) or (N, H, W)
        Label maps with values in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes, background included.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` is the number of pixels of true class ``i`` predicted as
        class ``j``: **rows are the truth, columns the prediction** (the
        scikit-learn convention). The diagonal holds the correct pixels and
        the total is the number of pixels.

    Examples
    --------
    >>> confusion_matrix([[0, 1, 1]], [[0, 0, 1]], n_classes=2)
    array([[1, 1],
           [0, 1]])
    """
    pred, truth, n_classes = _checks.label_pair(pred, truth, n_classes)
    # One bincount over a combined index is far faster than n_classes**2 masks.
    flat = truth.ravel() * n_classes + pred.ravel()
    counts = np.bincount(flat, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _per_class(cm: np.ndarray, kind: str) -> np.ndarray:
    intersection = np.diag(cm).astype(np.float64)
    area_truth = cm.sum(axis=1)
    area_pred = cm.sum(axis=0)
    if kind == "iou":
        numerator, denominator = intersection, area_truth + area_pred - intersection
    else:
        numerator, denominator = 2 * intersection, area_truth + area_pred
    out = np.full(cm.shape[0], np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def iou_per_class(pred, truth, n_classes: int) -> np.ndarray:
    """IoU of every class of two label maps.

    Parameters
    ----------
    pred, truth : array_like of int, shape (H, W) or (N, H, W)
        Label maps with values in ``0 .. n_classes - 1`` (a batch is pooled).
    n_classes : int
        Number of classes, background included.

    Returns
    -------
    ndarray of float64, shape (n_classes,)
        IoU of class ``k`` at index ``k``; NaN for a class absent from both
        ``pred`` and ``truth``.

    Examples
    --------
    >>> iou_per_class([[0, 1, 1]], [[0, 0, 1]], n_classes=3)
    array([0.5, 0.5, nan])
    """
    return _per_class(confusion_matrix(pred, truth, n_classes), "iou")


def dice_per_class(pred, truth, n_classes: int) -> np.ndarray:
    """Dice coefficient of every class of two label maps.

    Parameters
    ----------
    pred, truth : array_like of int, shape (H, W) or (N, H, W)
        Label maps with values in ``0 .. n_classes - 1`` (a batch is pooled).
    n_classes : int
        Number of classes, background included.

    Returns
    -------
    ndarray of float64, shape (n_classes,)
        NaN for a class absent from both ``pred`` and ``truth``.

    Examples
    --------
    >>> dice_per_class([[0, 1, 1]], [[0, 0, 1]], n_classes=2)
    array([0.66666667, 0.66666667])
    """
    return _per_class(confusion_matrix(pred, truth, n_classes), "dice")


def mean_iou(pred, truth, n_classes: int, *, ignore_background: bool = False) -> float:
    """Mean of the per-class IoU over the classes present in pred or truth.

    Parameters
    ----------
    pred, truth : array_like of int, shape (H, W) or (N, H, W)
        Label maps with values in ``0 .. n_classes - 1`` (a batch is pooled).
    n_classes : int
        Number of classes, background included.
    ignore_background : bool
        Leave class 0 out of the mean. Background is usually large and easy,
        so including it lifts the score.

    Returns
    -------
    float
        ``nanmean`` of :func:`iou_per_class`; NaN, with a ``RuntimeWarning``
        that says why, if no class counted is present in either map (for
        example only background with ``ignore_background=True``).

    Examples
    --------
    >>> mean_iou([[0, 1, 1]], [[0, 0, 1]], n_classes=3)   # class 2 is absent
    0.5
    """
    if not isinstance(ignore_background, (bool, np.bool_)):
        raise ValueError(f"ignore_background should be True or False, got {ignore_background!r}.")
    scores = iou_per_class(pred, truth, n_classes)
    if ignore_background:
        scores = scores[1:]
    if not np.isfinite(scores).any():
        # The mean of no classes is undefined; say so rather than hand back a bare NaN.
        counted = "classes 1.." if ignore_background else "classes 0.."
        warnings.warn(f"mean_iou: none of the {counted}{n_classes - 1} counted appears in pred or truth, so the "
                      "mean IoU is undefined (NaN). With ignore_background=True, an image of background only "
                      "has nothing to score.", RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(np.nanmean(scores))
