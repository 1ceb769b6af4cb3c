"""Semi-supervised segmentation: pseudo-labels and mean teacher (notebook 11).

Labels are the expensive part of segmentation: outlining every nucleus in one
256 x 256 image takes an expert minutes, while unlabelled images cost nothing.
Semi-supervised learning uses a few labelled images *and* many unlabelled ones.
This module holds the two classic methods for a binary (sigmoid) U-Net:

* **Self-training with pseudo-labels** (Lee 2013): train on the labelled
  images, predict the unlabelled ones, keep only the pixels the model is sure
  about (:func:`select_pseudo_labels`), and train again on labelled plus
  pseudo-labelled images with a loss that ignores the other pixels
  (:func:`masked_bce_dice`). Cost: one prediction pass over the unlabelled
  images per round and one more training run. Failure mode: *confirmation
  bias*, a wrong but confident pseudo-label is learned as truth and
  reinforced in the next round (Arazo et al. 2020).
* **Mean teacher** (Tarvainen and Valpola 2017): a *student* learns from the
  labels and, on unlabelled images, to agree with a *teacher* whose weights
  are an exponential moving average (EMA) of the student's
  (:func:`ema_update`); the two see differently perturbed copies of each
  image, and the weight of the consistency term ramps up
  (:func:`consistency_weight`). Cost per step: two more forward passes (the
  student and the teacher on the unlabelled batch) and a second copy of the
  weights. Failure mode: the perturbations must preserve the label (a
  perturbation that changes what is a nucleus teaches the wrong invariance).

Both need unlabelled images from the same distribution as the test images.

Conventions: probabilities are (..., H, W) or (..., H, W, 1) arrays in [0, 1];
training targets are integers 0 (background), 1 (nucleus) or :data:`IGNORE`
(a pixel that does not count, as ``ignore_index`` in other libraries).

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
import time
from typing import NamedTuple

import numpy as np

from ._validate import as_array, check_bool, check_in_range, check_positive_int

__all__ = [
    "IGNORE",
    "METHODS",
    "select_pseudo_labels",
    "pseudo_label_targets",
    "pseudo_label_quality",
    "pseudo_label_picture",
    "labelled_split",
    "masked_bce_dice",
    "consistency_weight",
    "ema_update",
    "build_student",
    "copy_model",
    "train_supervised",
    "predict_probabilities",
    "self_training",
    "MeanTeacher",
    "train_mean_teacher",
    "held_out_dice",
    "label_efficiency",
    "efficiency_figure",
]

#: Target value of a pixel that the loss ignores (not confident enough to be a pseudo-label).
IGNORE = 255

#: Method names understood by :func:`label_efficiency`.
METHODS = ("labelled only", "self-training", "mean teacher")

_MAX_PIXELS = 2**28  # ~270 million pixels: larger inputs are a mistake, not a data set


# -- pseudo-labels ----------------------------------------------------------------------------------

def _probabilities(probabilities, name: str = "probabilities") -> np.ndarray:
    p = as_array(probabilities, name)
    if p.dtype == bool or not np.issubdtype(p.dtype, np.number):
        raise TypeError(f"{name} should be a float array of probabilities in [0, 1], got dtype {p.dtype}.")
    if p.ndim < 1 or p.size == 0:
        raise ValueError(f"{name} should be a non-empty array (H, W) or (N, H, W), got shape {p.shape}.")
    if p.size > _MAX_PIXELS:
        raise ValueError(f"{name} has {p.size:,} values, more than the {_MAX_PIXELS:,} this course handles; "
                         "process the images in smaller batches.")
    p = p.astype(np.float64, copy=False)
    if not np.isfinite(p).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model's output (a diverged training?).")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} should lie in [0, 1], got values from {p.min():.3g} to {p.max():.3g}. "
                         "If these are logits, apply a sigmoid first (segtutor.losses.sigmoid).")
    return p


def _threshold(threshold) -> float:
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
    p = _probabilities(probabilities)
    t = _threshold(threshold)
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
    p = _probabilities(probabilities)
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

    from .widgets._base import side_by_side

    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size}.")
    img = as_array(image, "image")
    if img.ndim != 2 or img.size == 0 or not np.issubdtype(img.dtype, np.number):
        raise ValueError(f"image should be one numeric (H, W) image, got shape {img.shape} and dtype {img.dtype}.")
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError("image contains NaN or infinite values.")
    p = _probabilities(probabilities)
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


# -- data -------------------------------------------------------------------------------------------

def labelled_split(n_images, fraction, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Choose which training images keep their labels.

    Parameters
    ----------
    n_images : int
        Training images available.
    fraction : float in (0, 1]
        Fraction that stays labelled; at least one image always does.
    seed : int

    Returns
    -------
    labelled, unlabelled : ndarray of int
        Sorted, disjoint indices covering ``range(n_images)``.

    Examples
    --------
    >>> labelled, unlabelled = labelled_split(40, 0.1, seed=0)
    >>> len(labelled), len(unlabelled)
    (4, 36)
    """
    n_images = check_positive_int(n_images, "n_images")
    if n_images > 1_000_000:
        raise ValueError(f"n_images should be at most 1,000,000, got {n_images}.")
    fraction = check_in_range(fraction, "fraction", 0.0, 1.0)
    if fraction == 0:
        raise ValueError("fraction should be above 0: semi-supervised learning still needs some labelled images.")
    seed = _seed(seed)
    n_labelled = min(n_images, max(1, round(fraction * n_images)))
    order = np.random.default_rng(seed).permutation(n_images)
    return np.sort(order[:n_labelled]), np.sort(order[n_labelled:])


