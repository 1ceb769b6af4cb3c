"""Losses for dense prediction: cross-entropy, Dice, focal, and their mixes (notebooks 05-07).

Each loss exists twice, on purpose: a NumPy function that reads like the
formula (used in notebook 05 and as the reference of its exercises), and a
Keras loss for training that computes the same number with backend ops.
Tests check that the two agree.

Conventions: ``truth`` holds 0/1 targets, ``prob`` probabilities in (0, 1),
both of shape (..., H, W) or (..., H, W, 1) for a binary mask; for K classes
``truth`` holds integer labels (..., H, W) and ``prob`` (..., H, W, K).

* **Binary cross-entropy**, pixel by pixel:
  :math:`-\\frac{1}{N}\\sum_i [t_i \\log p_i + (1 - t_i) \\log(1 - p_i)]`.
* **Weighted** cross-entropy multiplies the foreground term by a class
  weight, so that a rare class counts as much as a common one.
* **Soft Dice loss** (Milletari, Navab and Ahmadi 2016, V-Net):
  :math:`1 - \\frac{2\\sum p t + s}{\\sum p + \\sum t + s}`, computed per image,
  with a smoothing term ``s`` that makes two empty masks score 1.
* **Focal loss** comes from RetinaNet (Lin, Goyal, Girshick, He and Dollár
  2017), a one-stage *detector*, not from Mask R-CNN:
  :math:`-\\alpha (1 - p_t)^\\gamma \\log p_t`, which down-weights the many
  easy pixels.

Examples
--------
>>> import numpy as np
>>> t = np.array([[0, 1], [1, 1]])
>>> p = np.array([[0.1, 0.8], [0.9, 0.6]])
>>> round(binary_cross_entropy(p, t), 4)
0.2362
>>> round(soft_dice_loss(p, t), 4)
0.125
"""

from __future__ import annotations

import numpy as np

from . import _backend
from ._validate import as_array, check_in_range, check_scalar

__all__ = [
    "EPSILON",
    "sigmoid",
    "softmax",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "soft_dice",
    "soft_dice_loss",
    "focal_loss",
    "keras_loss",
    "keras_multiclass_loss",
    "dice_metric",
    "LOSS_NAMES",
]

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before a log, as Keras does.
EPSILON = 1e-7

#: Names :func:`keras_loss` understands.
LOSS_NAMES = ("bce", "weighted_bce", "dice", "bce_dice", "focal")


def _finite(x, name: str) -> np.ndarray:
    arr = as_array(x, name).astype(np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one pixel.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; check what produced it (a division by zero?).")
    return arr


def _binary_pair(prob, truth):
    p = _finite(prob, "prob")
    t = _finite(truth, "truth")
    if p.shape != t.shape:
        if p.shape[:-1] == t.shape and p.shape[-1] == 1:
            p = p[..., 0]
        elif t.shape[:-1] == p.shape and t.shape[-1] == 1:
            t = t[..., 0]
        else:
            raise ValueError(
                f"prob has shape {p.shape} but truth has shape {t.shape}; they should match "
                "(a trailing channel of 1 is allowed on either)."
            )
    if p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"prob should hold probabilities in [0, 1], got values from {p.min():.3g} to {p.max():.3g}. "
            "If these are logits (raw scores), apply a sigmoid first: segtutor.losses.sigmoid(scores)."
        )
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError("truth should hold only 0 and 1 (a binary mask); for class labels use categorical_cross_entropy.")
    return p, t


