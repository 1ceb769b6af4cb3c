"""Graded exercises: ``check(...)`` for students, specs for the grader.

In a notebook::

    from segtutor.exercises import check
    check("iou", my_iou)

prints which checks passed and, for the first that failed, the input, the
expected value, what came back and the probable mistake. It never raises
because of a bug in your function, and the notebook goes on after an
unfinished exercise.

Adding an exercise (about 15 lines)
-----------------------------------
Put a module in ``segtutor/exercises/specs/`` (any name; every module there is
loaded) that calls :func:`register`::

    from segtutor.exercises import Case, Exercise, register

    register(Exercise(
        name="conv_output_size",
        function="my_conv_output_size",
        signature="(size, kernel, stride=1, padding=0)",
        reference="segtutor.convolution.conv_output_size",  # imported lazily
        fixed=[Case((5, 3), "a 3x3 kernel on 5 pixels leaves 3")],
        random_case=lambda rng: Case((int(rng.integers(3, 64)), int(rng.choice([1, 3, 5])))),
        edge=[Case((1, 1), "one pixel, one-pixel kernel")],
        mistakes={"you forgot the + 1": lambda size, kernel, stride=1, padding=0:
                  (size + 2 * padding - kernel) // stride},
    ))

Arguments must be NumPy arrays or Python scalars (the grader sends them to a
separate kernel as JSON), and the reference must return numbers or arrays.
A case where the reference raises expects the student's function to raise
too. Use ``compare=`` when equality is too strict (see the Otsu spec). Then
make the notebook's two cells with :func:`segtutor.exercises.authoring.exercise_cells`.
"""

from .results import CaseResult, ExerciseResult, Outcome
from ._engine import (
    BadReturn,
    Case,
    CheckResult,
    Exercise,
    check,
    default_compare,
    exercise_names,
    get_exercise,
    register,
    to_plain,
)

__all__ = [
    "check",
    "Case",
    "Exercise",
    "CheckResult",
    "register",
    "get_exercise",
    "exercise_names",
    "to_plain",
    "default_compare",
    "BadReturn",
    "Outcome",
    "CaseResult",
    "ExerciseResult",
]
