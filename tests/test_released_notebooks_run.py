"""A student who attempts nothing can still run every released notebook to the end.

The release replaces each solution with a stub that raises
``NotImplementedError``. ``check`` must report "not attempted" instead of
raising, and every later cell must use the package's implementation, so a
stuck student is never blocked. This reads the session's one fast-mode run of
each released copy (``notebook_runs``, tests/notebook_runs.py: the run nbval's
items and the site build read too) and fails on any error in it.

The browser test ``tests/browser/test_widgets_in_jupyterlab.py`` runs the
widget notebooks' released copies once more in a real JupyterLab, as a
student would, with the same two assertions.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_released_copy_runs_to_the_end_with_every_exercise_unattempted(path, notebook_runs):
    run = notebook_runs(path)
    assert run.error is None, f"{path.name}: {run.error}"
    cells = [cell for cell, _ in run.code_cells()]
    assert all(cell.execution_count is not None for cell in cells), f"{path.name}: a cell did not run"
    check_cells = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert check_cells
    for cell in check_cells:
        text = "".join(out.get("text", "") for out in cell.outputs)
        assert "not attempted" in text, f"{path.name}: {cell.source!r} printed {text!r}"
    stubs = [c for c in cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert all("BEGIN SOLUTION" not in c.source for c in stubs), f"{path.name}: the run is not the student copy"
