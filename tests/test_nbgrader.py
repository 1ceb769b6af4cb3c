"""nbgrader itself grades the course's check cells: blank 0, solutions full, half-right in between.

nbgrader scores a test cell by whether it raises. ``check`` raises
``AssertionError`` with its report when nbgrader's autograder runs it
(``NBGRADER_EXECUTION``) and the check fails. This runs the real nbgrader
(an optional test dependency): ``generate_assignment`` on the small source
notebook, then ``autograde`` on three submissions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"


def _nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ)
    # nbgrader runs the `alembic` command of its environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--force"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_nbgrader_autograde_scores_blank_zero_and_solutions_full(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    shutil.copy(SOURCE, course / "source" / "ps1" / "tiny.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.db_assignments = [dict(name='ps1')]\n"
        "c.CourseDirectory.db_students = [dict(id='blank'), dict(id='solution'), dict(id='half')]\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    _nbgrader(course, "generate_assignment", "ps1")
    released = course / "release" / "ps1" / "tiny.ipynb"
    assert released.exists()
    half = nbformat.read(STUDENTS / "honest_partial.ipynb", as_version=4)
    # honest_partial: fraction_above right, iou misses the empty case, bounding_box blank.
    # Its cells carry the released notebook's metadata, which nbgrader needs.
    blank = nbformat.read(released, as_version=4)
    for cell, theirs in zip(blank.cells, half.cells):
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = theirs.source
    copies = {"blank": released, "solution": SOURCE, "half": None}
    for student, path in copies.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        if path is None:
            nbformat.write(blank, folder / "tiny.ipynb")
        else:
            shutil.copy(path, folder / "tiny.ipynb")
    _nbgrader(course, "autograde", "ps1")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("ps1", s).score for s in copies}
        max_score = gb.find_assignment("ps1").max_score
    assert max_score == 6
    assert scores["blank"] == 0
    assert scores["solution"] == 6
    assert scores["half"] == 2  # only fraction_above passes all its checks
