"""One graded submission: its status, its exercises and every view of it.

:class:`SubmissionResult` (modelled on otter-grader's ``GradingResults``)
holds one :class:`~segtutor.exercises.results.ExerciseResult` per exercise
and turns into a gradebook row (:meth:`~SubmissionResult.to_row`), the
student's feedback (:meth:`~SubmissionResult.to_feedback`, the same
per-exercise report ``check()`` prints) and a Gradescope ``results.json``
(:meth:`~SubmissionResult.to_gradescope`).

Example
-------
>>> from segtutor.exercises.results import ExerciseResult
>>> ex = ExerciseResult("iou", "my_iou", "(pred, truth)", problem="missing",
...                     message="no function called my_iou was found", points=2.0, score=0.0)
>>> r = SubmissionResult("alice", "02.ipynb", {"iou": ex}, Status.INCOMPLETE)
>>> r.total, r.possible, r.to_row()["status"]
(0.0, 2.0, 'incomplete')
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field

from segtutor.exercises.results import ExerciseResult

__all__ = ["Status", "SubmissionResult"]


class Status(enum.StrEnum):
    """How a submission's run ended, from best to worst."""

    OK = "ok"
    INCOMPLETE = "incomplete"  # a function is missing or a probe gave no answer
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory limit"
    KERNEL_DIED = "kernel died"
    INVALID_NOTEBOOK = "invalid notebook"
    UNKNOWN_ASSIGNMENT = "unknown assignment"
    INTERNAL_ERROR = "internal error"

    @classmethod
    def parse(cls, text) -> Status:
        """The status named ``text``; anything unknown is an internal error."""
        try:
            return cls(str(text))
        except ValueError:
            return cls.INTERNAL_ERROR


_EXPLAIN = {
    Status.TIMEOUT: "the notebook ran past the time limit, so it was stopped",
    Status.MEMORY_LIMIT: "the notebook used more memory than allowed, so it was stopped",
    Status.KERNEL_DIED: "the kernel stopped (sys.exit, os._exit or a crash) before grading finished",
    Status.INVALID_NOTEBOOK: "the file could not be read as a notebook; re-download it from JupyterLab",
    Status.UNKNOWN_ASSIGNMENT: "the file name matches no assignment",
    Status.INTERNAL_ERROR: "the grader failed on this submission; your instructor will look at it",
}


@dataclass
class SubmissionResult:
    """One graded submission.

    Attributes
    ----------
    student, notebook : str
        The row's key.
    exercises : dict
        ``{exercise name: ExerciseResult}`` with ``points`` and ``score`` set.
    status : Status
    notes, flags : list of str
        Notes for the student and the instructor; flags for a human to look at.
    sha256 : str
        Hash of the file as graded.
    seed : int
        Batch seed of the hidden cases.
    seconds : float
    sandbox : str
        ``"bwrap"``, or ``"none"`` for ``--unsandboxed``.
    """

    student: str
    notebook: str
    exercises: dict
    status: Status
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    sha256: str = ""
    seed: int = 0
    seconds: float = 0.0
    sandbox: str = "bwrap"

    @property
    def scores(self) -> dict:
        return {name: float(e.score or 0.0) for name, e in self.exercises.items()}

    @property
    def max_points(self) -> dict:
        return {name: float(e.points or 0.0) for name, e in self.exercises.items()}

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 2)

    @property
    def possible(self) -> float:
        return round(sum(self.max_points.values()), 2)

    def to_row(self) -> dict:
        """The gradebook row (strings), one column per exercise."""
        row = {"student": self.student, "notebook": self.notebook}
        row.update({k: f"{v:g}" for k, v in self.scores.items()})
        row.update({
            "total": f"{self.total:g}",
            "max": f"{self.possible:g}",
            "status": str(self.status),
            "flags": "; ".join(self.flags),
            "notes": "; ".join(self.notes),
            "seed": str(self.seed),
            "sandbox": self.sandbox,
            "sha256": self.sha256,
            "graded_at": _dt.datetime.now().isoformat(timespec="seconds"),
        })
        return row

    def to_feedback(self) -> str:
        """What the student reads: the status, then each exercise's report."""
        lines = [
            f"Feedback for {self.student}: {self.notebook}",
            f"Total: {self.total:g} / {self.possible:g}    status: {self.status}",
            "",
        ]
        if self.status in _EXPLAIN:
            lines += [f"Note: {_EXPLAIN[self.status]}.", ""]
        for exercise in self.exercises.values():
            lines += [exercise.format(), ""]
        if self.notes:
            lines += ["Notes: " + "; ".join(self.notes)]
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_gradescope(self) -> dict:
        """Gradescope's ``results.json`` payload."""
        return {
            "score": self.total,
            "output": f"status: {self.status}" + (f" ({'; '.join(self.notes)})" if self.notes else ""),
            "tests": [{"name": name, "score": float(e.score or 0.0), "max_score": float(e.points or 0.0),
                       "output": e.format()} for name, e in self.exercises.items()],
        }
