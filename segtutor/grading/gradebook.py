"""The gradebook (CSV), per-student feedback and Gradescope-style results.

Every file is written atomically: to a temporary file in the same folder,
then renamed over the old one, so a crash never leaves half a gradebook.

Columns: ``student, notebook, <one per exercise>, total, max, status, flags,
notes, seed, sha256, graded_at``. ``seed`` is the batch seed of the hidden
cases, so any row can be regraded and checked.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from .._files import atomic_write_text

from .grade import SubmissionResult

__all__ = ["read_gradebook", "write_gradebook", "write_feedback", "write_results_json", "atomic_write", "FIXED_COLUMNS"]

FIXED_COLUMNS = ("student", "notebook")
TAIL_COLUMNS = ("total", "max", "status", "flags", "notes", "seed", "sha256", "graded_at")


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (CSV-safe newlines)."""
    atomic_write_text(path, text, newline="")


def read_gradebook(path) -> list[dict]:
    """Rows of an existing gradebook (empty list if there is none)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def row_of(result: SubmissionResult) -> dict:
    row = {"student": result.student, "notebook": result.notebook}
    row.update({k: f"{v:g}" for k, v in result.scores.items()})
    row.update({
        "total": f"{result.total:g}",
        "max": f"{sum(result.max_points.values()):g}",
        "status": result.status,
        "flags": "; ".join(result.flags),
        "notes": "; ".join(result.notes),
        "seed": str(result.seed),
        "sha256": result.sha256,
        "graded_at": _dt.datetime.now().isoformat(timespec="seconds"),
    })
    return row


def write_gradebook(path, rows: list[dict]) -> None:
    """Write rows (dicts) as CSV, one column per exercise seen in any row."""
    exercises: list[str] = []
    for row in rows:
        for key in row:
            if key not in FIXED_COLUMNS and key not in TAIL_COLUMNS and key not in exercises:
                exercises.append(key)
    columns = [*FIXED_COLUMNS, *exercises, *TAIL_COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", extrasaction="ignore")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: (r.get("student", ""), r.get("notebook", ""))):
        writer.writerow(row)
    atomic_write(path, buf.getvalue())


def _show(value) -> str:
    from segtutor.exercises._engine import _show as show

    return show(value)


def feedback_text(result: SubmissionResult) -> str:
    """A report the student can read: score per exercise and the first failed case."""
    from segtutor.exercises._engine import describe_case

    lines = [
        f"Feedback for {result.student}: {result.notebook}",
        f"Total: {result.total:g} / {sum(result.max_points.values()):g}    status: {result.status}",
        "",
    ]
    if result.status not in ("ok", "incomplete"):
        explain = {
            "timeout": "the notebook ran past the time limit, so it was stopped",
            "memory limit": "the notebook used more memory than allowed, so it was stopped",
            "kernel died": "the kernel stopped (sys.exit, os._exit or a crash) before grading finished",
            "invalid notebook": "the file could not be read as a notebook; re-download it from JupyterLab",
            "unknown assignment": "the file name matches no assignment",
            "internal error": "the grader failed on this submission; your instructor will look at it",
        }
        lines += [f"Note: {explain.get(result.status, result.status)}.", ""]
    for name, max_points in result.max_points.items():
        score = result.scores.get(name, 0.0)
        detail = result.details.get(name, {})
        state = detail.get("state", "no answer")
        head = f"{name}: {score:g} / {max_points:g}"
        if state in ("missing", "no answer"):
            lines.append(f"{head}  ({detail.get('message', 'no answer')})")
            continue
        if state == "not attempted":
            lines.append(f"{head}  (not attempted)")
            continue
        lines.append(f"{head}  ({detail['n_passed']} of {detail['n_total']} checks passed)")
        failure = detail.get("failure")
        if failure:
            pad = "    "
            lines.append(pad + f"first failed check ({failure['group']})" + (f": {failure['case'].note}" if failure["case"].note else ""))
            lines.append(pad + "input:    " + describe_case(detail["spec"], failure["case"]).replace("\n", "\n" + pad + " " * 10))
            lines.append(pad + "expected: " + _show(failure["expected"]).replace("\n", "\n" + pad + " " * 10))
            got = _show(failure["got"]) if failure["kind"] == "value" else str(failure["got"])
            lines.append(pad + "got:      " + got.replace("\n", "\n" + pad + " " * 10))
            if failure.get("hint"):
                lines.append(pad + "hint:     " + failure["hint"])
    if result.notes:
        lines += ["", "Notes: " + "; ".join(result.notes)]
    return "\n".join(lines) + "\n"


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "student"


def write_feedback(folder, result: SubmissionResult) -> Path:
    """Write ``folder/<student>.<notebook stem>.txt`` and return its path."""
    path = Path(folder) / f"{_safe_name(result.student)}.{_safe_name(Path(result.notebook).stem)}.txt"
    atomic_write(path, feedback_text(result))
    return path


def write_results_json(folder, result: SubmissionResult) -> Path:
    """Write Gradescope-style ``folder/<student>/results.json``."""
    tests = []
    for name, max_points in result.max_points.items():
        detail = result.details.get(name, {})
        tests.append({
            "name": name,
            "score": result.scores.get(name, 0.0),
            "max_score": max_points,
            "output": (f"{detail['n_passed']} of {detail['n_total']} checks passed"
                       if "n_passed" in detail else detail.get("state", "no answer")),
        })
    payload = {
        "score": result.total,
        "output": f"status: {result.status}" + (f" ({'; '.join(result.notes)})" if result.notes else ""),
        "tests": tests,
    }
    path = Path(folder) / _safe_name(result.student) / "results.json"
    atomic_write(path, json.dumps(payload, indent=1, default=lambda o: float(o) if isinstance(o, np.generic) else str(o)) + "\n")
    return path
