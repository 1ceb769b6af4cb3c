"""Every wrong solution in tests/_mutants fails its exercise's check (a 100 % mutation score).

A mutant must be caught by the public fixed and edge cases alone (``n_random=0``),
so a student who makes that mistake sees it on every run, whatever the random
cases are; the grader scores those same cases, so the mutant also loses points
there (the grading-path test below runs a sample through ``segtutor grade``).
"""

from __future__ import annotations

import pytest

from _mutants import all_mutants, written_mutants
from segtutor.exercises import check, exercise_names, get_exercise

MUTANTS = all_mutants()
# The U-Net blocks are the only exercises that need TensorFlow.
NEEDS_TENSORFLOW = {"encoder_block", "decoder_block"}


def _params(tensorflow: bool):
    return [pytest.param(name, desc, id=f"{name}: {desc[:60]}")
            for name in sorted(MUTANTS) if (name in NEEDS_TENSORFLOW) == tensorflow
            for desc in MUTANTS[name]]


def test_every_exercise_has_written_mutants():
    written = written_mutants()
    assert set(written) <= set(exercise_names()), set(written) - set(exercise_names())
    missing = [n for n in exercise_names() if len(written.get(n, {})) < 2]
    assert not missing, f"exercises with fewer than two written mutants: {missing}"


def _killed_and_hinted(name, desc):
    result = check(name, MUTANTS[name][desc], n_random=0, verbose=False)
    assert result.attempted
    assert not result.passed, f"{name}: the mutant '{desc}' passes every check:\n{result.report}"
    # The hint names the real mistake or none.
    mistakes = get_exercise(name).mistakes
    if desc.startswith("classic: "):
        assert result.hint == desc.removeprefix("classic: "), result.report
    elif (name, desc) in RIGHT_CLASSIC_HINT:
        assert result.hint and result.hint.startswith(RIGHT_CLASSIC_HINT[name, desc]), result.report
    else:
        assert result.hint not in mistakes, f"{name}: '{desc}' is blamed on another mistake:\n{result.report}"


@pytest.mark.parametrize(("name", "desc"), _params(False))
def test_mutant_fails_its_check(name, desc):
    _killed_and_hinted(name, desc)


@pytest.mark.parametrize(("name", "desc"), _params(True))
def test_keras_mutant_fails_its_check(name, desc):
    _killed_and_hinted(name, desc)


# Written mutants whose report names a classic mistake, checked by hand to be the
# same mistake (or one the hint describes correctly). Any other written mutant
# must get no classic hint (test_mutant_fails_its_check): a hint that names the
# wrong mistake is worse than none.
RIGHT_CLASSIC_HINT = {
    ("bilinear_sample", "a point at y = H or x = -1 reads 0 (>= instead of >)"): "points within one cell outside",
    ("bilinear_sample", "rounds the point to the nearest cell centre first"): "that is the nearest cell",
    ("bounding_box", "inclusive ends on both axes"): "the ends are inclusive",
    ("box_iou_matrix", "no guard: two zero-area boxes give NaN"): "two zero-area boxes have a union of 0",
    ("box_iou_matrix", "clamps the product h * w instead of each side"): "disjoint boxes need the overlap clamped",
    ("conv2d", "flips the kernel"): "you flipped the kernel",
    ("nms", "sorted by index"): "return the kept indices in order of decreasing score",
    ("rle_counts", "an empty mask gives no runs"): "the last run is missing",
    ("rle_counts", "transposes and then reads column by column (row order)"): "COCO walks the mask column by column",
    ("softmax_cross_entropy", "sums instead of averaging"): "you summed over the batch",
    ("to_grayscale", "decides to scale by the largest value, not the dtype"): "a uint8 image should be scaled",
}


# -- the grading path ----------------------------------------------------------------

# A sample of mutants of tests/submissions/source/tiny.ipynb's three exercises, as a
# student's cells would hold them (the grader runs the notebook in its own kernel).
GRADED_SAMPLE = {
    "fraction_above": ("def my_fraction_above(image, threshold):\n"
                       "    return float(np.mean(np.asarray(image) >= threshold))\n"),
    "iou": ("def my_iou(pred, truth):\n"  # no shape check: NumPy broadcasts (1, 3) against (3, 3)
            "    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)\n"
            "    union = (pred | truth).sum()\n"
            "    return 1.0 if union == 0 else float((pred & truth).sum() / union)\n"),
    "bounding_box": ("def my_bounding_box(mask):\n"  # y2 from the number of rows that hold a pixel
                     "    mask = np.asarray(mask, bool)\n"
                     "    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))\n"
                     "    if rows.size == 0:\n"
                     "        return np.zeros(4, int)\n"
                     "    return np.array([rows[0], cols[0], rows[0] + rows.size, cols[-1] + 1])\n"),
}


def test_graded_mutants_score_below_full_marks(tmp_path):
    import nbformat
    from pathlib import Path

    import numpy as np

    from segtutor.exercises import get_exercise
    from segtutor.exercises._engine import run_student
    from segtutor.grading.grade import GradeOptions, case_seed, grade_submission, load_sources
    from segtutor.grading.sandbox import sandbox_problem

    source = Path(__file__).resolve().parent / "submissions" / "source" / "tiny.ipynb"
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        name = cell.metadata.get("segtutor", {}).get("exercise")
        if name and "function" in cell.metadata["segtutor"]:
            cell.source = GRADED_SAMPLE[name]
    path = tmp_path / "mutant_student.ipynb"
    nbformat.write(nb, path)
    # In the bubblewrap sandbox where it works; otherwise the grader's good-faith mode (these
    # cells are ours, not an attacker's, so running them unsandboxed is safe).
    options = GradeOptions(seed=7, cell_timeout=20, probe_timeout=30, notebook_timeout=120, memory_limit_mb=2048,
                           sandbox=sandbox_problem() is None)
    result = grade_submission(path, load_sources([source]), options)
    assert str(result.status) == "ok", result.notes
    for name, code in GRADED_SAMPLE.items():
        points = result.max_points[name]
        assert result.scores[name] < points, f"{name}: the mutant got full marks\n{result.to_feedback()}"
        # ... and exactly what the same function earns on the same cases here.
        namespace = {"np": np}
        exec(code, namespace)
        spec = get_exercise(name)
        cases = spec.grading_cases(case_seed(options.seed, "mutant_student", name))
        fraction = spec.score(cases, [run_student(namespace[spec.function], c) for _, c in cases]).fraction
        assert result.scores[name] == pytest.approx(round(points * fraction, 2), abs=0.011)