def sigmoid(x) -> np.ndarray:
    """The logistic function, :math:`1 / (1 + e^{-x})`, without overflow for large |x|.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    x = _finite(x, "x")
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def softmax(scores, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: :math:`e^{s_k} / \\sum_j e^{s_j}`, stabilised by subtracting the maximum.

    Parameters
    ----------
    scores : array_like, shape (..., K)
        Raw class scores (logits); for an image, (H, W, K): one softmax per pixel.

    Examples
    --------
    >>> softmax(np.array([1.0, 1.0, 1.0 + np.log(2)]))
    array([0.25, 0.25, 0.5 ])
    """
    s = _finite(scores, "scores")
    if s.ndim == 0:
        raise ValueError("scores should have at least one axis of class scores, got a single number.")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)) or not -s.ndim <= axis < s.ndim:
        raise ValueError(f"axis should be an integer in {-s.ndim}..{s.ndim - 1} for scores of shape {s.shape}, "
                         f"got {axis!r}.")
    axis = int(axis)
    shifted = s - s.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def binary_cross_entropy(prob, truth, *, pos_weight: float = 1.0) -> float:
    """Mean pixel-wise binary cross-entropy, optionally weighting the foreground.

    Parameters
    ----------
    prob : array_like, shape (..., H, W) or (..., H, W, 1)
        Predicted foreground probabilities.
    truth : array_like, same shape
        0/1 targets.
    pos_weight : float
        Weight of the foreground term (class weighting); 1 is plain BCE.

    Returns
    -------
    float

    Examples
    --------
    >>> round(binary_cross_entropy([0.5, 0.5], [0, 1]), 4)   # ln 2
    0.6931
    """
    p, t = _binary_pair(prob, truth)
    pos_weight = check_in_range(pos_weight, "pos_weight", 0.0, 1e6)
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return float(-(pos_weight * t * np.log(p) + (1 - t) * np.log(1 - p)).mean())


