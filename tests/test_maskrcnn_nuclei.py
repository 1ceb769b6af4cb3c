"""segtutor.maskrcnn.nuclei and the float16 weight files: small cases, no training beyond two steps."""

from __future__ import annotations

import numpy as np
import pytest

from segtutor.maskrcnn import nuclei

tf = pytest.importorskip("tensorflow")


def test_nuclei_crops_are_quadrants_with_labels():
    images, labels = nuclei.nuclei_crops(6, seed=1)
    assert images.shape == (6, 128, 128) and labels.shape == (6, 128, 128)
    assert images.dtype == np.float32 and labels.dtype == np.int32
    assert 0 <= images.min() and images.max() <= 1 and labels.max() > 0
    with pytest.raises(ValueError, match="n_crops"):
        nuclei.nuclei_crops(0)
    with pytest.raises(ValueError, match="n_crops"):
        nuclei.nuclei_crops(10**6)


def test_nuclei_crops_scaled_are_at_the_mask_rcnn_call_scale():
    from segtutor.models import scale

    images, labels = nuclei.nuclei_crops(8, seed=3, data="scaled")
    assert images.shape == (8, 128, 128) and images.dtype == np.float32 and labels.dtype == np.int32
    # The same images as the shared generator at the Mask R-CNN's diameter (21 px), not a copy of it.
    made = scale.nuclei_at_trained_scale(8, size=128, diameter=scale.TRAINED_DIAMETER["maskrcnn"], seed=3)
    assert np.array_equal(images, made.images) and np.array_equal(labels, made.labels)
    areas = [np.bincount(lab.ravel())[1:] for lab in labels]
    diameters = [2 * np.median(np.sqrt(a[a > 0] / np.pi)) for a in areas if (a > 0).any()]
    assert 21 * 0.8 * 0.7 <= np.median(diameters) <= 21 * 1.25, diameters
    assert not np.array_equal(images, nuclei.nuclei_crops(8, seed=3)[0])  # "vary" stays the default
    with pytest.raises(ValueError, match="data"):
        nuclei.nuclei_crops(2, data="wide")


def test_the_nuclei_mask_rcnn_recipe_takes_data():
    from segtutor.training.errors import TrainError
    from segtutor.training.shipped import SHIPPED

    options = SHIPPED["nuclei-maskrcnn"].Options
    assert options(out="w").data == "scaled"  # what made the shipped weights: the card's command stays true
    assert options(out="w", data="vary").data == "vary"
    with pytest.raises(TrainError, match=r"data \(--data\) should be 'vary' or 'scaled', got 'wide'"):
        options(out="w", data="wide")


def test_the_nuclei_mask_rcnn_recipe_takes_anchor_sizes(capsys):
    from segtutor.cli import main
    from segtutor.training.errors import TrainError
    from segtutor.training.shipped import SHIPPED

    options = SHIPPED["nuclei-maskrcnn"].Options
    assert options(out="w").anchors == (12, 24, 48)  # the shipped weights' (their config and card)
    from segtutor.maskrcnn.weights import load_nuclei_model

    assert tuple(load_nuclei_model().config.anchor_sizes) == options(out="w").anchors
    assert options(out="w", anchors=("12", "24", "48")).anchors == (12, 24, 48)  # as the command line gives them
    for bad in (("8", "16"), ("16", "8", "32"), ("8", "8", "32"), ("a", "b", "c"), ("1", "2", "3")):
        with pytest.raises(TrainError, match=r"anchors \(--anchors\) should be three sizes"):
            options(out="w", anchors=bad)
    # the command line refuses in one line, exit status 2, before any training
    try:
        status = main(["weights", "nuclei-maskrcnn", "--out", "w", "--anchors", "8", "16"])
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    assert "anchors (--anchors) should be three sizes" in capsys.readouterr().err


def test_prepare_nuclei_skips_crowded_crops_and_pads():
    images, labels = nuclei.nuclei_crops(8, seed=0)
    counts = [len(np.unique(lab)) - 1 for lab in labels]
    limit = int(np.median(counts))
    batch = nuclei.prepare_nuclei(images, labels, max_instances=limit)
    assert batch["skipped"] == sum(c > limit for c in counts)
    assert batch["images"].shape[-1] == 3 and 0 <= batch["images"].min() and batch["images"].max() <= 1
    assert set(np.unique(batch["class_ids"])) <= {0, 1}
    with pytest.raises(ValueError, match="same shape"):
        nuclei.prepare_nuclei(images, labels[:, :64])
    with pytest.raises(ValueError, match="raise max_instances"):
        i = int(np.argmax(counts))
        nuclei.prepare_nuclei(images[i:i + 1], labels[i:i + 1], max_instances=1)


