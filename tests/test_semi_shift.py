"""Domain adaptation of notebook 11 (issue 28): the looks, AdaBN, the confidence mask, the mean teacher's EMA."""

import numpy as np
import pytest

from segtutor import semi


@pytest.fixture(scope="module")
def shift_data():
    return semi.make_shift_data(4, 4, 2, size=32, seed=0)


def _bn_input(model, layer, images):
    import keras

    return np.asarray(keras.Model(model.inputs, layer.input).predict(images, verbose=0), dtype=np.float64)


# -- the looks -------------------------------------------------------------------------------------------

def test_the_two_looks_differ_the_way_microscopes_do(shift_data):
    s, t = semi.SOURCE_LOOK, semi.TARGET_LOOK
    assert t["photons"] < s["photons"] and t["blur"] > s["blur"] and t["background"] > s["background"]
    assert t["out_of_focus"] > s["out_of_focus"] and t["mean_radius"] > s["mean_radius"]
    assert shift_data.source.images.shape == (4, 32, 32, 1) and shift_data.test.images.shape == (2, 32, 32, 1)
    assert set(np.unique(shift_data.target.masks)) <= {0.0, 1.0}
    # Three sets, three generator seeds: no image is shared; the target's nuclei are larger.
    big = semi.make_shift_data(3, 3, 1, size=64, seed=1)
    assert big.target.masks.mean() > big.source.masks.mean()
    assert not np.allclose(big.target.images[0], big.test.images[0])


@pytest.mark.parametrize("kwargs, error", [({"size": 36}, ValueError), ({"size": 16}, ValueError),
                                           ({"n_source": 0}, ValueError), ({"seed": -1}, ValueError),
                                           ({"n_test": 1.5}, TypeError)])
def test_make_shift_data_checks_its_arguments(kwargs, error):
    args = dict(n_source=1, n_target=1, n_test=1, size=32)
    with pytest.raises(error):
        semi.make_shift_data(**dict(args, **kwargs))


def test_the_looks_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        semi.TARGET_LOOK["photons"] = 1000.0


# -- AdaBN -----------------------------------------------------------------------------------------------

def test_adabn_changes_only_the_moving_statistics_and_sets_them_to_the_target_statistics(shift_data):
    model = semi.build_student(depth=2, width=4, seed=1)
    # Give the moving statistics source values, as a trained model has them.
    semi.adapt_batch_norm(model, shift_data.source.images)
    before = {v.path: v.numpy().copy() for v in model.weights}
    xt = shift_data.target.images
    assert semi.adapt_batch_norm(model, xt) is model
    changed = {path for path, value in before.items()
               if not np.array_equal(value, next(v for v in model.weights if v.path == path).numpy())}
    layers = semi.batch_norm_layers(model)
    stats = {v.path for layer in layers for v in (layer.moving_mean, layer.moving_variance)}
    assert changed == stats                                    # every moving statistic moved, nothing else did
    assert all(v.path not in stats for v in model.trainable_weights)
    for layer in layers:  # each equals its input's mean and variance on the target, earlier layers adapted
        a = _bn_input(model, layer, xt)
        np.testing.assert_allclose(layer.moving_mean.numpy(), a.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), a.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-5)
    # So in inference mode every layer's output is standardised on the target: mean beta.
    import keras

    first = layers[0]
    out = np.asarray(keras.Model(model.inputs, first.output).predict(xt, verbose=0), dtype=np.float64)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), first.beta.numpy(), atol=1e-3)


def test_batch_norm_statistics_agree_with_adabn(shift_data):
    model = semi.adapt_batch_norm(semi.build_student(depth=2, width=4), shift_data.target.images)
    for (name, mean, var), layer in zip(semi.batch_norm_statistics(model, shift_data.target.images),
                                         semi.batch_norm_layers(model)):
        assert name == layer.name
        np.testing.assert_allclose(mean, layer.moving_mean.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(var, layer.moving_variance.numpy(), rtol=1e-3, atol=1e-5)


def test_adabn_refuses_what_it_cannot_adapt(shift_data):
    import keras

    plain = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(1, 3, padding="same",
                                                                                activation="sigmoid")])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        semi.adapt_batch_norm(plain, shift_data.target.images)
    with pytest.raises(TypeError):
        semi.adapt_batch_norm("model", shift_data.target.images)
    with pytest.raises(ValueError, match="divisible"):
        semi.adapt_batch_norm(semi.build_student(depth=2, width=4), np.zeros((1, 18, 18)))


