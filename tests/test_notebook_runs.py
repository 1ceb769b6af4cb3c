"""The shared notebook run (tests/notebook_runs.py) still fails what nbval failed, and runs each notebook once.

A pytest in a subprocess runs nbval with the plugin on three small notebooks:
one with a checked output that is right, one that changed and a cell that
raises; one whose kernel dies; one whose source solution fails its exercise's
check. (The course
notebooks, whose solutions pass, show the passing side in every full run.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent


def _checked(source: str, text: str):
    cell = new_code_cell(f"# NBVAL_CHECK_OUTPUT\n{source}", execution_count=1)
    cell.outputs = [new_output("stream", name="stdout", text=text)]
    return cell


def _exercise(body: str):
    """A source notebook with exercise ``fraction_above``: its solution cell, then its check cell."""
    solution = new_code_cell("def my_fraction_above(image, threshold):\n    ### BEGIN SOLUTION\n"
                             f"    {body}\n    ### END SOLUTION")
    solution.metadata = {"nbgrader": {"grade": False, "grade_id": "fraction_above", "locked": False,
                                      "schema_version": 3, "solution": True, "task": False},
                         "segtutor": {"exercise": "fraction_above", "function": "my_fraction_above"}}
    check = new_code_cell('check("fraction_above", my_fraction_above)')
    check.metadata = {"nbgrader": {"grade": True, "grade_id": "fraction_above_check", "locked": True, "points": 1,
                                   "schema_version": 3, "solution": False, "task": False},
                      "segtutor": {"exercise": "fraction_above"}}
    return [new_code_cell("from segtutor.exercises import check"), solution, check, _checked("print(6 * 7)", "42\n")]


COUNT_TEST = '''
import notebook_runs

def test_each_notebook_ran_once(request):
    runs = notebook_runs.runs_of(request.config)
    assert runs.executions == 3
    for name in ("cells", "dies", "exercise"):
        runs(request.config.rootpath / f"{name}.ipynb")  # the site build and the released-copy check do this
    assert runs.executions == 3
'''


def test_checked_outputs_errors_and_wrong_solutions_fail_and_each_notebook_runs_once(tmp_path):
    notebooks = {
        "cells": [_checked("print(1 + 1)", "2\n"), _checked("print(1 + 2)", "4\n"), new_code_cell("x = 3"),
                  new_code_cell("1 / 0"), new_code_cell("print('after')")],
        "dies": [new_code_cell("print('alive')"), new_code_cell("import os\nos._exit(1)"),
                 new_code_cell("print('after')")],
        "exercise": _exercise("return 0.5"),
    }
    for name, cells in notebooks.items():
        nbformat.write(new_notebook(cells=cells), tmp_path / f"{name}.ipynb")
    (tmp_path / "test_zz_count.py").write_text(COUNT_TEST)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "--nbval-lax", "--nbval-current-env", "-p", "notebook_runs",
         "-p", "no:cacheprovider", "-rA", "-q", "--rootdir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    outcome = {}
    for line in out.splitlines():
        for word in ("PASSED", "FAILED"):
            if line.startswith(word + " "):
                outcome[line[len(word) + 1:].split(" - ")[0].strip()] = word
    assert outcome == {
        "cells.ipynb::Cell 0": "PASSED", "cells.ipynb::Cell 1": "FAILED", "cells.ipynb::Cell 2": "PASSED",
        "cells.ipynb::Cell 3": "FAILED", "cells.ipynb::Cell 4": "FAILED",
        "dies.ipynb::Cell 0": "PASSED", "dies.ipynb::Cell 1": "FAILED", "dies.ipynb::Cell 2": "FAILED",
        "exercise.ipynb::Cell 0": "PASSED", "exercise.ipynb::Cell 1": "PASSED",
        "exercise.ipynb::Cell 2": "FAILED", "exercise.ipynb::Cell 3": "FAILED",
        "test_zz_count.py::test_each_notebook_ran_once": "PASSED",
    }, out[-6000:]
    assert "Cell outputs differ" in out and "ZeroDivisionError" in out
    assert "Cell not run: the notebook stopped at an earlier cell" in out
    assert "The run stopped at this cell: DeadKernelError" in out
    assert "the source notebook's solution of fraction_above fails its check" in out
