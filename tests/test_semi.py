"""segtutor.semi: pseudo-label selection, the masked loss, EMA and ramp-up, and short real trainings."""

import numpy as np
import pytest

from segtutor import semi
from segtutor.losses import keras_loss


def test_selection_keeps_both_confident_sides_inclusive():
    p = np.array([[0.875, 0.75, 0.5], [0.25, 0.125, 1.0]])
    labels, keep = semi.select_pseudo_labels(p, 0.75)
    assert labels.dtype == np.uint8 and keep.dtype == bool
    assert labels.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert keep.tolist() == [[True, True, False], [True, True, True]]
    labels, keep = semi.select_pseudo_labels(p, np.float32(0.875))  # NumPy scalars work
    assert keep.tolist() == [[True, False, False], [False, True, True]]
    # Threshold 0.5 keeps everything and labels are p >= 0.5.
    labels, keep = semi.select_pseudo_labels(p, 0.5)
    assert keep.all() and labels.tolist() == [[1, 1, 1], [0, 0, 1]]


@pytest.mark.parametrize("bad, error, words", [
    (0.4, ValueError, "0.5"), (float("nan"), ValueError, "threshold"), ("0.9", TypeError, "threshold"),
    (True, TypeError, "threshold"), (1.5, ValueError, "threshold")])
def test_selection_rejects_bad_thresholds(bad, error, words):
    with pytest.raises(error, match=words):
        semi.select_pseudo_labels(np.array([0.2, 0.9]), bad)


def test_selection_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="sigmoid"):
        semi.select_pseudo_labels(np.array([-1.0, 2.0]), 0.9)
    with pytest.raises(ValueError, match="NaN"):
        semi.select_pseudo_labels(np.array([np.nan]), 0.9)
    with pytest.raises(ValueError, match="non-empty"):
        semi.select_pseudo_labels(np.array([]), 0.9)
    with pytest.raises(TypeError, match="probabilities"):
        semi.select_pseudo_labels(np.array([True]), 0.9)


def test_targets_and_quality_by_hand():
    p = np.array([0.95, 0.6, 0.05, 0.97])
    assert semi.pseudo_label_targets(p, 0.9).tolist() == [1, semi.IGNORE, 0, 1]
    q = semi.pseudo_label_quality(p, np.array([1, 1, 0, 0]), 0.9)
    assert (q.coverage, q.kept, q.wrong) == (0.75, 3, 1)
    assert q.precision == pytest.approx(2 / 3)
    assert q.foreground_coverage == pytest.approx(0.5)
    with pytest.raises(ValueError, match="binary"):
        semi.pseudo_label_quality(p, np.array([0, 2, 0, 0]), 0.9)


def test_higher_threshold_trades_coverage_for_precision():
    rng = np.random.default_rng(0)
    truth = rng.random((64, 64)) < 0.3
    # A model that is right most of the time and unsure where it is wrong.
    p = np.where(truth, rng.beta(5, 1.2, truth.shape), rng.beta(1.2, 5, truth.shape))
    low, high = semi.pseudo_label_quality(p, truth, 0.6), semi.pseudo_label_quality(p, truth, 0.95)
    assert high.coverage < low.coverage
    assert high.precision > low.precision


def test_class_balanced_thresholds_keep_the_same_share_of_each_predicted_class():
    rng = np.random.default_rng(2)
    truth = rng.random((64, 64)) < 0.15
    # Unsure on the nucleus side, as a model is on outlines and dim nuclei: one threshold keeps little of it.
    p = np.where(truth, rng.beta(3, 1.5, truth.shape), rng.beta(1, 12, truth.shape))
    fg, bg = semi.class_balanced_thresholds(p, 0.6)
    assert 0.5 <= fg <= 1 and 0 <= bg <= 0.5
    predicted_fg, predicted_bg = p >= 0.5, p < 0.5
    assert (p[predicted_fg] >= fg).mean() == pytest.approx(0.6, abs=0.01)
    assert (p[predicted_bg] <= bg).mean() == pytest.approx(0.6, abs=0.01)
    targets = semi.balanced_pseudo_label_targets(p, 0.6)
    kept = targets != semi.IGNORE
    single = semi.pseudo_label_targets(p, 0.9)
    # Class-balanced selection keeps a larger share of foreground than one threshold does.
    share = lambda t: (t == 1).sum() / (t != semi.IGNORE).sum()  # noqa: E731
    assert share(single) < share(targets)
    assert ((targets == 1) == (p >= fg))[kept].all()
    assert semi.class_balanced_thresholds(np.array([0.1, 0.2]), np.float32(1.0)) == (1.0, 0.2)  # no foreground
    for bad, error in ((0.0, ValueError), (1.5, ValueError), ("0.5", TypeError), (True, TypeError),
                       (float("nan"), ValueError)):
        with pytest.raises(error, match="share"):
            semi.class_balanced_thresholds(p, bad)


