"""Helpers for notebook authors: the two cells of a graded exercise.

An exercise in a source notebook (``notebooks/NN_name.ipynb``, which keeps
the solutions) is two code cells:

1. the solution cell, ``def my_iou(pred, truth): ...`` whose body holds a
   ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region;
2. the check cell, ``check("iou", my_iou)``, locked.

Both carry nbgrader-compatible metadata (so a source notebook still opens in
nbgrader) plus a ``segtutor`` entry naming the exercise and the function.
``segtutor release`` replaces the solution region with a stub that raises
``NotImplementedError`` and locks the check cell; ``segtutor grade`` reads
the exercise list and points from the source notebook's metadata.

Example
-------
>>> from segtutor.exercises.authoring import exercise_cells
>>> solution, check_cell = exercise_cells("iou", '''
... def my_iou(pred, truth):
...     \"\"\"Intersection over union of two boolean masks of one shape.\"\"\"
...     ### BEGIN SOLUTION
...     inter = np.logical_and(pred, truth).sum()
...     union = np.logical_or(pred, truth).sum()
...     return 1.0 if union == 0 else inter / union
...     ### END SOLUTION
... ''', points=2)
>>> check_cell.source
'check("iou", my_iou)'
>>> solution.metadata["segtutor"]
{'exercise': 'iou', 'function': 'my_iou'}

Then ``nb.cells += [solution, check_cell]``. A markdown cell before them
that states the task is the author's job. Later cells should use the
package's own implementation (``segtutor.metrics.iou``), never ``my_iou``,
so a student who is stuck is never blocked.
"""

from __future__ import annotations

import ast
import numbers
import re

import nbformat

from .._validate import ArgumentTypeError, check_scalar, check_str

__all__ = ["exercise_cells", "solution_metadata", "check_metadata", "BEGIN", "END"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"


def solution_metadata(name: str, function: str) -> dict:
    """Metadata of an exercise's solution cell (nbgrader schema 3)."""
    name, function = check_str(name, "name"), check_str(function, "function")
    return {
        "nbgrader": {
            "grade": False,
            "grade_id": name,
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        },
        "segtutor": {"exercise": name, "function": function},
    }


def check_metadata(name: str, points) -> dict:
    """Metadata of an exercise's check cell (nbgrader schema 3); ``points`` a positive finite number."""
    name = check_str(name, "name")
    points = check_scalar(points, "points", low=0, low_open=True)
    return {
        "nbgrader": {
            "grade": True,
            "grade_id": f"{name}_check",
            "locked": True,
            "points": points,
            "schema_version": 3,
            "solution": False,
            "task": False,
        },
        "segtutor": {"exercise": name},
    }


def _function_name(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"function_source is not valid Python: {exc}. Fix the code before making the cells.") from None
    defs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not defs:
        raise ValueError(
            "function_source defines no function; expected `def my_name(...):` with a docstring "
            "and a ### BEGIN SOLUTION / ### END SOLUTION region."
        )
    return defs[0]


def exercise_cells(name: str, function_source: str, points=2, *, check_source: str | None = None):
    """Return the solution cell and the check cell of one exercise.

    Parameters
    ----------
    name : str
        The exercise id registered in :mod:`segtutor.exercises` (``"iou"``).
    function_source : str
        The whole solution cell: imports if needed, then ``def my_x(...):``
        with a docstring and one ``### BEGIN SOLUTION`` / ``### END SOLUTION``
        region holding the solution. The first function defined is the one
        graded.
    points : int or float
        Points of the exercise, written into the check cell's metadata.
    check_source : str, optional
        Source of the check cell; ``check("name", my_x)`` by default.

    Returns
    -------
    (solution_cell, check_cell) : tuple of nbformat.NotebookNode
        Code cells with nbgrader-compatible and ``segtutor`` metadata.

    Raises
    ------
    ValueError
        If the name is unknown, the source has no function or no complete
        solution region, or points is not a positive number.
    """
    from . import exercise_names

    if not isinstance(name, str) or name not in exercise_names():
        raise ValueError(
            f"no exercise called {name!r} is registered; expected a name among {exercise_names()}. "
            "Add a spec module under segtutor/exercises/specs/ first (see segtutor.exercises)."
        )
    if isinstance(points, bool) or not isinstance(points, numbers.Real) or not points > 0:
        raise ValueError(f"points should be a positive number, got {points!r}.")
    if not isinstance(function_source, str):
        raise ValueError(f"function_source should be a string of Python code, got {type(function_source).__name__}.")
    if check_source is not None and not isinstance(check_source, str):
        raise ArgumentTypeError(f"check_source should be a string of Python code or None, "
                                f"got {type(check_source).__name__}.")
    source = function_source.strip("\n")
    begins = len(re.findall(r"^\s*### BEGIN SOLUTION\s*$", source, re.M))
    ends = len(re.findall(r"^\s*### END SOLUTION\s*$", source, re.M))
    if begins != 1 or ends != 1:
        raise ValueError(
            f"function_source should hold exactly one {BEGIN!r} line and one {END!r} line, "
            f"found {begins} and {ends}. Put the solution between them, each marker on its own line."
        )
    if source.index(BEGIN) > source.index(END):
        raise ValueError(f"{END!r} comes before {BEGIN!r}; swap them.")
    function = _function_name(source)
    solution = nbformat.v4.new_code_cell(source, metadata=solution_metadata(name, function))
    check_cell = nbformat.v4.new_code_cell(
        check_source or f'check("{name}", {function})', metadata=check_metadata(name, points)
    )
    return solution, check_cell
