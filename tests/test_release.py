"""segtutor release: student copies keep no secret and never overwrite a student's work."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import nbformat
import pytest

from segtutor.exercises.authoring import exercise_cells
from segtutor.cli import main
from segtutor.grading.release import RECORD_NAME, content_hash, release, release_notebook, solution_lines

ROOT = Path(__file__).resolve().parents[1]

SECRET_LINE = "return float(np.count_nonzero(image > threshold) / image.size)  # secret-42"


def source_nb(version: str = "v1"):
    solution, check_cell = exercise_cells(
        "fraction_above",
        f'def my_fraction_above(image, threshold):\n    """Doc."""\n    ### BEGIN SOLUTION\n'
        f"    image = np.asarray(image)\n    {SECRET_LINE}\n    ### END SOLUTION",
        points=2,
    )
    solution.outputs = [nbformat.v4.new_output("stream", text="secret-42 in an output\n")]
    solution.execution_count = 3
    solution.metadata["nbgrader"]["checksum"] = "secret-42-checksum"
    solution.metadata["segtutor"]["answer"] = "secret-42"
    solution.metadata["jupyter"] = {"note": "secret-42"}
    hidden = nbformat.v4.new_code_cell("check('x', f)\n### BEGIN HIDDEN TESTS\nassert secret_42()\n### END HIDDEN TESTS")
    answer = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause secret-42.\n### END SOLUTION")
    cells = [nbformat.v4.new_markdown_cell(f"# Title {version}"),
             nbformat.v4.new_code_cell("import numpy as np\nfrom segtutor.exercises import check"),
             solution, check_cell, hidden, answer]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"state": "secret-42"}
    nb.metadata["nbgrader"] = {"secret": "secret-42"}
    return nb


def test_release_strips_solutions_outputs_and_secret_metadata():
    src = source_nb()
    out = release_notebook(src, name="t.ipynb")
    text = nbformat.writes(out)
    assert "secret" not in text.lower()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    for line in solution_lines(src):
        assert line not in text
    nbformat.validate(out)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert set(out.metadata) == {"kernelspec"}
    # the source is untouched
    assert "secret-42" in nbformat.writes(src)


def test_release_stub_raises_and_locks_check_cells():
    out = release_notebook(source_nb())
    solution, check_cell = out.cells[2], out.cells[3]
    assert 'raise NotImplementedError("write your code here' in solution.source
    assert solution.source.startswith('def my_fraction_above(image, threshold):\n    """Doc."""\n    # YOUR CODE HERE')
    assert solution.metadata.get("editable", True) is True
    assert check_cell.metadata["editable"] is False and check_cell.metadata["deletable"] is False
    assert check_cell.metadata["nbgrader"]["points"] == 2
    assert solution.metadata["segtutor"] == {"exercise": "fraction_above", "function": "my_fraction_above"}
    assert out.cells[5].source == "Why?\nYOUR ANSWER HERE"
    namespace = {}
    exec(out.cells[1].source + "\n" + solution.source, namespace)
    with pytest.raises(NotImplementedError):
        namespace["my_fraction_above"](1, 0)
    result = namespace["check"]("fraction_above", namespace["my_fraction_above"], verbose=False)
    assert not result.attempted


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",
    "x = 1\n### END SOLUTION",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_unbalanced_markers_are_refused(source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    with pytest.raises(ValueError, match="SOLUTION"):
        release_notebook(nb, name="bad.ipynb")


def write(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_update_adds_updates_and_never_overwrites_an_edited_notebook(tmp_path, capsys):
    src_dir, work = tmp_path / "src", tmp_path / "work"
    write(source_nb("v1"), src_dir / "00_a.ipynb")
    write(source_nb("v1"), src_dir / "01_b.ipynb")
    assert release(src_dir, work, update=True) == {"00_a.ipynb": "added", "01_b.ipynb": "added"}
    assert json.loads((work / RECORD_NAME).read_text())["notebooks"]["00_a.ipynb"]["file"]
    assert sorted(p.name for p in work.iterdir()) == sorted(["00_a.ipynb", "01_b.ipynb", RECORD_NAME])

    # The student runs 00 (outputs only: not an edit) and edits 01.
    a = nbformat.read(work / "00_a.ipynb", as_version=4)
    a.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    nbformat.write(a, work / "00_a.ipynb")
    b = nbformat.read(work / "01_b.ipynb", as_version=4)
    b.cells[2].source = "def my_fraction_above(image, threshold):\n    return 0.5  # my work"
    nbformat.write(b, work / "01_b.ipynb")
    edited = (work / "01_b.ipynb").read_bytes()

    # Nothing changed in the course: nothing is written, outputs stay.
    assert release(src_dir, work, update=True) == {"00_a.ipynb": "unchanged", "01_b.ipynb": "kept edited copy"}
    assert (work / "01_b.ipynb").read_bytes() == edited
    assert nbformat.read(work / "00_a.ipynb", as_version=4).cells[1].outputs

    # The course changes; a new notebook appears.
    write(source_nb("v2"), src_dir / "00_a.ipynb")
    write(source_nb("v2"), src_dir / "01_b.ipynb")
    write(source_nb("v1"), src_dir / "02_c.ipynb")
    when = dt.datetime(2025, 1, 2, 3, 4, 5)
    actions = release(src_dir, work, update=True, now=when)
    assert actions["00_a.ipynb"] == "updated"
    assert actions["02_c.ipynb"] == "added"
    assert actions["01_b.ipynb"] == "01_b.updated-20250102-030405.ipynb"
    assert (work / "01_b.ipynb").read_bytes() == edited
    side = nbformat.read(work / actions["01_b.ipynb"], as_version=4)
    assert side.cells[0].source == "# Title v2"
    assert "you edited 01_b.ipynb" in capsys.readouterr().out
    assert nbformat.read(work / "00_a.ipynb", as_version=4).cells[0].source == "# Title v2"

    # Opening the course again does not pile up copies.
    again = release(src_dir, work, update=True, now=when + dt.timedelta(hours=1))
    assert again["01_b.ipynb"] == "kept edited copy"
    assert len(list(work.glob("01_b.updated-*.ipynb"))) == 1


def test_without_update_an_edited_copy_is_refused_unless_forced(tmp_path):
    src = write(source_nb(), tmp_path / "src" / "00_a.ipynb")
    release([src], tmp_path / "out")
    nb = nbformat.read(tmp_path / "out" / "00_a.ipynb", as_version=4)
    nb.cells[0].source = "edited"
    nbformat.write(nb, tmp_path / "out" / "00_a.ipynb")
    with pytest.raises(ValueError, match="edited"):
        release([src], tmp_path / "out")
    assert release([src], tmp_path / "out", force=True)["00_a.ipynb"] == "updated"


def test_cli_release_writes_only_notebooks(tmp_path, capsys):
    src_dir = tmp_path / "src"
    write(source_nb(), src_dir / "00_a.ipynb")
    (src_dir / "solutions.py").write_text("SECRET = 42\n")
    assert main(["release", str(src_dir), "--to", str(tmp_path / "rel")]) == 0
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == sorted(["00_a.ipynb", RECORD_NAME])
    assert "00_a.ipynb: added" in capsys.readouterr().out
    assert main(["release", str(tmp_path / "missing.ipynb"), "--to", str(tmp_path / "rel")]) == 2


def test_content_hash_ignores_outputs_but_not_sources():
    nb = source_nb()
    h = content_hash(nb)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="x")]
    assert content_hash(nb) == h
    nb.cells[1].source += "\n"
    assert content_hash(nb) != h


COURSE = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", COURSE, ids=[p.name for p in COURSE])
def test_course_notebooks_release_without_leaking_solutions(path):
    src = nbformat.read(path, as_version=4)
    out = release_notebook(src, name=path.name)
    nbformat.validate(out)
    text = "\n".join(c.source for c in out.cells)
    leaked = [line for line in solution_lines(src) if len(line) > 15 and line in text]
    assert not leaked
    assert all(not c.get("outputs") for c in out.cells if c.cell_type == "code")
