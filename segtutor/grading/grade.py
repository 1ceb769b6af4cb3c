"""Grade a batch of submissions into a gradebook.

For each submission, :func:`grade_submission` chains four stages, each a
module of its own:

1. **find** (:mod:`~segtutor.grading.submissions`): which notebook belongs
   to which student; the exercise list and points come from the
   instructor's *source* notebook, never from the submission
   (:mod:`~segtutor.grading.assignment`);
2. **build** (:mod:`~segtutor.grading.jobs`): read the notebook once, draw
   fresh random inputs for every exercise from a seed (the instructor's
   ``--seed``, or a random one recorded in the gradebook), mixed with the
   student identity so classmates get different cases;
3. **run** (:mod:`~segtutor.grading.launch`): the submission with probe cells
   appended, in a child process (:mod:`segtutor.grading.runner`) inside a
   bubblewrap sandbox (:mod:`segtutor.grading.sandbox`): a fresh kernel that
   sees only the submission, a copy of the package without reference
   implementations and the data folders; timeouts per cell and per
   notebook, a memory limit; at most a fixed number of bytes of plain text
   (JSON lines tagged with a per-submission nonce) come back;
4. **score** (:mod:`~segtutor.grading.score`): here, in the grader's
   process, against the reference implementation run on the same inputs.
   Conflicting answers for one case make that case wrong. Nothing a
   submission produced is ever unpickled or executed here.

The gradebook's rows are written by :mod:`segtutor.grading.gradebook`.
:func:`grade_batch` runs many submissions on threads, or on Dask
(:mod:`~segtutor.grading.cluster`). One bad submission never stops the
batch: every failure becomes a status.

This module also gives the stages' public names in one place, as the
command line, the tests and an instructor's script use them.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._validate import ArgumentTypeError, check_jobs, check_path, check_str, describe
from ._checks import check_callable, check_options
from .assignment import Assignment, check_sources, load_sources
from .cluster import grade_on_dask, local_cluster
from .jobs import MAX_NOTEBOOK_BYTES, Job, build_job, case_seed, not_graded
from .launch import run_job
from .options import GradeOptions
from .results import Status, SubmissionResult
from .score import score_job
from .submissions import Submission, collect_submissions, identity, name_warnings, student_id

__all__ = ["GradeOptions", "SubmissionResult", "Submission", "Job", "grade_submission", "grade_batch",
           "build_job", "run_job", "score_job", "collect_submissions", "student_id", "identity", "name_warnings",
           "local_cluster",
           "case_seed",
           "MAX_NOTEBOOK_BYTES", "load_sources"]

#: Result statuses, from best to worst.
STATUSES = tuple(str(s) for s in Status)


def grade_submission(sub, sources: dict[str, Assignment], options: GradeOptions) -> SubmissionResult:
    """Grade one submission; never raises for anything the submission did.

    Parameters
    ----------
    sub : Submission or path
        The submitted notebook (a path gets its identity from
        :func:`student_id`).
    sources : dict
        ``{source file name: Assignment}`` from :func:`load_sources`.
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
                                f"got {describe(subs)}.")
    subs = [s if isinstance(s, Submission) else Submission(student_id(check_path(s, "subs"), sources), Path(s), None)
            for s in subs]
    # More threads than this would only queue: each job is a kernel with its memory limit.
    jobs = check_jobs(jobs)
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
        return not_graded(s, s.path.name, "internal error", [f"{type(exc).__name__}: {exc}"[:300]], options)

    from .sandbox import grading_package

    if scheduler == "local" or scheduler is None:
        grading_package()  # build it once, before the threads (local workers are threads of this process) start
    if scheduler is not None:
        return grade_on_dask(todo, sources, options, jobs, scheduler, finish, failed)

    def one(s: Submission) -> SubmissionResult:
        try:
            r = grade_submission(s, sources, options)
        except Exception as exc:
            r = failed(s, exc)
        return finish(r)

    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        return list(pool.map(one, todo))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
