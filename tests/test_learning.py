"""segtutor.learning against Keras and TensorFlow, the libraries it explains."""

from __future__ import annotations

import numpy as np
import pytest

from segtutor import learning
from segtutor.environment import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

RNG = np.random.default_rng(0)


def test_softmax_and_cross_entropy_agree_with_keras():
    logits = RNG.normal(size=(6, 10)) * 4
    labels = RNG.integers(0, 10, size=6)
    np.testing.assert_allclose(learning.softmax(logits), keras.activations.softmax(logits).numpy(), atol=1e-6)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert learning.softmax_cross_entropy(logits, labels) == pytest.approx(float(theirs), rel=1e-5)


def test_cross_entropy_stays_finite_for_huge_scores():
    assert learning.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1])) == pytest.approx(1000.0)
    assert learning.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([0])) == pytest.approx(0.0)


def test_gradient_matches_gradient_tape_and_descent_converges():
    x = RNG.normal(size=(20, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.01 * RNG.normal(size=20)
    w = np.zeros(3)
    w_tf = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((tf.linalg.matvec(tf.constant(x), w_tf) - y) ** 2)
    np.testing.assert_allclose(learning.mse_gradient(w, x, y), tape.gradient(loss, w_tf).numpy(), atol=1e-10)
    for _ in range(300):
        w = learning.gradient_step(w, x, y, 0.1)
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5], atol=0.02)


def test_the_notebook_example_by_hand():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    # dL/dw = mean(2 x (w x - y)) = 2 (w - 2) mean(x^2) = 2 (-1.5) (14 / 3) = -14 at w = 0.5
    assert learning.mse_gradient(0.5, x, y) == pytest.approx(-14.0)
    assert learning.gradient_step(0.5, x, y, 0.05) == pytest.approx(1.2)


def test_dense_relu_is_a_keras_dense_layer():
    layer = keras.layers.Dense(5, activation="relu")
    x = RNG.normal(size=(4, 7)).astype("float32")
    theirs = layer(x).numpy()
    ours = learning.dense_relu(x, layer.kernel.numpy(), layer.bias.numpy())
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="class indices in 0..2"):
        learning.softmax_cross_entropy(np.zeros((1, 3)), np.array([3]))
    with pytest.raises(ValueError, match="labels should be a 1-D array of 2"):
        learning.softmax_cross_entropy(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(TypeError, match="integer class indices"):
        learning.softmax_cross_entropy(np.zeros((1, 3)), np.array([0.5]))
    with pytest.raises(ValueError, match="learning_rate should be a positive"):
        learning.gradient_step(0.0, np.ones(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="x \\(N, D_in\\)"):
        learning.dense_relu(np.ones((1, 3)), np.ones((2, 4)), np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        learning.softmax(np.array([np.nan, 1.0]))
    assert learning.gradient_step(np.float32(0.5), np.ones(2), np.ones(2), np.float64(0.1)) == pytest.approx(0.6)