def test_adabn_of_a_model_with_dropout_measures_each_layer_without_dropping_features(shift_data):
    # A training-mode pass would apply the dropout; the layer-by-layer route must give every layer the mean and
    # variance of its inputs in inference mode, with the earlier layers already adapted (as without dropout).
    from segtutor.models.unet import build_unet

    xt = shift_data.target.images
    model = semi.adapt_batch_norm(build_unet((None, None, 1), depth=2, width=4, dropout=0.5), xt)
    for (name, mean, var), layer in zip(semi.batch_norm_statistics(model, xt), semi.batch_norm_layers(model)):
        assert name == layer.name
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, atol=1e-4)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5)
    # Without dropout the one-pass route gives the same statistics as the layer-by-layer one.
    plain = semi.build_student(depth=2, width=4, seed=2)
    one_pass = semi.adapt_batch_norm(semi.copy_model(plain), xt)
    for (_, mean, var), layer in zip(semi.batch_norm_statistics(one_pass, xt), semi.batch_norm_layers(one_pass)):
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, atol=1e-4)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5)


# -- self-training's confidence mask --------------------------------------------------------------------

def test_the_pseudo_label_mask_keeps_exactly_the_confident_pixels():
    p = np.random.default_rng(0).integers(0, 1025, size=(3, 20, 20)) / 1024  # exact in binary: only the rule decides
    p[0, 0, :4] = [0.875, 0.125, 0.875 - 2**-10, 0.125 + 2**-10]          # on both sides of the threshold 0.875
    targets = semi.pseudo_label_targets(p, 0.875)
    keep = targets != semi.IGNORE
    np.testing.assert_array_equal(keep, np.maximum(p, 1 - p) >= 0.875)
    np.testing.assert_array_equal(targets[keep], (p[keep] >= 0.5).astype(np.uint8))
    assert keep[0, 0, :4].tolist() == [True, True, False, False]


def test_self_training_on_target_learns_the_confident_pixels_of_the_adapted_model(shift_data, monkeypatch):
    import importlib

    module = importlib.import_module("segtutor.semi.self_training")  # the package's name is the function

    seen = {}
    real = module.train_supervised

    def spy(images, masks, **kwargs):
        seen["images"], seen["masks"] = images, masks
        return real(images, masks, **kwargs)

    monkeypatch.setattr(module, "train_supervised", spy)
    base = semi.build_student(depth=2, width=4, seed=2)
    xs, ys, xt = shift_data.source.images, shift_data.source.masks, shift_data.target.images
    adapted = semi.adapt_batch_norm(semi.copy_model(base), xt)
    expected = semi.pseudo_label_targets(semi.predict_probabilities(adapted, xt), 0.8)
    semi.self_train_on_target(base, xs, ys, xt, steps=1, threshold=0.8, patch_size=16)
    n = len(xt)
    np.testing.assert_array_equal(seen["masks"][-n:], expected)  # the target images' targets: the confident pixels
    np.testing.assert_array_equal(seen["images"][-n:], xt)
    np.testing.assert_array_equal(seen["masks"][:len(xs)], ys[..., 0])  # and the source labels
    assert all(np.array_equal(a, b) for a, b in zip(base.get_weights(), semi.copy_model(base).get_weights()))


# -- mean teacher -----------------------------------------------------------------------------------------

