"""Tests for the coins ground truth (datasets/coins) and its loader."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from segtutor.datasets.coins import Coins, coins_annotation_path, load_coins

REPO = Path(__file__).resolve().parents[1]
COINS_DIR = REPO / "datasets" / "coins"
JSON_PATH = COINS_DIR.parents[1] / "segtutor" / "data" / "coins_instances.json"
CSV_PATH = COINS_DIR / "coins_shapes.csv"


@pytest.fixture(scope="module")
def coins() -> Coins:
    return load_coins()


@pytest.fixture(scope="module")
def make_annotations():
    spec = importlib.util.spec_from_file_location("make_annotations", COINS_DIR / "make_annotations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes():
    with open(CSV_PATH, newline="", encoding="utf-8") as fh:
        return [{k: (v if k == "note" else float(v)) for k, v in row.items()} for row in csv.DictReader(fh)]


def test_shapes_and_dtypes(coins):
    image, labels, masks, boxes = coins
    assert image.shape == (303, 384) and image.dtype == np.uint8
    assert labels.shape == (303, 384) and labels.dtype == np.int32
    assert masks.shape == (24, 303, 384) and masks.dtype == bool
    assert boxes.shape == (24, 4) and boxes.dtype == np.int32


def test_24_instances_labelled_1_to_24(coins):
    assert sorted(np.unique(coins.labels)) == list(range(25))
    for i in range(24):
        np.testing.assert_array_equal(coins.masks[i], coins.labels == i + 1)
        # A coin is one solid blob: no holes, one piece.
        assert ndimage.label(coins.masks[i])[1] == 1
        np.testing.assert_array_equal(ndimage.binary_fill_holes(coins.masks[i]), coins.masks[i])


def test_no_overlaps_and_coins_apart(coins):
    assert coins.masks.sum(axis=0).max() == 1
    # The closest two coins in the photograph are several pixels apart, so
    # growing each mask by 3 px must still not make any two touch.
    grown = np.stack([ndimage.binary_dilation(m, iterations=3) for m in coins.masks])
    assert grown.sum(axis=0).max() == 1


def test_reading_order(coins):
    cy, cx = np.array([ndimage.center_of_mass(m) for m in coins.masks]).T
    # Rows read off the photograph by eye: centres near y = 50, 125, 195, 265.
    row_of = np.digitize(cy, [90, 160, 230])
    np.testing.assert_array_equal(row_of, np.repeat(np.arange(4), 6))
    for r in range(4):
        assert np.all(np.diff(cx[r * 6 : (r + 1) * 6]) > 20)


def test_masks_cover_coin_pixels(coins):
    image = coins.image.astype(float)
    background = image[coins.labels == 0].mean()
    inside = image[coins.labels > 0].mean()
    assert inside > background + 60  # measured: about 158 against 66
    for m in coins.masks:
        # Every coin is brighter than the background near it, and the rim is
        # where the brightness drops: a band just inside beats one just outside.
        inner = m & ~ndimage.binary_erosion(m, iterations=2)
        outer = ndimage.binary_dilation(m, iterations=2) & ~m
        far = ndimage.binary_dilation(m, iterations=8) & ~ndimage.binary_dilation(m, iterations=4)
        assert image[m].mean() > image[far].mean() + 40
        assert image[inner].mean() > image[outer].mean() + 25


def test_boxes_match_masks(coins):
    for box, m in zip(coins.boxes, coins.masks):
        rows, cols = np.nonzero(m)
        assert tuple(box) == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
        y1, x1, y2, x2 = box
        assert m[y1:y2, x1:x2].sum() == m.sum()


def test_json_boxes_and_areas_agree_with_masks(coins):
    anns = sorted(json.loads(JSON_PATH.read_text())["annotations"], key=lambda a: a["id"])
    for ann, box, m in zip(anns, coins.boxes, coins.masks):
        x, y, w, h = ann["bbox"]
        assert (y, x, y + h, x + w) == tuple(box)
        assert ann["area"] == m.sum()
        assert len(ann["segmentation"][0]) // 2 >= 64  # enough vertices to follow the rim


def test_json_validates_with_pycocotools():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(JSON_PATH))
        assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == ["coin"]
        assert len(gt.getImgIds()) == 1 and len(gt.getAnnIds()) == 24
        # The ground truth scored against itself by the official evaluator
        # must give a perfect mask AP: it only does if every polygon is valid
        # (results must be RLE, so each polygon goes through annToRLE).
        results = [
            {"image_id": a["image_id"], "category_id": 1, "segmentation": gt.annToRLE(a), "score": 1.0}
            for a in gt.loadAnns(gt.getAnnIds())
        ]
        evaluator = COCOeval(gt, gt.loadRes(results), "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


def test_polygons_follow_the_ellipses_in_the_csv(coins):
    """The half-pixel shift between array and COCO coordinates is right."""
    rows, cols = np.mgrid[:303, :384]
    shapes = _shapes()
    assert len(shapes) == 24
    for s, m in zip(shapes, coins.masks):
        theta = np.deg2rad(s["angle"])
        dx, dy = cols - s["cx"], rows - s["cy"]
        u = dx * np.cos(theta) - dy * np.sin(theta)  # along rx, counter-clockwise on screen
        v = dx * np.sin(theta) + dy * np.cos(theta)
        analytic = (u / s["rx"]) ** 2 + (v / s["ry"]) ** 2 <= 1.0
        iou = (analytic & m).sum() / (analytic | m).sum()
        assert iou > 0.97
        # A half-pixel mistake would move the centre by 0.5 px.
        assert np.allclose(ndimage.center_of_mass(m), (s["cy"], s["cx"]), atol=0.1)


def test_regenerating_reproduces_json_byte_for_byte(make_annotations):
    text = make_annotations.dumps(make_annotations.build_coco(make_annotations.read_shapes()))
    assert text.encode("utf-8") == JSON_PATH.read_bytes()


def test_default_path_is_the_repository_folder(monkeypatch):
    monkeypatch.delenv("SEGTUTOR_DATA_DIR", raising=False)
    assert coins_annotation_path() == JSON_PATH


def test_data_dir_override(monkeypatch, tmp_path):
    (tmp_path / "coins").mkdir()
    shutil.copy(JSON_PATH, tmp_path / "coins" / JSON_PATH.name)
    monkeypatch.setenv("SEGTUTOR_DATA_DIR", str(tmp_path))
    assert coins_annotation_path() == tmp_path / "coins" / JSON_PATH.name
    assert load_coins().masks.shape == (24, 303, 384)


def test_missing_file_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGTUTOR_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_coins()
    message = str(info.value)
    assert str(tmp_path / "coins" / "coins_instances.json") in message
    assert "SEGTUTOR_DATA_DIR" in message and "make_annotations.py" in message


def test_broken_file_is_reported(monkeypatch, tmp_path):
    (tmp_path / "coins").mkdir()
    (tmp_path / "coins" / "coins_instances.json").write_text("{not json")
    monkeypatch.setenv("SEGTUTOR_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="not valid JSON"):
        load_coins()


def test_lazy_import_from_datasets_package():
    from segtutor.datasets import load_coins as lazily_loaded

    assert lazily_loaded is load_coins
