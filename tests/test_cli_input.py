"""Input errors of ``segtutor release`` and ``segtutor grade``: one line on stderr, exit status 2, nothing written.

Fast on purpose: every refusal here comes before a kernel or a sandbox starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from segtutor.cli import main
from segtutor.grading.commands import MIN_NOTEBOOK_SECONDS
from segtutor.grading.grade import GradeOptions
from segtutor.grading.release import release

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("submission", ["honest_full.ipynb", "honest_partial.ipynb"])
def test_release_refuses_a_students_submission_as_its_source(tmp_path, capsys, submission):
    shutil.copy(STUDENTS / submission, tmp_path / "tiny.ipynb")
    out = tmp_path / "release"
    assert main(["release", str(tmp_path / "tiny.ipynb"), "--to", str(out)]) == 2
    err = _one_line(capsys)
    assert "student's copy" in err and "source notebooks" in err, err
    assert not out.exists()


def test_release_refuses_a_released_copy_that_was_run(tmp_path, capsys):
    release([SOURCE], tmp_path / "student")
    nb = nbformat.read(tmp_path / "student" / "tiny.ipynb", as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    nbformat.write(nb, tmp_path / "run.ipynb")
    assert main(["release", str(tmp_path / "run.ipynb"), "--to", str(tmp_path / "again")]) == 2
    assert "outputs" in _one_line(capsys)


def test_release_of_an_unedited_release_still_works(tmp_path):
    # The hub's login step releases from the instructor's release folder into each student's home.
    release([SOURCE], tmp_path / "release")
    assert release([tmp_path / "release"], tmp_path / "home") == {"tiny.ipynb": "added"}
    assert (tmp_path / "home" / "tiny.ipynb").read_text() == (tmp_path / "release" / "tiny.ipynb").read_text()
    assert release([STUDENTS / "untouched.ipynb"], tmp_path / "untouched") == {"untouched.ipynb": "added"}


def _grade(tmp_path, *args):
    return main(["grade", *args, "--source", str(SOURCE), "--out", str(tmp_path / "grades" / "gradebook.csv")])


def test_grade_refuses_a_file_that_is_not_a_notebook(tmp_path, capsys):
    notes = tmp_path / "subs" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("remember to grade alice\n")
    assert _grade(tmp_path, str(notes)) == 2
    err = _one_line(capsys)
    assert "notes.txt is not a notebook" in err, err
    assert not (tmp_path / "grades").exists()


def test_grade_skips_other_files_in_a_class_folder():
    from segtutor.grading.grade import collect_submissions, load_sources

    subs = collect_submissions([STUDENTS], load_sources([SOURCE]))
    assert subs and all(s.path.suffix == ".ipynb" for s in subs)


@pytest.mark.parametrize("timeout", ["1e-9", "0.5", str(MIN_NOTEBOOK_SECONDS - 1), "-900", "nan"])
def test_grade_refuses_a_timeout_no_honest_student_could_meet(tmp_path, capsys, timeout):
    assert _grade(tmp_path, str(STUDENTS / "untouched.ipynb"), "--timeout", timeout) == 2
    err = _one_line(capsys)
    assert "--timeout" in err and str(MIN_NOTEBOOK_SECONDS) in err, err
    assert not (tmp_path / "grades").exists()


@pytest.mark.parametrize("name", ["cell_timeout", "probe_timeout", "notebook_timeout"])
def test_grade_options_refuse_a_timeout_below_a_second(name):
    with pytest.raises(ValueError, match=name):
        GradeOptions(**{name: 1e-9}).validate()
    GradeOptions(**{name: 1}).validate()