def test_photometric_jitter_preserves_geometry_and_varies_the_looks():
    from skimage.draw import disk

    x = np.full((4, 32, 32), 0.1, np.float32)
    for i in range(4):
        x[i][disk((16, 16), 6)] = 0.9
    out = semi.photometric_jitter(x, seed=3)
    assert out.shape == (4, 32, 32, 1) and out.dtype == np.float32
    np.testing.assert_allclose(semi.photometric_jitter(x, strength=0.0)[..., 0], x, atol=1e-4)
    assert not np.allclose(out[0], out[1])  # each image its own looks
    np.testing.assert_allclose(semi.photometric_jitter(x, seed=3), out)  # reproducible
    # Label-preserving: the nucleus stays where it was, brighter than its background in every image.
    inside = np.zeros((32, 32), bool)
    inside[disk((16, 16), 4)] = True
    ring = np.zeros((32, 32), bool)
    ring[disk((16, 16), 13)] = True
    ring[disk((16, 16), 9)] = False
    for img in out[..., 0]:
        assert img[inside].mean() > img[ring].mean() + 0.2


def test_masked_loss_ignores_ignored_pixels_and_equals_bce_dice_without_them():
    rng = np.random.default_rng(1)
    t = (rng.random((2, 8, 8, 1)) < 0.4).astype("float32")
    p = rng.uniform(0.01, 0.99, (2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(semi.masked_bce_dice(t, p), keras_loss("bce_dice")(t, p), rtol=1e-5)
    ignored = t.copy()
    ignored[:, :4] = semi.IGNORE
    changed = p.copy()
    changed[:, :4] = rng.uniform(0.01, 0.99, (2, 4, 8, 1))
    # Whatever the model predicts on ignored pixels, the loss is the same...
    np.testing.assert_allclose(semi.masked_bce_dice(ignored, p), semi.masked_bce_dice(ignored, changed), rtol=1e-6)
    # ... and equals the loss on the kept half alone.
    np.testing.assert_allclose(semi.masked_bce_dice(ignored, p), keras_loss("bce_dice")(t[:, 4:], p[:, 4:]), rtol=1e-5)
    # Squeezed (N, H, W) targets work too.
    np.testing.assert_allclose(semi.masked_bce_dice(t[..., 0], p), keras_loss("bce_dice")(t, p), rtol=1e-5)


def test_ema_update_and_rampup():
    new = semi.ema_update([np.array([1.0, 2.0]), np.zeros((2, 2))], [np.array([3.0, 2.0]), np.ones((2, 2))], 0.75)
    np.testing.assert_allclose(new[0], [1.5, 2.0])
    np.testing.assert_allclose(new[1], np.full((2, 2), 0.25))
    np.testing.assert_allclose(semi.ema_update([np.array([1.0])], [np.array([5.0])], 0.0)[0], [5.0])
    with pytest.raises(ValueError, match="architecture"):
        semi.ema_update([np.zeros(2)], [np.zeros(3)], 0.9)
    with pytest.raises(TypeError, match="lists"):
        semi.ema_update(np.zeros(2), np.zeros(2), 0.9)
    weights = [semi.consistency_weight(s, 100, 10.0) for s in range(0, 150, 10)]
    assert weights[0] == pytest.approx(10 * np.exp(-5)) and weights[-1] == 10.0
    assert all(b >= a for a, b in zip(weights, weights[1:]))
    assert semi.consistency_weight(np.int64(5), 0, 3.0) == 3.0


def test_labelled_split():
    lab, unl = semi.labelled_split(40, 0.05, seed=3)
    assert len(lab) == 2 and len(unl) == 38 and not set(lab) & set(unl)
    assert sorted([*lab, *unl]) == list(range(40))
    assert len(semi.labelled_split(10, 0.01)[0]) == 1  # at least one labelled image
    with pytest.raises(ValueError, match="fraction"):
        semi.labelled_split(10, 0.0)


@pytest.fixture(scope="module")
def tiny_data():
    from segtutor.models.train_nuclei import nuclei_splits

    return nuclei_splits(6, 2, size=32, seed=0)


def _patch_loss(model, images, masks):
    return float(np.mean(semi.masked_bce_dice(masks, model.predict(images, verbose=0))))


@pytest.mark.graph_mode  # 8 s traced, 12 s eagerly
def test_supervised_training_lowers_the_loss(tiny_data):
    train, _ = tiny_data
    model = semi.build_student(depth=2, width=4, seed=0)
    model.compile(loss=semi.masked_bce_dice)
    before = _patch_loss(model, train.images, train.masks)
    model, history = semi.train_supervised(train.images, train.masks, steps=30, model=model, patch_size=32,
                                           learning_rate=1e-2, epochs=3)
    assert len(history.history["loss"]) == 3
    assert _patch_loss(model, train.images, train.masks) < before


def test_self_training_round_uses_pseudo_labels(tiny_data):
    train, _ = tiny_data
    model = semi.build_student(depth=2, width=4, seed=0)
    model, _ = semi.train_supervised(train.images[:2], train.masks[:2], steps=10, model=model, patch_size=32)
    before = [w.copy() for w in model.get_weights()]
    model, record = semi.self_training(model, train.images[:2], train.masks[:2], train.images[2:], threshold=0.6,
                                       steps=5, patch_size=32)
    assert record[0]["round"] == 1 and 0 <= record[0]["coverage"] <= 1
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    # Class-balanced selection: 70 % of each predicted class is kept, so about 70 % of all pixels.
    _, record = semi.self_training(model, train.images[:2], train.masks[:2], train.images[2:], share=0.7, steps=2,
                                   patch_size=32)
    assert record[0]["coverage"] == pytest.approx(0.7, abs=0.02) and 0 <= record[0]["foreground"] <= 1


def test_cutmix_pastes_a_box_of_each_image_into_its_neighbour_and_mixes_targets_alike():
    boxes = semi.cutmix_boxes(300, 48, 64, seed=1)
    areas = boxes.mean(axis=(1, 2))
    assert boxes.dtype == bool and areas.min() > 0.4 and areas.max() < 0.6      # half the image, inside it
    assert not np.array_equal(boxes[0], boxes[1])                                # each pair its own box
    rows, cols = boxes.any(axis=2), boxes.any(axis=1)
    assert np.array_equal(boxes, rows[:, :, None] & cols[:, None, :])           # a rectangle
    x = np.random.default_rng(0).random((3, 48, 64)).astype(np.float32)
    y = (x > 0.5).astype(np.float32)
    mixed, mixed_y, b = semi.cutmix(x, y, seed=4)
    assert mixed.shape == mixed_y.shape == (3, 48, 64, 1) and b.shape == (3, 48, 64)
    for i, j in ((0, 2), (1, 0), (2, 1)):                                         # outside the box: image i - 1
        np.testing.assert_array_equal(mixed[i, ..., 0][b[i]], x[i][b[i]])
        np.testing.assert_array_equal(mixed[i, ..., 0][~b[i]], x[j][~b[i]])
    np.testing.assert_array_equal(mixed_y[..., 0], (mixed[..., 0] > 0.5))        # every pixel keeps its label
    np.testing.assert_array_equal(semi.cutmix(x, y, seed=4)[0], mixed)           # reproducible
    with pytest.raises(ValueError, match="area should be above 0"):
        semi.cutmix_boxes(2, 8, 8, area=0.0)
    with pytest.raises(ValueError, match="targets should have shape"):
        semi.cutmix(x, y[:2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        semi.cutmix(x, y * 3)


def test_mean_teacher_student_sees_the_cutmix_view(tiny_data, monkeypatch):
    """With cutmix the student's unlabelled input is a mix of two images; without it, one image jittered."""
    from segtutor.semi import mean_teacher

    train, _ = tiny_data
    import keras
    import tensorflow as tf

    seen = []
    real = mean_teacher._jitter_ops
    monkeypatch.setattr(mean_teacher, "_jitter_ops", lambda x, seeds, strength: (seen.append(x), real(x, seeds, 0.0))[1])
    x = np.stack([np.zeros((32, 32, 1), np.float32), np.ones((32, 32, 1), np.float32)])
    y = np.zeros((2, 32, 32), np.uint8)
    for flag in (True, False):
        seen.clear()
        mt = semi.MeanTeacher(semi.build_student(depth=2, width=4), cutmix=flag)
        mt.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        mt.fit(tf.data.Dataset.from_tensors(((x, y), x)).repeat(), steps_per_epoch=1, epochs=1, verbose=0)
        view = np.asarray(seen[-1])
        values = [np.unique(v).tolist() for v in view[..., 0]]
        assert values == ([[0.0, 1.0], [0.0, 1.0]] if flag else [[0.0], [1.0]])
        if flag:
            assert 0.4 < view[1].mean() < 0.6     # half of image 1, half of image 0


@pytest.mark.graph_mode  # MeanTeacher.train_step as model.fit traces it
def test_mean_teacher_trains_the_student_and_averages_the_teacher(tiny_data):
    train, _ = tiny_data
    student = semi.build_student(depth=2, width=4, seed=0)
    mt = semi.MeanTeacher(student, consistency=5.0, rampup_steps=4, decay=0.5)
    start = [w.copy() for w in student.get_weights()]
    import keras
    import tensorflow as tf

    mt.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = tf.constant(train.images[:2, :32, :32])
    y = tf.constant(train.masks[:2, :32, :32])
    history = mt.fit(tf.data.Dataset.from_tensors(((x, y), x)).repeat(), steps_per_epoch=20, epochs=1, verbose=0)
    assert set(history.history) >= {"loss", "supervised", "consistency", "weight"}
    assert history.history["weight"][-1] == pytest.approx(5.0)
    s, t = student.get_weights(), mt.teacher.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(start, s))       # the student learned
    assert any(not np.allclose(a, b) for a, b in zip(s, t))           # the teacher is not a copy
    assert any(not np.allclose(a, b) for a, b in zip(start, t))       # but it moved towards the student
    # Calling the model runs the teacher.
    np.testing.assert_allclose(mt(x), mt.teacher(x, training=False), rtol=1e-5)


def test_mean_teacher_and_efficiency_end_to_end(tiny_data):
    train, test = tiny_data
    rows = semi.label_efficiency(train, test, fractions=(0.2,), steps=2, semi_steps=2, patch_size=32, share=0.8,
                                 strength=0.5)
    assert [r["method"] for r in rows] == ["labelled only", "self-training", "mean teacher", "full supervision"]
    assert all(0 <= r["dice"] <= 1 and r["n_labelled"] >= 1 for r in rows)
    fig = semi.efficiency_figure(rows + [dict(rows[0], dice=rows[0]["dice"] / 2)])
    assert fig.axes[0].get_ylabel() == "held-out Dice"


def test_training_arguments_are_checked(tiny_data):
    train, _ = tiny_data
    with pytest.raises(ValueError, match="targets"):
        semi.train_supervised(train.images, train.masks * 3, steps=1, patch_size=32)
    with pytest.raises(ValueError, match="patch_size"):
        semi.train_supervised(train.images, train.masks, steps=1, patch_size=64)
    with pytest.raises(TypeError, match="keras.Model"):
        semi.MeanTeacher("a model")
    with pytest.raises(ValueError, match="methods"):
        semi.label_efficiency(train, train, methods=("magic",), steps=1)


def test_training_functions_refuse_bad_input_before_training(tiny_data):
    # These train on every accepted value, so tests/test_bad_input.py does not fuzz them; their
    # refusals are checked here (each raises before any training step).
    train, test = tiny_data
    model = semi.build_student(depth=2, width=4)
    with pytest.raises(ValueError, match="steps"):
        semi.train_supervised(train.images, train.masks, steps=np.int64(0), patch_size=32)
    with pytest.raises(TypeError, match="images"):
        semi.train_supervised(train.images + 1j, train.masks, steps=1, patch_size=32)
    with pytest.raises(ValueError, match="threshold"):
        semi.self_training(model, train.images, train.masks, test.images, threshold=0.3, steps=1, patch_size=32)
    with pytest.raises(ValueError, match="labelled_masks"):
        semi.self_training(model, train.images, train.masks * 3, test.images, steps=1, patch_size=32)
    with pytest.raises(TypeError, match="rounds"):
        semi.self_training(model, train.images, train.masks, test.images, rounds="2", steps=1, patch_size=32)
    with pytest.raises(ValueError, match="unlabelled_images"):
        semi.self_training(model, train.images, train.masks, test.images[:, :16, :16], steps=1, patch_size=16)
    with pytest.raises(ValueError, match="decay"):
        semi.train_mean_teacher(train.images, train.masks, test.images, steps=1, student=model,
                                decay=float("nan"), patch_size=32)
    with pytest.raises(TypeError, match="unlabelled_images"):
        semi.train_mean_teacher(train.images, train.masks, test.images + 1j, steps=1, patch_size=32)
    with pytest.raises(TypeError, match="full"):
        semi.label_efficiency(train, test, steps=1, full="False")
    with pytest.raises(ValueError, match="fractions"):
        semi.label_efficiency(train, test, steps=1, fractions=(float("nan"),))
