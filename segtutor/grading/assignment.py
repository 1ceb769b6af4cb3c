"""What an instructor's source notebook says about its exercises.

The list of exercises, the function each one grades and its points always
come from the *source* notebook (instructor side), never from a submission:
a student who edits metadata, renames a function or deletes a check cell
changes nothing but their own score.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from .._validate import ArgumentTypeError, check_path, describe
from .release import find_sources, release_notebook

__all__ = ["ExerciseEntry", "Assignment", "read_assignment", "load_sources", "check_sources"]


@dataclass(frozen=True)
class ExerciseEntry:
    """One graded exercise of a notebook: spec name, function name, points."""

    name: str
    function: str
    points: float


@dataclass(frozen=True)
class Assignment:
    """A source notebook's file name and its exercises, in notebook order.

    ``course_cells`` are the code cells of its released student copy
    (without surrounding whitespace): code the course wrote, whose flags
    are never charged to a student.
    """

    filename: str
    exercises: tuple[ExerciseEntry, ...]
    course_cells: frozenset = frozenset()

    @property
    def max_points(self) -> float:
        return float(sum(e.points for e in self.exercises))


def _segtutor(cell) -> dict:
    meta = cell.get("metadata", {}).get("segtutor", {})
    return meta if isinstance(meta, dict) else {}


def read_assignment(path) -> Assignment:
    """Read the exercises of a source notebook.

    Parameters
    ----------
    path : str or Path
        A source notebook (with solutions) made with
        :func:`segtutor.exercises.authoring.exercise_cells`.

    Returns
    -------
    Assignment

    Raises
    ------
    ValueError
        If the file is not a notebook, or an exercise has a solution cell but
        names no function, or is not a registered exercise.
    """
    from segtutor.exercises import exercise_names

    path = check_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"path: no source notebook at {path}; check the path.")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise ValueError(f"{path} could not be read as a notebook ({exc}); pass a source .ipynb file.") from None
    functions: dict[str, str] = {}
    points: dict[str, float] = {}
    for cell in nb.cells:
        meta = _segtutor(cell)
        name = meta.get("exercise")
        if not name:
            continue
        if "function" in meta:
            functions[name] = str(meta["function"])
        grader = cell.get("metadata", {}).get("nbgrader", {})
        if grader.get("grade") and "points" in grader:
            points[name] = float(grader["points"])
    known = set(exercise_names())
    entries = []
    for name, function in functions.items():
        if name not in known:
            raise ValueError(
                f"{path.name}: exercise {name!r} is not registered; expected one of {sorted(known)}. "
                "Add its spec under segtutor/exercises/specs/."
            )
        entries.append(ExerciseEntry(name, function, points.get(name, 1.0)))
    missing = set(points) - set(functions)
    if missing:
        raise ValueError(
            f"{path.name}: check cells for {sorted(missing)} have no solution cell naming the function; "
            "make both cells with segtutor.exercises.authoring.exercise_cells."
        )
    return Assignment(path.name, tuple(entries), _released_cells(nb))


def _released_cells(nb) -> frozenset:
    import copy

    released = release_notebook(copy.deepcopy(nb), name="source notebook")
    return frozenset(c.source.strip() for c in released.cells if c.get("cell_type") == "code")


def load_sources(paths) -> dict[str, Assignment]:
    """Read source notebooks into ``{file name: Assignment}``.

    Parameters
    ----------
    paths : str, Path or list of them
        The instructor's source notebooks, or folders that hold them.

    Returns
    -------
    dict
        ``{file name: Assignment}``, what the grading functions take as ``sources``.
    """
    found = find_sources(paths, "paths")
    if not found:
        raise ValueError("paths hold no source notebooks; pass --source with the instructor's notebooks.")
    return {p.name: read_assignment(p) for p in found}


def check_sources(sources, name: str = "sources") -> dict:
    """``sources`` if it is ``{file name: Assignment}``, as :func:`load_sources` returns it.

    Raises
    ------
    ArgumentTypeError
        For anything else, naming ``name``.
    ValueError
        For an empty dict.
    """
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, Assignment)
                                                 for k, v in sources.items()):
        raise ArgumentTypeError(f"{name} should be the dict {{file name: Assignment}} that load_sources() returns, "
                                f"got {describe(sources)}.")
    if not sources:
        raise ValueError(f"{name} is empty; load the instructor's notebooks with load_sources([...]).")
    return sources
