"""Notebook 01 (images as arrays): grayscale conversion and bounding boxes."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register
from . import _random

SKIMAGE_GRAY = np.array([0.2125, 0.7154, 0.0721])  # rgb2gray's weights; BT.709's are 0.2126, 0.7152, 0.0722


def _scaled(rgb):
    rgb = np.asarray(rgb)
    return rgb / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)


def _grayscale_case(rng):
    size = _random.shape(rng, 1, 16)
    if rng.random() < 0.6:
        return Case((rng.integers(0, 256, size=(*size, 3), dtype=np.uint8),))
    return Case((rng.random((*size, 3)),))


def _bounding_box_reference(mask):
    from segtutor.boxes import masks_to_boxes

    return masks_to_boxes(np.asarray(mask))[0]


def _box_case(rng):
    size = _random.shape(rng, 1, 20)
    mask = np.zeros(size, bool)
    h, w = size
    for _ in range(int(rng.integers(1, 4))):
        y1, x1 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y2, x2 = int(rng.integers(y1, h)) + 1, int(rng.integers(x1, w)) + 1
        mask[y1:y2, x1:x2] = True
    return Case((mask,))


def _bounding_box_xy(mask):
    y1, x1, y2, x2 = _bounding_box_reference(mask)
    return np.array([x1, y1, x2, y2])


def _bounding_box_inclusive(mask):
    box = _bounding_box_reference(mask).copy()
    box[2:] -= 1
    return box


def _block(h, w, rows, cols):
    out = np.zeros((h, w), bool)
    out[rows, cols] = True
    return out


register(
    Exercise(
        name="to_grayscale",
        function="my_to_grayscale",
        signature="(rgb)",
        reference="segtutor.arrays.to_grayscale",
        forbids=("skimage.color.rgb2gray", "skimage.color.rgba2rgb"),
        fixed=[
            Case((np.array([[[255, 255, 255]]], np.uint8),), "white stays white: 1.0 (uint8 is scaled by 1/255)"),
            Case((np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8),),
                 "pure red, green and blue give the three weights 0.2125, 0.7154, 0.0721"),
            Case((np.array([[[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]]),), "a float image in [0, 1] is not rescaled"),
        ],
        random_case=_grayscale_case,
        edge=[
            Case((np.zeros((1, 1, 3), np.uint8),), "one black pixel"),
            Case((np.array([[[1, 1, 1], [0, 1, 0]]], np.uint8),),
                 "a dark uint8 image is still scaled by 1/255, although no value is above 1: decide by the dtype"),
            Case((np.array([[[255, 0, 0, 128], [0, 0, 255, 0]]], np.uint8),), "a fourth (alpha) channel is ignored"),
        ],
        mistakes={
            "this is the plain mean of the channels: weight them 0.2125 R + 0.7154 G + 0.0721 B":
                lambda rgb: _scaled(rgb).mean(axis=-1),
            "the weights are applied in BGR order: channel 0 is red, so it gets 0.2125":
                lambda rgb: _scaled(rgb) @ SKIMAGE_GRAY[::-1],
            "these are the BT.601 weights (0.299, 0.587, 0.114); this course uses scikit-image's rgb2gray weights (0.2125, 0.7154, 0.0721)":
                lambda rgb: _scaled(rgb) @ np.array([0.299, 0.587, 0.114]),
            "a uint8 image should be scaled to [0, 1]: divide by 255":
                lambda rgb: np.asarray(rgb).astype(np.float64) @ SKIMAGE_GRAY,
        },
    )
)

register(
    Exercise(
        name="bounding_box",
        function="my_bounding_box",
        signature="(mask)",
        reference=_bounding_box_reference,
        hides=("segtutor.boxes.masks_to_boxes",),
        forbids=("skimage.measure.regionprops", "scipy.ndimage.find_objects", "pycocotools.mask.toBbox"),
        fixed=[
            Case((_block(8, 8, slice(3, 6), slice(2, 7)),), "rows 3..5 and columns 2..6 give (3, 2, 6, 7): ends are exclusive"),
            Case((_block(5, 9, slice(0, 2), slice(6, 9)),), "a wide box in the top-right corner"),
            Case((_block(4, 4, slice(0, 4), slice(0, 4)),), "a full mask covers the whole image"),
        ],
        random_case=_box_case,
        edge=[
            Case((_block(6, 6, 2, 4),), "one pixel at row 2, column 4 gives (2, 4, 3, 5)"),
            Case((_block(6, 7, [1, 4], [5, 2]),),
                 "pixels (1, 5) and (4, 2): the box spans the empty rows between them and starts at the leftmost "
                 "column, (1, 2, 5, 6)"),
            Case((np.zeros((5, 5), bool),), "an empty mask gives (0, 0, 0, 0) by the course's convention"),
        ],
        mistakes={
            "this looks like (x, y) where (y, x) was expected: boxes are (y1, x1, y2, x2)": _bounding_box_xy,
            "the ends are inclusive: y2 and x2 are exclusive, one past the last row and column":
                _bounding_box_inclusive,
            "(x, y) order swapped and inclusive ends": lambda m: _bounding_box_xy(m) - np.array([0, 0, 1, 1]),
        },
        off_by_one_hint="the box is off by one pixel: y2 and x2 are exclusive (one past the last row and column)",
    )
)