# -- losses and the mean-teacher pieces -------------------------------------------------------------

def masked_bce_dice(y_true, y_pred):
    """BCE + soft Dice (smooth 1) that ignores pixels whose target is :data:`IGNORE`.

    A Keras loss: ``y_true`` holds 0, 1 or 255 per pixel, shape (N, H, W) or
    (N, H, W, 1); ``y_pred`` sigmoid probabilities (N, H, W, 1). Ignored
    pixels weigh 0 in both terms: the BCE is averaged over the kept pixels of
    each image, and the Dice sums only over kept pixels. Without ignored
    pixels it equals ``segtutor.losses.keras_loss("bce_dice")``.

    Returns
    -------
    tensor, shape (N,)
        One loss per image.

    Examples
    --------
    >>> t = np.array([[1, 255], [0, 0]], "uint8")[None, ..., None]
    >>> p = np.array([[0.9, 0.0001], [0.1, 0.2]], "float32")[None, ..., None]
    >>> round(float(masked_bce_dice(t, p)[0]), 4)   # the 255 pixel's wrong prediction costs nothing
    0.2696

    Here the BCE is the mean of -ln 0.9, -ln 0.9 and -ln 0.8 over the three kept
    pixels (0.1446) and the Dice loss 1 - (2 * 0.9 + 1) / (1 + 1.2 + 1) = 0.125.
    """
    from keras import ops

    from .losses import EPSILON

    for name, value in (("y_true", y_true), ("y_pred", y_pred)):
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{name} should be a tensor or array (N, H, W, 1), got {type(value).__name__}.")
        if isinstance(value, (np.ndarray, list, tuple, numbers.Number)):
            arr = as_array(value, name)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{name} should be real numbers, got dtype {arr.dtype}.")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values.")
        elif not hasattr(value, "shape"):
            raise TypeError(f"{name} should be a tensor or array (N, H, W, 1), got {type(value).__name__}.")
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    # Keras may squeeze the channel axis off either tensor before calling a loss.
    if len(y_true.shape) == 3:
        y_true = ops.expand_dims(y_true, -1)
    if len(y_pred.shape) == 3:
        y_pred = ops.expand_dims(y_pred, -1)
    if len(y_true.shape) != 4 or len(y_pred.shape) != 4:
        raise ValueError(f"y_true and y_pred should be batches (N, H, W, 1), got shapes {tuple(y_true.shape)} "
                         f"and {tuple(y_pred.shape)}.")
    if any(a is not None and b is not None and a != b for a, b in zip(tuple(y_true.shape), tuple(y_pred.shape))):
        raise ValueError(f"y_true and y_pred should have one shape (N, H, W, 1), got {tuple(y_true.shape)} and "
                         f"{tuple(y_pred.shape)}; pass the targets of the images that were predicted.")
    keep = ops.cast(ops.not_equal(y_true, float(IGNORE)), "float32")
    t = y_true * keep
    p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
    flat = lambda x: ops.reshape(x, (ops.shape(x)[0], -1))  # noqa: E731
    bce = flat(-(t * ops.log(p) + (1 - t) * ops.log(1 - p)) * keep)
    n_kept = ops.sum(flat(keep), axis=1)
    bce = ops.sum(bce, axis=1) / ops.maximum(n_kept, 1.0)
    kept_p = flat(p * keep)
    dice = 1 - (2 * ops.sum(flat(t) * kept_p, axis=1) + 1.0) / (ops.sum(flat(t), axis=1) + ops.sum(kept_p, axis=1) + 1.0)
    return bce + dice


def consistency_weight(step, rampup_steps, maximum) -> float:
    """The ramp-up of the consistency weight: ``maximum * exp(-5 (1 - s / rampup)^2)``, then ``maximum``.

    This sigmoid-shaped ramp-up (Laine and Aila 2017, used by Tarvainen and
    Valpola 2017) keeps the consistency term small while the teacher is
    still poor, and reaches ``maximum`` at ``rampup_steps``.

    Examples
    --------
    >>> [round(consistency_weight(s, 100, 10.0), 3) for s in (0, 50, 100, 500)]
    [0.067, 2.865, 10.0, 10.0]
    """
    step = check_positive_int(step, "step", minimum=0)
    rampup_steps = check_positive_int(rampup_steps, "rampup_steps", minimum=0)
    maximum = check_in_range(maximum, "maximum", 0.0, 1e6)
    if rampup_steps == 0 or step >= rampup_steps:
        return maximum
    return maximum * math.exp(-5.0 * (1.0 - step / rampup_steps) ** 2)


