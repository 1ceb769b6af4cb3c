"""Argument checks shared by the Mask R-CNN modules (see :mod:`segtutor._validate`).

The TensorFlow functions of this package are called two ways: eagerly, by a
student or a test, with NumPy arrays or eager tensors; and traced, inside the
model's ``train_step`` or ``detect_batch``. :func:`float_tensor` checks what it
can in both without costing a traced step anything: the checks are Python
code on static shapes, run once while tracing; values (NaN, infinity) are
checked only for eager inputs, which have values to check.
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import ArgumentTypeError, describe, as_array, check_finite


def check_config(config, name: str = "config"):
    """Check that ``config`` is a :class:`MaskRCNNConfig` and return it."""
    from .config import MaskRCNNConfig

    if not isinstance(config, MaskRCNNConfig):
        raise ArgumentTypeError(
            f"{name} should be a MaskRCNNConfig, got {describe(config)}. "
            "Make one with segtutor.maskrcnn.config.MaskRCNNConfig(num_classes=...) or use model.config."
        )
    return config


def float_tensor(x, name: str, *, min_rank: int = 1, last: int | None = None):
    """``x`` as a float32 tensor, after checking its rank, its last axis and (when eager) its values.

    NumPy arrays, nested lists and eager tensors are checked for NaN and
    infinity; a symbolic tensor (inside a traced function) only for its
    static shape.
    """
    tf = _backend.tensorflow()

    if isinstance(x, (tf.Tensor, tf.Variable)):
        if not (x.dtype.is_floating or x.dtype.is_integer):
            raise ArgumentTypeError(f"{name} should be a float tensor, got a tensor of dtype {x.dtype.name}.")
        shape = x.shape
        if shape.rank is not None:
            _check_shape(tuple(shape), name, min_rank, last)
        if tf.executing_eagerly() and hasattr(x, "numpy"):
            check_finite(x.numpy(), name)
        return tf.cast(x, tf.float32)
    arr = as_array(x, name)
    if arr.dtype == bool:
        raise ArgumentTypeError(f"{name} should hold numbers, got a boolean array.")
    _check_shape(arr.shape, name, min_rank, last)
    check_finite(arr, name)
    return tf.convert_to_tensor(arr.astype(np.float32))


def _check_shape(shape: tuple, name: str, min_rank: int, last: int | None) -> None:
    if len(shape) < min_rank:
        raise ValueError(f"{name} should have at least {min_rank} dimensions, got shape {shape}.")
    if last is not None and shape[-1] is not None and shape[-1] != last:
        raise ValueError(f"{name} should have {last} values on its last axis, got shape {shape}.")
