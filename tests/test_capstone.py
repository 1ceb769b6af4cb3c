"""Notebook 12's package code: the data-quality report, the example data sets, the export, the widget, Exercise 12.1."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pytest
from PIL import Image

from segtutor.datasets.examples import EXAMPLE_SIZES, corrupt_copy, example_dataset, write_example_dataset
from segtutor.datasets.export import (rle_counts, rle_decode, semantic_to_instances, write_coco_predictions,
                                      write_png_masks)
from segtutor.datasets.quality import PROBLEM_KINDS, QualityReport, channel_count, load_checked, mask_problems


# -- the shipped examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["folder", "coco"])
def test_the_shipped_examples_are_clean_and_small(fmt):
    root = example_dataset(fmt)
    data, report = load_checked(root)
    n, size, _ = EXAMPLE_SIZES[fmt]
    assert report.n_problems == 0 and report.excluded == [] and len(data) == n
    assert data.classes == ("background", "square", "circle", "triangle")
    assert all(im.shape == (size, size, 3) for im in data.images)
    assert all(len(inst) == len(ids) >= 1 for inst, ids in zip(data.instances, data.class_ids))
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 500_000
    assert "Licence" in (root / "README.md").read_text()


@pytest.mark.parametrize("fmt", ["folder", "coco"])
def test_the_shipped_examples_are_what_the_generator_writes(fmt, tmp_path):
    fresh = write_example_dataset(tmp_path, fmt)
    shipped = example_dataset(fmt)
    names = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(fresh, shipped, names, shallow=False)
    assert mismatch == [] and errors == []


def test_segtutor_examples_remakes_the_shipped_examples_byte_for_byte(tmp_path, capsys):
    from segtutor import cli

    stale = tmp_path / "capstone_folder" / "images" / "stale.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from an older run")
    assert cli.main(["examples", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["wrote", str(tmp_path / "capstone_folder"),
                                               "wrote", str(tmp_path / "capstone_coco")]
    for fmt in ("folder", "coco"):
        fresh, shipped = tmp_path / f"capstone_{fmt}", example_dataset(fmt)
        names = sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file())
        assert sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file()) == names
        assert filecmp.cmpfiles(fresh, shipped, names, shallow=False)[1:] == ([], [])


@pytest.mark.parametrize("where", ["out", "capstone_coco"])
def test_segtutor_examples_refuses_a_file_in_one_line_and_deletes_nothing(tmp_path, capsys, where):
    from segtutor import cli

    kept = tmp_path / "capstone_folder" / "mine.txt"
    kept.parent.mkdir()
    kept.write_text("a student's file")
    target = tmp_path / ("notes.txt" if where == "out" else "capstone_coco")
    target.write_text("not a folder")
    out = target if where == "out" else tmp_path
    assert cli.main(["examples", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("segtutor examples: error:") and "is a file" in err, err
    assert kept.read_text() == "a student's file" and target.read_text() == "not a folder"


def test_the_old_python_m_form_names_the_new_command_and_writes_nothing(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "segtutor.datasets.examples", "--out", "x"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "segtutor examples --out DIR" in done.stderr, done.stderr
    assert not any(tmp_path.iterdir())


def test_notebook_12s_training_images_hold_as_few_shapes_as_it_says():
    # Notebook 12 explains why its U-Net cannot name the shapes from the folder example's first 12 images: they
    # hold only 7 squares, 7 circles and 10 triangles (the generator's instances; one circle is cut in two by a
    # shape drawn over it, so the folder's class mask shows it as two regions).
    from segtutor.datasets import make_shapes

    n, size, seed = EXAMPLE_SIZES["folder"]
    ids = np.concatenate(make_shapes(n, size=size, seed=seed).class_ids[:12])
    assert np.bincount(ids, minlength=4)[1:].tolist() == [7, 7, 10]


def test_coco_and_folder_examples_agree_on_what_a_mask_is(tmp_path):
    # the same generator written both ways: the folder's class mask is the COCO instances painted by class
    folder = write_example_dataset(tmp_path / "a", "folder", n_images=3, size=32, seed=5)
    coco = write_example_dataset(tmp_path / "b", "coco", n_images=3, size=32, seed=5)
    a, _ = load_checked(folder)
    b, _ = load_checked(coco)
    for ma, mb in zip(a.masks, b.masks):
        np.testing.assert_array_equal(ma, mb)
    np.testing.assert_allclose(np.stack(a.images), np.stack(b.images))


# -- the quality report --------------------------------------------------------------------------------


def test_a_corrupted_folder_gives_one_line_per_problem_and_keeps_the_rest(tmp_path):
    data, report = load_checked(corrupt_copy(example_dataset("folder"), tmp_path / "bad"))
    kinds = {p.item: p.kind for p in report.problems}
    assert kinds == {"shapes_000": "unreadable", "shapes_001": "size mismatch", "shapes_002": "empty mask",
                     "shapes_003": "bad label", "shapes_004": "mixed channels", "shapes_005": "duplicate id",
                     "shapes_006": "missing pair"}
    assert report.excluded == sorted(kinds) and len(data) == 16 - 7
    assert set(data.names).isdisjoint(kinds)
    text = str(report)
    for item, kind in kinds.items():
        line = next(line for line in text.splitlines() if line.startswith(item))
        assert kind in line
    assert "values [7] are outside the classes 0..3" in text
    assert report.counts() == {k: 1 for k in PROBLEM_KINDS}


def test_a_corrupted_coco_file_gives_the_coco_versions_of_the_problems(tmp_path):
    data, report = load_checked(corrupt_copy(example_dataset("coco"), tmp_path / "bad"))
    kinds = {}
    for p in report.problems:
        kinds.setdefault(p.item, set()).add(p.kind)
    assert kinds == {"shapes_000.png": {"unreadable"}, "shapes_001.png": {"size mismatch"},
                     "shapes_002.png": {"empty mask"}, "shapes_004.png": {"mixed channels"},
                     "shapes_005.png": {"duplicate id"}, "shapes_006.png": {"duplicate id"},
                     "shapes_007.png": {"bad label"}}
    assert len(data) == 9 and "category_id 99" in str(report)


def test_labels_are_only_checked_against_known_classes(tmp_path):
    root = write_example_dataset(tmp_path, "folder", n_images=3, size=32)
    (root / "classes.txt").unlink()
    mask = np.array(Image.open(root / "masks" / "shapes_000.png"))
    mask[0, 0] = 9
    Image.fromarray(mask).save(root / "masks" / "shapes_000.png")
    data, report = load_checked(root)
    assert report.n_problems == 0 and "inferred" in report.classes_from and len(report.classes) == 10
    data, report = load_checked(root, classes=["background", "square", "circle", "triangle"])
    assert [p.kind for p in report.problems] == ["bad label"] and len(data) == 2


def test_empty_masks_can_be_kept(tmp_path):
    root = write_example_dataset(tmp_path, "folder", n_images=3, size=32)
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "masks" / "shapes_001.png")
    assert len(load_checked(root)[0]) == 2
    data, report = load_checked(root, keep_empty=True)
    assert len(data) == 3 and report.n_problems == 1 and data.instances[1].shape == (0, 32, 32)


def test_colour_masks_and_duplicate_annotation_ids_are_reported(tmp_path):
    root = write_example_dataset(tmp_path / "f", "folder", n_images=3, size=32)
    Image.fromarray(np.dstack([np.zeros((32, 32), np.uint8), np.full((32, 32), 255, np.uint8),
                               np.zeros((32, 32), np.uint8)])).save(root / "masks" / "shapes_002.png")
    _, report = load_checked(root)
    assert [(p.item, p.kind) for p in report.problems] == [("shapes_002", "bad label")]
    assert "colour (RGB) mask" in report.problems[0].detail

    coco = write_example_dataset(tmp_path / "c", "coco", n_images=3, size=32)
    path = coco / "annotations.json"
    content = json.loads(path.read_text())
    content["annotations"].append(dict(content["annotations"][0]))
    path.write_text(json.dumps(content))
    data, report = load_checked(path)
    assert [p.kind for p in report.problems] == ["duplicate id"] and "dropped" in report.problems[0].detail
    assert len(data) == 3


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"images": [], "annotations": [], "categories": []}'])
def test_files_that_are_not_coco_raise_one_clear_error(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="COCO|JSON|no images"):
        load_checked(path)


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data set"):
        load_checked(tmp_path / "missing")
    with pytest.raises(TypeError, match="path"):
        load_checked(3)
    with pytest.raises(TypeError, match="keep_empty"):
        load_checked(example_dataset("folder"), keep_empty="False")
    with pytest.raises(ValueError, match="classes"):
        load_checked(example_dataset("folder"), classes=["background"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        load_checked(tmp_path / "empty")
    with pytest.raises(ValueError, match="n_classes"):
        mask_problems(np.zeros((2, 2), int), 1)
    with pytest.raises(TypeError, match="mode"):
        channel_count(3)
    assert channel_count("LA") == 2 and channel_count("RGBA") == 4
    assert isinstance(load_checked(example_dataset("folder"))[1], QualityReport)


def test_a_huge_image_is_refused_before_decoding(tmp_path):
    root = write_example_dataset(tmp_path, "folder", n_images=2, size=32)
    Image.new("L", (8000, 8000)).save(root / "images" / "shapes_000.png")
    _, report = load_checked(root)
    assert report.problems[0].kind == "unreadable" and "over" in report.problems[0].detail


# -- export --------------------------------------------------------------------------------------------


def test_rle_counts_match_pycocotools():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    for _ in range(100):
        mask = rng.random(tuple(rng.integers(1, 12, size=2))) < rng.random()
        counts = rle_counts(mask)
        assert counts.sum() == mask.size
        rle = mask_utils.frPyObjects({"size": list(mask.shape), "counts": counts.tolist()}, *mask.shape)
        np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), mask)
        np.testing.assert_array_equal(rle_decode(counts, mask.shape), mask)
    assert rle_counts(np.ones((2, 2), bool)).tolist() == [0, 4]
    with pytest.raises(ValueError, match="only 0 and 1"):
        rle_counts(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="sum to"):
        rle_decode([1, 2], (2, 2))


def test_coco_predictions_load_back_with_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(1)
    masks = rng.random((3, 20, 30)) < 0.3
    masks[2] = False  # an empty prediction is skipped: it has no box
    path = tmp_path / "out" / "pred.json"
    content = write_coco_predictions(path, [{"masks": masks, "class_ids": [1, 2, 1], "scores": [0.9, 0.4, 0.2]}],
                                     ["background", "a", "b"], names=["img.png"])
    coco = COCO(str(path))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 2 and [a["score"] for a in anns] == [0.9, 0.4]
    for ann, mask in zip(anns, masks):
        np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), mask)
    # the annotations are also a results list: scoring predictions against themselves gives AP 1
    ev = COCOeval(coco, coco.loadRes(content["annotations"]), "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="class_ids"):
        write_coco_predictions(path, [{"masks": masks, "class_ids": [1, 5, 1]}], ["a", "b"])
    # an image without any predicted object is still listed, with no annotation
    nothing = write_coco_predictions(path, [{"masks": np.zeros((0, 20, 30), bool), "class_ids": []}], ["a"])
    assert len(nothing["images"]) == 1 and nothing["annotations"] == []
    assert COCO(str(path)).getAnnIds() == []
    with pytest.raises(TypeError, match="list of dicts"):
        write_coco_predictions(path, {"masks": masks}, ["a"])


def test_png_masks_read_back_with_scikit_image(tmp_path):
    from skimage.io import imread

    small = np.array([[0, 1], [2, 3]], np.int32)
    many = np.arange(600, dtype=np.int32).reshape(20, 30)
    paths = write_png_masks(tmp_path, [small, many], ["small", "many"])
    np.testing.assert_array_equal(imread(paths[0]), small)
    np.testing.assert_array_equal(imread(paths[1]), many)
    assert imread(paths[0]).dtype == np.uint8 and imread(paths[1]).dtype == np.uint16
    with pytest.raises(ValueError, match="names"):
        write_png_masks(tmp_path, [small], ["../escape"])
    with pytest.raises(ValueError, match="65535"):
        write_png_masks(tmp_path, [small * 100000], ["big"])


def test_semantic_to_instances_splits_each_class_into_regions():
    masks, ids = semantic_to_instances(np.array([[1, 1, 0, 2], [0, 0, 0, 2], [1, 0, 2, 0]]), 3)
    assert ids.tolist() == [1, 1, 2, 2] and masks.sum(axis=(1, 2)).tolist() == [2, 1, 2, 1]
    with pytest.raises(ValueError, match="outside"):
        semantic_to_instances(np.array([[3]]), 3)


# -- the widget ----------------------------------------------------------------------------------------


def test_quality_browser_shows_kept_and_excluded_items(tmp_path):
    from segtutor.widgets.quality import QualityBrowser, item_picture

    data, report = load_checked(corrupt_copy(example_dataset("folder"), tmp_path / "bad"))
    browser = QualityBrowser(data, report)
    assert browser.item == "shapes_000" and "excluded" in browser.status() and "unreadable" in browser.status()
    excluded = browser.snapshot()
    browser.index.value = browser.all_items.index("shapes_008")
    assert "kept" in browser.status() and "shapes_008" in browser.status()
    kept = browser.snapshot()
    assert kept.shape != excluded.shape or not np.array_equal(kept, excluded)
    browser.only_flagged.value = True
    assert browser.index.max == 6 and browser.item in browser.flagged
    picture = item_picture(data.images[0], data.masks[0], size=64)
    assert picture.dtype == np.uint8 and picture.shape == (64, 136, 3)
    with pytest.raises(TypeError, match="report"):
        QualityBrowser(data, "report")
    with pytest.raises(ValueError, match="same height"):
        item_picture(np.zeros((4, 4)), np.zeros((4, 5), int))


# -- Exercise 12.1 -------------------------------------------------------------------------------------


def test_exercise_12_1_grades_really():
    from segtutor.exercises import check
    from segtutor.exercises.specs import nb12

    assert check("rle_counts", rle_counts, verbose=False).passed
    wrong = check("rle_counts", nb12._row_major, verbose=False)
    assert not wrong.passed and "column by column" in str(wrong)
    wrong = check("rle_counts", nb12._no_leading_zero, verbose=False)
    assert not wrong.passed and "start with 0" in str(wrong)
    wrong = check("rle_counts", nb12._last_run_dropped, verbose=False)
    assert not wrong.passed and "H * W" in str(wrong)


def test_two_excluded_items_look_different():
    # The browser test moves the item slider across excluded items: each must show its own name and problems.
    from segtutor.widgets.quality import excluded_picture

    a = excluded_picture("a.png", [("size mismatch", "64x64 image, 32x32 mask")])
    b = excluded_picture("b.png", [("unreadable file", "truncated PNG")])
    assert a.shape == b.shape == (192, 192, 3) and a.dtype == np.uint8
    assert (a != b).any(axis=-1).sum() > 100
    with pytest.raises(TypeError, match="problems"):
        excluded_picture("a.png", None)
