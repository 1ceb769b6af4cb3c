"""Grading on a Dask cluster (``segtutor grade --scheduler local|ADDRESS``).

Only the sandboxed run (:func:`segtutor.grading.launch.run_job`) goes to a
worker, which runs the same sandbox; reading the files, drawing the cases
and scoring stay in the grader's process.
"""

from __future__ import annotations

from .._validate import check_jobs
from .jobs import Job, build_job
from .launch import run_job
from .options import GradeOptions
from .results import SubmissionResult
from .score import score_job

__all__ = ["local_cluster"]


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

    jobs = check_jobs(jobs)
    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        return LocalCluster(n_workers=1, threads_per_worker=int(jobs), processes=False, protocol="inproc://",
                            dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0",
                            silence_logs=40)


def grade_on_dask(todo, sources, options, jobs, scheduler, finish, failed) -> list[SubmissionResult]:
    """:func:`segtutor.grading.grade.grade_batch` on Dask: runs there, reading and scoring here.

    ``finish(result)`` is called as each submission ends and ``failed(sub, exc)`` makes the
    result of one that raised, as the threads of ``grade_batch`` do.
    """
    try:
        from distributed import Client, as_completed
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


def _run_remote(job: Job, options: GradeOptions) -> dict:
    """What a Dask worker runs: the sandboxed runner only; scoring stays with the grader."""
    return run_job(job, options)