def ema_update(teacher, student, decay) -> list:
    """One exponential-moving-average step: ``teacher = decay * teacher + (1 - decay) * student``.

    Parameters
    ----------
    teacher, student : list of ndarray
        Weights of two models of one architecture (``model.get_weights()``).
    decay : float in [0, 1]
        Tarvainen and Valpola used 0.99 early and 0.999 later; 0 copies the
        student, 1 freezes the teacher.

    Returns
    -------
    list of ndarray
        The new teacher weights (the inputs are not modified).

    Examples
    --------
    >>> ema_update([np.array([1.0])], [np.array([3.0])], 0.75)
    [array([1.5])]
    """
    decay = check_in_range(decay, "decay", 0.0, 1.0)
    if not isinstance(teacher, (list, tuple)) or not isinstance(student, (list, tuple)):
        raise TypeError("teacher and student should be lists of arrays, as model.get_weights() returns; got "
                        f"{type(teacher).__name__} and {type(student).__name__}.")
    if len(teacher) != len(student) or not teacher:
        raise ValueError(f"teacher has {len(teacher)} weight arrays and student {len(student)}; they should be "
                         "two non-empty lists from models of one architecture.")
    out = []
    for i, (a, b) in enumerate(zip(teacher, student)):
        a, b = as_array(a, f"teacher[{i}]"), as_array(b, f"student[{i}]")
        if a.shape != b.shape:
            raise ValueError(f"teacher[{i}] has shape {a.shape} and student[{i}] {b.shape}; the models should "
                             "share one architecture.")
        if not (np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number)) or a.dtype.kind == "c":
            raise TypeError(f"teacher[{i}] and student[{i}] should be real arrays, got {a.dtype} and {b.dtype}.")
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError(f"teacher[{i}] or student[{i}] holds NaN or infinite weights; the training diverged.")
        out.append(decay * a + (1.0 - decay) * b)
    return out


# -- training ----------------------------------------------------------------------------------------

def _keras():
    from .environment import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def build_student(*, depth: int = 3, width: int = 8, seed: int = 0):
    """The small padded U-Net every method here trains (:func:`segtutor.models.unet.build_unet`).

    Examples
    --------
    >>> build_student(depth=2, width=4).output_shape
    (None, None, None, 1)
    """
    from .models.unet import build_unet

    seed = _seed(seed)
    width = check_positive_int(width, "width")
    if width > 128:
        raise ValueError(f"width should be at most 128 filters for a CPU course model, got {width}.")
    _keras().utils.set_random_seed(seed)
    return build_unet((None, None, 1), depth=depth, width=width)


def copy_model(model):
    """A new, uncompiled model with the same architecture and weights as ``model``.

    Each method here trains its own copy of one labelled-only model, so the
    comparison starts from the same weights.

    Examples
    --------
    >>> a = build_student(depth=2, width=4)
    >>> b = copy_model(a)
    >>> b is not a and all((x == y).all() for x, y in zip(a.get_weights(), b.get_weights()))
    True
    """
    model = _check_model(model)
    keras = _keras()
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _check_images(images, name="images") -> np.ndarray:
    x = as_array(images, name)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[0] == 0:
        raise ValueError(f"{name} should be a non-empty batch of grey images (N, H, W) or (N, H, W, 1), "
                         f"got shape {x.shape}.")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"{name} should be a real float array, got dtype {x.dtype}.")
    if x.size > _MAX_PIXELS:
        raise ValueError(f"{name} has {x.size:,} pixels, more than this course handles; use fewer images.")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite values.")
    return x


def _check_targets(targets, images, name: str = "targets") -> np.ndarray:
    y = as_array(targets, name)
    if y.ndim == 4 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != images.shape[:3]:
        raise ValueError(f"{name} should have shape (N, H, W) = {images.shape[:3]}, matching the images; "
                         f"got {y.shape}.")
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.number)) or not np.isin(y, (0, 1, IGNORE)).all():
        raise ValueError(f"{name} should hold only 0, 1 and {IGNORE} (ignored), got values "
                         f"{np.unique(y)[:8].tolist()}.")
    return y.astype(np.uint8)


def _check_model(model, name="model"):
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} should be a keras.Model (for example build_student()), got {type(model).__name__}.")
    if model.output_shape[-1] != 1 or model.input_shape[-1] != 1:
        raise ValueError(f"{name} should map grey images (..., 1) to one sigmoid channel (..., 1); it maps "
                         f"{model.input_shape} to {model.output_shape}.")
    return model


def _seed(seed) -> int:
    seed = check_positive_int(seed, "seed", minimum=0)
    if seed >= 2**31:
        raise ValueError(f"seed should be below 2**31, got {seed}.")
    return seed


