"""The gradebook (CSV), per-student feedback and Gradescope-style results.

Every file is written atomically: to a temporary file in the same folder,
then renamed over the old one, so a crash never leaves half a gradebook.

Columns: ``student, notebook, <one per exercise>, total, max, status, flags,
notes, seed, sandbox, sha256, graded_at``. ``seed`` is the batch seed of the
hidden cases, so any row can be regraded and checked; ``sha256`` is the hash
of the file as graded; ``sandbox`` is ``bwrap``, or ``none`` for a row
graded with ``--unsandboxed``.

The CSV is an export. The rows live in a store the grader owns,
``<gradebook>.store.json`` beside it, rewritten atomically after every row
(so a killed grader loses at most the row in progress), and a lock file
``<gradebook>.lock`` held while a grader writes, so that a second grader on
the same gradebook refuses to start. Cells that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) get a leading ``'`` (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from .._files import atomic_write_text

from .grade import SubmissionResult

__all__ = ["read_gradebook", "write_gradebook", "write_feedback", "write_results_json", "atomic_write",
           "FIXED_COLUMNS", "GradebookStore", "GradebookLocked", "csv_safe"]

FIXED_COLUMNS = ("student", "notebook")
TAIL_COLUMNS = ("total", "max", "status", "flags", "notes", "seed", "sandbox", "sha256", "graded_at")
#: Statuses a rerun grades again by default: the grader, not the student, may be at fault.
RETRY_STATUSES = ("kernel died", "internal error", "timeout")


def csv_safe(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula.

    Examples
    --------
    >>> csv_safe("=HYPERLINK(1)"), csv_safe("alice")
    ("'=HYPERLINK(1)", 'alice')
    """
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class GradebookLocked(RuntimeError):
    """Another grader holds the gradebook's lock."""


class GradebookStore:
    """The rows of one gradebook, owned by the grader; see the module docstring.

    Parameters
    ----------
    csv_path : path
        The gradebook CSV (``--out``). It must be a new path or an existing
        segtutor gradebook with its store beside it.

    Raises
    ------
    ValueError
        When ``csv_path`` is a folder, or an existing file that is not a
        segtutor gradebook (never overwritten), or a gradebook whose store
        is missing.
    """

    def __init__(self, csv_path):
        self.csv_path = Path(csv_path)
        self.store_path = self.csv_path.with_name(self.csv_path.name + ".store.json")
        self.lock_path = self.csv_path.with_name(self.csv_path.name + ".lock")
        self._lock = None
        if self.csv_path.is_dir():
            raise ValueError(f"--out {self.csv_path} is a folder; pass a gradebook file such as {self.csv_path}/gradebook.csv.")
        if self.csv_path.suffix.lower() != ".csv":
            raise ValueError(f"--out {self.csv_path} should end in .csv (a gradebook file).")
        if self.csv_path.exists():
            try:
                with open(self.csv_path, encoding="utf-8", newline="") as f:
                    header = f.readline()
            except (OSError, UnicodeDecodeError):
                header = ""
            if not header.startswith("student,notebook,"):
                raise ValueError(f"--out {self.csv_path} exists and is not a segtutor gradebook; refusing to "
                                 "overwrite it. Pass a new path.")
            if not self.store_path.exists():
                raise ValueError(f"--out {self.csv_path} has no store {self.store_path.name} beside it (written by "
                                 "an older segtutor or copied alone); pass a new --out path.")
        self.rows: dict[tuple[str, str], dict] = {}
        self.seed: int | None = None
        if self.store_path.exists():
            try:
                data = json.loads(self.store_path.read_text(encoding="utf-8"))
                self.seed = data.get("seed")
                for row in data["rows"]:
                    self.rows[(row["student"], row["notebook"])] = row
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.store_path} could not be read ({exc}); pass a new --out path.") from None

    def lock(self) -> None:
        """Take the gradebook's lock or raise :class:`GradebookLocked`."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise GradebookLocked(f"another segtutor grade is writing {self.csv_path} (lock {self.lock_path.name}); "
                                  "wait for it to finish.") from None
        self._lock = fd

    def unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def done(self, student: str, notebook: str, sha: str, *, retry: bool = True) -> bool:
        """True when this exact file is already graded (and needs no retry)."""
        row = self.rows.get((student, notebook))
        if not row or row.get("sha256") != sha:
            return False
        return not (retry and row.get("status") in RETRY_STATUSES)

    def add(self, row: dict) -> None:
        """Record one row, then rewrite the store and the CSV atomically."""
        self.rows[(row["student"], row["notebook"])] = row
        self.save()

    def save(self) -> None:
        rows = sorted(self.rows.values(), key=lambda r: (r["student"], r["notebook"]))
        atomic_write(self.store_path, json.dumps({"version": 1, "seed": self.seed, "rows": rows}, indent=0) + "\n")
        write_gradebook(self.csv_path, rows)


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
        "sandbox": getattr(result, "sandbox", "bwrap"),
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
        writer.writerow({k: csv_safe(v) for k, v in row.items()})
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
        if state in ("missing", "no answer", "forbidden"):
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
