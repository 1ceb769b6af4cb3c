"""What a model costs: weights, floating-point operations, and time per image.

FLOPs are counted by TensorFlow's own profiler on the model's graph for one
image of a given size (``tf.compat.v1.profiler``, the counter behind most
published FLOP figures for TensorFlow models). A multiply-add counts as two
FLOPs.

Examples
--------
>>> from segtutor.models.unet import build_unet
>>> model = build_unet((None, None, 1), depth=2, width=4)
>>> count_parameters(model)
7477
>>> count_flops(model, (64, 64, 1)) > 2 * 64 * 64 * 9 * 4   # at least the first convolution
True
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from .. import _backend
from .._validate import as_array, check_finite, check_model_input, check_positive_int, check_size_budget

__all__ = ["count_parameters", "count_flops", "seconds_per_image"]


def _check_model(model):
    keras = _backend.keras()

    if not isinstance(model, keras.Model):
        raise TypeError(f"model should be a Keras model, got {type(model).__name__}.")
    return model


def count_parameters(model) -> int:
    """Number of trainable weights of a Keras model."""
    return int(sum(np.prod(w.shape) for w in _check_model(model).trainable_weights))


def count_flops(model, input_shape) -> int:
    """Floating-point operations of one forward pass on one image of ``input_shape`` (H, W, C)."""
    _check_model(model)
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and v > 0
                       for v in input_shape)):
        raise ValueError(f"input_shape should be (H, W, C) of positive integers, got {input_shape!r}.")
    input_shape = tuple(int(v) for v in input_shape)
    check_size_budget(np.prod(input_shape, dtype=np.float64), "input_shape", what="one image")
    check_model_input(model, np.empty((0, *input_shape)), "input_shape")
    tf = _backend.tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec((1, *input_shape), tf.float32))
    graph = convert_variables_to_constants_v2(concrete).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    profile = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                            options=options)
    return int(profile.total_float_ops)


def seconds_per_image(model, images, *, repeats: int = 5) -> float:
    """Median wall time of one forward pass on ``images``, per image, after tracing and a warm-up call."""
    _check_model(model)
    x = check_finite(as_array(images, "images"), "images").astype(np.float32)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"images should be a batch (N, H, W, C) with N >= 1, got shape {x.shape}.")
    check_model_input(model, x, "images")
    repeats = check_positive_int(repeats, "repeats")
    if repeats > 1000:
        raise ValueError(f"repeats should be at most 1000, got {repeats:,}; 5-20 give a stable median.")
    tf = _backend.tensorflow()
    # A compiled graph, as model.predict uses: eager calls would time Python's
    # per-layer overhead, not the network.
    forward = tf.function(lambda batch: model(batch, training=False))
    forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(forward(x))
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / len(x)