def _check_callbacks(callbacks) -> list:
    keras = _keras()
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks should be a list of keras.callbacks.Callback, got {type(callbacks).__name__}.")
    for c in callbacks:
        if not isinstance(c, keras.callbacks.Callback):
            raise TypeError(f"callbacks should hold keras.callbacks.Callback objects (such as LiveHistory()), got "
                            f"{type(c).__name__}.")
    return list(callbacks)


def _common(steps, batch_size, patch_size, learning_rate, seed):
    steps = check_positive_int(steps, "steps")
    if steps > 1_000_000:
        raise ValueError(f"steps should be at most 1,000,000, got {steps}.")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > 4096:
        raise ValueError(f"batch_size should be at most 4096, got {batch_size}.")
    patch_size = check_positive_int(patch_size, "patch_size", minimum=8)
    if patch_size > 4096:
        raise ValueError(f"patch_size should be at most 4096, got {patch_size}.")
    learning_rate = check_in_range(learning_rate, "learning_rate", 1e-8, 10.0)
    return steps, batch_size, patch_size, learning_rate, _seed(seed)


#: Augmentations of every training batch here: the course recipe (notebook 06).
AUGMENT = ("flip", "rotate", "crop", "intensity")


def _batches(images, targets, *, batch_size, patch_size, seed):
    from .datasets import segmentation_dataset

    return segmentation_dataset(images, targets, batch_size=batch_size, augment=AUGMENT, seed=seed,
                                patch_size=patch_size, repeat=True)


