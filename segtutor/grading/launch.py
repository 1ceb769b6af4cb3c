"""Run one job's runner in its sandbox and read back what it printed.

The third stage of grading (:mod:`segtutor.grading.grade` chains them).
:func:`run_job` starts ``python -m segtutor.grading.runner`` (inside
bubblewrap, :mod:`segtutor.grading.sandbox`, unless the instructor chose
``--unsandboxed``), writes the job's JSON to its stdin and reads at most a
fixed number of bytes of its stdout. It never raises for what the
submission did: a hang becomes ``timeout``, a sandbox that ends without a
result ``kernel died``. Nothing read back is executed or unpickled here.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ._checks import check_options
from .jobs import Job, check_job
from .options import GradeOptions

__all__ = ["run_job"]


def run_job(job: Job, options: GradeOptions) -> dict:
    """Run the job's runner (sandboxed unless ``options.sandbox`` is False); never raises.

    Returns the runner's result dict, or one made here when the runner gave
    none (status ``timeout``, ``kernel died`` or ``internal error``). A
    root grader whose sandbox had to run as host root adds ``as_root`` (why).
    """
    job, options = check_job(job), check_options(options)
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
