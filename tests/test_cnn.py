"""segtutor.models.cnn: architecture, feature extractors, receptive fields, a short training run."""

from __future__ import annotations

import numpy as np
import pytest

from segtutor.environment import import_tensorflow
from segtutor.models import cnn

tf = import_tensorflow()
import keras  # noqa: E402


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return cnn.build_cnn()


def test_architecture_and_parameter_count(model):
    # Hand count: 3·3·1·16+16, 3·3·16·32+32, 3·3·32·64+64, (3·3·64)·64+64, 64·10+10.
    assert model.count_params() == 160 + 4640 + 18496 + 36928 + 650
    assert cnn.conv_layer_names(model) == ["conv1", "conv2", "conv3"]
    assert cnn.feature_layer_names(model) == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]
    assert model.get_layer("probs").output.shape == (None, 10)
    probs = np.asarray(model(np.random.rand(2, 28, 28, 1).astype("float32"), training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_model_call_is_deterministic_and_augmentation_is_in_the_data(model):
    x = np.random.rand(1, 28, 28, 1).astype("float32")
    # Keras 3 random layers default to training mode; none must be inside the model.
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(model(x)))
    images = np.zeros((8, 28, 28, 1), np.float32)
    images[:, 10:18, 10:18] = 1
    plain = next(iter(cnn.augmented_batches(images, np.arange(8), batch_size=8, augment=False)))[0].numpy()
    moved = next(iter(cnn.augmented_batches(images, np.arange(8), batch_size=8)))[0].numpy()
    np.testing.assert_array_equal(plain, images)  # shuffled, but every image is the same square
    assert np.abs(moved - images).max() > 0.5  # shifted or rotated
    np.testing.assert_allclose(moved.sum(axis=(1, 2, 3)), 64, rtol=0.35)  # the square mostly stays in view


def test_split_validation_keeps_the_tail():
    x, y = np.arange(20)[:, None], np.arange(20)
    (xf, yf), (xv, yv) = cnn.split_validation(x, y, 0.1)
    np.testing.assert_array_equal(yv, [18, 19])
    assert len(xf) == 18
    with pytest.raises(ValueError, match="differ in length"):
        cnn.split_validation(x, y[:5])


def test_feature_extractor_matches_manual_forward_pass(model):
    x = np.random.default_rng(1).random((2, 28, 28, 1)).astype("float32")
    outs = cnn.feature_extractor(model, ["conv1", "pool2"])(x)
    # Independent reference: apply the layers one by one with tf ops.
    conv1 = model.get_layer("conv1")
    ref1 = tf.nn.relu(tf.nn.conv2d(x, conv1.kernel, 1, "SAME") + conv1.bias).numpy()
    np.testing.assert_allclose(np.asarray(outs["conv1"]), ref1, atol=1e-5)
    conv2 = model.get_layer("conv2")
    ref = tf.nn.max_pool2d(ref1, 2, 2, "VALID")
    ref = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(ref, conv2.kernel, 1, "SAME") + conv2.bias), 2, 2, "VALID")
    np.testing.assert_allclose(np.asarray(outs["pool2"]), ref.numpy(), atol=1e-5)


def test_any_size_extractor_agrees_and_takes_other_sizes(model):
    names = cnn.feature_layer_names(model)
    fixed = cnn.feature_extractor(model, names)
    anysize = cnn.feature_extractor(model, names, any_size=True)
    x = np.random.rand(1, 28, 28, 1).astype("float32")
    a, b = fixed(x), anysize(x)
    for name in names:
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), atol=1e-6)
    big = anysize(np.random.rand(1, 64, 48, 1).astype("float32"))
    assert tuple(big["conv2"].shape) == (1, 32, 24, 32)
    assert tuple(big["pool3"].shape) == (1, 8, 6, 64)


def test_feature_extractor_errors(model):
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        cnn.feature_extractor(model, ["conv9"])
    with pytest.raises(ValueError, match="fixed input size"):
        cnn.feature_extractor(model, ["dense"], any_size=True)
    with pytest.raises(ValueError, match="empty"):
        cnn.feature_extractor(model, [])


def test_receptive_fields_of_course_cnn(model):
    rows = cnn.receptive_fields(model)
    assert [r["layer"] for r in rows] == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]
    assert [r["receptive_field"] for r in rows] == [3, 4, 8, 10, 18, 22]
    assert rows[-1]["jump"] == 8


@pytest.mark.parametrize(
    "kwargs,words",
    [({"input_shape": (28, 28)}, r"\(H, W, C\)"), ({"filters": ()}, "at least one stage"),
     ({"filters": (8,) * 6}, "halve"), ({"dropout": 1.5}, r"\[0, 1\)"), ({"n_classes": 1}, "at least 2")],
)
def test_build_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        cnn.build_cnn(**kwargs)


@pytest.mark.graph_mode  # as fast traced as eagerly, and it is what notebook 03 runs
def test_short_training_learns_something():
    result = cnn.train_course_cnn(epochs=3, n_train=512, n_test=200, seed=0)
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(result.history["loss"]) == 3
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.test_accuracy > 0.3  # chance is 0.1


def test_epoch_log_prints_one_line_per_epoch_and_the_curves_are_labelled(capsys):
    import keras

    keras.utils.set_random_seed(0)
    model = cnn.build_cnn(filters=(4,))
    cnn.compile_cnn(model, epochs=3, steps_per_epoch=1)
    x, y = np.zeros((8, 28, 28, 1), "float32"), np.arange(8) % 10
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_data=(x, y),
                        callbacks=[cnn.epoch_log()])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3  loss ") and "val_accuracy" in lines[2]
    fig = cnn.plot_history(history)
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert all(ax.get_ylabel() for ax in fig.axes)