def train_supervised(images, targets, *, steps: int, model=None, batch_size: int = 8, patch_size: int = 64,
                     learning_rate: float = 2e-3, seed: int = 0, epochs: int = 1, callbacks=()):
    """Train a U-Net on labelled (or pseudo-labelled) images with :func:`masked_bce_dice`.

    Adam (Kingma and Ba 2015) with a cosine decay over ``steps``, augmented
    random patches (flips, quarter turns, zoom crops, intensity), the course's
    nuclei recipe.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1)
        Normalised images (for example ``nuclei_splits(...)[0].images``).
    targets : array_like of int, shape (N, H, W) or (N, H, W, 1)
        0, 1, or :data:`IGNORE` per pixel.
    steps : int
        Optimiser steps in all.
    model : keras.Model, optional
        Continue training this model; default a fresh :func:`build_student`.
    batch_size, patch_size : int
    learning_rate : float
        Adam's starting rate.
    seed : int
        Seeds the weights of a fresh model and the batches.
    epochs : int
        Split ``steps`` into this many Keras epochs (for a live plot).
    callbacks : sequence of keras.callbacks.Callback

    Returns
    -------
    model : keras.Model
    history : keras.callbacks.History

    Examples
    --------
    >>> from segtutor.models.train_nuclei import nuclei_splits
    >>> train, _ = nuclei_splits(2, 1, size=64)
    >>> model, history = train_supervised(train.images, train.masks, steps=2, patch_size=32)  # doctest: +SKIP
    """
    keras = _keras()
    steps, batch_size, patch_size, learning_rate, seed = _common(steps, batch_size, patch_size, learning_rate, seed)
    epochs = check_positive_int(epochs, "epochs")
    if steps % epochs:
        raise ValueError(f"steps ({steps}) should be a multiple of epochs ({epochs}).")
    x = _check_images(images)
    y = _check_targets(targets, x)
    if patch_size > min(x.shape[1:3]):
        raise ValueError(f"patch_size={patch_size} is larger than the {x.shape[1]}x{x.shape[2]} images.")
    model = build_student(seed=seed) if model is None else _check_model(model)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
                  loss=masked_bce_dice, jit_compile=False)
    callbacks = _check_callbacks(callbacks)
    history = model.fit(_batches(x, y, batch_size=batch_size, patch_size=patch_size, seed=seed), epochs=epochs,
                        steps_per_epoch=steps // epochs, verbose=0, callbacks=callbacks)
    return model, history


def predict_probabilities(model, images, *, flips: bool = True, batch_size: int = 8) -> np.ndarray:
    """Foreground probabilities (N, H, W), averaged over the 4 flips of each image when ``flips``.

    Averaging the predictions of flipped copies (test-time augmentation)
    makes pseudo-labels steadier, for 4 times the prediction cost.

    Examples
    --------
    >>> predict_probabilities(build_student(depth=2, width=4), np.zeros((1, 16, 16))).shape
    (1, 16, 16)
    """
    model = _check_model(model)
    x = _check_images(images)
    flips = check_bool(flips, "flips")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > 4096:
        raise ValueError(f"batch_size should be at most 4096, got {batch_size}.")
    axes_list = [(), (2,), (1,), (1, 2)] if flips else [()]
    total = np.zeros(x.shape[:3], np.float64)
    for axes in axes_list:
        view = np.flip(x, axes) if axes else x
        prob = model.predict(view, batch_size=batch_size, verbose=0)[..., 0]
        total += np.flip(prob, axes) if axes else prob
    return (total / len(axes_list)).astype(np.float32)


def self_training(model, labelled_images, labelled_masks, unlabelled_images, *, threshold: float = 0.9,
                  rounds: int = 1, steps: int, batch_size: int = 8, patch_size: int = 64,
                  learning_rate: float = 1e-3, seed: int = 0, callbacks=()):
    """Self-training with confidence-filtered pseudo-labels (Lee 2013), starting from a trained model.

    Each round: predict the unlabelled images (averaged over flips), keep the
    confident pixels (:func:`pseudo_label_targets`), and continue training the
    model on the labelled images plus the pseudo-labelled ones, with the
    ignored pixels weighing 0. The labelled images are repeated so that they
    make up about a third of the training set: they anchor the model against
    its own mistakes.

    Parameters
    ----------
    model : keras.Model
        The model trained on the labelled images only (the first teacher).
    labelled_images, labelled_masks : array_like, (N_l, H, W[, 1])
    unlabelled_images : array_like, (N_u, H, W[, 1])
    threshold : float in [0.5, 1]
        Confidence needed to keep a pixel.
    rounds : int
        Predict-select-train rounds.
    steps : int
        Training steps per round.
    learning_rate : float
        Adam's starting rate in each round (lower than from scratch: the model
        is fine-tuned).

    Returns
    -------
    model : keras.Model
        The same model object, trained further.
    record : list of dict
        Per round: ``coverage`` of the pseudo-labels and the training ``seconds``.

    Notes
    -----
    Lee (2013) trained one network on labelled and pseudo-labelled data at
    once, re-labelling every batch with the most probable class and ramping up
    the pseudo-label weight. Here the rounds are offline (predict, then
    train), as in most later self-training work (for example Xie et al. 2020,
    "noisy student"), and a confidence filter replaces the ramp-up.
    """
    model = _check_model(model)
    xl = _check_images(labelled_images, "labelled_images")
    yl = _check_targets(labelled_masks, xl, "labelled_masks")
    xu = _check_images(unlabelled_images, "unlabelled_images")
    if xu.shape[1:] != xl.shape[1:]:
        raise ValueError(f"unlabelled_images {xu.shape[1:]} and labelled_images {xl.shape[1:]} should have one "
                         "size.")
    threshold = _threshold(threshold)
    rounds = check_positive_int(rounds, "rounds")
    if rounds > 20:
        raise ValueError(f"rounds should be at most 20, got {rounds}.")
    steps, batch_size, patch_size, learning_rate, seed = _common(steps, batch_size, patch_size, learning_rate, seed)
    callbacks = _check_callbacks(callbacks)
    record = []
    repeats = max(1, round(len(xu) / (2 * len(xl))))
    for r in range(rounds):
        targets = pseudo_label_targets(predict_probabilities(model, xu), threshold)
        images = np.concatenate([np.repeat(xl, repeats, axis=0), xu])
        masks = np.concatenate([np.repeat(yl, repeats, axis=0), targets])
        start = time.perf_counter()
        train_supervised(images, masks, steps=steps, model=model, batch_size=batch_size, patch_size=patch_size,
                         learning_rate=learning_rate, seed=seed + 1 + r, callbacks=callbacks)
        record.append({"round": r + 1, "coverage": float((targets != IGNORE).mean()),
                       "seconds": time.perf_counter() - start})
    return model, record


def _mean_teacher_class():
    keras = _keras()
    from keras import ops

    class MeanTeacher(keras.Model):
        """A student and its EMA teacher (Tarvainen and Valpola 2017); see :func:`train_mean_teacher`.

        ``fit`` takes batches ``((labelled images, targets), unlabelled images)``.
        Each step: supervised :func:`masked_bce_dice` on the labelled batch,
        plus ``weight * MSE`` between the student's and the teacher's
        probabilities on two differently perturbed copies of the unlabelled
        batch (random gain, gamma, offset and Gaussian noise each; the
        student's copy is also flipped, and its prediction flipped back, so the
        pixels line up). Then the teacher's weights (batch-norm statistics
        included) move towards the student's by EMA. Calling the model runs the
        teacher, the one to keep.
        """

        def __init__(self, student, *, consistency: float = 10.0, rampup_steps: int = 100, decay: float = 0.99,
                     noise: float = 0.05, seed: int = 0, **kwargs):
            super().__init__(**kwargs)
            self.student = _check_model(student, "student")
            self.teacher = copy_model(student)
            self.teacher.trainable = False
            self.max_weight = check_in_range(consistency, "consistency", 0.0, 1e6)
            self.rampup_steps = check_positive_int(rampup_steps, "rampup_steps", minimum=0)
            self.decay = check_in_range(decay, "decay", 0.0, 1.0)
            self.noise = check_in_range(noise, "noise", 0.0, 1.0)
            self.seeds = keras.random.SeedGenerator(_seed(seed))

        def call(self, images, training=False):
            return self.teacher(images, training=False)

        def _perturb(self, x):
            # Label-preserving changes only: intensity and noise, never anything that moves a nucleus.
            n = ops.shape(x)[0]
            log_gain = keras.random.uniform((n, 1, 1, 1), np.log(0.7), np.log(1.4), seed=self.seeds)
            log_gamma = keras.random.uniform((n, 1, 1, 1), np.log(0.8), np.log(1.25), seed=self.seeds)
            offset = keras.random.uniform((n, 1, 1, 1), -0.05, 0.05, seed=self.seeds)
            x = ops.sign(x) * ops.power(ops.abs(x) + 1e-6, ops.exp(log_gamma)) * ops.exp(log_gain) + offset
            return x + self.noise * keras.random.normal(ops.shape(x), seed=self.seeds)

        def weight(self):
            if self.rampup_steps == 0:
                return ops.convert_to_tensor(self.max_weight)
            progress = ops.minimum(ops.cast(self.optimizer.iterations, "float32") / self.rampup_steps, 1.0)
            return self.max_weight * ops.exp(-5.0 * (1.0 - progress) ** 2)

        def train_step(self, data):
            import tensorflow as tf

            (x_l, y_l), x_u = data
            weight = self.weight()
            flip = keras.random.uniform((), seed=self.seeds) < 0.5
            with tf.GradientTape() as tape:
                supervised = ops.mean(masked_bce_dice(y_l, self.student(x_l, training=True)))
                student_view = self._perturb(x_u)
                student_view = ops.where(flip, ops.flip(student_view, 2), student_view)
                p_student = self.student(student_view, training=True)
                p_student = ops.where(flip, ops.flip(p_student, 2), p_student)
                p_teacher = ops.stop_gradient(self.teacher(self._perturb(x_u), training=False))
                consistency = ops.mean((p_student - p_teacher) ** 2)
                loss = supervised + weight * consistency
            variables = self.student.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            # Tarvainen and Valpola's warm-up of the EMA: an average over the steps so far, at most `decay`.
            step = ops.cast(self.optimizer.iterations, "float32")
            decay = ops.minimum(1.0 - 1.0 / (step + 1.0), self.decay)
            for t, s in zip(self.teacher.weights, self.student.weights):
                t.assign(decay * t + (1.0 - decay) * ops.cast(s, t.dtype))
            return {"loss": loss, "supervised": supervised, "consistency": consistency, "weight": weight}

    return MeanTeacher


def MeanTeacher(student, *, consistency: float = 10.0, rampup_steps: int = 100, decay: float = 0.99,
                noise: float = 0.05, seed: int = 0):
    """A ``keras.Model`` that trains ``student`` and keeps an EMA *teacher* (Tarvainen and Valpola 2017).

    Parameters
    ----------
    student : keras.Model
        A one-channel sigmoid segmentation model, such as :func:`build_student`.
    consistency : float
        Largest weight of the consistency (MSE) term.
    rampup_steps : int
        Steps over which the weight ramps up (:func:`consistency_weight`).
    decay : float in [0, 1]
        EMA decay of the teacher's weights.
    noise : float
        Standard deviation of the Gaussian noise added to each unlabelled view.
    seed : int

    Returns
    -------
    keras.Model
        Compile it with an optimizer only (``mt.compile(optimizer=...)``) and
        ``fit`` it on ``((labelled images, targets), unlabelled images)``
        batches; ``mt.teacher`` and ``mt.student`` are the two networks, and
        calling ``mt`` runs the teacher.

    Examples
    --------
    >>> mt = MeanTeacher(build_student(depth=2, width=4))
    >>> mt.teacher is not mt.student
    True
    """
    return _mean_teacher_class()(student, consistency=consistency, rampup_steps=rampup_steps, decay=decay,
                                 noise=noise, seed=seed)


def train_mean_teacher(labelled_images, labelled_masks, unlabelled_images, *, steps: int, student=None,
                       consistency: float = 10.0, rampup_steps: int | None = None, decay: float = 0.99,
                       batch_size: int = 8, patch_size: int = 64, learning_rate: float = 2e-3, seed: int = 0,
                       epochs: int = 1, callbacks=()):
    """Train a :func:`MeanTeacher` and return its teacher.

    Each step takes ``batch_size`` labelled patches and ``batch_size``
    unlabelled patches, both with the course's augmentations.

    Parameters
    ----------
    labelled_images, labelled_masks : array_like, (N_l, H, W[, 1])
    unlabelled_images : array_like, (N_u, H, W[, 1])
    steps : int
    student : keras.Model, optional
        Start from this model (for example one trained on the labelled images);
        default a fresh :func:`build_student`.
    consistency, decay : float
        See :func:`MeanTeacher`.
    rampup_steps : int, optional
        Default: 40 % of ``steps``.

    Returns
    -------
    teacher : keras.Model
    history : keras.callbacks.History
        ``loss``, ``supervised``, ``consistency`` and ``weight`` per epoch.

    Notes
    -----
    What differs from Tarvainen and Valpola (2017): they trained from random
    weights with dropout and input noise on image classification;
    :func:`label_efficiency` starts the student (and so the teacher) from the
    labelled-only model to fit a class-time budget, and the perturbations are
    intensity changes, noise and a flip that is undone on the output, so that
    the two predictions compare pixel by pixel.
    """
    keras = _keras()
    steps, batch_size, patch_size, learning_rate, seed = _common(steps, batch_size, patch_size, learning_rate, seed)
    epochs = check_positive_int(epochs, "epochs")
    if steps % epochs:
        raise ValueError(f"steps ({steps}) should be a multiple of epochs ({epochs}).")
    xl = _check_images(labelled_images, "labelled_images")
    yl = _check_targets(labelled_masks, xl, "labelled_masks")
    xu = _check_images(unlabelled_images, "unlabelled_images")
    if patch_size > min(xl.shape[1:3]) or patch_size > min(xu.shape[1:3]):
        raise ValueError(f"patch_size={patch_size} is larger than the images.")
    rampup_steps = int(0.4 * steps) if rampup_steps is None else check_positive_int(rampup_steps, "rampup_steps",
                                                                                    minimum=0)
    student = build_student(seed=seed) if student is None else _check_model(student, "student")
    mt = MeanTeacher(student, consistency=consistency, rampup_steps=rampup_steps, decay=decay, seed=seed)
    labelled = _batches(xl, yl, batch_size=batch_size, patch_size=patch_size, seed=seed)
    unlabelled = _batches(xu, np.zeros(xu.shape[:3], np.uint8), batch_size=batch_size, patch_size=patch_size,
                          seed=seed + 7).map(lambda x, _: x)
    import tensorflow as tf

    data = tf.data.Dataset.zip((labelled, unlabelled))
    mt.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
               jit_compile=False)
    history = mt.fit(data, epochs=epochs, steps_per_epoch=steps // epochs, verbose=0,
                     callbacks=_check_callbacks(callbacks))
    return mt.teacher, history


