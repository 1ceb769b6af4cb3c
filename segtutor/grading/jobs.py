"""Build one submission's job: read the notebook once and draw its hidden cases.

The second stage of grading (:mod:`segtutor.grading.grade` chains them).
:func:`build_job` hashes the bytes it reads (the gradebook records what was
graded), draws fresh cases for every exercise from the batch seed mixed
with the student's identity (:func:`case_seed`), and writes the probe
cells that will ask the student's functions for their answers. What it
builds is plain data: the runner gets it as JSON.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import zlib
from dataclasses import dataclass

from .._validate import ArgumentTypeError, check_scalar, check_str, describe
from ._checks import check_options
from .assignment import Assignment, check_sources
from .options import GradeOptions
from .probe import probe_source
from .results import Status, SubmissionResult
from .submissions import Submission, match_assignment

__all__ = ["Job", "build_job", "case_seed", "MAX_NOTEBOOK_BYTES"]

#: Larger submissions are not read (status ``invalid notebook``).
MAX_NOTEBOOK_BYTES = 32 << 20


def case_seed(batch_seed: int, student: str, exercise: str) -> list[int]:
    """Seed of one student's hidden cases for one exercise."""
    batch_seed = check_scalar(batch_seed, "batch_seed", integer=True, low=0)
    student, exercise = check_str(student, "student"), check_str(exercise, "exercise")
    return [int(batch_seed), zlib.crc32(student.encode()), zlib.crc32(exercise.encode())]


@dataclass
class Job:
    """Everything needed to run and score one submission."""

    submission: Submission
    assignment: Assignment
    text: str
    sha256: str
    nonce: str
    cases: dict
    payload: dict
    started: float = 0.0


def build_job(sub: Submission, sources: dict[str, Assignment], options: GradeOptions) -> Job | SubmissionResult:
    """Read the submission once (bytes hashed as graded) and draw its cases.

    Returns a finished :class:`SubmissionResult` instead when there is
    nothing to run (unknown assignment, unreadable or oversized file).
    """
    from segtutor.exercises import get_exercise

    sub = _check_submission(sub, "sub")
    sources, options = check_sources(sources), check_options(options)
    started = time.monotonic()
    assignment = match_assignment(sub.path, sources)
    if assignment is None:
        return not_graded(sub, sub.path.name, "unknown assignment",
                            [f"{sub.path.name} matches none of the source notebooks {sorted(sources)}"], options,
                            started=started)
    if sub.path.is_symlink():
        # A link could make another student's file count as this one's.
        return not_graded(sub, assignment.filename, "invalid notebook",
                            ["the submission is a symbolic link; submit the notebook file itself"], options,
                            assignment=assignment, started=started)
    try:
        with open(sub.path, "rb") as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        return not_graded(sub, assignment.filename, "invalid notebook", [f"could not read the file: {exc}"], options,
                            assignment=assignment, started=started)
    sha = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return not_graded(sub, assignment.filename, "invalid notebook",
                            [f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB"], options, sha, assignment,
                            started)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return not_graded(sub, assignment.filename, "invalid notebook", ["the file is not UTF-8 text"], options, sha,
                            assignment, started)
    nonce = secrets.token_hex(16)
    cases, probes = {}, []
    for entry in assignment.exercises:
        cases[entry.name] = get_exercise(entry.name).grading_cases(case_seed(options.seed, sub.student, entry.name))
        probes.append({
            "exercise": entry.name,
            "source": probe_source(entry.name, entry.function, [c for _, c in cases[entry.name]], nonce),
        })
    payload = {
        "notebook": text,
        "filename": assignment.filename,
        "probes": probes,
        "cell_timeout": options.cell_timeout,
        "probe_timeout": options.probe_timeout,
        "notebook_timeout": options.notebook_timeout,
        "memory_limit_mb": options.memory_limit_mb,
        "probe_cap": options.probe_cap,
        "env": {"SEGTUTOR_FAST": "1" if options.fast else "0", "MPLBACKEND": "Agg"},
    }
    return Job(sub, assignment, text, sha, nonce, cases, payload, started)


def _ungraded_exercises(assignment: Assignment | None, message: str = "not graded") -> dict:
    from segtutor.exercises import get_exercise
    from segtutor.exercises.results import ExerciseResult

    out = {}
    for e in (assignment.exercises if assignment else ()):
        spec = get_exercise(e.name)
        out[e.name] = ExerciseResult(e.name, e.function, spec.signature, problem="no answer", message=message,
                                     points=e.points, score=0.0)
    return out


def not_graded(sub: Submission, notebook: str, status: str, notes, options: GradeOptions, sha: str = "",
               assignment: Assignment | None = None, started: float | None = None) -> SubmissionResult:
    """The result of a submission that was not run: every exercise scores 0, marked ``not graded (status)``."""
    seconds = round(time.monotonic() - started, 2) if started else 0.0
    return SubmissionResult(sub.student, notebook, _ungraded_exercises(assignment, f"not graded ({status})"),
                            Status.parse(status), list(notes), [], sha, options.seed, seconds,
                            "bwrap" if options.sandbox else "none")


def _check_submission(sub, name: str) -> Submission:
    if not isinstance(sub, Submission):
        raise ArgumentTypeError(f"{name} should be a Submission(student, path), got {describe(sub)}.")
    return sub


def check_job(job, name: str = "job") -> Job:
    """``job`` if it is a :class:`Job`; ArgumentTypeError naming ``name`` otherwise."""
    if not isinstance(job, Job):
        raise ArgumentTypeError(f"{name} should be the Job that build_job() returns, got {describe(job)}.")
    return job
