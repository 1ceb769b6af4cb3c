"""Argument checks shared by the modules of :mod:`segtutor.semi` (a private module of public helpers)."""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import as_array, check_in_range, check_positive_int
from .._validate import check_seed as check_any_seed

# The pseudo-label checks (and IGNORE) live with the pseudo-labels, in the NumPy core below this package.
from ..pseudo_labels import IGNORE, MAX_PIXELS, check_probabilities, check_share, check_threshold  # noqa: F401


# -- training ----------------------------------------------------------------------------------------

def check_images(images, name="images") -> np.ndarray:
    x = as_array(images, name)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[0] == 0:
        raise ValueError(f"{name} should be a non-empty batch of grey images (N, H, W) or (N, H, W, 1), "
                         f"got shape {x.shape}.")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"{name} should be a real float array, got dtype {x.dtype}.")
    if x.size > MAX_PIXELS:
        raise ValueError(f"{name} has {x.size:,} pixels, more than this course handles; use fewer images.")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite values.")
    return x


def check_targets(targets, images, name: str = "targets") -> np.ndarray:
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


def check_student(model, name="model"):
    keras = _backend.keras()
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


def check_model_fits(model, height: int, width: int, name: str) -> None:
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


def check_seed(seed) -> int:
    seed = check_any_seed(seed)
    if seed >= 2**31:
        raise ValueError(f"seed should be below 2**31, got {seed}.")
    return seed


def check_callbacks(callbacks) -> list:
    keras = _backend.keras()
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks should be a list of keras.callbacks.Callback, got {type(callbacks).__name__}.")
    for c in callbacks:
        if not isinstance(c, keras.callbacks.Callback):
            raise TypeError(f"callbacks should hold keras.callbacks.Callback objects (such as LiveHistory()), got "
                            f"{type(c).__name__}.")
    return list(callbacks)


def check_training_args(steps, batch_size, patch_size, learning_rate, seed):
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
    return steps, batch_size, patch_size, learning_rate, check_seed(seed)


def check_sequence(value, name):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} should be a list or tuple, got {type(value).__name__} {value!r}.")
    out = list(value)
    if not out:
        raise ValueError(f"{name} is empty; give at least one value.")
    return out


