"""Every wrong solution in tests/_mutants fails its exercise's check (a 100 % mutation score).

A mutant must be caught by the public fixed and edge cases alone (``n_random=0``),
so a student who makes that mistake sees it on every run, whatever the random
cases are; the grader scores those same cases, so the mutant also loses points
there (the grading-path test below runs a sample through ``segtutor grade``).
"""

from __future__ import annotations

import pytest

from _mutants import all_mutants, written_mutants
from segtutor.exercises import check, exercise_names

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


def _killed(name, desc):
    result = check(name, MUTANTS[name][desc], n_random=0, verbose=False)
    assert result.attempted
    assert not result.passed, f"{name}: the mutant '{desc}' passes every check:\n{result.report}"


@pytest.mark.parametrize(("name", "desc"), _params(False))
def test_mutant_fails_its_check(name, desc):
    _killed(name, desc)


@pytest.mark.parametrize(("name", "desc"), _params(True))
def test_keras_mutant_fails_its_check(name, desc):
    _killed(name, desc)


# Written mutants whose report names a classic mistake, checked by hand to be the
# same mistake (or one the hint describes correctly). Any other written mutant
# must get no classic hint: a hint that names the wrong mistake is worse than none.
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


@pytest.mark.parametrize(("name", "desc"), _params(False))
def test_hints_name_the_real_mistake_or_none(name, desc):
    from segtutor.exercises import get_exercise

    spec = get_exercise(name)
    result = check(name, MUTANTS[name][desc], n_random=0, verbose=False)
    if desc.startswith("classic: "):
        assert result.hint == desc.removeprefix("classic: "), result.report
    elif (name, desc) in RIGHT_CLASSIC_HINT:
        assert result.hint.startswith(RIGHT_CLASSIC_HINT[name, desc]), result.report
    else:
        assert result.hint not in spec.mistakes, f"{name}: '{desc}' is blamed on another mistake:\n{result.report}"
