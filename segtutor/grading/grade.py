"""Grade a batch of submissions into a gradebook.

For each submission, :func:`grade_submission`:

1. reads the exercise list and points from the instructor's *source*
   notebook (never from the submission);
2. draws fresh random inputs for every exercise from a seed (the
   instructor's ``--seed``, or a random one recorded in the gradebook),
   mixed with the student identity so classmates get different cases;
3. runs the submission with probe cells appended in a child process
   (:mod:`segtutor.grading.runner`) inside a bubblewrap sandbox
   (:mod:`segtutor.grading.sandbox`): a fresh kernel that sees only the
   submission, a copy of the package without reference implementations and
   the data folders; timeouts per cell and per notebook, a memory limit;
4. reads back at most a fixed number of bytes of plain text (JSON lines
   tagged with a per-submission nonce) and scores it here, in the grader's
   process, against the reference implementation run on the same inputs.
   Conflicting answers for one case make that case wrong. Nothing a
   submission produced is ever unpickled or executed here.

The three steps are separate functions: :func:`build_job`, :func:`run_job`
and :func:`score_job`; :func:`grade_submission` chains them.

One bad submission never stops the batch: every failure becomes a status.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .._validate import ArgumentTypeError, _describe, check_path, check_scalar, check_str
from ._checks import check_callable, check_options, check_paths, check_sources
from .assignment import Assignment, read_assignment
from .flags import forbidden_uses, suspicious_code
from .probe import decode_outcome, parse_probe_output, probe_source
from .options import GradeOptions
from .results import Status, SubmissionResult

__all__ = ["GradeOptions", "SubmissionResult", "Submission", "Job", "grade_submission", "grade_batch",
           "build_job", "run_job", "score_job", "collect_submissions", "student_id", "identity", "name_warnings",
           "local_cluster",
           "case_seed",
           "MAX_NOTEBOOK_BYTES", "load_sources"]

#: Result statuses, from best to worst.
STATUSES = tuple(str(s) for s in Status)

#: Larger submissions are not read (status ``invalid notebook``).
MAX_NOTEBOOK_BYTES = 32 << 20


@dataclass(frozen=True)
class Submission:
    """One notebook to grade and the student it belongs to.

    ``folder`` is the student's own folder when a command-line argument
    named it (visible read-only at ``/submission`` in the sandbox), else None.
    """

    student: str
    path: Path
    folder: Path | None = None


#: Letters that look like Latin ones (Cyrillic, Greek), for :func:`name_warnings`.
_CONFUSABLE = str.maketrans("аеорсухіјѕԁһкмнтвℓοαρντικμ", "aeopcyxijsdhkmhtbloapvtiku")


def identity(name: str, where="name") -> str:
    """A student identity: ``name`` in Unicode NFKC form, refused if it hides characters.

    Control characters (a newline fakes a line in the console summary) and
    format characters (right-to-left overrides, zero-width joiners) make a
    name display as something else, so they raise ValueError naming
    ``where``.

    Examples
    --------
    >>> identity("ａｌｉｃｅ")
    'alice'
    """
    import unicodedata

    name = unicodedata.normalize("NFKC", check_str(name, "name"))
    bad = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")})
    if bad:
        # ascii(): the message itself must not carry the characters it reports.
        raise ValueError(f"{ascii(str(where))[1:-1][:200]} names a student with control or bidirectional characters "
                         f"({', '.join(bad)}); rename it with plain letters.")
    if not name.strip():
        raise ValueError(f"{ascii(str(where))[1:-1][:200]} gives an empty student name; rename it.")
    return name


def name_warnings(subs) -> list[str]:
    """Pairs of students whose names look alike (``alice`` and Cyrillic ``аlice``), one line each.

    Examples
    --------
    >>> cyrillic_a = chr(0x430)
    >>> warnings = name_warnings([Submission("alice", Path("a.ipynb")), Submission(cyrillic_a + "lice", Path("b.ipynb"))])
    >>> len(warnings), "look alike" in warnings[0]
    (1, True)
    """
    if isinstance(subs, (str, bytes)) or not isinstance(subs, (list, tuple)) or not all(
            isinstance(s, Submission) for s in subs):
        raise ArgumentTypeError(f"subs should be a list of Submission objects (collect_submissions' result), "
                                f"got {_describe(subs)}.")
    seen: dict[str, str] = {}
    out = []
    for student in sorted({s.student for s in subs}):
        skeleton = student.casefold().translate(_CONFUSABLE)
        if skeleton in seen and seen[skeleton] != student:
            out.append(f"students {ascii(seen[skeleton])} and {ascii(student)} look alike; check they are two people")
        seen.setdefault(skeleton, student)
    return out


def student_id(path: Path, sources: dict[str, Assignment]) -> str:
    """The student a single notebook path belongs to.

    ``subs/alice/02_classical.ipynb`` (file named like a source notebook)
    belongs to ``alice``; ``subs/alice.ipynb`` belongs to ``alice``. The
    name is in NFKC form (:func:`identity`).
    """
    path = check_path(path, "path")
    sources = check_sources(sources)
    return identity(path.parent.name if path.name in sources else path.stem, path)


def collect_submissions(args, sources: dict[str, Assignment]) -> list[Submission]:
    """The submissions named by the command line's arguments, one identity each.

    Each argument is one of:

    - a notebook file: ``alice.ipynb`` is ``alice``'s; a file named like a
      source notebook (``alice/tiny.ipynb``) belongs to its folder's name;
    - a student's folder, holding notebooks named like the source notebooks
      (``alice/`` with ``alice/tiny.ipynb``): the folder's name; only files
      directly in it and named like a source count, so nothing nested can
      claim another student's row;
    - a class folder, holding such files and folders: each is one student.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    ValueError
        For a file named that is not a notebook (``notes.txt``), when two
        submissions claim the same (student, notebook) row, when
        two students would share a feedback file (``alice`` and ``alice_``
        have one safe name), or for a name with control or bidirectional
        characters (:func:`identity`).
    """
    args = check_paths(args, "args")
    sources = check_sources(sources)
    subs: list[Submission] = []

    def student_folder(folder: Path) -> list[Submission]:
        found = [folder / name for name in sorted(sources) if (folder / name).is_file()]
        if not found and len(sources) == 1:
            notebooks = sorted(folder.glob("*.ipynb"))
            found = notebooks if len(notebooks) == 1 else []
        return [Submission(identity(folder.name, folder), p, folder) for p in found] if found else []

    for arg in args:
        if not arg.exists():
            raise FileNotFoundError(f"submission {arg} does not exist; check the path (args).")
        if arg.is_file():
            # As --source does: a named file must be a notebook (notes.txt is nobody's submission).
            # Inside folders, other files are skipped without a word.
            if arg.suffix != ".ipynb":
                raise ValueError(f"submission {arg} is not a notebook (.ipynb); pass students' notebooks or "
                                 "folders, such as subs/ (other files in a folder are skipped) (args).")
            # A bare file shows no folder in the sandbox: its parent may hold
            # other students' files.
            subs.append(Submission(student_id(arg, sources), arg, None))
        elif any((arg / name).is_file() for name in sources):
            subs += student_folder(arg)
        else:
            for child in sorted(arg.iterdir()):
                if child.name.startswith(".") or child.is_symlink():
                    continue
                if child.is_file() and child.suffix == ".ipynb":
                    subs.append(Submission(identity(child.stem, child), child, None))
                elif child.is_dir():
                    subs += student_folder(child)
    seen: dict[tuple[str, str], Path] = {}
    for sub in subs:
        assignment = _match_assignment(sub.path, sources)
        key = (sub.student, assignment.filename if assignment else sub.path.name)
        if key in seen:
            raise ValueError(
                f"{seen[key]} and {sub.path} both claim student {sub.student!r}, notebook {key[1]!r}; "
                "give each student one folder or one file name."
            )
        seen[key] = sub.path
    # Every output file is keyed by the safe name: one safe name, one student.
    from .gradebook import safe_name

    owners: dict[str, str] = {}
    for sub in subs:
        key = safe_name(sub.student).casefold()
        if owners.setdefault(key, sub.student) != sub.student:
            raise ValueError(f"students {ascii(owners[key])} and {ascii(sub.student)} would share the feedback files "
                             f"{safe_name(sub.student)}.*; rename one of them.")
    return subs


def case_seed(batch_seed: int, student: str, exercise: str) -> list[int]:
    """Seed of one student's hidden cases for one exercise."""
    batch_seed = check_scalar(batch_seed, "batch_seed", integer=True, low=0)
    student, exercise = check_str(student, "student"), check_str(exercise, "exercise")
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