def categorical_cross_entropy(prob, labels) -> float:
    """Mean pixel-wise cross-entropy for K classes: :math:`-\\frac1N \\sum_i \\log p_{i, y_i}`.

    Parameters
    ----------
    prob : array_like, shape (..., H, W, K)
        Softmax probabilities, summing to 1 over the last axis.
    labels : array_like of int, shape (..., H, W)
        Class index of each pixel, 0..K-1.

    Examples
    --------
    >>> p = np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]])
    >>> round(categorical_cross_entropy(p, [[0, 2]]), 4)
    0.2899
    """
    p = _finite(prob, "prob")
    y = as_array(labels, "labels")
    if p.shape[:-1] != y.shape:
        raise ValueError(
            f"prob should have shape labels.shape + (K,); got prob {p.shape} and labels {y.shape}. "
            "Labels hold one integer class per pixel, not one-hot vectors."
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError("labels should be whole class numbers 0..K-1.")
        y = y.astype(np.int64)
    k = p.shape[-1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"labels should lie in 0..{k - 1} for {k} classes, got values from {y.min()} to {y.max()}.")
    sums = p.sum(axis=-1)
    if p.min() < 0 or p.max() > 1 or not np.allclose(sums, 1.0, atol=1e-3):
        # Logits or sigmoid outputs give a number, but not the cross-entropy.
        raise ValueError(f"prob should hold probabilities that sum to 1 over the last axis (softmax output); "
                         f"got values from {p.min():.3g} to {p.max():.3g} and sums from {sums.min():.3g} to "
                         f"{sums.max():.3g}. Apply a softmax to logits first.")
    picked = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    return float(-np.log(np.clip(picked, EPSILON, 1.0)).mean())


def soft_dice(prob, truth, *, smooth: float = 1.0) -> float:
    """Soft Dice coefficient, :math:`(2\\sum p t + s) / (\\sum p + \\sum t + s)`.

    With 0/1 predictions it is the ordinary Dice score; with probabilities it
    is differentiable, which is why it can be a loss.

    Examples
    --------
    >>> soft_dice([1, 1, 0, 0], [1, 0, 0, 0], smooth=0)
    0.6666666666666666
    >>> soft_dice([0, 0], [0, 0])      # two empty masks agree perfectly
    1.0
    """
    p, t = _binary_pair(prob, truth)
    smooth = check_in_range(smooth, "smooth", 0.0, 1e6)
    denominator = p.sum() + t.sum() + smooth
    if denominator == 0:
        raise ValueError("both masks are empty and smooth=0, so Dice is 0/0; use smooth > 0.")
    return float((2 * (p * t).sum() + smooth) / denominator)


def soft_dice_loss(prob, truth, *, smooth: float = 1.0) -> float:
    """``1 - soft_dice(prob, truth)``, averaged over images when there is a batch axis.

    Parameters
    ----------
    prob, truth : array_like, shape (H, W) or (N, H, W) (a trailing 1 allowed)
    """
    p, t = _binary_pair(prob, truth)
    if p.ndim <= 2:
        return 1.0 - soft_dice(p, t, smooth=smooth)
    return float(np.mean([1.0 - soft_dice(pi, ti, smooth=smooth) for pi, ti in zip(p, t)]))


def focal_loss(prob, truth, *, gamma: float = 2.0, alpha: float = 0.25) -> float:
    """Binary focal loss of RetinaNet (Lin et al. 2017): :math:`-\\alpha_t (1 - p_t)^\\gamma \\log p_t`.

    ``p_t`` is the probability given to the true class of each pixel. With
    ``gamma=0`` and ``alpha=0.5`` it is half the binary cross-entropy.

    Examples
    --------
    >>> p, t = np.array([0.9, 0.2]), np.array([1, 0])
    >>> round(focal_loss(p, t, gamma=0, alpha=0.5) * 2, 6) == round(binary_cross_entropy(p, t), 6)
    True
    """
    p, t = _binary_pair(prob, truth)
    gamma = check_in_range(gamma, "gamma", 0.0, 100.0)
    alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
    p = np.clip(p, EPSILON, 1 - EPSILON)
    p_t = np.where(t == 1, p, 1 - p)
    alpha_t = np.where(t == 1, alpha, 1 - alpha)
    return float((-alpha_t * (1 - p_t) ** gamma * np.log(p_t)).mean())


def keras_loss(name: str = "bce_dice", *, pos_weight: float = 1.0, gamma: float = 2.0, alpha: float = 0.25,
               smooth: float = 1.0):
    """A Keras loss function for a binary (sigmoid) segmentation model.

    Parameters
    ----------
    name : {"bce", "weighted_bce", "dice", "bce_dice", "focal"}
        ``bce_dice`` is the sum of the two, the common choice for nuclei.
    pos_weight : float
        Foreground weight for ``weighted_bce``.
    gamma, alpha : float
        Focal-loss parameters.
    smooth : float
        Dice smoothing.

    Returns
    -------
    callable
        ``loss(y_true, y_pred)`` on (N, H, W, 1) tensors, returning one value
        per image, named after ``name`` (Keras shows the name in logs).

    Examples
    --------
    >>> import numpy as np
    >>> loss = keras_loss("dice")
    >>> t = np.array([[0, 1], [1, 1]], "float32")[None, ..., None]
    >>> p = np.array([[0.1, 0.8], [0.9, 0.6]], "float32")[None, ..., None]
    >>> round(float(loss(t, p)[0]), 4)
    0.125
    """
    if name not in LOSS_NAMES:
        raise ValueError(f"name should be one of {LOSS_NAMES}, got {name!r}.")
    pos_weight = check_in_range(pos_weight, "pos_weight", 0.0, 1e6)
    gamma = check_in_range(gamma, "gamma", 0.0, 100.0)
    alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
    smooth = check_in_range(smooth, "smooth", 0.0, 1e6)
    ops = _backend.keras().ops

    def _prep(y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.clip(ops.cast(y_pred, "float32"), EPSILON, 1 - EPSILON)
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.expand_dims(y_true, -1)
        return y_true, y_pred

    def bce_map(t, p, weight=1.0):
        return -(weight * t * ops.log(p) + (1 - t) * ops.log(1 - p))

    def per_image_mean(x):
        return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)

    def dice(t, p):
        t2, p2 = ops.reshape(t, (ops.shape(t)[0], -1)), ops.reshape(p, (ops.shape(p)[0], -1))
        inter = ops.sum(t2 * p2, axis=1)
        return 1 - (2 * inter + smooth) / (ops.sum(t2, axis=1) + ops.sum(p2, axis=1) + smooth)

    def loss(y_true, y_pred):
        t, p = _prep(y_true, y_pred)
        if name == "bce":
            return per_image_mean(bce_map(t, p))
        if name == "weighted_bce":
            return per_image_mean(bce_map(t, p, pos_weight))
        if name == "dice":
            return dice(t, p)
        if name == "bce_dice":
            return per_image_mean(bce_map(t, p)) + dice(t, p)
        p_t = t * p + (1 - t) * (1 - p)
        alpha_t = t * alpha + (1 - t) * (1 - alpha)
        return per_image_mean(-alpha_t * (1 - p_t) ** gamma * ops.log(p_t))

    loss.__name__ = name
    return loss


def keras_multiclass_loss(n_classes: int, *, dice_weight: float = 1.0, smooth: float = 1.0):
    """Cross-entropy plus soft Dice for a softmax model of ``n_classes`` classes (notebook 12).

    The multi-class form of ``keras_loss("bce_dice")``: per image, the mean
    categorical cross-entropy over pixels plus ``dice_weight`` times the mean
    over the foreground classes ``1..n_classes-1`` of the soft Dice loss of
    each class's probability map against its 0/1 mask. The background class is
    left out of the Dice term, so a small object class counts as much as a
    large one however much background surrounds it.

    Parameters
    ----------
    n_classes : int
        Number of classes, background (0) included; at least 2.
    dice_weight : float
        Weight of the Dice term (0 gives plain cross-entropy).
    smooth : float
        Dice smoothing, as in :func:`soft_dice`.

    Returns
    -------
    callable
        ``loss(y_true, y_pred)`` with integer labels of shape (N, H, W) or
        (N, H, W, 1) and softmax probabilities (N, H, W, n_classes),
        returning one value per image; named ``ce_dice``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = keras_multiclass_loss(3)
    >>> labels = np.array([[0, 1], [2, 2]])[None]
    >>> prob = np.eye(3, dtype="float32")[labels] * 0.98 + 0.01
    >>> round(float(loss(labels, prob)[0]), 3)
    0.021
    """
    n_classes = check_scalar(n_classes, "n_classes", integer=True, low=2, high=1024)
    dice_weight = check_in_range(dice_weight, "dice_weight", 0.0, 1e6)
    smooth = check_in_range(smooth, "smooth", 0.0, 1e6)
    ops = _backend.keras().ops

    def loss(y_true, y_pred):
        labels = ops.cast(y_true, "int32")
        if len(labels.shape) == len(y_pred.shape):
            labels = ops.squeeze(labels, -1)
        p = ops.clip(ops.cast(y_pred, "float32"), EPSILON, 1 - EPSILON)
        t = ops.one_hot(labels, n_classes)
        batch = ops.shape(p)[0]
        ce = ops.mean(ops.reshape(-ops.sum(t * ops.log(p), axis=-1), (batch, -1)), axis=1)
        p2 = ops.reshape(p, (batch, -1, n_classes))[..., 1:]
        t2 = ops.reshape(t, (batch, -1, n_classes))[..., 1:]
        dice = 1 - (2 * ops.sum(p2 * t2, axis=1) + smooth) / (ops.sum(p2, axis=1) + ops.sum(t2, axis=1) + smooth)
        return ce + dice_weight * ops.mean(dice, axis=1)

    loss.__name__ = "ce_dice"
    return loss


def dice_metric():
    """A Keras metric: Dice of ``prediction > 0.5``, pooled over the batch.

    The thresholded companion of :func:`soft_dice`, for watching training:
    ``2 |P & T| / (|P| + |T|)`` with ``P = prediction > 0.5`` and
    ``T = truth > 0.5``, summed over every pixel of every batch since the
    last reset; two empty masks score 1.

    Returns
    -------
    keras.metrics.Metric
        Named ``"dice"``.

    Examples
    --------
    >>> metric = dice_metric()
    >>> metric.update_state(np.ones((1, 2, 2, 1)), np.full((1, 2, 2, 1), 0.9))
    >>> float(metric.result())
    1.0
    """
    keras = _backend.keras()

    class Dice(keras.metrics.Metric):
        def __init__(self, name="dice", **kwargs):
            super().__init__(name=name, **kwargs)
            self.overlap = self.add_weight(name="overlap", initializer="zeros")
            self.total = self.add_weight(name="total", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            t = keras.ops.cast(keras.ops.cast(y_true, "float32") > 0.5, "float32")
            p = keras.ops.cast(y_pred > 0.5, "float32")
            self.overlap.assign_add(keras.ops.sum(t * p))
            self.total.assign_add(keras.ops.sum(t) + keras.ops.sum(p))

        def result(self):
            return keras.ops.where(self.total > 0, 2 * self.overlap / keras.ops.maximum(self.total, 1e-9), 1.0)

        def reset_state(self):
            self.overlap.assign(0.0)
            self.total.assign(0.0)

    return Dice()
