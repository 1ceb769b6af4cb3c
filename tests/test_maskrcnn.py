"""Unit tests of segtutor.maskrcnn on small hand-made cases (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from segtutor.boxes import box_iou
from segtutor.maskrcnn import anchors as anc
from segtutor.maskrcnn import box_coding as bc
from segtutor.maskrcnn.config import MaskRCNNConfig
from segtutor.maskrcnn.data import prepare_instances
from segtutor.maskrcnn.evaluate import coco_ap, precision_recall
from segtutor.maskrcnn.inference import paste_masks
from segtutor.maskrcnn.proposals import nms
from segtutor.maskrcnn.roi_align import bilinear_sample, roi_align_numpy

tf = pytest.importorskip("tensorflow")


# -- boxes ------------------------------------------------------------------------------------------
def test_iou_hand_cases_numpy_and_tf_agree():
    a = np.array([[0, 0, 10, 10], [0, 0, 4, 4]], np.float32)
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 20, 25]], np.float32)
    expected = np.array([[25 / 175, 1.0, 0.0], [0.0, 16 / 100, 0.0]])
    np.testing.assert_allclose(box_iou(a, b), expected, rtol=1e-6)
    np.testing.assert_allclose(bc.iou_tf(tf.constant(a), tf.constant(b)).numpy(), expected, rtol=1e-6)


def test_encode_decode_round_trip_and_tf_match():
    rng = np.random.default_rng(0)
    ref = np.sort(rng.uniform(0, 100, (50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)[:, [0, 1, 2, 3]]
    ref = np.stack([ref[:, 0], ref[:, 1], ref[:, 0] + rng.uniform(1, 40, 50), ref[:, 1] + rng.uniform(1, 40, 50)], 1)
    boxes = ref + rng.normal(0, 3, ref.shape)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    deltas = bc.encode_boxes(boxes, ref)
    np.testing.assert_allclose(bc.decode_boxes(deltas, ref), boxes, atol=1e-3)
    tf_deltas = bc.encode_boxes_tf(tf.constant(boxes, tf.float32), tf.constant(ref, tf.float32)).numpy()
    np.testing.assert_allclose(tf_deltas, deltas, atol=1e-4)
    back = bc.decode_boxes_tf(tf.constant(deltas), tf.constant(ref, tf.float32)).numpy()
    np.testing.assert_allclose(back, boxes, atol=1e-3)


def test_encode_hand_case_with_variances():
    # Centre moves by half the anchor height: dy = 0.5 / 0.1 = 5; the width doubles: dw = log 2 / 0.2.
    d = bc.encode_boxes([[5, 0, 15, 20]], [[0, 0, 10, 10]])
    np.testing.assert_allclose(d, [[5.0, 5.0, 0.0, np.log(2) / 0.2]], rtol=1e-6)


def test_encode_refuses_zero_area_boxes_and_tf_stays_finite():
    with pytest.raises(ValueError, match="log\\(0\\)"):
        bc.encode_boxes([[0, 0, 0, 0]], [[0, 0, 10, 10]])
    d = bc.encode_boxes_tf(tf.zeros([1, 4]), tf.constant([[0.0, 0.0, 10.0, 10.0]]))
    assert np.all(np.isfinite(d.numpy()))


def test_clip_boxes():
    np.testing.assert_array_equal(bc.clip_boxes([[-3, -1, 50, 8]], (20, 30)), [[0, 0, 20, 8]])
    clipped = bc.clip_boxes_tf(tf.constant([[-3.0, -1.0, 50.0, 8.0]]), 20.0, 30.0).numpy()
    np.testing.assert_array_equal(clipped, [[0, 0, 20, 8]])


# -- anchors ------------------------------------------------------------------------------------------
def test_anchor_sizes_ratios_and_centres():
    a = anc.level_anchors(16, 8, 8, ratios=(0.5, 1.0, 2.0))
    assert a.shape == (2 * 2 * 3, 4)
    h, w = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    np.testing.assert_allclose(h * w, 64.0, rtol=1e-5)              # area = size**2
    np.testing.assert_allclose((w / h)[:3], [0.5, 1.0, 2.0], rtol=1e-5)  # ratio = width / height
    centres = np.stack([(a[:, 0] + a[:, 2]) / 2, (a[:, 1] + a[:, 3]) / 2], 1)
    np.testing.assert_allclose(centres[::3], [[4, 4], [4, 12], [12, 4], [12, 12]])  # row-major cell centres


def test_pyramid_anchor_count_and_slices():
    a = anc.pyramid_anchors(128)
    slices = anc.anchor_level_slices(128)
    assert a.shape == (32 * 32 * 3 + 16 * 16 * 3 + 8 * 8 * 3, 4)
    sizes = np.sqrt((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))
    for s, expected in zip(slices, (16, 32, 64)):
        np.testing.assert_allclose(sizes[s], expected, rtol=1e-4)


@pytest.mark.parametrize("bad", [dict(size=0), dict(ratios=()), dict(ratios=(-1,)), dict(stride=np.nan)])
def test_anchor_bad_arguments(bad):
    kwargs = dict(image_size=16, stride=8, size=8, ratios=(1.0,))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        anc.level_anchors(**kwargs)


# -- NMS ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_tensorflow(seed):
    rng = np.random.default_rng(seed)
    y, x = rng.uniform(0, 50, (2, 60))
    boxes = np.stack([y, x, y + rng.uniform(5, 20, 60), x + rng.uniform(5, 20, 60)], 1).astype(np.float32)
    scores = rng.permutation(60).astype(np.float32) / 60  # distinct scores: no tie-breaking differences
    for threshold in (0.3, 0.5, 0.7):
        ours = nms(boxes, scores, threshold, max_output=25)
        theirs = tf.image.non_max_suppression(boxes, scores, 25, iou_threshold=threshold).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_nms_hand_case_and_bad_input():
    boxes = np.array([[0, 0, 10, 10], [0, 1, 10, 11], [0, 20, 10, 30]], float)
    np.testing.assert_array_equal(nms(boxes, [0.5, 0.9, 0.1], 0.5), [1, 2])
    with pytest.raises(ValueError, match="one value per box"):
        nms(boxes, [0.5, 0.9], 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(boxes, [0.5, 0.9, 0.1], 1.5)


# -- RoIAlign ---------------------------------------------------------------------------------------------
def test_bilinear_sample_hand_values():
    f = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert bilinear_sample(f, 0, 0) == 0.0
    assert bilinear_sample(f, 0.5, 0.5) == 1.5
    assert bilinear_sample(f, 1.0, 0.5) == 2.5
    assert bilinear_sample(f, -0.5, 1.0) == 1.0   # within one cell outside: clamped
    assert bilinear_sample(f, -1.5, 0.0) == 0.0   # further out: zero


@pytest.mark.parametrize("sampling_ratio", [1, 2])
def test_roi_align_matches_numpy_reference(sampling_ratio):
    from segtutor.maskrcnn.roi_align import crop_at_bin_centres

    rng = np.random.default_rng(1)
    feature = rng.normal(size=(1, 9, 11, 3)).astype(np.float32)
    boxes = np.array([[0.0, 0.0, 9.0, 11.0], [1.3, 2.7, 5.1, 9.9], [-0.6, -0.4, 3.0, 2.0], [6.0, 8.0, 9.8, 11.5],
                      [2.0, 2.0, 2.5, 2.4]], np.float32)
    n = 4
    crops = crop_at_bin_centres(tf.constant(feature), tf.constant(boxes), tf.zeros([5], tf.int32), n * sampling_ratio)
    ours = tf.nn.avg_pool2d(crops, sampling_ratio, sampling_ratio, "VALID").numpy()
    for box, crop in zip(boxes, ours):
        expected = roi_align_numpy(feature[0], box, output_size=n, sampling_ratio=sampling_ratio)
        np.testing.assert_allclose(crop, expected, atol=1e-5)


def test_roi_align_is_not_crop_and_resize_as_written():
    # A ramp f[i, j] = j: RoIAlign over cells [0, 4) at 4 bins reads the bin centres 0, 1, 2, 3;
    # crop_and_resize with the box normalised naively reads corners spread over 0..4 * (W-1)/W.
    from segtutor.maskrcnn.roi_align import crop_at_bin_centres

    feature = np.tile(np.arange(8, dtype=np.float32), (8, 1))[None, :, :, None]
    ours = crop_at_bin_centres(tf.constant(feature), tf.constant([[0.0, 0.0, 4.0, 4.0]]), tf.zeros([1], tf.int32), 4)
    np.testing.assert_allclose(ours.numpy()[0, 0, :, 0], [0, 1, 2, 3], atol=1e-6)
    naive = tf.image.crop_and_resize(feature, [[0.0, 0.0, 0.5, 0.5]], [0], [4, 4]).numpy()[0, 0, :, 0]
    assert not np.allclose(naive, [0, 1, 2, 3])


def test_level_assignment():
    from segtutor.maskrcnn.roi_align import assign_levels

    boxes = tf.constant([[0, 0, 16, 16], [0, 0, 31, 31], [0, 0, 32, 32], [0, 0, 64, 64], [0, 0, 128, 128]], tf.float32)
    np.testing.assert_array_equal(assign_levels(boxes).numpy(), [0, 0, 1, 2, 2])


# -- targets --------------------------------------------------------------------------------------------
def _tiny_config(**kw):
    base = dict(num_classes=2, image_size=32, backbone_widths=(4, 4, 4, 4), fpn_channels=4, anchor_sizes=(8, 16, 32),
                rpn_batch=8, pre_nms_train=50, post_nms_train=20, pre_nms_test=50, post_nms_test=20,
                rois_per_image=6, roi_positive_fraction=0.5, head_units=8, mask_channels=4, max_instances=3,
                max_detections=5)
    base.update(kw)
    return MaskRCNNConfig(**base)


def test_rpn_targets_hand_built():
    from segtutor.maskrcnn.rpn import rpn_targets

    cfg = _tiny_config(rpn_batch=100)
    anchors = tf.constant([[0, 0, 10, 10], [0, 0, 10, 12], [0, 0, 10, 20], [20, 20, 30, 30], [0, 5, 10, 15]],
                          tf.float32)
    # One real object and two padded slots (class 0), one of them a zero box exactly at an anchor's corner.
    gt = tf.constant([[[0, 0, 10, 10], [0, 0, 0, 0], [20, 20, 30, 30]]], tf.float32)
    ids = tf.constant([[1, 0, 0]], tf.int32)
    labels, targets = rpn_targets(anchors, gt, ids, cfg)
    # IoUs with the object: 1, 0.83, 0.5, 0, 1/3 -> positive, positive, ignored, negative, ignored.
    np.testing.assert_array_equal(labels.numpy()[0], [1, 1, -1, 0, -1])
    t = targets.numpy()[0]
    assert np.all(np.isfinite(t))
    np.testing.assert_allclose(t[0], 0, atol=1e-6)
    np.testing.assert_allclose(t[1], bc.encode_boxes([[0, 0, 10, 10]], [[0, 0, 10, 12]])[0], atol=1e-5)


def test_rpn_targets_best_anchor_rule_and_sampling_limit():
    from segtutor.maskrcnn.rpn import rpn_targets

    cfg = _tiny_config(rpn_batch=4, rpn_positive_fraction=0.5)
    anchors = tf.constant(anc.level_anchors(32, 4, 8, ratios=(1.0,)))  # 64 anchors
    gt = tf.constant([[[3, 3, 9, 9]]], tf.float32)  # IoU with its best anchor is below 0.7
    labels, _ = rpn_targets(anchors, gt, tf.constant([[1]]), cfg)
    lab = labels.numpy()[0]
    assert (lab == 1).sum() >= 1, "every object gets its best anchor"
    assert (lab >= 0).sum() == 4 and (lab == 1).sum() <= 2


def test_detection_targets_hand_built():
    from segtutor.maskrcnn.targets import detection_targets

    cfg = _tiny_config(add_gt_to_proposals=False, rois_per_image=4, roi_positive_fraction=0.5)
    masks = np.zeros((1, 3, 32, 32), np.float32)
    masks[0, 0, 4:12, 4:8] = 1  # left half of its box is the object
    proposals = tf.constant([[[4, 4, 12, 12], [20, 20, 30, 30], [0, 0, 0, 0]]], tf.float32)
    valid = tf.constant([[True, True, False]])
    gt = tf.constant([[[4, 4, 12, 12], [0, 0, 0, 0], [0, 0, 0, 0]]], tf.float32)
    ids = tf.constant([[2, 0, 0]])
    t = {k: v.numpy() for k, v in detection_targets(proposals, valid, gt, ids, tf.constant(masks), cfg).items()}
    np.testing.assert_array_equal(t["class_ids"][0], [2, 0, 0, 0])
    np.testing.assert_array_equal(t["positive"][0], [True, False, False, False])
    np.testing.assert_array_equal(t["weights"][0], [1, 0, 1, 0])  # one positive, one negative filled
    np.testing.assert_allclose(t["rois"][0, 2], [20, 20, 30, 30])
    np.testing.assert_allclose(t["box_targets"][0, 0], 0, atol=1e-6)
    mask = t["mask_targets"][0, 0]
    assert mask.shape == (28, 28)
    np.testing.assert_array_equal(mask[:, :14], 1)
    np.testing.assert_array_equal(mask[:, 14:], 0)


# -- pasting ----------------------------------------------------------------------------------------------
def test_paste_masks_full_half_and_outside():
    probs = np.ones((3, 28, 28), np.float32)
    probs[1, :, 14:] = 0
    boxes = np.array([[2, 3, 7, 9], [0, 0, 10, 10], [-4, 12, 6, 20]], np.float32)
    out = paste_masks(probs, boxes, (16, 16))
    expected0 = np.zeros((16, 16), bool)
    expected0[2:7, 3:9] = True
    np.testing.assert_array_equal(out[0], expected0)
    np.testing.assert_array_equal(out[1][0:10, 0:5], True)
    assert out[1].sum() == 50
    expected2 = np.zeros((16, 16), bool)
    expected2[0:6, 12:16] = True
    np.testing.assert_array_equal(out[2], expected2)
    with pytest.raises(ValueError, match="one square mask per box"):
        paste_masks(probs[:2], boxes, (16, 16))


# -- data checks ----------------------------------------------------------------------------------------------
def _one_image(k=2, size=16):
    masks = np.zeros((k, size, size), bool)
    for i in range(k):
        masks[i, i:i + 3, i:i + 4] = True
    return np.zeros((1, size, size, 3), np.float32), [masks], [np.arange(1, k + 1) % 2 + 1]


def test_prepare_instances_pads_and_drops_empty_masks():
    images, masks, ids = _one_image(2)
    masks[0][1] = False  # an instance with an empty mask: a zero-area box
    out = prepare_instances(images, masks, ids, num_classes=2, max_instances=3)
    assert out["dropped"] == 1
    np.testing.assert_array_equal(out["class_ids"][0], [2, 0, 0])
    np.testing.assert_array_equal(out["boxes"][0, 0], [0, 0, 3, 4])


def test_prepare_instances_accepts_an_image_without_instances():
    out = prepare_instances(np.zeros((1, 8, 8, 3)), [np.zeros((0, 8, 8), bool)], [np.zeros(0, int)],
                            num_classes=1, max_instances=2)
    assert out["class_ids"].sum() == 0


@pytest.mark.parametrize("problem, match", [("size", "is 16x16"), ("many", "max_instances"),
                                            ("class_high", "1..2"), ("class_zero", "1..2"), ("count", "class ids")])
def test_prepare_instances_bad_input(problem, match):
    images, masks, ids = _one_image(3)
    if problem == "size":
        masks = [masks[0][:, :8]]
    elif problem == "class_high":
        ids = [np.array([1, 2, 3])]
    elif problem == "class_zero":
        ids = [np.array([0, 1, 2])]
    elif problem == "count":
        ids = [np.array([1, 2])]
    with pytest.raises(ValueError, match=match):
        prepare_instances(images, masks, ids, num_classes=2, max_instances=2 if problem == "many" else 3)


def test_config_checks():
    with pytest.raises(ValueError, match="multiple of the coarsest stride"):
        MaskRCNNConfig(image_size=100)
    with pytest.raises(ValueError, match="roi_op"):
        MaskRCNNConfig(roi_op="max")
    cfg = MaskRCNNConfig(num_classes=np.int64(2))
    assert MaskRCNNConfig.from_dict(cfg.to_dict()) == cfg


# -- the model on bad and empty input ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    from segtutor.maskrcnn.model import MaskRCNN

    return MaskRCNN(_tiny_config())


def test_losses_are_finite_without_instances_and_with_padding(tiny_model):
    rng = np.random.default_rng(0)
    images = rng.random((2, 32, 32, 3)).astype(np.float32)
    masks = np.zeros((2, 3, 32, 32), np.float32)
    masks[1, 0, 4:20, 6:18] = 1
    boxes = np.zeros((2, 3, 4), np.float32)
    boxes[1, 0] = [4, 6, 20, 18]
    ids = np.zeros((2, 3), np.int32)
    ids[1, 0] = 2  # image 0 has no instances; image 1 one instance and two padded slots
    losses = tiny_model.compute_losses({"images": images, "boxes": boxes, "class_ids": ids, "masks": masks})
    for name, value in losses.items():
        assert np.isfinite(value.numpy()), name
    empty = tiny_model.compute_losses({"images": images, "boxes": np.zeros_like(boxes),
                                       "class_ids": np.zeros_like(ids), "masks": np.zeros_like(masks)})
    assert all(np.isfinite(v.numpy()) for v in empty.values())
    assert float(empty["box_loss"]) == 0.0 and float(empty["mask_loss"]) == 0.0


def test_detection_output_shapes(tiny_model):
    out = tiny_model.predict_step_fn(np.zeros((2, 32, 32, 3), np.float32))
    assert out["boxes"].shape == (2, 5, 4) and out["masks"].shape == (2, 5, 28, 28)
    assert np.all(out["n_valid"].numpy() <= 5)


def test_detect_rejects_wrong_image_size(tiny_model):
    from segtutor.maskrcnn.inference import detect

    with pytest.raises(ValueError, match="image_size"):
        detect(tiny_model, np.zeros((1, 64, 64, 3)))


# -- evaluation ------------------------------------------------------------------------------------------
def test_coco_ap_perfect_empty_and_shifted():
    m = np.zeros((2, 32, 32), bool)
    m[0, 2:12, 2:12] = True
    m[1, 15:30, 16:28] = True
    truth = [{"masks": m, "class_ids": np.array([1, 2])}]
    perfect = [{"masks": m, "class_ids": np.array([1, 2]), "scores": np.array([0.9, 0.8])}]
    assert coco_ap(perfect, truth)["AP"] == pytest.approx(1.0)
    nothing = [{"masks": np.zeros((0, 32, 32), bool), "class_ids": np.zeros(0, int), "scores": np.zeros(0)}]
    assert coco_ap(nothing, truth)["AP"] == pytest.approx(0.0)
    shifted = np.roll(m, 3, axis=2)  # IoU about 0.54 and 0.6: found at 0.5, missed at 0.75
    r = coco_ap([{"masks": shifted, "class_ids": np.array([1, 2]), "scores": np.array([0.9, 0.8])}], truth)
    assert r["AP50"] == pytest.approx(1.0) and r["AP75"] == pytest.approx(0.0)
    pr = precision_recall(perfect, truth)
    assert pr["precision"].shape == (101,)
    np.testing.assert_allclose(pr["precision"], 1.0)


def test_error_cases_hand_built():
    from segtutor.maskrcnn.evaluate import error_cases

    truth = np.zeros((3, 20, 20), bool)
    truth[0, 0:5, 0:5] = True     # found, right class
    truth[1, 10:15, 0:5] = True   # found as the wrong class
    truth[2, 10:20, 10:20] = True  # missed
    pred = np.zeros((4, 20, 20), bool)
    pred[0] = truth[0]
    pred[1] = truth[1]
    pred[2, 0:5, 12:18] = True     # matches nothing: false positive
    pred[3] = truth[0] | truth[1]  # low score: ignored
    cases = error_cases([{"masks": pred, "class_ids": np.array([1, 1, 2, 2]), "scores": np.array([0.9, 0.8, 0.7, 0.1])}],
                        [{"masks": truth, "class_ids": np.array([1, 2, 1])}])[0]
    assert cases["missed"] == [2] and cases["confused"] == [1]
    assert cases["false_positive"] == [2] and cases["merged"] == []
    merged = error_cases([{"masks": pred[3:], "class_ids": np.array([1]), "scores": np.array([0.9])}],
                         [{"masks": truth[:2], "class_ids": np.array([1, 1])}])[0]
    assert merged["merged"] == [0]


def test_detect_tiled_returns_image_sized_masks(tiny_model):
    from segtutor.maskrcnn.inference import detect_tiled

    image = np.random.default_rng(0).random((50, 70)).astype(np.float32)
    found = detect_tiled(tiny_model, image, score_threshold=0.0)
    assert found["masks"].shape[1:] == (50, 70)
    assert len(found["boxes"]) == len(found["scores"]) == len(found["class_ids"])
    with pytest.raises(ValueError, match="stride"):
        detect_tiled(tiny_model, image, stride=0)


def test_average_precision_matches_pycocotools():
    from segtutor.maskrcnn.evaluate import average_precision

    # Four objects of one class, five detections: the matches are unambiguous (disjoint squares).
    truth = np.zeros((4, 40, 40), bool)
    for k in range(4):
        truth[k, 10 * k:10 * k + 8, 2:10] = True
    pred = np.zeros((5, 40, 40), bool)
    pred[0], pred[1], pred[3] = truth[2], truth[0], truth[3]
    pred[2, 0:8, 20:28] = True
    pred[4, 30:38, 20:28] = True
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    ours = average_precision(scores, [True, True, False, True, False], 4)
    theirs = coco_ap([{"masks": pred, "class_ids": np.ones(5, int), "scores": scores}],
                     [{"masks": truth, "class_ids": np.ones(4, int)}])["AP50"]
    assert ours == pytest.approx(theirs, abs=1e-9)
    with pytest.raises(ValueError, match="n_truth"):
        average_precision([0.5], [True], 0)


# -- bad input reaching the model directly (bypassing prepare_instances) ---------------------------------------------
def test_losses_stay_finite_for_a_zero_area_box_with_a_class(tiny_model):
    """A labelled slot whose box has zero area (a degenerate annotation fed straight to the model) gives no NaN."""
    images = np.random.default_rng(1).random((1, 32, 32, 3)).astype(np.float32)
    boxes = np.zeros((1, 3, 4), np.float32)
    boxes[0, 1] = [10, 10, 10, 10]  # zero area
    boxes[0, 2] = [5, 5, 6, 6]      # one pixel
    ids = np.array([[1, 2, 1]], np.int32)
    masks = np.zeros((1, 3, 32, 32), np.float32)
    masks[0, 2, 5, 5] = 1
    losses = tiny_model.compute_losses({"images": images, "boxes": boxes, "class_ids": ids, "masks": masks})
    for name, value in losses.items():
        assert np.isfinite(value.numpy()), name


def test_training_on_images_without_instances_keeps_losses_finite():
    from segtutor.maskrcnn.data import training_dataset
    from segtutor.maskrcnn.model import MaskRCNN, compile_model

    batch = prepare_instances(np.random.default_rng(0).random((4, 32, 32, 3)), [np.zeros((0, 32, 32), bool)] * 4,
                              [np.zeros(0, int)] * 4, num_classes=2, max_instances=3)
    model = compile_model(MaskRCNN(_tiny_config()))
    logs = model.fit(training_dataset(batch, batch_size=2), steps_per_epoch=2, epochs=1, verbose=0,
                     shuffle=False).history
    assert all(np.isfinite(v[-1]) for v in logs.values()), logs
    assert logs["box_loss"][-1] == 0.0 and logs["mask_loss"][-1] == 0.0


@pytest.mark.parametrize("images, match", [(np.full((1, 16, 16, 3), np.nan), "finite"),
                                           (np.full((1, 16, 16, 3), 255.0), "divide uint8"),
                                           (np.zeros((1, 16, 16)), "N, H, W, 3")])
def test_prepare_instances_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        prepare_instances(images, [np.zeros((0, 16, 16), bool)], [np.zeros(0, int)], num_classes=1,
                          max_instances=1)


def test_sample_mask_draws_from_a_generator_whose_state_can_be_saved():
    import tensorflow as tf

    from segtutor.maskrcnn.rpn import sample_mask

    candidates = tf.constant(np.random.default_rng(0).random((3, 50)) < 0.5)
    a, b = tf.random.Generator.from_seed(5), tf.random.Generator.from_seed(5)
    first = sample_mask(candidates, 4, a).numpy()
    assert (first <= candidates.numpy()).all()  # a subset of the candidates
    assert (first.sum(axis=1) == np.minimum(4, candidates.numpy().sum(axis=1))).all()
    assert (sample_mask(candidates, 4, b).numpy() == first).all()  # same state, same sample
    saved = a.state.numpy()
    second = sample_mask(candidates, 4, a).numpy()
    assert (second != first).any()  # the state moved on
    b.reset(saved)
    assert (sample_mask(candidates, 4, b).numpy() == second).all()  # a restored state repeats the draw
    with pytest.raises(TypeError, match="generator"):
        sample_mask(candidates, 4, generator=np.random.default_rng(0))
