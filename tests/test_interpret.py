"""segtutor.interpret: Grad-CAM and saliency against closed forms and tf-keras-vis; drawing helpers."""

from __future__ import annotations

import numpy as np
import pytest

from segtutor import interpret as I
from segtutor.environment import import_tensorflow
from segtutor.models import cnn

tf = import_tensorflow()
import keras  # noqa: E402
from keras import layers  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def gap_model():
    """conv -> global average pool -> linear logits -> softmax: the CAM architecture."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 1))
    feat = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv")(inp)
    pooled = layers.GlobalAveragePooling2D()(feat)
    logits = layers.Dense(4, name="logits")(pooled)
    return keras.Model(inp, layers.Activation("softmax", name="probs")(logits))


@pytest.fixture(scope="module")
def course_model():
    keras.utils.set_random_seed(0)
    return cnn.build_cnn(filters=(8, 16))


def test_grad_cam_equals_cam_on_a_gap_network(gap_model):
    # Selvaraju et al. (2017, sec. 3.1): with global average pooling, Grad-CAM's
    # channel weights are the dense weights / (H W), so the map is CAM (Zhou et al. 2016).
    x = RNG.random((3, 12, 12, 1)).astype("float32")
    classes = np.array([0, 2, 3])
    ours = I.grad_cam(gap_model, x, classes, layer_name="conv", upsample=False)
    feats = keras.Model(gap_model.input, gap_model.get_layer("conv").output)(x).numpy()
    w = gap_model.get_layer("logits").kernel.numpy()  # (6, 4)
    for i, c in enumerate(classes):
        cam = np.maximum((feats[i] * w[:, c]).sum(-1), 0)
        expected = (cam - cam.min()) / (cam.max() - cam.min()) if cam.max() > cam.min() else np.zeros_like(cam)
        np.testing.assert_allclose(ours[i], expected, atol=1e-5)


def test_saliency_of_a_linear_model_is_its_weights():
    keras.utils.set_random_seed(2)
    inp = keras.Input((5, 6, 1))
    logits = layers.Dense(3, name="logits")(layers.Flatten()(inp))
    model = keras.Model(inp, layers.Activation("softmax")(logits))
    sal = I.saliency_map(model, RNG.random((1, 5, 6, 1)), class_index=1)[0]
    w = np.abs(model.get_layer("logits").kernel.numpy()[:, 1]).reshape(5, 6)
    np.testing.assert_allclose(sal, (w - w.min()) / (w.max() - w.min()), atol=1e-6)


def test_agrees_with_tf_keras_vis(course_model):
    x = RNG.random((3, 28, 28, 1)).astype("float32")
    ours = I.grad_cam(course_model, x, [1, 5, 7], upsample=False)
    theirs = I.grad_cam_tf_keras_vis(course_model, x, [1, 5, 7], upsample=False)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
    np.testing.assert_allclose(I.saliency_map(course_model, x, 4), I.saliency_tf_keras_vis(course_model, x, 4),
                               atol=1e-3)


def test_grad_cam_raw_maps_keep_their_strength(course_model):
    # scale=False returns ReLU(sum_k alpha_k A_k) itself; scale=True divides each map by its own range.
    x = RNG.random((3, 28, 28, 1)).astype("float32")
    raw = I.grad_cam(course_model, x, [1, 5, 7], upsample=False, scale=False)
    scaled = I.grad_cam(course_model, x, [1, 5, 7], upsample=False)
    assert raw.min() >= 0
    for i in range(3):
        if raw[i].max() > raw[i].min():
            np.testing.assert_allclose(scaled[i], (raw[i] - raw[i].min()) / np.ptp(raw[i]), atol=1e-5)
    assert not np.allclose(raw.max(axis=(1, 2)), 1.0)  # raw peaks are in score units, not all 1


def test_matcher_chance_level_and_blind_spot():
    from segtutor.convolution import kernel_preset

    baseline = I.random_match_baseline(2000, seed=0)
    # Random 3x3 kernels already look "about 0.5" like some preset: that is chance, not learning.
    assert 0.45 < baseline.mean() < 0.58 and np.percentile(baseline, 95) > 0.7
    # Removing the mean makes a box blur invisible: it matches nothing.
    assert I.match_kernels(kernel_preset("box blur 3×3")[..., None]) == [("flat", 0.0)]


def test_strongest_channels_and_numbered_filters():
    a = np.zeros((3, 3, 5)); a[1, 1] = [0.1, 3, 2, 0, 5]
    assert I.strongest_channels(a, 3).tolist() == [4, 1, 2]
    pic = I.feature_map_picture(a, [4, 1], size=60)
    assert pic.shape == (24, 56, 3)   # two 3x3 tiles and a 1-px gap, enlarged 8 times
    with pytest.raises(ValueError, match="channel should list integers"):
        I.feature_map_picture(a, [7])
    fig = I.show_filters(RNG.normal(size=(3, 3, 1, 5)), columns=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()][:5]
    assert titles == ["0", "1", "2", "3", "4"]
    assert fig.axes[-1].get_ylabel() == "weight / largest |weight|"   # the colour bar says what it measures


def test_grad_cam_defaults_to_predicted_class_and_upsamples(course_model):
    x = RNG.random((2, 28, 28, 1)).astype("float32")
    predicted = np.asarray(course_model(x, training=False)).argmax(-1)
    default = I.grad_cam(course_model, x)
    assert default.shape == (2, 28, 28) and default.min() >= 0 and default.max() <= 1
    np.testing.assert_allclose(default, I.grad_cam(course_model, x, predicted), atol=1e-6)
    with pytest.raises(ValueError, match="class_index should be in 0..9"):
        I.grad_cam(course_model, x, 12)


def test_activation_cache_runs_once_per_image(course_model):
    cache = I.ActivationCache(cnn.feature_extractor(course_model, ["conv1", "conv2"], any_size=True))
    img = RNG.random((40, 40))
    a = cache.get("a", img, "conv1")
    b = cache.get("a", img, "conv2")
    assert cache.n_computed == 1 and a.shape == (40, 40, 8) and b.shape == (20, 20, 16)
    cache.get("b", RNG.random((28, 28)), "conv1")
    assert cache.n_computed == 2
    with pytest.raises(ValueError, match="choose one of"):
        cache.get("a", img, "pool9")


def test_channel_mosaic_layout():
    a = RNG.random((4, 5, 6)).astype(np.float32)
    a[..., 2] = 0  # a dead channel
    m = I.channel_mosaic(a, columns=3, gap=1)
    assert m.shape == (2 * 5 - 1, 3 * 6 - 1)
    tile = m[5:9, 6:11]  # row 1, column 1 -> channel 4
    np.testing.assert_allclose(tile, (a[..., 4] - a[..., 4].min()) / np.ptp(a[..., 4]), atol=1e-6)
    np.testing.assert_array_equal(m[0:4, 12:17], 0)  # channel 2 stays black
    assert np.isnan(m[4]).all()  # the gap row


def test_feature_map_picture_and_errors():
    a = RNG.random((7, 7, 3))
    pic = I.feature_map_picture(a, 1, size=70)
    assert pic.shape == (70, 70, 3) and pic.dtype == np.uint8
    # The brightest cell uses the top of viridis (yellow), the darkest its bottom (purple).
    y, x = np.unravel_index(a[..., 1].argmax(), (7, 7))
    assert pic[y * 10 + 5, x * 10 + 5].tolist() == (np.array(I._lut("viridis")[255]) * 255 + 0.5).astype(int).tolist()
    with pytest.raises(ValueError, match="channel should be an integer in 0..2"):
        I.feature_map_picture(a, 3)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        I.feature_map_picture(a[..., 0], 0)
    with_input = I.feature_map_picture(a, None, size=70, image=RNG.random((28, 28)))
    assert with_input.shape[0] == I.feature_map_picture(a, None, size=70).shape[0]


def test_filters_picture_and_first_layer(course_model):
    k = I.first_layer_filters(course_model)
    assert k.shape == (3, 3, 1, 8)
    pic = I.filters_picture(k, cell=10, columns=4)
    assert pic.shape == (2 * (30 + 3) + 3, 4 * (30 + 3) + 3, 3)
    with pytest.raises(ValueError, match="no layer"):
        I.first_layer_filters(course_model, "conv7")


def test_overlay_and_as_batch():
    out = I.overlay_heatmap(np.zeros((4, 4)), np.ones((4, 4)), alpha=1.0)
    np.testing.assert_allclose(out[0, 0], I._lut("inferno")[255], atol=1e-6)  # perceptually uniform, not jet
    with pytest.raises(ValueError, match="same height and width"):
        I.overlay_heatmap(np.zeros((4, 4)), np.ones((3, 4)))
    assert I.as_batch(np.zeros((5, 5, 3)), channels=1).shape == (1, 5, 5, 1)
    with pytest.raises(ValueError, match="expects 3 channel"):
        I.as_batch(np.zeros((5, 5, 1)), channels=3)


def test_grad_cam_from_gradients_by_hand():
    a = RNG.random((4, 5, 3))
    g = RNG.normal(size=(4, 5, 3))
    expected = np.zeros((4, 5))
    for k in range(3):
        expected += g[..., k].mean() * a[..., k]
    np.testing.assert_allclose(I.grad_cam_from_gradients(a, g), np.maximum(expected, 0))
    with pytest.raises(ValueError, match="same shape|one shape"):
        I.grad_cam_from_gradients(a, g[..., :2])


def test_match_kernels():
    from segtutor.convolution import kernel_preset

    k = np.stack([kernel_preset("Sobel y (horizontal edges)"), -kernel_preset("edge (Laplacian)") * 3,
                  np.zeros((3, 3))], axis=-1)
    names = [name for name, _ in I.match_kernels(k)]
    assert names == ["Sobel y (horizontal edges)", "edge (Laplacian)", "flat"]
    assert I.match_kernels(k)[0][1] == 1.0
    with pytest.raises(ValueError, match="no candidate"):
        I.match_kernels(np.zeros((4, 4, 2)))


def test_grad_cam_exercise_spec():
    from segtutor.exercises import check

    def honest(a, g):
        if a.shape != g.shape:
            raise ValueError("shapes differ")
        return np.maximum(np.einsum("hwk,k->hw", a, g.mean(axis=(0, 1))), 0)

    assert check("grad_cam", honest, verbose=False, seed=0).passed
    wrong = check("grad_cam", lambda a, g: (a * g.mean(axis=(0, 1))).sum(-1), verbose=False, seed=0)
    assert not wrong.passed and "ReLU" in wrong.report


def test_equivariance_only_for_shifts_that_are_multiples_of_the_jump(course_model):
    # Azulay & Weiss (2019), Zhang (2019): after a stride-2 pool, a 3-px shift is not a shift of the map.
    names = ["conv1", "pool1", "conv2", "pool2"]
    jumps = {r["layer"]: r["jump"] for r in cnn.receptive_fields(course_model)}
    extractor = cnn.feature_extractor(course_model, names, any_size=True)
    digit = RNG.random((28, 28)).astype("float32")
    whole = I.shift_equivariance(extractor, digit, (8, 16), jumps)
    assert all(r["same"] and r["whole"] for r in whole)
    assert [r["cells"] for r in whole] == [(8, 16), (4, 8), (4, 8), (2, 4)]
    broken = {r["layer"]: r for r in I.shift_equivariance(extractor, digit, (3, 3), jumps)}
    assert broken["conv1"]["same"] and broken["conv1"]["whole"]       # jump 1: every shift is whole
    for name in ("pool1", "conv2", "pool2"):
        assert not broken[name]["whole"] and not broken[name]["same"] and broken[name]["difference"] > 0.05
    with pytest.raises(ValueError, match="does not fit"):
        I.shift_equivariance(extractor, digit, (60, 0), jumps)
