"""Argument checks shared by the modules of :mod:`segtutor.semi` (private)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validate import as_array, check_in_range, check_positive_int, check_seed

#: Target value of a pixel that the loss ignores (not confident enough to be a pseudo-label).
IGNORE = 255

_MAX_PIXELS = 2**28  # ~270 million pixels: larger inputs are a mistake, not a data set


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


# -- training ----------------------------------------------------------------------------------------

def _keras():
    from ..environment import import_tensorflow

    import_tensorflow()
    import keras

    return keras

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
    try:
        one_in_one_out = len(model.inputs) == 1 and len(model.outputs) == 1
    except (AttributeError, ValueError):  # a subclassed model (Mask R-CNN) has no symbolic inputs
        one_in_one_out = False
    if not one_in_one_out:
        raise ValueError(f"{name} should be a segmentation network with one input and one output, such as "
                         f"build_student(); got {type(model).__name__} {model.name!r}. A Mask R-CNN predicts "
                         "instances, not a probability map.")
    if model.output_shape[-1] != 1 or model.input_shape[-1] != 1:
        raise ValueError(f"{name} should map grey images (..., 1) to one sigmoid channel (..., 1); it maps "
                         f"{model.input_shape} to {model.output_shape}.")
    return model


def _check_model_fits(model, height: int, width: int, name: str) -> None:
    """Run ``model`` once on zeros of (height, width): a U-Net needs sides divisible by 2**depth.

    Probing is the only check that holds for every architecture; it costs one
    small forward pass, against a TensorFlow "Graph execution error" later.
    """
    try:
        model(np.zeros((1, height, width, 1), np.float32), training=False)
    except Exception as exc:  # TensorFlow raises InvalidArgumentError, Keras ValueError
        raise ValueError(
            f"{name}: the model cannot run on {height}x{width} inputs ({type(exc).__name__}). A U-Net of depth d "
            f"needs sides divisible by 2**d (8 for build_student()'s depth 3): crop or pad to such a size."
        ) from None


def _seed(seed) -> int:
    seed = check_seed(seed)
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


def _sequence(value, name):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} should be a list or tuple, got {type(value).__name__} {value!r}.")
    out = list(value)
    if not out:
        raise ValueError(f"{name} is empty; give at least one value.")
    return out