def _exercises(assignment: Assignment | None, message: str = "not graded") -> dict:
    from segtutor.exercises import get_exercise
    from segtutor.exercises.results import ExerciseResult

    out = {}
    for e in (assignment.exercises if assignment else ()):
        spec = get_exercise(e.name)
        out[e.name] = ExerciseResult(e.name, e.function, spec.signature, problem="no answer", message=message,
                                     points=e.points, score=0.0)
    return out


def _result(sub: Submission, notebook: str, status: str, notes, options: GradeOptions, sha: str = "",
            assignment: Assignment | None = None, started: float | None = None) -> SubmissionResult:
    seconds = round(time.monotonic() - started, 2) if started else 0.0
    return SubmissionResult(sub.student, notebook, _exercises(assignment, f"not graded ({status})"),
                            Status.parse(status), list(notes), [], sha, options.seed, seconds,
                            "bwrap" if options.sandbox else "none")


def _check_submission(sub, name: str) -> Submission:
    if not isinstance(sub, Submission):
        raise ArgumentTypeError(f"{name} should be a Submission(student, path), got {_describe(sub)}.")
    return sub


def _check_job(job, name: str = "job") -> Job:
    if not isinstance(job, Job):
        raise ArgumentTypeError(f"{name} should be the Job that build_job() returns, got {_describe(job)}.")
    return job


