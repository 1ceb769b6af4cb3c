"""Training the U-Net of notebook 11 on labelled or pseudo-labelled images, with a loss that ignores pixels.

Every method of :mod:`segtutor.semi` trains the same small padded U-Net
(:func:`build_student`) with :func:`masked_bce_dice`, which gives pixels whose
target is :data:`IGNORE` no weight, on augmented random patches
(:data:`AUGMENT`, the recipe of notebook 06).

Examples
--------
>>> import numpy as np
>>> t = np.array([[1, 255], [0, 0]], "uint8")[None, ..., None]
>>> p = np.array([[0.9, 0.0001], [0.1, 0.2]], "float32")[None, ..., None]
>>> round(float(masked_bce_dice(t, p)[0]), 4)
0.2696
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _backend
from .._validate import as_array, check_bool, check_positive_int
from ._checks import (IGNORE, check_callbacks, check_images, check_model_fits, check_seed, check_student, check_targets,
                      check_training_args)

__all__ = ["AUGMENT", "masked_bce_dice", "build_student", "copy_model", "train_supervised", "predict_probabilities"]


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
    ops = _backend.keras().ops

    from ..losses import EPSILON

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


def build_student(*, depth: int = 3, width: int = 8, seed: int = 0):
    """The small padded U-Net every method here trains (:func:`segtutor.models.unet.build_unet`).

    Examples
    --------
    >>> build_student(depth=2, width=4).output_shape
    (None, None, None, 1)
    """
    from ..models.unet import build_unet

    seed = check_seed(seed)
    width = check_positive_int(width, "width")
    if width > 128:
        raise ValueError(f"width should be at most 128 filters for a CPU course model, got {width}.")
    _backend.keras().utils.set_random_seed(seed)
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
    model = check_student(model)
    keras = _backend.keras()
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


#: Augmentations of every training batch here: the course recipe (notebook 06).
AUGMENT = ("flip", "rotate", "crop", "intensity")


def training_batches(images, targets, *, batch_size, patch_size, seed):
    from ..datasets import segmentation_dataset

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
    keras = _backend.keras()
    steps, batch_size, patch_size, learning_rate, seed = check_training_args(steps, batch_size, patch_size, learning_rate, seed)
    epochs = check_positive_int(epochs, "epochs")
    if steps % epochs:
        raise ValueError(f"steps ({steps}) should be a multiple of epochs ({epochs}).")
    x = check_images(images)
    y = check_targets(targets, x)
    if patch_size > min(x.shape[1:3]):
        raise ValueError(f"patch_size={patch_size} is larger than the {x.shape[1]}x{x.shape[2]} images.")
    model = build_student(seed=seed) if model is None else check_student(model)
    check_model_fits(model, patch_size, patch_size, "patch_size")
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
                  loss=masked_bce_dice, jit_compile=False)
    callbacks = check_callbacks(callbacks)
    history = model.fit(training_batches(x, y, batch_size=batch_size, patch_size=patch_size, seed=seed), epochs=epochs,
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
    model = check_student(model)
    x = check_images(images)
    check_model_fits(model, x.shape[1], x.shape[2], "images")
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