def test_the_teacher_is_the_ema_of_the_student(shift_data):
    import keras
    import tensorflow as tf

    student = semi.build_student(depth=2, width=4, seed=0)
    mt = semi.MeanTeacher(student, consistency=3.0, rampup_steps=0, decay=0.6, confidence=0.968)
    mt.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = tf.constant(shift_data.source.images[:2, :16, :16])
    y = tf.constant(shift_data.source.masks[:2, :16, :16])
    u = tf.constant(shift_data.target.images[:2, :16, :16])
    data = tf.data.Dataset.from_tensors(((x, y), u)).repeat()
    for step, decay in ((1, 0.5), (2, 0.6), (3, 0.6)):  # Tarvainen and Valpola's warm-up: min(1 - 1/(t+1), decay)
        teacher_before = [w.copy() for w in mt.teacher.get_weights()]
        mt.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
        assert int(mt.optimizer.iterations) == step
        student_after = mt.student.get_weights()
        for t0, s1, t1 in zip(teacher_before, student_after, mt.teacher.get_weights()):
            np.testing.assert_allclose(t1, decay * t0 + (1 - decay) * s1, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(mt.student.get_weights(), mt.teacher.get_weights()))


def test_the_confidence_threshold_drops_unsure_pixels_from_the_consistency(shift_data):
    import keras
    import tensorflow as tf

    x = tf.constant(shift_data.source.images[:2, :16, :16])
    y = tf.constant(shift_data.source.masks[:2, :16, :16])
    u = tf.constant(shift_data.target.images[:2, :16, :16])
    losses = {}
    for confidence in (None, 0.5, 1.0):
        mt = semi.MeanTeacher(semi.build_student(depth=2, width=4, seed=0), rampup_steps=0, confidence=confidence,
                              cutmix=False, seed=0)
        mt.compile(optimizer=keras.optimizers.Adam(1e-3))
        h = mt.fit(tf.data.Dataset.from_tensors(((x, y), u)).repeat(), steps_per_epoch=1, epochs=1, verbose=0)
        losses[confidence] = h.history["consistency"][0]
    assert losses[1.0] == 0.0                       # no pixel is surer than 1: nothing counts
    assert 0.0 < losses[0.5] <= losses[None] + 1e-9  # above 0.5: almost every pixel counts
    with pytest.raises(ValueError):
        semi.MeanTeacher(semi.build_student(depth=2, width=4), confidence=0.3)


# -- the whole comparison --------------------------------------------------------------------------------

def test_domain_adaptation_runs_every_method_and_scores_it(shift_data):
    rows, models = semi.domain_adaptation(shift_data, steps=2, adapt_steps=2, patch_size=16, seed=0)
    assert [r["method"] for r in rows] == list(semi.SHIFT_METHODS)
    assert all(0.0 <= r["dice"] <= 1.0 and r["seconds"] >= 0 for r in rows)
    assert set(models) == set(semi.SHIFT_METHODS)
    # AdaBN is the source model with target statistics: same trainable weights; so is the randomised source's.
    for plain, adapted in (("source only", "AdaBN"), ("randomised source", "randomised source + AdaBN")):
        for a, b in zip(models[plain].trainable_weights, models[adapted].trainable_weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="chosen from"):
        semi.domain_adaptation(shift_data, methods=("AdaBN", "magic"), steps=1, adapt_steps=1)
    with pytest.raises(TypeError):
        semi.domain_adaptation("data", steps=1, adapt_steps=1)


# -- the randomised source -------------------------------------------------------------------------------

def test_randomised_copies_keep_each_image_where_its_mask_is():
    # Image 0 is empty, image 1 a bright square; copy k of image i sits at k * N + i, so its mask is masks[i].
    images = np.zeros((2, 64, 64), np.float32)
    images[1, 20:44, 20:44] = 1.0
    copies = semi.randomise_look(images, copies=4, seed=3)[..., 0]
    inside = np.zeros((64, 64), bool)
    inside[24:40, 24:40] = True
    contrast = [c[inside].mean() - c[~np.pad(np.ones((32, 32), bool), 16)].mean() for c in copies]
    assert all(d > 0.3 for d in contrast[1::2]), contrast          # the square survives every camera
    assert all(abs(d) < 0.15 for d in contrast[0::2]), contrast     # and appears in no copy of the empty image


