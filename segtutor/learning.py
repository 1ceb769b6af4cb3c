"""How a network learns, in NumPy: softmax, cross-entropy, gradients, a dense layer.

Notebook 03 teaches these before it trains its first network; Keras does the
same computations (``keras.activations.softmax``,
``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``,
``tf.GradientTape``, ``keras.layers.Dense``), and the notebook checks that
they agree.

- :func:`softmax` turns class scores (logits) into probabilities;
- :func:`softmax_cross_entropy` is the classification loss: the mean of
  ``-log p[true class]``;
- :func:`mse_gradient` and :func:`gradient_step` are one step of gradient
  descent for the smallest model there is, a linear model with a squared
  error;
- :func:`dense_relu` is the forward pass of a ``Dense`` layer with a ReLU;
- :func:`cosine_schedule` is the learning-rate schedule every course model
  trains with (a Keras schedule, so it imports Keras when called).

Examples
--------
>>> import numpy as np
>>> from segtutor import learning
>>> learning.softmax(np.array([0.0, 0.0])).tolist()
[0.5, 0.5]
>>> round(learning.softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1])), 4)   # log 2
0.6931
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _backend
from ._validate import as_array, check_in_range, check_positive_int

__all__ = ["softmax", "softmax_cross_entropy", "mse_gradient", "gradient_step", "dense_relu", "cosine_schedule"]


def _float_array(value, name: str) -> np.ndarray:
    arr = as_array(value, name)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} should hold numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; every entry must be a finite number.")
    return arr


def softmax(logits) -> np.ndarray:
    """Probabilities from class scores, along the last axis.

    ``softmax(z)_c = exp(z_c) / sum_j exp(z_j)``. Subtracting the largest
    score first leaves the result unchanged (the factor ``exp(-max)`` cancels)
    and keeps ``exp`` from overflowing for large scores.

    Parameters
    ----------
    logits : array_like, shape (..., C)

    Returns
    -------
    ndarray of float64, shape (..., C)
        Non-negative, summing to 1 along the last axis.

    Examples
    --------
    >>> softmax(np.array([2.0, 1.0, 0.1])).round(3).tolist()
    [0.659, 0.242, 0.099]
    >>> softmax(np.array([1000.0, 1000.0])).tolist()     # no overflow
    [0.5, 0.5]
    """
    z = _float_array(logits, "logits")
    if z.ndim == 0:
        raise ValueError("logits should have at least one axis (the classes), got a single number.")
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _labels_for(labels, n: int, classes: int) -> np.ndarray:
    y = as_array(labels, "labels")
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels should be a 1-D array of {n} class indices (one per row of logits), got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        if y.dtype == bool or not np.all(np.equal(np.mod(y, 1), 0)):
            raise TypeError(f"labels should be integer class indices, got dtype {y.dtype}.")
        y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels should be class indices in 0..{classes - 1}, got values {y.min()}..{y.max()}.")
    return y.astype(np.int64)


def softmax_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of softmax probabilities: the classification loss.

    For one example with scores ``z`` and true class ``y``:
    ``loss = -log softmax(z)_y = log sum_j exp(z_j) - z_y``. The batch loss is
    the mean over examples. It is 0 only when the true class gets probability
    1, and grows without bound as that probability goes to 0. Computed as
    ``logsumexp(z) - z_y``, which stays finite even when a probability
    underflows to 0.

    Parameters
    ----------
    logits : array_like, shape (N, C)
        Scores before the softmax.
    labels : array_like of int, shape (N,)
        True classes, 0..C-1.

    Returns
    -------
    float
        Natural-log units (nats).

    Raises
    ------
    ValueError
        If the shapes do not match or a label is outside 0..C-1.

    Examples
    --------
    >>> round(softmax_cross_entropy(np.array([[2.0, 1.0, 0.1]]), np.array([0])), 3)
    0.417
    """
    z = _float_array(logits, "logits")
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(f"logits should be (N, C) with N >= 1 examples and C >= 2 classes, got shape {z.shape}.")
    y = _labels_for(labels, z.shape[0], z.shape[1])
    top = z.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_sum - z[np.arange(len(y)), y]))


def _linear_problem(w, x, y):
    w = _float_array(w, "w")
    x = _float_array(x, "x")
    y = _float_array(y, "y")
    if x.ndim == 1:
        x = x[:, None]
    scalar = w.ndim == 0
    w_vec = w.reshape(1) if scalar else w
    if x.ndim != 2 or w_vec.ndim != 1 or x.shape[1] != w_vec.shape[0] or y.shape != (x.shape[0],) or not len(y):
        raise ValueError(
            "expected w of shape (D,) (or one number), x of shape (N, D) (or (N,) when D = 1) and y of shape "
            f"(N,) with N >= 1; got w {w.shape}, x {x.shape}, y {y.shape}."
        )
    return w_vec, x, y, scalar


