"""Headless tests of the notebook 08-10 widgets: set a control, check the picture and the text."""

import numpy as np
import pytest

from segtutor.maskrcnn.anchors import level_anchors
from segtutor.maskrcnn.pictures import STAGES, anchor_match_counts, anchor_match_picture
from segtutor.widgets._base import to_rgb_uint8
from segtutor.widgets.anchors import AnchorExplorer


@pytest.fixture(scope="module")
def scene():
    images = np.zeros((2, 64, 64, 3), np.float32)
    images[:, 10:30, 12:28] = 0.8
    boxes = [np.array([[10, 12, 30, 28]]), np.zeros((0, 4))]
    return images, boxes


def test_anchor_explorer_matches_the_pure_function(scene):
    images, boxes = scene
    w = AnchorExplorer(images, boxes)
    w.level.value = "P2 (stride 4)"
    assert w.size.value == 16  # a new level starts from its usual size
    w.size.value = 20
    expected, counts = anchor_match_picture(images[0], boxes[0], size=20, ratios=(0.5, 1.0, 2.0), stride=4)
    np.testing.assert_array_equal(w.snapshot(), to_rgb_uint8(expected))
    assert f"{int(counts['positive'].sum())} positive" in w.message.value
    w.image_index.value = 1  # no objects: every anchor is negative
    assert "0 positive" in w.message.value and w.error is None


def test_anchor_explorer_bad_settings_show_a_message(scene):
    w = AnchorExplorer(*scene)
    w.ratios.value = ()
    assert w.error is not None and "ratio" in w.message.value
    w.ratios.value = (1.0,)
    w.neg_iou.value = 0.9
    assert w.error is not None and "negative threshold" in w.message.value


def test_anchor_counts_hand_case():
    anchors = level_anchors(16, 8, 8, ratios=(1.0,))  # four 8x8 anchors on a 2x2 grid
    counts = anchor_match_counts(np.array([[0, 0, 8, 8]]), anchors, pos_iou=0.7, neg_iou=0.3)
    np.testing.assert_array_equal(counts["positive"], [True, False, False, False])
    np.testing.assert_array_equal(counts["negative"], [False, True, True, True])
    rescued = anchor_match_counts(np.array([[0, 0, 8, 12]]), anchors, pos_iou=0.9, neg_iou=0.3)
    assert rescued["rescued"] == 1 and rescued["positive"].sum() == 1
    with pytest.raises(ValueError):
        anchor_match_counts(np.zeros((0, 4)), anchors, pos_iou=0.2, neg_iou=0.5)


def test_stage_browser_draws_every_stage():
    pytest.importorskip("tensorflow")
    from segtutor.maskrcnn.config import MaskRCNNConfig
    from segtutor.maskrcnn.model import MaskRCNN
    from segtutor.widgets.stages import StageBrowser

    cfg = MaskRCNNConfig(num_classes=2, image_size=32, backbone_widths=(4, 4, 4, 4), fpn_channels=4,
                         head_units=8, mask_channels=4, pre_nms_test=50, post_nms_test=20, max_detections=5)
    model = MaskRCNN(cfg)
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    browser = StageBrowser(model, images, class_names=("background", "a", "b"))
    shapes = set()
    for stage in STAGES:
        browser.stage.value = stage
        assert browser.error is None, (stage, browser.error)
        shapes.add(browser.snapshot().shape)
        browser.score.value = 0.0
    assert len(shapes) >= 3  # the stages are different pictures
    assert "proposals after NMS" in browser.message.value
    with pytest.raises(ValueError, match="shape"):
        StageBrowser(model, np.zeros((1, 64, 64, 3)))
