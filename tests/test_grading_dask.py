"""Grading on a two-worker Dask LocalCluster: the rows ``tests/test_grading.py`` checks by hand.

Workers are separate processes; each runs the same sandbox. Three small
submissions (honest, partial, blank) keep it short; their scores are the
ones the attack batch derives from an honest reference (6, 2 + 1.9, 0).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from segtutor.grading.cli import main  # noqa: E402
from segtutor.grading.sandbox import sandbox_problem  # noqa: E402

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no grading sandbox: {sandbox_problem()}")

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"
NAMES = ("honest_full", "honest_partial", "untouched")


def _rows(out):
    with open(out, newline="") as f:
        return {r["student"]: (r["fraction_above"], r["iou"], r["bounding_box"], r["total"], r["status"], r["sandbox"])
                for r in csv.DictReader(f)}


def test_two_worker_local_cluster_grades_in_the_sandbox(tmp_path):
    subs = [str(STUDENTS / f"{n}.ipynb") for n in NAMES]
    common = ["--source", str(SOURCE), "--seed", "77", "--jobs", "2", "--cell-timeout", "20", "--timeout", "120",
              "--memory", "1024"]
    assert main(["grade", *subs, "--out", str(tmp_path / "dask" / "g.csv"), "--scheduler", "local", *common]) == 0
    rows = _rows(tmp_path / "dask" / "g.csv")
    assert rows == {
        "honest_full": ("2", "2", "2", "6", "ok", "bwrap"),
        "honest_partial": ("2", "1.9", "0", "3.9", "ok", "bwrap"),
        "untouched": ("0", "0", "0", "0", "ok", "bwrap"),
    }