# -- evaluation ---------------------------------------------------------------------------------------

def held_out_dice(model, images, masks) -> float:
    """Dice of ``prediction > 0.5`` against ``masks``, pooled over all held-out pixels.

    Examples
    --------
    >>> round(held_out_dice(build_student(depth=2, width=4), np.zeros((1, 16, 16)), np.ones((1, 16, 16))), 3) >= 0
    True
    """
    from . import metrics

    model = _check_model(model)
    x = _check_images(images)
    y = _check_targets(masks, x, "masks")
    if (y == IGNORE).any():
        raise ValueError("masks of a held-out set should hold only 0 and 1.")
    prob = model.predict(x, batch_size=8, verbose=0)[..., 0]
    return float(metrics.dice(prob > 0.5, y > 0))


def label_efficiency(train, test, *, fractions=(0.05, 0.1), methods=METHODS, steps: int, semi_steps: int | None = None,
                     threshold: float = 0.9, consistency: float = 10.0, batch_size: int = 8, patch_size: int = 64,
                     seed: int = 0, full: bool = True, log=None) -> list[dict]:
    """Held-out Dice against the labelled fraction, for each method, on one data split.

    For each fraction, :func:`labelled_split` picks the labelled images; the
    others lose their labels. A model trains ``steps`` steps on the labelled
    images; from it, each method trains ``semi_steps`` more: ``labelled only``
    on the labelled images alone (so every method has the same number of
    steps), ``self-training`` and ``mean teacher`` with the unlabelled images
    too. With ``full``, ``full supervision`` trains ``steps + semi_steps``
    steps on every image with its label.

    Parameters
    ----------
    train, test : NucleiSplit
        From :func:`segtutor.models.train_nuclei.nuclei_splits`.
    fractions : sequence of float in (0, 1)
    methods : sequence of str from :data:`METHODS`
    steps : int
        Training steps of the labelled-only model (and of full supervision).
    semi_steps : int, optional
        Further steps of each semi-supervised method; default ``steps``.
    threshold, consistency : float
        Of self-training and of mean teacher.
    seed : int
        Seeds the labelled subset, the weights and the batches.
    log : callable, optional
        Called with a line of text after each training.

    Returns
    -------
    list of dict
        One row per (method, fraction): ``method``, ``fraction``,
        ``n_labelled``, ``dice``, ``seconds`` (training time, wall clock,
        including the shared first ``steps``).
    """
    fractions = tuple(check_in_range(f, "fractions", 1e-6, 1.0) for f in _sequence(fractions, "fractions"))
    methods = tuple(_sequence(methods, "methods"))
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"methods should be chosen from {METHODS}, got {m!r}.")
    steps = check_positive_int(steps, "steps")
    semi_steps = steps if semi_steps is None else check_positive_int(semi_steps, "semi_steps")
    full = check_bool(full, "full")
    seed = _seed(seed)
    threshold = _threshold(threshold)
    if log is not None and not callable(log):
        raise TypeError(f"log should be a function such as print, got {type(log).__name__}.")
    for name, split in (("train", train), ("test", test)):
        if not all(hasattr(split, a) for a in ("images", "masks")):
            raise TypeError(f"{name} should be a NucleiSplit (images, masks, labels), got {type(split).__name__}.")
    keras = _keras()
    rows = []

    def run(method, fraction, n_labelled, shared_seconds, fit):
        start = time.perf_counter()
        model = fit()
        seconds = time.perf_counter() - start + shared_seconds
        row = {"method": method, "fraction": fraction, "n_labelled": n_labelled,
               "dice": held_out_dice(model, test.images, test.masks), "seconds": seconds}
        rows.append(row)
        if log is not None:
            log(f"{method:14s} {fraction:5.0%} labelled ({n_labelled:3d} images): held-out Dice {row['dice']:.3f}, "
                f"{seconds:.0f} s")
        return model

    common = dict(batch_size=batch_size, patch_size=patch_size, seed=seed)
    for fraction in fractions:
        lab, unl = labelled_split(len(train.images), fraction, seed=seed)
        xl, yl, xu = train.images[lab], train.masks[lab], train.images[unl]
        start = time.perf_counter()
        base = train_supervised(xl, yl, steps=steps, **common)[0]
        base_seconds = time.perf_counter() - start
        # Every method gets the same steps in all (steps + semi_steps): labelled only continues on its labels.
        if "labelled only" in methods or not len(unl):
            run("labelled only", fraction, len(lab), base_seconds,
                lambda: train_supervised(xl, yl, steps=semi_steps, model=copy_model(base), learning_rate=1e-3,
                                         **common)[0])
        if "self-training" in methods and len(unl):
            run("self-training", fraction, len(lab), base_seconds,
                lambda: self_training(copy_model(base), xl, yl, xu, threshold=threshold, steps=semi_steps, **common)[0])
        if "mean teacher" in methods and len(unl):
            run("mean teacher", fraction, len(lab), base_seconds,
                lambda: train_mean_teacher(xl, yl, xu, steps=semi_steps, student=copy_model(base),
                                           consistency=consistency, learning_rate=1e-3, **common)[0])
    if full:
        run("full supervision", 1.0, len(train.images), 0.0,
            lambda: train_supervised(train.images, train.masks, steps=steps + semi_steps, **common)[0])
    return rows


