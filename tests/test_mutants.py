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
