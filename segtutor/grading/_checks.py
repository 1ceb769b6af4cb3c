"""Argument checks of the grading functions (see :mod:`segtutor._validate`).

The ``segtutor`` command builds every argument itself; these checks are for
an instructor who calls the functions from Python (a script that grades a
class, a notebook that rewrites a gradebook) and passes a wrong object.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._validate import ArgumentTypeError, describe, check_path
from .options import GradeOptions


def check_options(options, name: str = "options"):
    if not isinstance(options, GradeOptions):
        raise ArgumentTypeError(f"{name} should be a GradeOptions (segtutor.grading.grade.GradeOptions(seed=...)), "
                                f"got {describe(options)}.")
    return options


def check_code(sources, name: str = "sources") -> list[str]:
    """A list of code-cell sources (strings)."""
    if isinstance(sources, (str, bytes)) or not isinstance(sources, (list, tuple)):
        raise ArgumentTypeError(f"{name} should be a list of code-cell sources (strings), got {describe(sources)}.")
    if not all(isinstance(s, str) for s in sources):
        raise ArgumentTypeError(f"{name} should hold strings (one code cell's source each).")
    return list(sources)


def check_paths(paths, name: str) -> list[Path]:
    """One path or a non-empty list of paths, as a list of :class:`Path`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, (list, tuple)):
        raise ArgumentTypeError(f"{name} should be a path or a list of paths, got {describe(paths)}.")
    if not paths:
        raise ValueError(f"{name} is empty; pass at least one notebook or folder.")
    return [check_path(p, name) for p in paths]


def check_notebook(nb, name: str = "nb"):
    """An nbformat notebook (what ``nbformat.read(path, as_version=4)`` returns)."""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not hasattr(nb, "cells") or not all(hasattr(c, "source") for c in cells):
        raise ArgumentTypeError(f"{name} should be a notebook read with nbformat.read(path, as_version=4), "
                                f"got {describe(nb)}.")
    return nb


def check_result(result, name: str = "result"):
    from .results import SubmissionResult

    if not isinstance(result, SubmissionResult):
        raise ArgumentTypeError(f"{name} should be a SubmissionResult (what grade_submission returns), "
                                f"got {describe(result)}.")
    return result


def check_callable(value, name: str):
    if value is not None and not callable(value):
        raise ArgumentTypeError(f"{name} should be a function or None, got {describe(value)}.")
    return value