def test_randomised_copies_vary_the_look_and_repeat_with_the_seed():
    flat = np.full((1, 128, 128), 0.4, np.float32)
    copies = semi.randomise_look(flat, copies=6, seed=0)[..., 0]
    np.testing.assert_array_equal(copies, semi.randomise_look(flat, copies=6, seed=0)[..., 0])
    assert not np.array_equal(copies, semi.randomise_look(flat, copies=6, seed=1)[..., 0])
    assert copies.min() >= 0 and copies.max() <= 1
    means, noise = copies.mean(axis=(1, 2)), copies.std(axis=(1, 2))
    assert means.max() - means.min() > 0.1       # gain and background differ from copy to copy
    assert noise.min() > 0.0 and noise.max() > 2 * noise.min()    # shot noise at different photon counts
    # At 15-150 photons a flat 0.4 gets a Poisson spread of at least sqrt(0.4 / (150 * 1.6)) = 0.04.
    assert noise.min() > 0.03


@pytest.mark.parametrize("kwargs, error, match", [
    ({"copies": 0}, ValueError, "copies"), ({"copies": 21}, ValueError, "at most 20"),
    ({"copies": 2.5}, TypeError, "copies"), ({"seed": -1}, ValueError, "seed")])
def test_randomise_look_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        semi.randomise_look(np.zeros((1, 16, 16)), **kwargs)


def test_randomised_source_trains_on_the_originals_and_their_copies(shift_data, monkeypatch):
    from segtutor.semi import randomise, training

    seen, real_train = {}, training.train_supervised

    def fake_train(images, targets, **kw):
        seen.update(images=images, targets=targets, kw=kw)
        return real_train(images[:2], targets[:2], steps=1, patch_size=16)

    monkeypatch.setattr(training, "train_supervised", fake_train)
    x, y = shift_data.source.images, shift_data.source.masks
    randomise.randomised_source(x, y, steps=7, copies=2, seed=5, patch_size=16)
    assert seen["images"].shape == (3 * len(x),) + x.shape[1:]
    np.testing.assert_array_equal(seen["images"][:len(x)], x)                      # the originals first
    np.testing.assert_array_equal(seen["images"][len(x):], semi.randomise_look(x, copies=2, seed=82))
    np.testing.assert_array_equal(seen["targets"], np.concatenate([y[..., 0]] * 3))  # each copy keeps its mask
    assert seen["kw"]["steps"] == 7 and seen["kw"]["seed"] == 5


def test_shift_picture_has_four_panels_and_checks_its_inputs(shift_data):
    z = shift_data.target.images[0, ..., 0]
    fig = semi.shift_picture(shift_data.source.images[0], z, np.zeros_like(z), np.ones_like(z),
                             shift_data.target.masks[0])
    assert [ax.get_title() for ax in fig.axes][2:] == ["source-only model", "after adaptation"]
    with pytest.raises(ValueError, match="probabilities"):
        semi.shift_picture(z, z, z * 0 + 2.0, z)
    with pytest.raises(ValueError, match="shape"):
        semi.shift_picture(z, z, z[:8], z)


@pytest.mark.parametrize("batch_statistics", [False, True])
def test_the_teacher_normalises_by_its_batch_only_when_asked(shift_data, batch_statistics):
    # Keras runs a frozen BatchNormalization layer in inference mode even when called with training=True, so a
    # teacher that must normalise each target batch by its own statistics (French et al. 2018) may not be frozen.
    mt = semi.MeanTeacher(semi.build_student(depth=2, width=4, seed=3), teacher_batch_statistics=batch_statistics)
    xt = shift_data.target.images
    alone = np.asarray(mt.teacher(xt[:1], training=True))[0]
    with_others = np.asarray(mt.teacher(xt, training=True))[0]
    assert np.allclose(alone, with_others, atol=1e-6) is not batch_statistics


def test_adapt_pretrained_changes_only_the_statistics_of_a_fresh_shipped_model():
    from segtutor.datasets import make_nuclei
    from segtutor.models import pretrained

    image = make_nuclei(1, size=96, seed=2).images[0]
    shipped = pretrained.load_model("unet")
    adapted = semi.adapt_pretrained(image, model="unet", diameter=28.0)
    assert adapted is not shipped
    stats = {id(v) for layer in semi.batch_norm_layers(adapted) for v in (layer.moving_mean, layer.moving_variance)}
    for before, after in zip(shipped.weights, adapted.weights):
        same = np.array_equal(before.numpy(), after.numpy())
        assert same is (id(after) not in stats), after.path
    with pytest.raises(ValueError, match="model"):
        semi.adapt_pretrained(image, model="maskrcnn")