def mse_gradient(w, x, y):
    """Gradient of the mean squared error of a linear model, with respect to its weights.

    The model predicts ``x @ w``; the loss is
    ``L(w) = mean((x @ w - y) ** 2)``; its gradient is
    ``dL/dw = 2 / N * x.T @ (x @ w - y)``.

    Parameters
    ----------
    w : float or array_like, shape (D,)
    x : array_like, shape (N, D), or (N,) when D = 1
    y : array_like, shape (N,)

    Returns
    -------
    float or ndarray of shape (D,), like ``w``

    Examples
    --------
    >>> mse_gradient(0.5, np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    -14.0
    """
    w_vec, x, y, scalar = _linear_problem(w, x, y)
    grad = 2.0 / len(y) * x.T @ (x @ w_vec - y)
    return float(grad[0]) if scalar else grad


def gradient_step(w, x, y, learning_rate):
    """One step of gradient descent on :func:`mse_gradient`'s loss: ``w - learning_rate * dL/dw``.

    Parameters
    ----------
    w, x, y
        As in :func:`mse_gradient`.
    learning_rate : float
        Positive step size.

    Returns
    -------
    float or ndarray of shape (D,), like ``w``

    Examples
    --------
    >>> round(gradient_step(0.5, np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), 0.05), 6)
    1.2
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) or not learning_rate > 0:
        raise ValueError(f"learning_rate should be a positive number, got {learning_rate!r}; try 0.01.")
    grad = mse_gradient(w, x, y)
    w_vec, _, _, scalar = _linear_problem(w, x, y)
    new = w_vec - float(learning_rate) * np.asarray(grad).reshape(w_vec.shape)
    return float(new[0]) if scalar else new


def dense_relu(x, weights, bias) -> np.ndarray:
    """Forward pass of ``keras.layers.Dense(units, activation="relu")``.

    ``ReLU(x @ weights + bias)``, where ``ReLU(v) = max(v, 0)``: every
    output unit is a weighted sum of all inputs plus its bias, with negative
    sums set to zero.

    Parameters
    ----------
    x : array_like, shape (N, D_in)
        A batch of N input vectors.
    weights : array_like, shape (D_in, D_out)
        Keras's ``layer.kernel``.
    bias : array_like, shape (D_out,)

    Returns
    -------
    ndarray of float64, shape (N, D_out)

    Examples
    --------
    >>> dense_relu(np.array([[1.0, 2.0]]), np.array([[1.0, -1.0], [1.0, -1.0]]), np.array([0.0, 0.5])).tolist()
    [[3.0, 0.0]]
    """
    x = _float_array(x, "x")
    w = _float_array(weights, "weights")
    b = _float_array(bias, "bias")
    if x.ndim != 2 or w.ndim != 2 or b.ndim != 1 or x.shape[1] != w.shape[0] or b.shape[0] != w.shape[1]:
        raise ValueError(
            "expected x (N, D_in), weights (D_in, D_out) and bias (D_out,); got "
            f"x {x.shape}, weights {w.shape}, bias {b.shape}. A single input vector needs x[None]."
        )
    return np.maximum(x @ w + b, 0.0)


def cosine_schedule(learning_rate: float, total_steps: int, *, warmup_steps: int = 0):
    """Cosine decay from ``learning_rate`` to 0 over ``total_steps`` (Loshchilov and Hutter 2017).

    Parameters
    ----------
    learning_rate : float
        The peak learning rate, in [1e-8, 10].
    total_steps : int
        Optimiser steps from the start to the end of the decay.
    warmup_steps : int
        Steps of a linear warm-up from 0 to ``learning_rate`` before the decay.

    Returns
    -------
    keras.optimizers.schedules.LearningRateSchedule

    Examples
    --------
    >>> schedule = cosine_schedule(0.1, 100)
    >>> round(float(schedule(50)), 4)
    0.05
    """
    learning_rate = check_in_range(learning_rate, "learning_rate", 1e-8, 10.0)
    total_steps = check_positive_int(total_steps, "total_steps")
    warmup_steps = check_positive_int(warmup_steps, "warmup_steps", minimum=0)
    keras = _backend.keras()
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(0.0, total_steps - warmup_steps if total_steps > warmup_steps
                                                      else 1, warmup_target=learning_rate, warmup_steps=warmup_steps)
    return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