def test_labels_from_detections_higher_score_wins_and_threshold():
    masks = np.zeros((3, 6, 6), bool)
    masks[0, :3] = True
    masks[1, 2:5] = True
    masks[2, 5] = True
    labels = nuclei.labels_from_detections({"masks": masks, "scores": np.array([0.9, 0.6, 0.2])})
    np.testing.assert_array_equal(labels[:, 0], [1, 1, 1, 2, 2, 0])
    everything = nuclei.labels_from_detections({"masks": masks, "scores": np.array([0.9, 0.6, 0.2])}, 0.0)
    assert everything[5, 0] == 3
    with pytest.raises(TypeError, match="detections"):
        nuclei.labels_from_detections(masks)
    with pytest.raises(ValueError, match="one score each"):
        nuclei.labels_from_detections({"masks": masks, "scores": np.ones(2)})


def test_compare_with_unet_scores_a_perfect_and_an_empty_detector(monkeypatch):
    """The comparison's bookkeeping on two fake detectors: perfect Mask R-CNN output, and nothing found."""
    from segtutor.maskrcnn import inference

    images, truth = nuclei.nuclei_crops(2, seed=nuclei.NUCLEI_EVAL_SEED)

    def perfect(model, imgs, **kw):
        out = []
        for lab in truth:
            ids = np.unique(lab[lab > 0])
            out.append({"masks": lab[None] == ids[:, None, None], "scores": np.ones(len(ids)),
                        "class_ids": np.ones(len(ids), int)})
        return out

    from segtutor.maskrcnn.model import MaskRCNN

    tiny = MaskRCNN(nuclei.nuclei_config(image_size=32, backbone_widths=(4, 4, 4, 4), fpn_channels=4, head_units=8,
                                         mask_channels=4))
    with pytest.raises(TypeError, match="MaskRCNN"):
        nuclei.compare_with_unet(object(), 2)
    monkeypatch.setattr(inference, "detect", perfect)
    result = nuclei.compare_with_unet(tiny, 2)
    mr = result["rows"][1]
    assert mr["F1@0.5"] == 1.0 and mr["AP50"] > 0.99 and mr["FP"] == 0 and mr["FN"] == 0
    unet = result["rows"][0]
    assert 0 < unet["F1@0.5"] <= 1 and unet["TP"] + unet["FN"] == mr["TP"]
    assert "| Mask R-CNN |" in nuclei.format_comparison(result)

    monkeypatch.setattr(inference, "detect", lambda model, imgs, **kw: [
        {"masks": np.zeros((0, 128, 128), bool), "scores": np.zeros(0), "class_ids": np.zeros(0, int)}] * len(imgs))
    empty = nuclei.compare_with_unet(tiny, 2)["rows"][1]
    assert empty["F1@0.5"] == 0.0 and empty["TP"] == 0 and empty["FN"] == mr["TP"]


def test_float16_weights_round_trip(tmp_path):
    import json

    from segtutor.maskrcnn.model import MaskRCNN
    from segtutor.maskrcnn.weights import load_model_npz, save_weights_npz

    config = nuclei.nuclei_config(image_size=32, backbone_widths=(4, 4, 4, 4), fpn_channels=4, head_units=8,
                                  mask_channels=4)
    model = MaskRCNN(config)
    save_weights_npz(model, tmp_path / "w.npz")
    (tmp_path / "c.json").write_text(json.dumps(config.to_dict()))
    loaded = load_model_npz(tmp_path / "w.npz", tmp_path / "c.json")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    other = nuclei.nuclei_config(image_size=32, backbone_widths=(4, 4, 4, 4), fpn_channels=8, head_units=8,
                                 mask_channels=4)
    (tmp_path / "other.json").write_text(json.dumps(other.to_dict()))
    with pytest.raises(ValueError, match="does not fit"):
        load_model_npz(tmp_path / "w.npz", tmp_path / "other.json")
    with pytest.raises(FileNotFoundError, match="weights_path"):
        load_model_npz(tmp_path / "missing.npz", tmp_path / "c.json")
    with pytest.raises(TypeError, match="MaskRCNN"):
        save_weights_npz("model", tmp_path / "x.npz")


def test_shipped_nuclei_weights_load_and_find_nuclei():
    from segtutor.maskrcnn.inference import detect
    from segtutor.maskrcnn.weights import load_nuclei_model, nuclei_card

    model = load_nuclei_model()
    images, truth = nuclei.nuclei_crops(4, seed=nuclei.NUCLEI_EVAL_SEED)
    found = detect(model, nuclei.to_rgb(images))
    n_true = sum(len(np.unique(t)) - 1 for t in truth)
    n_found = sum(int((d["scores"] >= 0.5).sum()) for d in found)
    assert 0.5 * n_true <= n_found <= 1.5 * n_true, (n_found, n_true)
    assert "Reproduce" in nuclei_card()
