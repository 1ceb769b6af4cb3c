"""Every notebook follows the course template.

nbval executes the notebooks; these checks read them: learning objectives at
the top, at least one graded exercise, at least one widget, a recap and
references at the end, and no stale outputs or errors saved in the source.
"""

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_first_notebooks_exist():
    names = [p.stem[:2] for p in NOTEBOOKS]
    for number in ("00", "01", "02", "03", "04"):
        assert number in names, f"notebook {number} is missing"


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def test_opens_with_title_and_learning_objectives(notebook):
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# ")
    assert "learning objectives" in first.source.lower()


def test_has_a_graded_exercise_with_nbgrader_metadata(notebook):
    solutions = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert solutions and checks
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        assert cell.metadata["segtutor"]["function"] in cell.source
    for cell in checks:
        assert cell.metadata["nbgrader"]["points"] > 0
        assert "check(" in cell.source


def test_has_a_widget(notebook):
    assert any("segtutor.widgets" in c.source for c in notebook.cells if c.cell_type == "code")


def test_ends_with_recap_and_references(notebook):
    tail = "\n".join(c.source for c in notebook.cells[-3:] if c.cell_type == "markdown").lower()
    assert "recap" in tail and "references" in tail


def test_no_saved_errors_and_only_checked_outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert all(out.get("output_type") != "error" for out in cell.outputs), cell.source[:60]
        if cell.outputs:
            assert cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"), (
                "only cells nbval compares keep outputs; run tools/store_checked_outputs.py: " + cell.source[:60])


def test_sizes_come_from_the_course_table(notebook):
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "SEGTUTOR_FAST" not in code and "os.environ" not in code, "read sizes via segtutor.modes.sizes"


def test_exercises_are_numbered_by_notebook_with_their_points():
    # "### Exercise N.k: title (P points)" right before each solution cell; N is the notebook
    # number without its leading zero, k counts 1, 2, ... and P is the check cell's points.
    import re

    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        number = int(path.stem[:2])
        headings, k = [], 0
        for i, cell in enumerate(nb.cells):
            if not cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            k += 1
            before = next(c for c in reversed(nb.cells[:i]) if c.cell_type == "markdown")
            found = re.findall(r"^### Exercise (\d+)\.(\d+): .+ \((\d+(?:\.\d+)?) points?\)\s*$", before.source, re.M)
            assert found, f"{path.name}: no '### Exercise {number}.{k}: title (P points)' heading before {cell.source[:40]!r}"
            n, kk, points = found[-1]
            check_cell = nb.cells[i + 1]
            assert (int(n), int(kk)) == (number, k), f"{path.name}: heading says {n}.{kk}, expected {number}.{k}"
            assert float(points) == check_cell.metadata["nbgrader"]["points"], f"{path.name} exercise {n}.{kk}: points differ"
            headings.append(kk)
        assert headings, f"{path.name} has no exercise"


# -- time and exercises, stated once, in the same place, and matching the README ----------------------

def _minutes(text: str) -> float:
    """The first duration in ``text`` ("about 3 hours", "4.5 h", "90 minutes", "90 min"), in minutes."""
    import re

    m = re.search(r"(\d+(?:\.\d+)?)\s*(hours?|h\b|minutes?|min\b)", text)
    assert m, f"no duration in {text[:80]!r}"
    return float(m.group(1)) * (60 if m.group(2).startswith("h") else 1)


def _exercises(nb) -> list[tuple[str, int]]:
    import re

    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [(m.group(1), int(m.group(2))) for m in
                      re.finditer(r"^###+ Exercise (\d+\.\d+)[^(\n]*\((\d+) points?\)", cell.source, re.M)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_cell_states_time_and_exercises_as_every_notebook_does(path):
    import re

    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert first.count("**Time in class mode:**") == 1, "the time line belongs in the first cell, once"
    exercises = _exercises(nb)
    points = sum(p for _, p in exercises)
    stated = re.search(r"\*\*Exercises?:\*\* (\d+\.\d+)(?: (?:to|and) (\d+\.\d+))?, (\d+) points?\.", first)
    assert stated, "the first cell should say which exercises there are and their points"
    assert stated.group(1) == exercises[0][0] and (stated.group(2) or stated.group(1)) == exercises[-1][0]
    assert int(stated.group(3)) == points


def test_the_readme_syllabus_states_the_notebooks_times():
    readme = (REPO / "README.md").read_text()
    rows = {line.split("|")[1].strip(): line.split("|")[4] for line in readme.splitlines()
            if re.match(r"^\| \d\d \|", line)}
    for path in NOTEBOOKS:
        stated = nbformat.read(path, as_version=4).cells[0].source.split("**Time in class mode:**")[1]
        assert _minutes(rows[path.name[:2]]) == _minutes(stated), path.name
