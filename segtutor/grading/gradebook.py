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
import fcntl
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from .._files import atomic_write_text

from ._checks import check_result
from .results import SubmissionResult

__all__ = ["read_gradebook", "write_gradebook", "write_feedback", "write_results_json", "atomic_write",
           "FIXED_COLUMNS", "GradebookStore", "GradebookLocked", "csv_safe", "safe_name"]

FIXED_COLUMNS = ("student", "notebook")
TAIL_COLUMNS = ("total", "max", "status", "flags", "notes", "seed", "sandbox", "sha256", "graded_at")
#: Statuses a rerun grades again by default: the grader, not the student, may be at fault.
RETRY_STATUSES = ("kernel died", "internal error", "timeout")


def csv_safe(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula.

    Examples
    --------
    >>> csv_safe("=HYPERLINK(1)"), csv_safe(" =1+2"), csv_safe("alice")
    ("'=HYPERLINK(1)", "' =1+2", 'alice')
    """
    text = str(value)
    # Spreadsheets skip leading spaces before a formula (" =1+2" runs).
    return "'" + text if text.lstrip()[:1] in ("=", "+", "-", "@") or text[:1] in ("\t", "\r") else text


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
        from .._validate import check_path

        self.csv_path = check_path(csv_path, "csv_path")
        self.store_path = self.csv_path.with_name(self.csv_path.name + ".store.json")
        self.lock_path = self.csv_path.with_name(self.csv_path.name + ".lock")
        self._lock = None
        if self.csv_path.is_dir():
            raise ValueError(f"--out (csv_path) {self.csv_path} is a folder; pass a gradebook file such as {self.csv_path}/gradebook.csv.")
        if self.csv_path.suffix.lower() != ".csv":
            raise ValueError(f"--out (csv_path) {self.csv_path} should end in .csv (a gradebook file).")
        if self.csv_path.exists():
            try:
                with open(self.csv_path, encoding="utf-8", newline="") as f:
                    header = f.readline()
            except (OSError, UnicodeDecodeError):
                header = ""
            if not header.startswith("student,notebook,"):
                raise ValueError(f"--out (csv_path) {self.csv_path} exists and is not a segtutor gradebook; refusing to "
                                 "overwrite it. Pass a new path.")
            if not self.store_path.exists():
                raise ValueError(f"--out (csv_path) {self.csv_path} has no store {self.store_path.name} beside it (written by "
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
    """Write ``text`` to ``path`` atomically (CSV-safe newlines), creating its folder."""
    from .._validate import check_path, check_str

    path, text = check_path(path, "path"), check_str(text, "text")
    atomic_write_text(path, text, newline="")


def read_gradebook(path) -> list[dict]:
    """Rows of an existing gradebook (empty list if there is none)."""
    from .._validate import check_path

    path = check_path(path, "path")
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def row_of(result: SubmissionResult) -> dict:
    """The gradebook row of a result (see :meth:`SubmissionResult.to_row`)."""
    return result.to_row()


def write_gradebook(path, rows: list[dict]) -> None:
    """Write rows (dicts) as CSV, one column per exercise seen in any row."""
    from .._validate import check_path

    path = check_path(path, "path")
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)) or not all(
            isinstance(r, dict) for r in rows):
        raise TypeError(f"rows should be a list of dicts (one per gradebook row), got {type(rows).__name__}.")
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


def feedback_text(result: SubmissionResult) -> str:
    """A report the student can read (see :meth:`SubmissionResult.to_feedback`)."""
    return result.to_feedback()


def safe_name(text: str) -> str:
    """The file-name form of a student or notebook name (feedback and results files).

    Two students whose safe names are equal (ignoring case) are refused by
    :func:`segtutor.grading.grade.collect_submissions`, so each file belongs
    to one student.

    Examples
    --------
    >>> safe_name("alice smith"), safe_name("alice_")
    ('alice_smith', 'alice')
    """
    from .._validate import check_str

    return re.sub(r"[^A-Za-z0-9._-]+", "_", check_str(text, "text")).strip("._") or "student"


def _check_folder(folder) -> Path:
    """A folder path (created on writing if missing, like every gradebook output), not an existing file."""
    from .._validate import check_path

    folder = check_path(folder, "folder")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder {folder} is a file; pass a folder for the feedback files.")
    return folder


def write_feedback(folder, result: SubmissionResult) -> Path:
    """Write ``folder/<student>.<notebook stem>.txt`` and return its path."""
    folder, result = _check_folder(folder), check_result(result)
    path = Path(folder) / f"{safe_name(result.student)}.{safe_name(Path(result.notebook).stem)}.txt"
    atomic_write(path, feedback_text(result))
    return path


def write_results_json(folder, result: SubmissionResult) -> Path:
    """Write Gradescope-style ``folder/<student>/results.json``."""
    folder, result = _check_folder(folder), check_result(result)
    path = Path(folder) / safe_name(result.student) / "results.json"
    atomic_write(path, json.dumps(result.to_gradescope(), indent=1,
                                  default=lambda o: float(o) if isinstance(o, np.generic) else str(o)) + "\n")
    return path
