"""Notebook 05's package code: upsampling, transposed convolution, FCN conversion and the losses."""

import numpy as np
import pytest

from segtutor import dense, losses


@pytest.fixture(scope="module")
def keras():
    from segtutor.environment import import_tensorflow

    import_tensorflow()
    import keras

    return keras


@pytest.mark.parametrize("stride, k, shape", [(1, 3, (4, 5)), (2, 3, (5, 6)), (2, 2, (3, 3)), (3, 4, (2, 4))])
def test_transposed_conv_matches_keras(keras, stride, k, shape):
    rng = np.random.default_rng(stride * 10 + k)
    image, kernel = rng.normal(size=shape), rng.normal(size=(k, k))
    layer = keras.layers.Conv2DTranspose(1, k, strides=stride, padding="valid", use_bias=False)
    layer.build((1, *shape, 1))
    layer.set_weights([kernel[:, :, None, None]])
    theirs = np.asarray(layer(image[None, :, :, None].astype("float32")))[0, :, :, 0]
    np.testing.assert_allclose(dense.transposed_conv2d(image, kernel, stride), theirs, atol=1e-5)


def test_transposed_output_size_formula():
    out = dense.transposed_conv2d(np.ones((5, 7)), np.ones((3, 2)), stride=2)
    assert out.shape == (dense.transposed_output_size(5, 3, 2), dense.transposed_output_size(7, 2, 2)) == (11, 14)


@pytest.mark.parametrize("k, s", [(3, 2), (4, 2), (5, 2), (6, 3), (4, 3), (2, 2)])
def test_checkerboard_exactly_when_kernel_not_divisible_by_stride(k, s):
    counts = dense.overlap_counts(8, k, s)[0]
    inside = counts[k:-k]
    assert (np.ptp(inside) > 0) == (k % s != 0)


def test_bilinear_init_interpolates_away_from_the_border():
    x = np.add.outer(np.arange(8.0), 2 * np.arange(8.0))  # a linear ramp: bilinear keeps it linear
    up = dense.upsample(x, 2, "transposed (bilinear init)")
    inner = up[3:-3, 3:-3]
    np.testing.assert_allclose(np.diff(inner, 2, axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(np.diff(inner, 2, axis=1), 0, atol=1e-9)
    assert all(dense.upsample(x, 3, m).shape == (24, 24) for m in dense.UPSAMPLING_METHODS)


@pytest.mark.parametrize("bad, error", [(np.zeros((0, 3)), ValueError), (np.full((3, 3), np.nan), ValueError),
                                        (np.zeros((2, 2, 2)), ValueError), (np.ones((2, 2)) * 1j, TypeError)])
def test_upsampling_rejects_bad_images(bad, error):
    with pytest.raises(error, match="image"):
        dense.upsample(bad, 2)
    with pytest.raises(ValueError, match="stride"):
        dense.transposed_conv2d(np.ones((2, 2)), np.ones((2, 2)), 0)


def test_fully_convolutional_keeps_the_classifier_and_slides_it(keras):
    from segtutor.models import cnn

    model = cnn.build_cnn()
    fcn = dense.fully_convolutional(model)
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.asarray(fcn(x))[:, 0, 0], atol=1e-5)
    assert fcn.get_layer("dense_conv").kernel.shape == (3, 3, 64, 64)
    assert fcn.get_layer("logits_conv").kernel.shape == (1, 1, 64, 10)
    assert tuple(fcn(np.zeros((1, 28, 112, 1), "float32")).shape) == (1, 1, 12, 10)
    with pytest.raises(ValueError, match="course CNN"):
        dense.fully_convolutional(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


# ---------------------------------------------------------------- losses
def test_softmax_and_sigmoid():
    s = np.random.default_rng(1).normal(size=(4, 5, 3)) * 30
    p = losses.softmax(s)
    np.testing.assert_allclose(p.sum(-1), 1)
    assert np.isfinite(losses.sigmoid(np.array([-1e4, 1e4]))).all()


@pytest.mark.parametrize("name", ["bce", "weighted_bce", "dice", "focal"])
def test_keras_losses_agree_with_the_numpy_formulas(name):
    rng = np.random.default_rng(2)
    t = (rng.random((3, 6, 7)) < 0.3).astype("float32")
    p = rng.uniform(0.01, 0.99, (3, 6, 7)).astype("float32")
    numpy_version = {
        "bce": lambda: losses.binary_cross_entropy(p, t),
        "weighted_bce": lambda: losses.binary_cross_entropy(p, t, pos_weight=4.0),
        "dice": lambda: losses.soft_dice_loss(p, t),
        "focal": lambda: losses.focal_loss(p, t),
    }[name]()
    keras_version = losses.keras_loss(name, pos_weight=4.0)(t[..., None], p[..., None])
    assert np.asarray(keras_version).shape == (3,)
    assert float(np.mean(keras_version)) == pytest.approx(numpy_version, rel=1e-4)


def test_categorical_cross_entropy_by_hand():
    p = np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]])
    assert losses.categorical_cross_entropy(p, np.array([[0, 2]])) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    with pytest.raises(ValueError, match="labels"):
        losses.categorical_cross_entropy(p, np.array([[0, 3]]))