def build_job(sub: Submission, sources: dict[str, Assignment], options: GradeOptions) -> Job | SubmissionResult:
    """Read the submission once (bytes hashed as graded) and draw its cases.

    Returns a finished :class:`SubmissionResult` instead when there is
    nothing to run (unknown assignment, unreadable or oversized file).
    """
    from segtutor.exercises import get_exercise

    sub = _check_submission(sub, "sub")
    sources, options = check_sources(sources), check_options(options)
    started = time.monotonic()
    assignment = _match_assignment(sub.path, sources)
    if assignment is None:
        return _result(sub, sub.path.name, "unknown assignment",
                       [f"{sub.path.name} matches none of the source notebooks {sorted(sources)}"], options,
                       started=started)
    if sub.path.is_symlink():
        # A link could make another student's file count as this one's.
        return _result(sub, assignment.filename, "invalid notebook",
                       ["the submission is a symbolic link; submit the notebook file itself"], options,
                       assignment=assignment, started=started)
    try:
        with open(sub.path, "rb") as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        return _result(sub, assignment.filename, "invalid notebook", [f"could not read the file: {exc}"], options,
                       assignment=assignment, started=started)
    sha = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return _result(sub, assignment.filename, "invalid notebook",
                       [f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB"], options, sha, assignment, started)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _result(sub, assignment.filename, "invalid notebook", ["the file is not UTF-8 text"], options, sha,
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


def _runner_command(job: Job, options: GradeOptions) -> tuple[list[str], dict]:
    from .sandbox import WORKDIR, bwrap_command, grading_package

    package = grading_package().path
    python = [sys.executable, "-m", "segtutor.grading.runner"]
    if options.sandbox:
        job.payload["workdir"] = WORKDIR
        cmd = bwrap_command(python, package=package, data=options.data, student_dir=job.submission.folder,
                            env=job.payload["env"], memory_mb=options.memory_limit_mb)
        return cmd, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    job.payload["data"] = [str(Path(d).resolve()) for d in options.data]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(package)
    if not options.no_network:
        return python, env
    # The kernel talks to the runner over TCP on 127.0.0.1, so both live in
    # the new network namespace, which has loopback and nothing else.
    script = "ip link set lo up && exec " + " ".join(shlex.quote(p) for p in python)
    return ["unshare", "--user", "--map-root-user", "--net", "sh", "-c", script], env


def _read_capped(stream, cap: int, out: dict) -> None:
    """Read at most ``cap`` bytes; drain and drop the rest."""
    buf = bytearray()
    while True:
        block = stream.read(1 << 16)
        if not block:
            break
        if len(buf) < cap:
            buf += block[: cap - len(buf)]
        else:
            out["overflow"] = True
    out["data"] = bytes(buf)


def _tail(path: Path, n: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run_job(job: Job, options: GradeOptions) -> dict:
    """Run the job's runner (sandboxed unless ``options.sandbox`` is False); never raises.

    Returns the runner's result dict, or one made here when the runner gave
    none (status ``timeout``, ``kernel died`` or ``internal error``). A
    root grader whose sandbox had to run as host root adds ``as_root`` (why).
    """
    job, options = _check_job(job), check_options(options)
    box: dict = {}
    result = _run_job(job, options, box)
    if box.get("as_root") and isinstance(result, dict):
        result["as_root"] = box["as_root"]
    return result


def _run_job(job: Job, options: GradeOptions, box: dict) -> dict:
    from .sandbox import launch_kwargs, privilege_problem

    cmd, env = _runner_command(job, options)
    cap = 8 * options.probe_cap * max(1, len(job.payload["probes"])) + (1 << 20)
    with tempfile.TemporaryFile() as err:
        # As root, the sandbox starts as an unprivileged user where it can (launch_kwargs).
        kwargs = launch_kwargs(cmd) if options.sandbox else {}
        box["as_root"] = options.sandbox and privilege_problem(cmd)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                    start_new_session=True, **kwargs)
        except OSError as exc:
            return {"status": "internal error", "detail": f"could not start the runner: {exc}", "probes": {}}
        out: dict = {}
        reader = threading.Thread(target=_read_capped, args=(proc.stdout, cap, out), daemon=True)
        reader.start()
        try:
            proc.stdin.write(json.dumps(job.payload).encode())
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=options.notebook_timeout + 60)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        if timed_out:
            # Killing bwrap kills the sandbox's init (--die-with-parent) and,
            # with it, every process in its PID namespace.
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                proc.kill()
            proc.wait()
        reader.join(timeout=30)
        err.seek(0)
        stderr_tail = _tail(Path(f"/proc/self/fd/{err.fileno()}"))
    if timed_out:
        return {"status": "timeout", "detail": "the runner did not finish", "probes": {}}
    if out.get("overflow"):
        return {"status": "internal error", "detail": "the runner's result was larger than its cap", "probes": {}}
    lines = out.get("data", b"").decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
        if not isinstance(result, dict):
            raise ValueError
        return result
    except (ValueError, IndexError, RecursionError):
        tail = " | ".join(stderr_tail.strip().splitlines()[-3:])[:400]
        if options.sandbox and not tail.startswith("bwrap:"):
            return {"status": "kernel died", "probes": {},
                    "detail": "the sandbox ended without a result (a process in it stopped the runner)"}
        return {"status": "internal error", "detail": tail, "probes": {}}


def score_job(job: Job, run: dict, options: GradeOptions) -> SubmissionResult:
    """Score a run's probe output against the references, in this process."""
    from segtutor.exercises import get_exercise
    from segtutor.exercises.results import ExerciseResult

    job, options = _check_job(job), check_options(options)
    if not isinstance(run, dict):
        raise ArgumentTypeError(f"run should be the dict that run_job() returns, got {_describe(run)}.")
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


def grade_submission(sub, sources: dict[str, Assignment], options: GradeOptions) -> SubmissionResult:
    """Grade one submission; never raises for anything the submission did.

    Parameters
    ----------
    sub : Submission or path
        The submitted notebook (a path gets its identity from
        :func:`student_id`).
    sources : dict
        ``{source file name: Assignment}`` from :func:`read_assignment`.
    options : GradeOptions

    Returns
    -------
    SubmissionResult
    """
    sources, options = check_sources(sources), check_options(options)
    if not isinstance(sub, Submission):
        path = check_path(sub, "sub")
        sub = Submission(student_id(path, sources), path, None)
    job = build_job(sub, sources, options)
    if isinstance(job, SubmissionResult):
        return job
    return score_job(job, run_job(job, options), options)


def _run_remote(job: Job, options: GradeOptions) -> dict:
    """What a Dask worker runs: the sandboxed runner only; scoring stays with the grader."""
    return run_job(job, options)


def grade_batch(subs, sources: dict[str, Assignment], options: GradeOptions, *, jobs: int = 1, skip=None,
                on_result=None, scheduler: str | None = None) -> list[SubmissionResult]:
    """Grade many submissions, ``jobs`` at a time; one failure never stops the rest.

    Parameters
    ----------
    subs : list of Submission or path
    jobs : int
        Submissions run at once (threads here, or the workers of a local
        Dask cluster).
    skip : callable ``(Submission, sha256) -> bool``, optional
        Return True for submissions already graded.
    on_result : callable ``SubmissionResult -> None``, optional
        Called as each submission finishes (to save the gradebook as it grows).
    scheduler : str, optional
        ``"local"``: run the jobs on a Dask ``LocalCluster`` of ``jobs``
        threads that opens no port (:func:`local_cluster`); or the address of a Dask scheduler
        (``tcp://host:8786``) whose workers have segtutor and bubblewrap
        installed and see the submissions' folders at the same paths. Each
        worker runs the same sandbox; reading the files, drawing the cases
        and scoring stay in this process. Needs ``pip install segtutor[dask]``.
    """
    sources, options = check_sources(sources), check_options(options)
    if isinstance(subs, (str, bytes)) or not isinstance(subs, (list, tuple)):
        raise ArgumentTypeError(f"subs should be a list of Submission objects or notebook paths, "
                                f"got {_describe(subs)}.")
    subs = [s if isinstance(s, Submission) else Submission(student_id(check_path(s, "subs"), sources), Path(s), None)
            for s in subs]
    # More threads than this would only queue: each job is a kernel with its memory limit.
    jobs = check_scalar(jobs, "jobs", integer=True, low=1, high=512)
    skip, on_result = check_callable(skip, "skip"), check_callable(on_result, "on_result")
    if scheduler is not None:
        scheduler = check_str(scheduler, "scheduler")
        if scheduler != "local" and ":" not in scheduler:
            raise ValueError(f"scheduler should be 'local' or a Dask scheduler address such as "
                             f"'tcp://host:8786', got {scheduler!r}.")
    todo = [s for s in subs if not (skip and s.path.is_file() and skip(s, _sha256(s.path)))]
    if not todo:
        return []

    def finish(r: SubmissionResult) -> SubmissionResult:
        if on_result:
            on_result(r)
        return r

    def failed(s: Submission, exc: BaseException) -> SubmissionResult:
        # a bug of ours must not stop the batch either
        return _result(s, s.path.name, "internal error", [f"{type(exc).__name__}: {exc}"[:300]], options)

    from .sandbox import grading_package

    if scheduler == "local" or scheduler is None:
        grading_package()  # build it once, before the threads (local workers are threads of this process) start
    if scheduler is not None:
        return _grade_on_dask(todo, sources, options, jobs, scheduler, finish, failed)

    def one(s: Submission) -> SubmissionResult:
        try:
            r = grade_submission(s, sources, options)
        except Exception as exc:
            r = failed(s, exc)
        return finish(r)

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        return list(pool.map(one, todo))


def local_cluster(jobs: int = 1):
    """A Dask ``LocalCluster`` for ``--scheduler local`` that opens no network port.

    A local cluster of worker *processes* talks TCP on loopback without
    authentication: any user of the machine who finds the port can connect
    and ``client.run`` code in the workers (and so in the grader's account).
    Each job only waits for its sandbox (a child process), so the workers
    here are threads of this process and the scheduler talks to them in
    memory (``inproc://``): there is no Dask port to connect to. Dask
    still starts an HTTP server for the scheduler and the worker; they
    listen on loopback only and serve no route (no dashboard, no API, no
    metrics). Connect with ``Client(cluster)``.
    """
    import dask
    from distributed import LocalCluster

    jobs = check_scalar(jobs, "jobs", integer=True, low=1, high=512)
    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        return LocalCluster(n_workers=1, threads_per_worker=int(jobs), processes=False, protocol="inproc://",
                            dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0",
                            silence_logs=40)


def _grade_on_dask(todo, sources, options, jobs, scheduler, finish, failed) -> list[SubmissionResult]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ImportError("grading on Dask needs the distributed package: pip install 'segtutor[dask]'.") from None
    results = []
    cluster = None
    if scheduler == "local":
        cluster = local_cluster(jobs)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = {}
        for s in todo:
            try:
                job = build_job(s, sources, options)
            except Exception as exc:
                results.append(finish(failed(s, exc)))
                continue
            if isinstance(job, SubmissionResult):
                results.append(finish(job))
                continue
            # pure=False: two identical notebooks are still two runs.
            futures[client.submit(_run_remote, job, options, pure=False)] = (s, job)
        for future in as_completed(list(futures)):
            s, job = futures.pop(future)
            try:
                r = score_job(job, future.result(), options)
            except Exception as exc:
                r = failed(s, exc)
            results.append(finish(r))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def load_sources(paths) -> dict[str, Assignment]:
    """Read source notebooks into ``{file name: Assignment}``."""
    from .assignment import find_sources

    found = find_sources(paths)
    if not found:
        raise ValueError("paths hold no source notebooks; pass --source with the instructor's notebooks.")
    return {p.name: read_assignment(p) for p in found}
