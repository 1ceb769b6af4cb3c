"""Grade a batch of submissions into a gradebook.

For each submission, :func:`grade_submission`:

1. reads the exercise list and points from the instructor's *source*
   notebook (never from the submission);
2. draws fresh random inputs for every exercise from a seed (the
   instructor's ``--seed``, or a random one recorded in the gradebook),
   mixed with the student identity so classmates get different cases;
3. runs the submission with probe cells appended in a child process
   (:mod:`segtutor.grading.runner`): a fresh kernel in a temporary folder,
   timeouts per cell and per notebook, a memory limit;
4. reads back only plain text (JSON lines tagged with a per-submission
   nonce) and scores it here, in the grader's process, against the
   reference implementation run on the same inputs. Nothing a submission
   produced is ever unpickled or executed here.

One bad submission never stops the batch: every failure becomes a status.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .assignment import Assignment, read_assignment
from .flags import suspicious_code
from .probe import decode_outcome, parse_probe_output, probe_source

__all__ = ["GradeOptions", "SubmissionResult", "grade_submission", "grade_batch", "student_id", "case_seed"]

#: Result statuses, from best to worst.
STATUSES = ("ok", "incomplete", "timeout", "memory limit", "kernel died", "invalid notebook",
            "unknown assignment", "internal error")


@dataclass
class GradeOptions:
    """How to run submissions.

    Attributes
    ----------
    seed : int
        Batch seed for the hidden cases (recorded in the gradebook).
    cell_timeout, probe_timeout, notebook_timeout : float
        Seconds for each student cell, each probe cell and the whole run.
    memory_limit_mb : int
        RLIMIT_DATA of the kernel and the watchdog's resident-memory limit.
    no_network : bool
        Run the kernel in a user namespace whose only network is loopback
        (``unshare -rn``), so a submission cannot reach the network.
    fast : bool
        Run notebooks in the course's fast mode (``SEGTUTOR_FAST=1``).
    data : list of path
        Public data folders linked into each submission's folder.
    """

    seed: int = 0
    cell_timeout: float = 120
    probe_timeout: float = 30
    notebook_timeout: float = 900
    memory_limit_mb: int = 4096
    no_network: bool = False
    fast: bool = True
    data: list = field(default_factory=list)


@dataclass
class SubmissionResult:
    """One gradebook row plus the per-exercise details for feedback."""

    student: str
    notebook: str
    scores: dict
    max_points: dict
    status: str
    notes: list
    flags: list
    sha256: str
    seed: int
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 2)


def student_id(path: Path, sources: dict[str, Assignment]) -> str:
    """The student a submission belongs to.

    ``subs/alice/02_classical.ipynb`` (file named like a source notebook)
    belongs to ``alice``; ``subs/alice.ipynb`` belongs to ``alice``.
    """
    path = Path(path)
    return path.parent.name if path.name in sources else path.stem


def case_seed(batch_seed: int, student: str, exercise: str) -> list[int]:
    """Seed of one student's hidden cases for one exercise."""
    return [int(batch_seed), zlib.crc32(student.encode()), zlib.crc32(exercise.encode())]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _match_assignment(path: Path, sources: dict[str, Assignment]) -> Assignment | None:
    if path.name in sources:
        return sources[path.name]
    if len(sources) == 1:
        return next(iter(sources.values()))
    return None