@pytest.mark.parametrize("prob, truth, words", [
    (np.array([0.5, 1.5]), np.array([0, 1]), "sigmoid"),
    (np.array([0.5, np.nan]), np.array([0, 1]), "NaN"),
    (np.array([0.5, 0.5]), np.array([0, 2]), "0 and 1"),
    (np.zeros((2, 3)), np.zeros((3, 2)), "shape"),
])
def test_losses_reject_bad_input(prob, truth, words):
    with pytest.raises(ValueError, match=words):
        losses.binary_cross_entropy(prob, truth)


def test_focal_loss_down_weights_easy_pixels():
    t = np.array([1.0, 0.0])
    easy, hard = np.array([0.95, 0.05]), np.array([0.6, 0.4])
    assert losses.focal_loss(easy, t) / losses.focal_loss(hard, t) < (
        losses.binary_cross_entropy(easy, t) / losses.binary_cross_entropy(hard, t))


def test_pixel_accuracy_misleads_on_imbalance():
    from segtutor import metrics

    truth, lazy = dense.imbalance_example(100, 0.05)
    assert metrics.pixel_accuracy(lazy, truth) > 0.94 and metrics.dice(lazy, truth) == 0


def test_transposed_conv_refuses_huge_outputs_with_a_value_error():
    # (2049 - 1) * 2 + 2 = 4098 rows by 4097 columns is just over 4096**2 pixels: the guard must
    # raise its own ValueError (it once named an undefined variable and raised NameError).
    with pytest.raises(ValueError, match="4098x4097 pixels"):
        dense.transposed_conv2d(np.ones((2049, 1)), np.ones((2, 4097)), stride=2)


def test_dice_loss_counts_background_probability_as_false_positives():
    # Notebook 05's loss table: a 22x22 object (484 pixels) in a 100x100 image.
    truth, _ = dense.imbalance_example(100, 0.05)
    t = truth.astype(float)
    assert t.sum() == 484
    finds = losses.soft_dice_loss(np.where(truth, 0.7, 0.05), t)
    clean = losses.soft_dice_loss(np.where(truth, 0.7, 0.0), t)
    # By hand: 1 - (2 * 338.8 + 1) / (338.8 + 0.05 * 9516 + 484 + 1) and the same without the 475.8.
    assert finds == pytest.approx(1 - 678.6 / 1299.6) and round(finds, 3) == 0.478
    assert clean == pytest.approx(1 - 678.6 / 823.8) and round(clean, 3) == 0.176
    # Only true negatives are ignored: more background at probability 0 changes nothing,
    # more background at probability 0.05 costs more.
    wide = np.pad(t, 50)
    assert losses.soft_dice_loss(np.where(wide == 1, 0.7, 0.0), wide) == pytest.approx(clean)
    assert losses.soft_dice_loss(np.where(wide == 1, 0.7, 0.05), wide) > finds + 0.2


def test_fcn_column_sees_38_pixels_from_8j_minus_7(keras):
    # Notebook 05: with "same" padding, column j of the converted course CNN depends on strip
    # pixels 8j - 7 to 8j + 30 (38 = the receptive field of the layer stack), not only on 8j to 8j + 27.
    from segtutor.convolution import receptive_field
    from segtutor.models import cnn

    assert receptive_field([(3, 1), (2, 2)] * 3 + [(3, 1)]) == 38
    fcn = dense.fully_convolutional(cnn.build_cnn(filters=(4, 8, 8), dense_units=8))
    strip = np.random.default_rng(0).uniform(size=(1, 28, 112, 1)).astype("float32")
    nudged = np.repeat(strip, 112, axis=0)
    nudged[np.arange(112), :, np.arange(112), 0] += 5.0            # example k changes pixel column k only
    base = fcn.predict(strip, verbose=0)[0, 0]                      # (12, 10)
    changed = np.abs(fcn.predict(nudged, verbose=0)[:, 0] - base).max(axis=-1) > 1e-7   # (112 columns, 12)
    for j in range(12):
        seen = np.nonzero(changed[:, j])[0]
        assert (seen.min(), seen.max()) == (max(8 * j - 7, 0), min(8 * j + 30, 111)), j
