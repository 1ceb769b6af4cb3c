"""U-Net, DeepLabv3+, the training helpers, instances and the shipped nuclei models (notebooks 06-07)."""

import json

import numpy as np
import pytest

from segtutor import metrics
from segtutor.datasets import make_nuclei
from segtutor.instances import split_instances, unet_weight_map
from segtutor.models import deeplab, pretrained, train_nuclei, unet


def test_unet_shapes_and_input_checks():
    model = unet.build_unet((64, 48, 3), n_classes=4, depth=3, width=4)
    assert model.output_shape == (None, 64, 48, 4)
    assert unet.build_unet(depth=2, width=2).output_shape == (None, None, None, 1)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*4 = 16.*96 or 112"):
        unet.build_unet((100, 100, 1))
    with pytest.raises(ValueError, match="channels"):
        unet.build_unet((64, 64, 0))
    with pytest.raises(ValueError, match="normalization"):
        unet.build_unet(normalization="layer")
    with pytest.raises(ValueError, match="depth"):
        unet.build_unet(depth=7)


def test_deeplab_shapes_savings_and_footprint():
    model = deeplab.build_deeplab((64, 64, 1), width=4)
    assert model.output_shape == (None, 64, 64, 1)
    out = deeplab.build_deeplab(width=4, output_stride=16, n_classes=3)(np.zeros((2, 80, 48, 1), "float32"))
    assert tuple(out.shape) == (2, 80, 48, 3)
    np.testing.assert_allclose(np.asarray(out).sum(-1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*3"):
        deeplab.build_deeplab((60, 64, 1))
    saving = deeplab.separable_savings(3, 64, 128)
    assert saving["standard"] == 3 * 3 * 64 * 128 and saving["separable"] == 3 * 3 * 64 + 64 * 128
    assert deeplab.atrous_receptive_field(3, 4) == 9
    # Repeated rates leave holes (gridding); doubling rates cover the field.
    assert (deeplab.atrous_footprint([2, 2, 2]) == 0).any()
    assert (deeplab.atrous_footprint([1, 2, 4]) > 0).all()


@pytest.mark.parametrize("output_stride, factor", [(8, 2), (16, 4)])
def test_deeplab_decoder_upsamples_aspp_by_output_stride_over_four(output_stride, factor):
    # Measured on the built model: the ASPP output's side against the first decoder resize's.
    model = deeplab.build_deeplab((128, 128, 1), width=4, output_stride=output_stride)
    aspp_side = model.get_layer("aspp_project_relu").output.shape[1]
    up_side = model.get_layer("decoder_up1").output.shape[1]
    low_side = model.get_layer("stage2_pointwise_relu").output.shape[1]
    assert aspp_side == 128 // output_stride and low_side == 128 // 4
    assert up_side == low_side and up_side // aspp_side == factor
    assert model.get_layer("decoder_up2").output.shape[1] // up_side == 4


def test_split_instances_separates_touching_discs():
    yy, xx = np.mgrid[:60, :100]
    discs = [(30, 30, 16), (30, 58, 14), (30, 84, 9)]
    truth = np.zeros((60, 100), np.int32)
    for k, (cy, cx, r) in enumerate(discs, start=1):
        truth[((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) & (truth == 0)] = k
    labels = split_instances((truth > 0).astype(float))
    assert labels.max() == 3
    assert metrics.instance_scores(labels, truth, thresholds=0.5).f1[0] == 1.0
    assert split_instances(np.zeros((8, 8))).max() == 0
    with pytest.raises(ValueError, match="logit"):
        split_instances(np.full((8, 8), 3.0))


def test_weight_map_is_highest_between_touching_objects():
    lab = np.zeros((20, 40), int)
    lab[5:15, 5:19] = 1
    lab[5:15, 21:35] = 2
    w = unet_weight_map(lab)
    assert w[10, 20] == w.max() and w[10, 20] > 5 * w[0, 0]


def test_weight_map_background_weight_and_bound_of_notebook_06():
    # Notebook 06: w_c = 0.5 / (1 - f) on background, 0.5 / f on objects, so a gap weighs less than
    # w_c + w0 (about 10.6 at f = 10 %), not the paper's 1 + w0 = 11; a one-pixel gap has d1 + d2 = 2.
    lab = np.zeros((20, 40), int)
    lab[5:15, 5:19] = 1
    lab[5:15, 20:34] = 2                                  # a gap one pixel wide, at column 19
    f = (lab > 0).mean()
    w = unet_weight_map(lab)
    assert w[0, 39] == pytest.approx(0.5 / (1 - f), abs=1e-4)     # far from both objects: w_c alone
    assert w[10, 10] == pytest.approx(0.5 / f)
    assert w[10, 19] == pytest.approx(0.5 / (1 - f) + 10 * np.exp(-4 / 50), rel=1e-5) and w.max() == w[10, 19]


@pytest.mark.graph_mode  # long enough for graphs to pay: 12 s traced, 42 s eagerly
def test_loss_falls_when_a_unet_trains_from_scratch():
    """The shipped weights are never the only evidence: a fresh U-Net learns in a few dozen steps."""
    import keras

    keras.utils.set_random_seed(0)
    train, val = train_nuclei.nuclei_splits(16, 4, size=64, seed=3)
    model = unet.build_unet(depth=2, width=8)
    train_nuclei.compile_for_nuclei(model, total_steps=60, learning_rate=3e-3)
    batches = train_nuclei.training_batches(train, batch_size=8, patch_size=64)
    history = model.fit(batches, epochs=4, steps_per_epoch=15, verbose=0).history
    _, dice = model.evaluate(val.images, val.masks, verbose=0)
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert dice > 0.5


def test_training_batches_reject_bad_data():
    train, _ = train_nuclei.nuclei_splits(2, 1, size=64)
    bad = train._replace(masks=train.masks * 2)
    with pytest.raises(ValueError, match="only 0 and 1"):
        train_nuclei.training_batches(bad)
    nan = train._replace(images=np.where(train.images > 0.5, np.nan, train.images))
    with pytest.raises(ValueError, match="NaN"):
        train_nuclei.training_batches(nan)
    with pytest.raises(ValueError, match="patch_size"):
        train_nuclei.training_batches(train, patch_size=128)


def test_pipeline_patches_and_intensity_augmentation():
    from segtutor.datasets import segmentation_dataset

    images = np.random.default_rng(0).random((4, 32, 32)).astype("float32")
    masks = images > 0.5
    ds = segmentation_dataset(images, masks, batch_size=3, augment=("intensity",), patch_size=16, repeat=True)
    x, y = next(iter(ds))
    assert tuple(x.shape) == (3, 16, 16, 1) and tuple(y.shape) == (3, 16, 16)
    with pytest.raises(TypeError, match="shuffle"):
        segmentation_dataset(images, masks, batch_size=2, shuffle="False")


@pytest.fixture(scope="module")
def shipped_unet():
    return pretrained.load_model("unet")


def test_shipped_unet_segments_held_out_nuclei(shipped_unet):
    data = make_nuclei(6, size=256, seed=1234)
    prob = np.stack([pretrained.predict_probability(shipped_unet, im) for im in data.images])
    assert metrics.dice(prob > 0.5, data.masks) > 0.85


def test_shipped_cards_match_the_recipes():
    for name in pretrained.MODELS:
        card = pretrained.model_card(name)
        assert card["architecture"] == train_nuclei.RECIPES[name]
        assert card["training"]["steps"] > 0 and "scores" in card["training"]


def test_segment_nuclei_one_call_any_size_and_dtype(shipped_unet):
    image = (make_nuclei(1, size=128, seed=5).images[0][:100, :90] * 4000).astype(np.uint16)
    labels = pretrained.segment_nuclei(image, model=shipped_unet)
    mask = pretrained.segment_nuclei(image, model=shipped_unet, instances=False)
    assert labels.shape == mask.shape == (100, 90) and labels.dtype == np.int32 and mask.dtype == bool
    with pytest.raises(ValueError, match="2-D grayscale"):
        pretrained.segment_nuclei(np.zeros((32, 32, 3)), model=shipped_unet)
    with pytest.raises(ValueError, match="NaN"):
        pretrained.segment_nuclei(np.full((32, 32), np.nan), model=shipped_unet)
    with pytest.raises(ValueError, match="name"):
        pretrained.load_model("resnet")


def test_a_weights_file_that_does_not_match_fails_clearly(tmp_path, monkeypatch):
    import shutil
    from importlib import resources

    weights = resources.files("segtutor.models") / "weights"
    shutil.copy(weights / "deeplab_nuclei.weights.h5", tmp_path / "unet_nuclei.weights.h5")
    (tmp_path / "unet_nuclei.json").write_text(json.dumps({"architecture": train_nuclei.RECIPES["unet"]}))
    monkeypatch.setattr(pretrained, "_weights_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        pretrained.load_model("unet")


def test_saving_weights_is_atomic(tmp_path, monkeypatch):
    model = train_nuclei.build("unet")

    def broken(self, path, overwrite=True):
        open(path, "wb").write(b"half")
        raise OSError("disk full")

    import keras

    monkeypatch.setattr(keras.Model, "save_weights", broken)
    with pytest.raises(OSError, match="disk full"):
        train_nuclei.save(model, {"steps": 1}, "unet", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_card_names_the_command_that_remakes_the_weights(tmp_path):
    import json

    record = {"steps": 2400, "seed": 0, "n_train": 300, "data_flag": "scaled"}
    train_nuclei.save(train_nuclei.build("unet"), record, "unet", tmp_path)
    card = json.loads((tmp_path / "unet_nuclei.json").read_text())
    assert card["command"] == ("segtutor weights nuclei --out segtutor/models/weights --models unet --data scaled "
                               "--steps 2400 --n-train 300 --seed 0")
    # and the shipped card's command is one the CLI accepts
    from segtutor.cli import build_parser

    shipped = pretrained.model_card("unet")["command"].split()[1:]
    options = build_parser().parse_args(shipped)
    assert options.steps == pretrained.model_card("unet")["training"]["steps"]


def test_fit_checks_the_data_before_training():
    from segtutor.datasets import segmentation_dataset
    from segtutor.losses import keras_loss
    from segtutor.training import check_batch, fit

    model = unet.build_unet(depth=2, width=2)
    images = np.random.default_rng(0).random((4, 16, 16, 1)).astype("float32")
    with pytest.raises(ValueError, match="1 channel.*have 3"):
        check_batch(model, np.repeat(images, 3, axis=-1), images[..., 0] > 0.5)
    with pytest.raises(ValueError, match="values \\[0, 1, 2\\]"):
        check_batch(model, images, np.arange(3)[None, None, None].repeat(4, 0).repeat(16, 1)[..., :16])
    with pytest.raises(ValueError, match="NaN"):
        check_batch(model, np.full_like(images, np.nan), images[..., 0] > 0.5)
    with pytest.raises(ValueError, match="non-empty"):
        check_batch(model, images[:0], images[:0, ..., 0])
    bad = segmentation_dataset(images, (images[..., 0] * 3).astype(int), batch_size=2, augment=False)
    with pytest.raises(ValueError, match="0 and 1"):
        fit(model, bad, epochs=1, steps_per_epoch=1, loss=keras_loss("dice"), live=False)
    good = segmentation_dataset(images, images[..., 0] > 0.5, batch_size=2, augment=False, repeat=True)
    history = fit(model, good, epochs=2, steps_per_epoch=2, loss=keras_loss("dice"), live=False)
    assert len(history.history["loss"]) == 2


def test_prediction_with_and_without_test_time_augmentation():
    model = unet.build_unet(depth=2, width=4)
    image = make_nuclei(1, size=64, seed=2).images[0]
    plain = pretrained.predict_probability(model, image, stride=4, test_time_augmentation=False)
    direct = np.asarray(model(pretrained.normalise_percentile(image)[None, ..., None], training=False))[0, ..., 0]
    np.testing.assert_allclose(plain, direct, atol=1e-6)
    averaged = pretrained.predict_probability(model, image, stride=4)
    views = [np.rot90(np.fliplr(image) if f else image, k) for k in range(4) for f in (False, True)]
    maps = [pretrained.predict_probability(model, v, stride=4, test_time_augmentation=False) for v in views]
    maps = [np.rot90(m, -k) for m, k in zip(maps, [k for k in range(4) for _ in (0, 1)])]
    maps = [np.fliplr(m) if f else m for m, f in zip(maps, [f for _ in range(4) for f in (False, True)])]
    np.testing.assert_allclose(averaged, np.mean(maps, axis=0), atol=1e-5)