def _sequence(value, name):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} should be a list or tuple, got {type(value).__name__} {value!r}.")
    out = list(value)
    if not out:
        raise ValueError(f"{name} is empty; give at least one value.")
    return out


def efficiency_figure(rows, *, title: str = "label efficiency on held-out images"):
    """Plot held-out Dice against the labelled fraction, one line per method (mean and standard deviation).

    Parameters
    ----------
    rows : list of dict
        From :func:`label_efficiency`, possibly over several seeds (rows with
        the same method and fraction are averaged; error bars show their
        standard deviation when there are at least two).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = efficiency_figure([{"method": "labelled only", "fraction": 0.1, "dice": 0.7},
    ...                          {"method": "full supervision", "fraction": 1.0, "dice": 0.9}])
    >>> fig.axes[0].get_xlabel()
    'labelled fraction of the training images'
    """
    from .viz import _new_figure

    rows = _sequence(rows, "rows")
    if not all(isinstance(r, dict) and {"method", "fraction", "dice"} <= set(r) for r in rows):
        raise ValueError("rows should be dicts with 'method', 'fraction' and 'dice', as label_efficiency returns.")
    for r in rows:
        for key in ("fraction", "dice"):
            check_in_range(r[key], f"rows' {key!r}", 0.0, 1.0)
    if not isinstance(title, str):
        raise TypeError(f"title should be a string, got {type(title).__name__}.")
    fig = _new_figure(6.4, 4.0)  # shows itself once as a PNG in a notebook
    ax = fig.add_subplot()
    full = [r["dice"] for r in rows if r["method"] == "full supervision"]
    if full:
        ax.axhline(np.mean(full), color="k", ls="--", lw=1, label=f"full supervision ({np.mean(full):.3f})")
    styles = {"labelled only": ("o", "#0072B2"), "self-training": ("s", "#D55E00"), "mean teacher": ("^", "#009E73")}
    for method, (marker, colour) in styles.items():
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        fracs = sorted({r["fraction"] for r in mine})
        means = [np.mean([r["dice"] for r in mine if r["fraction"] == f]) for f in fracs]
        stds = [np.std([r["dice"] for r in mine if r["fraction"] == f], ddof=1)
                if sum(r["fraction"] == f for r in mine) > 1 else 0.0 for f in fracs]
        ax.errorbar([100 * f for f in fracs], means, yerr=stds, marker=marker, color=colour, capsize=3, label=method)
    ax.set_xlabel("labelled fraction of the training images")
    ax.xaxis.set_major_formatter("{x:.0f} %")
    ax.set_ylabel("held-out Dice")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig
