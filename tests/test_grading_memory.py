"""Issue 23: ``--memory`` below what a notebook needs is caught before the batch starts.

The peaks come from ``segtutor/data/grading_memory_peaks.csv``, written by
``tools/measure_grading_peaks.py`` from graded runs of the source notebooks.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from segtutor import cli
from segtutor.grading.grade import GradeOptions, Submission, build_job, load_sources, run_job
from segtutor.grading.peaks import (PEAKS_FILE, REMEASURE, code_hash, measured_hashes, measured_peaks,
                                    memory_shortfalls, stale_peaks, suggested_memory)
from segtutor.grading.sandbox import sandbox_problem

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NB02 = "02_classical_segmentation.ipynb"
TABLE = ROOT / "segtutor" / "data" / PEAKS_FILE


@pytest.mark.parametrize("mode", ["fast", "class"])
def test_every_course_notebook_has_a_measured_peak(mode):
    peaks = measured_peaks(mode)
    assert sorted(peaks) == sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
    with open(TABLE, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        # The table keeps both numbers --memory limits and how they were measured.
        assert int(row["peak_mb"]) == max(int(row["peak_rss_mb"]), int(row["peak_data_mb"])) > 100, row
        assert row["status"] == "ok" and "sandboxed" in row["measured_on"], row


@pytest.mark.parametrize("mode", ["fast", "class"])
def test_every_measured_peak_was_measured_on_the_notebooks_current_code(mode):
    """A notebook edited after its measurement makes this fail: rerun the tool on it."""
    hashes = measured_hashes(mode)
    stale = [line for name in sorted(hashes) for line in stale_peaks([NOTEBOOKS / name], fast=mode == "fast")]
    assert stale == [], "\n".join(stale)
    assert all(code_hash(NOTEBOOKS / name) == h for name, h in hashes.items())


def test_a_changed_notebook_is_named_stale_with_the_fix(tmp_path, capsys, monkeypatch):
    import nbformat

    import segtutor.grading.grade as grade

    nb = nbformat.read(NOTEBOOKS / NB02, as_version=4)
    copy = tmp_path / "src" / NB02
    copy.parent.mkdir()
    # Prose is not what a graded run executes: the peak still holds.
    next(c for c in nb.cells if c.cell_type == "markdown").source += "\n\nOne more sentence."
    nbformat.write(nb, copy)
    assert stale_peaks([copy]) == []
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source += "\nbig = np.ones((4096, 4096))"
    nbformat.write(nb, copy)
    (line,) = stale_peaks([copy, tmp_path / "instructors_own.ipynb"])
    assert NB02 in line and "stale" in line and f"{REMEASURE} {NB02}" in line
    # segtutor grade warns at start, and grades.
    monkeypatch.setattr(grade, "grade_batch", lambda subs, *a, **k: None)
    monkeypatch.setattr("segtutor.grading.sandbox.sandbox_problem", lambda: None)
    monkeypatch.setattr("segtutor.grading.sandbox.root_sandbox_problem", lambda: None)
    assert cli.main(["grade", str(_class_of_one(tmp_path)), "--source", str(copy.parent), "--out",
                     str(tmp_path / "g.csv"), "--memory", "8192"]) == 0
    assert f"warning: {line}" in capsys.readouterr().err
    with pytest.raises(TypeError, match="list"):
        stale_peaks(str(copy))


def test_class_mode_is_checked_against_its_own_peaks():
    """--class-mode uses the class-mode row: notebook 06's is not its fast-mode one."""
    nb06 = "06_unet.ipynb"
    fast, slow = measured_peaks("fast")[nb06], measured_peaks("class")[nb06]
    assert fast != slow
    (line,) = memory_shortfalls([nb06], slow - 1, fast=False)
    assert f"{slow} MiB" in line and "class mode" in line
    assert all(f"{fast} MiB" in x and "fast mode" in x for x in memory_shortfalls([nb06], slow - 1, fast=True))


def test_a_shortfall_names_the_notebook_its_peak_and_the_value_to_use():
    peak = measured_peaks()[NB02]
    (line,) = memory_shortfalls([NB02, "instructors_own.ipynb"], peak - 1)
    assert NB02 in line and f"{peak} MiB" in line and f"--memory {suggested_memory(peak)}" in line
    assert suggested_memory(peak) > peak and suggested_memory(peak) % 256 == 0
    assert memory_shortfalls([NB02], peak) == []
    with pytest.raises(TypeError, match="list"):
        memory_shortfalls(NB02, 256)


def _class_of_one(tmp_path: Path) -> Path:
    student = tmp_path / "subs" / "alice"
    student.mkdir(parents=True)
    shutil.copy(NOTEBOOKS / NB02, student / NB02)
    return student.parent


def test_grade_refuses_a_memory_below_the_peak_before_writing_anything(tmp_path, capsys):
    peak = measured_peaks()[NB02]
    out = tmp_path / "grades" / "gradebook.csv"
    code = cli.main(["grade", str(_class_of_one(tmp_path)), "--source", str(NOTEBOOKS), "--out", str(out),
                     "--memory", str(max(256, peak - 200))])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert NB02 in err and f"--memory {suggested_memory(peak)}" in err and "--below-measured-peak" in err
    # Only the notebooks being graded count: notebook 02's peak, not the largest of 00-12.
    assert "10_mask_rcnn_training" not in err
    assert not out.parent.exists()


def test_below_measured_peak_grades_anyway_with_a_warning(tmp_path, capsys, monkeypatch):
    import segtutor.grading.grade as grade

    graded = []
    monkeypatch.setattr(grade, "grade_batch", lambda subs, *a, **k: graded.extend(subs))
    monkeypatch.setattr("segtutor.grading.sandbox.sandbox_problem", lambda: None)
    monkeypatch.setattr("segtutor.grading.sandbox.root_sandbox_problem", lambda: None)
    peak = measured_peaks()[NB02]
    args = ["grade", str(_class_of_one(tmp_path)), "--source", str(NOTEBOOKS / NB02), "--out",
            str(tmp_path / "g.csv")]
    assert cli.main(args + ["--memory", str(max(256, peak - 200)), "--below-measured-peak"]) == 0
    assert f"warning: {NB02} peaked at {peak} MiB" in capsys.readouterr().err
    assert cli.main(args + ["--memory", str(suggested_memory(peak)), "--force"]) == 0
    assert "peaked" not in capsys.readouterr().err
    assert len(graded) == 2


@pytest.mark.slow
@pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}")
def test_the_table_is_in_the_ballpark_of_a_graded_run():
    """Notebook 02 graded once more, as the tool measures it: its peak within a factor 1.5 of the table's."""
    options = GradeOptions(seed=3, cell_timeout=300, probe_timeout=60, notebook_timeout=600, memory_limit_mb=4096)
    job = build_job(Submission("peak", NOTEBOOKS / NB02, None), load_sources([NOTEBOOKS / NB02]), options)
    run = run_job(job, options)
    assert run["status"] == "ok", run
    peak = max(run["peak_rss_mb"], run["peak_data_mb"])
    assert measured_peaks()[NB02] / 1.5 <= peak <= measured_peaks()[NB02] * 1.5, (peak, run)