def _submission_sources(path: Path) -> list[str]:
    """Code cell sources of a submission, read as plain JSON (for the flags)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
        out = []
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                src = cell.get("source", "")
                out.append("".join(src) if isinstance(src, list) else str(src))
        return out
    except Exception:
        return []


def _runner_command(options: GradeOptions) -> list[str]:
    python = [sys.executable, "-m", "segtutor.grading.runner"]
    if not options.no_network:
        return python
    # The kernel talks to the runner over TCP on 127.0.0.1, so both live in
    # the new network namespace, which has loopback and nothing else.
    script = "ip link set lo up && exec " + " ".join(shlex.quote(p) for p in python)
    return ["unshare", "--user", "--map-root-user", "--net", "sh", "-c", script]


def _run_child(job: dict, options: GradeOptions) -> dict:
    env = dict(os.environ)
    # The grading process's own imports must resolve in the child.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    try:
        proc = subprocess.Popen(
            _runner_command(options),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return {"status": "internal error", "detail": f"could not start the runner: {exc}", "probes": {}}
    try:
        stdout, stderr = proc.communicate(json.dumps(job), timeout=options.notebook_timeout + 60)
    except subprocess.TimeoutExpired:
        # The runner leads its own session: end it and whatever it started.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return {"status": "timeout", "detail": "the runner did not finish", "probes": {}}
    lines = stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
        if not isinstance(result, dict):
            raise ValueError
        return result
    except (ValueError, IndexError):
        tail = (stderr or "").strip().splitlines()[-3:]
        return {"status": "internal error", "detail": " | ".join(tail)[:400], "probes": {}}


def grade_submission(path, sources: dict[str, Assignment], options: GradeOptions) -> SubmissionResult:
    """Grade one submission; never raises for anything the submission did.

    Parameters
    ----------
    path : path
        The submitted notebook.
    sources : dict
        ``{source file name: Assignment}`` from :func:`read_assignment`.
    options : GradeOptions

    Returns
    -------
    SubmissionResult
    """
    from segtutor.exercises import get_exercise

    path = Path(path)
    start = time.monotonic()
    student = student_id(path, sources)
    assignment = _match_assignment(path, sources)
    sha = _sha256(path) if path.is_file() else ""
    if assignment is None:
        return SubmissionResult(student, path.name, {}, {}, "unknown assignment",
                                [f"{path.name} matches none of the source notebooks {sorted(sources)}"],
                                [], sha, options.seed)
    max_points = {e.name: e.points for e in assignment.exercises}
    specs = {e.name: get_exercise(e.name) for e in assignment.exercises}
    nonce = secrets.token_hex(16)
    cases = {}
    probes = []
    for entry in assignment.exercises:
        cases[entry.name] = specs[entry.name].grading_cases(case_seed(options.seed, student, entry.name))
        probes.append({
            "exercise": entry.name,
            "source": probe_source(entry.name, entry.function, [c for _, c in cases[entry.name]], nonce),
        })
    job = {
        "submission": str(path.resolve()),
        "filename": assignment.filename,
        "probes": probes,
        "cell_timeout": options.cell_timeout,
        "probe_timeout": options.probe_timeout,
        "notebook_timeout": options.notebook_timeout,
        "memory_limit_mb": options.memory_limit_mb,
        "data": [str(Path(d).resolve()) for d in options.data],
        "env": {"SEGTUTOR_FAST": "1" if options.fast else "0", "MPLBACKEND": "Agg"},
    }
    run = _run_child(job, options)
    status = str(run.get("status", "internal error"))
    if status not in STATUSES:
        status = "internal error"
    notes = [str(run["detail"])] if run.get("detail") else []
    if run.get("timeouts"):
        notes.append(f"{run['timeouts']} cell(s) ran past the {options.cell_timeout:g} s limit")
    if run.get("cell_errors"):
        notes.append(f"{run['cell_errors']} cell(s) raised an error")
    scores, details = {}, {}
    probe_text = run.get("probes", {}) if isinstance(run.get("probes"), dict) else {}
    for entry in assignment.exercises:
        spec = specs[entry.name]
        text = probe_text.get(entry.name)
        found = parse_probe_output(text, nonce) if isinstance(text, str) else {}
        ex_cases = cases[entry.name]
        if -1 in found:
            scores[entry.name] = 0.0
            details[entry.name] = {"state": "missing", "message": f"no function called {entry.function} was found"}
            notes.append(f"{entry.name}: function {entry.function} not found")
            continue
        if not found:
            scores[entry.name] = 0.0
            details[entry.name] = {"state": "no answer", "message": "the probe returned nothing"}
            notes.append(f"{entry.name}: no answer came back from the probe")
            continue
        outcomes = [decode_outcome(found.get(i)) for i in range(len(ex_cases))]
        scored = spec.score(ex_cases, outcomes)
        scores[entry.name] = round(entry.points * scored["fraction"], 2)
        state = "not attempted" if not scored["attempted"] else "graded"
        details[entry.name] = {"state": state, "n_passed": scored["n_passed"], "n_total": scored["n_total"],
                               "failure": scored["failure"], "spec": spec}
        if state == "not attempted":
            notes.append(f"{entry.name}: not attempted")
    if status == "ok" and any(d["state"] in ("missing", "no answer") for d in details.values()):
        status = "incomplete"
    references = {
        e.name: (e.function, specs[e.name].reference) for e in assignment.exercises
        if isinstance(specs[e.name].reference, str)
    }
    flags = suspicious_code(_submission_sources(path), references) if sha else []
    return SubmissionResult(student, assignment.filename, scores, max_points, status, notes, flags, sha,
                            options.seed, details, round(time.monotonic() - start, 2))


def grade_batch(paths, sources: dict[str, Assignment], options: GradeOptions, *, jobs: int = 1, skip=None,
                on_result=None) -> list[SubmissionResult]:
    """Grade many submissions, ``jobs`` at a time; one failure never stops the rest.

    Parameters
    ----------
    skip : callable ``(path, sha256) -> bool``, optional
        Return True for submissions already graded.
    on_result : callable ``SubmissionResult -> None``, optional
        Called as each submission finishes (to save the gradebook as it grows).
    """
    paths = [Path(p) for p in paths]
    todo = [p for p in paths if not (skip and p.is_file() and skip(p, _sha256(p)))]

    def one(p: Path) -> SubmissionResult:
        try:
            r = grade_submission(p, sources, options)
        except Exception as exc:  # a bug of ours must not stop the batch either
            r = SubmissionResult(student_id(p, sources), p.name, {}, {}, "internal error",
                                 [f"{type(exc).__name__}: {exc}"[:300]], [], "", options.seed)
        if on_result:
            on_result(r)
        return r

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        return list(pool.map(one, todo))


def load_sources(paths) -> dict[str, Assignment]:
    """Read source notebooks into ``{file name: Assignment}``."""
    from .assignment import find_sources

    found = find_sources(paths)
    if not found:
        raise ValueError("no source notebooks found; pass --source with the instructor's notebooks.")
    return {p.name: read_assignment(p) for p in found}
