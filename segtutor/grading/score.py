"""Score a run: the student's answers against the references, in the grader's process.

The fourth stage of grading (:mod:`segtutor.grading.grade` chains them).
:func:`score_job` decodes the probe output of :func:`segtutor.grading.launch.run_job`
(plain JSON lines tagged with the job's nonce; conflicting answers for one
case make that case wrong), runs each exercise's reference on the same
cases and scores with the exercise's own rule. It also reads the
submission's code for forbidden and suspicious calls
(:mod:`segtutor.grading.flags`); cells of the released copy are the
course's code and are never charged to the student.
"""

from __future__ import annotations

import json
import time

from .._validate import ArgumentTypeError, describe
from ._checks import check_options
from .assignment import Assignment
from .flags import forbidden_uses, suspicious_code
from .jobs import Job, check_job
from .options import GradeOptions
from .probe import decode_outcome, parse_probe_output
from .results import Status, SubmissionResult

__all__ = ["score_job"]


def score_job(job: Job, run: dict, options: GradeOptions) -> SubmissionResult:
    """Score a run's probe output against the references, in this process."""
    from segtutor.exercises import get_exercise
    from segtutor.exercises.results import ExerciseResult

    job, options = check_job(job), check_options(options)
    if not isinstance(run, dict):
        raise ArgumentTypeError(f"run should be the dict that run_job() returns, got {describe(run)}.")
    assignment = job.assignment
    status = Status.parse(run.get("status", "internal error"))
    notes = [str(run["detail"])[:400]] if run.get("detail") else []
    if run.get("timeouts"):
        notes.append(f"{int(run['timeouts'])} cell(s) ran past the {options.cell_timeout:g} s limit")
    if run.get("cell_errors"):
        held = int(run.get("held_back") or 0)
        why = (f", {held} of them calling a course function held back while grading (and the cells after them "
               "that needed its result); this does not change the score") if held else ""
        notes.append(f"{int(run['cell_errors'])} cell(s) raised an error{why}")
    truncated = run.get("truncated") if isinstance(run.get("truncated"), list) else []
    cells = _code_cells(job.text)
    rules = {e.name: (e.function, tuple(get_exercise(e.name).forbids)) for e in assignment.exercises}
    forbidden = forbidden_uses(cells, rules)
    exercises = {}
    probe_text = run.get("probes", {}) if isinstance(run.get("probes"), dict) else {}
    for entry in assignment.exercises:
        spec = get_exercise(entry.name)
        text = probe_text.get(entry.name)
        found = parse_probe_output(text, job.nonce) if isinstance(text, str) else {}
        ex_cases = job.cases[entry.name]
        if entry.name in truncated:
            notes.append(f"{entry.name}: output past {options.probe_cap} bytes was cut off")
        inside = [name for name, used_inside in forbidden.get(entry.name, []) if used_inside]
        problem = None
        if inside:
            problem, message = "forbidden", (f"{entry.function} uses {', '.join(inside)}, which this exercise "
                                             "forbids: write it yourself")
            notes.append(f"{entry.name}: uses {', '.join(inside)} (forbidden), scored 0")
        elif -1 in found:
            problem, message = "missing", f"no function called {entry.function} was found"
            notes.append(f"{entry.name}: function {entry.function} not found")
        elif not found:
            problem, message = "no answer", "no answer came back from the probe"
            notes.append(f"{entry.name}: no answer came back from the probe")
        if problem:
            exercises[entry.name] = ExerciseResult(entry.name, entry.function, spec.signature, problem=problem,
                                                   message=message, points=entry.points, score=0.0)
            continue
        outcomes = [decode_outcome(found.get(i)) for i in range(len(ex_cases))]
        judged = spec.score(ex_cases, outcomes)
        judged.points, judged.score = entry.points, round(entry.points * judged.fraction, 2)
        exercises[entry.name] = judged
        if not judged.attempted:
            notes.append(f"{entry.name}: not attempted")
        if any(isinstance(found.get(i), dict) and found[i].get("conflict") for i in range(len(ex_cases))):
            notes.append(f"{entry.name}: conflicting answers for one case count as wrong")
    if status == Status.OK and any(e.problem in ("missing", "no answer") for e in exercises.values()):
        status = Status.INCOMPLETE
    # Cells of the released copy are the course's own code: its flags are not the student's.
    flags = suspicious_code(cells, _reference_rules(assignment), course=assignment.course_cells)
    for exercise, hits in forbidden.items():
        # Only inside the exercise's own function: the notebooks use these
        # libraries elsewhere on purpose (notebook 03 builds a Keras model).
        inside = [name for name, used_inside in hits if used_inside]
        if inside:
            flags.append(f"forbidden call: {exercise} ({', '.join(inside)})")
    if not options.sandbox:
        notes.append("graded without a sandbox (--unsandboxed)")
    if run.get("as_root"):
        notes.append(f"the sandbox ran as host root ({str(run['as_root'])[:200]}; a root grader drops to nobody "
                     "only when everything the sandbox binds is readable by others)")
    return SubmissionResult(job.submission.student, assignment.filename, exercises, status, notes,
                            sorted(set(flags)), job.sha256, options.seed,
                            round(time.monotonic() - job.started, 2), "bwrap" if options.sandbox else "none")


def _reference_rules(assignment: Assignment) -> dict[str, tuple[str, tuple]]:
    from segtutor.exercises import get_exercise

    out = {}
    for e in assignment.exercises:
        spec = get_exercise(e.name)
        names = tuple(spec.hidden_names()) + ((spec.reference,) if isinstance(spec.reference, str) else ())
        out[e.name] = (e.function, names)
    return out


def _code_cells(text: str) -> list[str]:
    """Code cell sources of a submission, read as plain JSON (for the flags)."""
    try:
        nb = json.loads(text)
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
        out = []
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                src = cell.get("source", "")
                out.append("".join(src) if isinstance(src, list) else str(src))
        return out
    except Exception:
        return []
