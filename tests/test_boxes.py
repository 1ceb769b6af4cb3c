"""Tests of segtutor.boxes against hand-computed cases and independent references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segtutor.boxes import box_area, box_iou, boxes_to_xywh, masks_to_boxes, xywh_to_boxes


# ---------------------------------------------------------------- masks_to_boxes
def test_masks_to_boxes_hand_cases():
    masks = np.zeros((5, 7, 9), bool)
    masks[0, 3:6, 2:4] = True  # rows 3..5, columns 2..3
    masks[1, 0, 0] = True  # top-left pixel
    masks[2, 6, 8] = True  # bottom-right pixel
    masks[3, 1, 1] = masks[3, 5, 7] = True  # two separate pixels: the box spans both
    # masks[4] stays empty
    expected = np.array(
        [[3, 2, 6, 4], [0, 0, 1, 1], [6, 8, 7, 9], [1, 1, 6, 8], [0, 0, 0, 0]], np.int32
    )
    boxes = masks_to_boxes(masks)
    assert boxes.dtype == np.int32
    np.testing.assert_array_equal(boxes, expected)


def test_masks_to_boxes_full_mask_and_single_2d_mask():
    full = np.ones((4, 6), bool)
    np.testing.assert_array_equal(masks_to_boxes(full), [[0, 0, 4, 6]])


def test_masks_to_boxes_slice_reproduces_the_mask():
    # The convention's promise: image[y1:y2, x1:x2] holds the whole mask.
    mask = np.zeros((10, 10), bool)
    mask[2:5, 6:9] = True
    y1, x1, y2, x2 = masks_to_boxes(mask)[0]
    assert mask[y1:y2, x1:x2].all() and mask[y1:y2, x1:x2].sum() == mask.sum() == 9


def test_masks_to_boxes_empty_batch():
    assert masks_to_boxes(np.zeros((0, 5, 5), bool)).shape == (0, 4)


@settings(max_examples=60, deadline=None)
# W >= 2: an (N, H, 1) stack reads like one (H, W, 1) mask and is refused (issue 11).
@given(arrays(bool, st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(2, 12))))
def test_masks_to_boxes_matches_nonzero_reference(masks):
    boxes = masks_to_boxes(masks)
    for mask, box in zip(masks, boxes):
        ys, xs = np.nonzero(mask)
        expected = [0, 0, 0, 0] if ys.size == 0 else [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]
        assert box.tolist() == expected


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((2, 2, 2, 2), bool), "dimensions"),
        (np.full((1, 3, 3), 0.5), "probability"),
        (None, "None"),
    ],
)
def test_masks_to_boxes_rejects_bad_input(bad, words):
    with pytest.raises(ValueError, match=words):
        masks_to_boxes(bad)


# ---------------------------------------------------------------- area and IoU
def test_box_area_hand_cases():
    np.testing.assert_array_equal(box_area([[0, 0, 2, 3], [5, 5, 5, 9], [4, 4, 2, 6], [1, 2, 4, 6]]), [6, 0, 0, 12])


def test_box_iou_hand_cases():
    a = [[0, 0, 2, 2], [0, 0, 4, 4]]
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [0, 2, 2, 4], [10, 10, 12, 12], [1, 1, 3, 3]]
    iou = box_iou(a, b)
    assert iou.shape == (2, 5)
    # [0,0,2,2] vs [1,1,3,3]: intersection 1 pixel, union 4 + 4 - 1 = 7.
    np.testing.assert_allclose(iou[0], [1 / 7, 1.0, 0.0, 0.0, 1 / 7])
    # Touching edges share no pixel because y2/x2 are exclusive.
    assert iou[0, 2] == 0.0
    # [1,1,3,3] inside [0,0,4,4]: 4 / 16.
    np.testing.assert_allclose(iou[1], [0.25, 0.25, 0.25, 0.0, 0.25])


def test_box_iou_zero_area_gives_zero_not_nan():
    iou = box_iou([[2, 2, 2, 2]], [[2, 2, 2, 2], [0, 0, 3, 3]])
    np.testing.assert_array_equal(iou, [[0.0, 0.0]])


def test_box_iou_empty_sets():
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


def _paint(box, shape=(16, 16)):
    m = np.zeros(shape, bool)
    y1, x1, y2, x2 = box
    m[y1:y2, x1:x2] = True
    return m


box_strategy = st.tuples(st.integers(0, 15), st.integers(0, 15), st.integers(0, 15), st.integers(0, 15)).map(
    lambda t: (min(t[0], t[2]), min(t[1], t[3]), max(t[0], t[2]), max(t[1], t[3]))
)


@settings(max_examples=100, deadline=None)
@given(box_strategy, box_strategy)
def test_box_iou_equals_pixel_iou(a, b):
    ma, mb = _paint(a), _paint(b)
    union = (ma | mb).sum()
    expected = (ma & mb).sum() / union if union else 0.0
    assert box_iou([a], [b])[0, 0] == pytest.approx(expected)
    assert box_area([a])[0] == ma.sum()


# ---------------------------------------------------------------- COCO xywh
def test_xywh_hand_cases():
    np.testing.assert_array_equal(boxes_to_xywh([[3, 2, 6, 4]]), [[2, 3, 2, 3]])
    np.testing.assert_array_equal(xywh_to_boxes([[2, 3, 2, 3]]), [[3, 2, 6, 4]])
    np.testing.assert_allclose(xywh_to_boxes(np.array([[1.5, 2.0, 3.0, 4.5]])), [[2.0, 1.5, 6.5, 4.5]])


@settings(max_examples=50, deadline=None)
@given(box_strategy)
def test_xywh_round_trip_and_pycocotools_agree(box):
    from pycocotools import mask as mask_utils

    np.testing.assert_array_equal(xywh_to_boxes(boxes_to_xywh([box])), [box])
    mask = _paint(box)
    if mask.any():
        # pycocotools' own bbox of the RLE is an independent COCO reference.
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        np.testing.assert_array_equal(boxes_to_xywh(masks_to_boxes(mask[None])), [mask_utils.toBbox(rle)])


def test_xywh_rejects_negative_size_and_bad_shapes():
    with pytest.raises(ValueError, match="negative width"):
        xywh_to_boxes([[0, 0, -1, 2]])
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        boxes_to_xywh([[1, 2, 3]])
    with pytest.raises(ValueError, match="finite"):
        box_area([[0, 0, np.nan, 1]])
