"""Run one submission in a fresh kernel; a child process of the grader.

``python -m segtutor.grading.runner`` reads a job (JSON) on stdin and writes
a result (JSON) on stdout. It never imports the exercise references and
never compares anything: it only executes, and hands back the text the probe
cells printed. The grader parses and scores that text in its own process.

In the default mode the grader starts it inside a bubblewrap sandbox
(:mod:`segtutor.grading.sandbox`) as the PID namespace's init, so no
process of the submission can signal it, and everything dies with it.

What it does, in order:

1. makes itself non-dumpable (its memory, environment and file descriptors
   are closed to the kernel), a *child subreaper*, and sets ``RLIMIT_DATA``
   (inherited by the kernel) so that a memory bomb ends in ``MemoryError``;
   ``RLIMIT_AS`` is not used because it breaks TensorFlow, which reserves
   large address ranges;
2. reads the notebook from the job (not JSON, or not a notebook: status
   ``invalid notebook``), keeps only its code cells' sources and appends the
   probe cells, in memory only: the run notebook is never written to disk;
3. starts a kernel in the working folder (the sandbox's empty tmpfs, or a
   temporary folder with links to the data folders) with stdout and stderr
   sent to /dev/null, executes every cell with a per-cell timeout
   (interrupting the kernel and going on), a longer notebook deadline, and
   a watchdog that kills the kernel and everything it started if their
   resident memory exceeds the limit; it keeps only the probes' stdout, cut
   at a byte cap, and which student cells raised;
4. kills every remaining descendant and prints the result.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

# The command (python -m segtutor.grading.runner) is the interface: it runs inside the sandbox as
# its init, and its helpers (kill_descendants among them) act on the calling process tree.
__all__ = ["main"]

PROBE_MARK = "# segtutor grading probe:"
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_DUMPABLE = 4
#: Text of the error a held-back reference raises in the grading sandbox.
HELD_BACK = "is not available while grading"


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # not Linux: descendants that double-fork may escape
        pass


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    children = _children_map()
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _rss_bytes(pid: int, field: str = "VmRSS:") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def kill_descendants() -> None:
    for _ in range(3):
        pids = descendants(os.getpid())
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        # Reap what we can: we are their parent or their subreaper.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.02)
            except ChildProcessError:
                break


class _Watchdog(threading.Thread):
    """Kill the kernel's process tree on a deadline or over a memory limit."""

    def __init__(self, deadline_s: float, memory_limit: int, poll_s: float = 0.1):
        super().__init__(daemon=True)
        self.deadline = time.monotonic() + deadline_s
        self.memory_limit = memory_limit
        self.poll_s = poll_s
        self.reason: str | None = None
        self.peak = 0
        # RLIMIT_DATA counts a process's private mappings, not its resident
        # memory: the largest one shows how close a process came to it.
        self.peak_data = 0
        self._stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.poll_s):
            pids = descendants(me)
            rss = sum(_rss_bytes(p) for p in pids)
            self.peak = max(self.peak, rss)
            self.peak_data = max([self.peak_data] + [_rss_bytes(p, "VmData:") for p in pids])
            if rss > self.memory_limit:
                self.reason = "memory limit"
            elif time.monotonic() > self.deadline:
                self.reason = "timeout"
            if self.reason:
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                return

    def stop(self) -> None:
        self._stop.set()


class _Capture:
    """What the runner keeps of the kernel's output: little, and bounded.

    Student cells: only whether they raised. Probe cells: their stdout, cut
    at ``cap`` bytes per probe (the rest is dropped as it arrives, never
    stored), so a submission that prints gigabytes costs neither the
    runner's nor the grader's memory.
    """

    def __init__(self, probe_cells: dict[int, str], cap: int):
        self.probe_cells = probe_cells
        self.cap = int(cap)
        self.text = {name: [] for name in probe_cells.values()}
        self.size = dict.fromkeys(probe_cells.values(), 0)
        self.truncated: set[str] = set()
        self.errors: set[int] = set()
        self.held_back: set[int] = set()
        self.memory_errors: set[int] = set()

    def add(self, msg: dict, cell_index: int) -> None:
        kind = msg.get("msg_type")
        if kind == "error":
            self.errors.add(cell_index)
            if msg.get("content", {}).get("ename") == "MemoryError":
                self.memory_errors.add(cell_index)
            if HELD_BACK in str(msg.get("content", {}).get("evalue", "")):
                self.held_back.add(cell_index)
            return
        name = self.probe_cells.get(cell_index)
        if name is None or kind != "stream" or msg.get("content", {}).get("name") != "stdout":
            return
        text = msg["content"].get("text", "")
        room = self.cap - self.size[name]
        if len(text) > room:
            self.truncated.add(name)
            text = text[:max(room, 0)]
        if text:
            self.text[name].append(text)
            self.size[name] += len(text)


def _run(job: dict) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    result: dict = {"status": "ok", "detail": "", "probes": {}, "cell_errors": 0, "timeouts": 0, "truncated": []}
    started = time.monotonic()
    try:
        nb = nbformat.reads(job["notebook"], as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as exc:
        result.update(status="invalid notebook", detail=f"{type(exc).__name__}: {str(exc)[:200]}")
        return result

    cells = []
    for cell in nb.cells:
        # Only code cells' sources; everything else the student wrote
        # (outputs, metadata, attachments) stays behind.
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cells.append(nbformat.v4.new_code_cell(source))
    n_student = len(cells)
    probe_cells = {}
    for probe in job["probes"]:
        probe_cells[len(cells)] = probe["exercise"]
        cells.append(nbformat.v4.new_code_cell(probe["source"]))
    # The run notebook (probe cells, their nonce and cases) lives only in
    # this process's memory, which the kernel cannot read (not dumpable).
    run_nb = nbformat.v4.new_notebook(cells=cells)
    capture = _Capture(probe_cells, job.get("probe_cap", 1 << 20))

    own_dir = job.get("workdir") is None
    workdir = Path(tempfile.mkdtemp(prefix="segtutor-grade-")) if own_dir else Path(job["workdir"])
    try:
        if own_dir:
            for data in job.get("data", []):
                data = Path(data)
                (workdir / data.name).symlink_to(data.resolve())
        cell_timeout = job["cell_timeout"]
        probe_timeout = job["probe_timeout"]

        class Client(NotebookClient):
            timeouts = 0

            async def _async_handle_timeout(self, timeout, cell=None):
                Client.timeouts += 1
                return await super()._async_handle_timeout(timeout, cell)

            def output(self, outs, msg, display_id, cell_index):
                capture.add(msg, cell_index)
                return None

            def handle_comm_msg(self, outs, msg, cell_index):
                return None

        client = Client(
            run_nb,
            timeout=cell_timeout,
            timeout_func=lambda cell: probe_timeout if cell.source.startswith(PROBE_MARK) else cell_timeout,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": f"the cell ran past {cell_timeout} s", "traceback": []},
            allow_errors=True,
            kernel_name="python3",
            startup_timeout=60,
            iopub_timeout=10,
            record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
        )
        watchdog = _Watchdog(job["notebook_timeout"], int(job["memory_limit_mb"]) * 2**20)
        watchdog.start()
        t0 = time.monotonic()
        try:
            client.execute(stdin=subprocess_devnull(), stdout=subprocess_devnull(), stderr=subprocess_devnull())
        except DeadKernelError:
            result.update(status=watchdog.reason or "kernel died", detail="the kernel stopped before the end")
        except Exception as exc:
            result.update(status=watchdog.reason or "kernel died", detail=f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            watchdog.stop()
            kill_descendants()
        if watchdog.reason and result["status"] == "ok":
            result["status"] = watchdog.reason
        limit = int(job["memory_limit_mb"]) * 2**20
        result["peak_data_mb"] = round(watchdog.peak_data / 2**20, 1)
        if result["status"] in ("timeout", "kernel died") and (
                capture.memory_errors or max(watchdog.peak, watchdog.peak_data) >= 0.9 * limit):
            # Out of memory shows as a hang or a dead kernel (a thread that
            # cannot allocate its stack, a kernel killed at the limit): say so.
            result["status"] = "memory limit"
            result["detail"] = (f"the kernel ran out of memory (peak resident {watchdog.peak / 2**20:.0f} MiB, "
                                f"largest data segment {watchdog.peak_data / 2**20:.0f} MiB, limit {limit >> 20} MiB; "
                                f"{len(capture.memory_errors)} cell(s) raised MemoryError); grade with a larger --memory")
        result["execute_s"] = round(time.monotonic() - t0, 3)
        result["peak_rss_mb"] = round(watchdog.peak / 2**20, 1)
        result["timeouts"] = Client.timeouts
        result["cell_errors"] = sum(1 for i in capture.errors if i < n_student)
        result["held_back"] = sum(1 for i in capture.held_back if i < n_student)
        result["probes"] = {name: "".join(parts) for name, parts in capture.text.items()}
        result["truncated"] = sorted(capture.truncated)
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    result["runner_s"] = round(time.monotonic() - started, 3)
    return result


def subprocess_devnull():
    import subprocess

    return subprocess.DEVNULL


def _not_dumpable() -> None:
    # A non-dumpable process's /proc/<pid>/mem, environ, fd/ and cmdline are
    # closed to processes without CAP_SYS_PTRACE: the kernel (same user id in
    # the sandbox, no capabilities) can neither read the probes and nonce
    # from this process's memory nor write to its result pipe.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except Exception:
        pass


def _shrug(signum, frame) -> None:
    """Ignore SIGINT in this process only (a Python handler is reset at exec, so the kernel keeps its own)."""


def _immune() -> None:
    # The runner is the sandbox's init: the kernel drops every signal a
    # process inside sends it unless the runner handles that signal. Python
    # handles SIGINT (KeyboardInterrupt) and a library may add more, so every
    # catchable signal that could end or stop the runner is ignored.
    # SIG_IGN is inherited by the kernel, which needs SIGINT for interrupts:
    # SIGINT gets a handler that does nothing instead.
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGPIPE", "SIGXCPU", "SIGXFSZ",
                 "SIGVTALRM", "SIGPROF", "SIGTRAP", "SIGPWR", "SIGSYS", "SIGABRT", "SIGTSTP", "SIGTTIN", "SIGTTOU"):
        if hasattr(signal, name):
            try:
                signal.signal(getattr(signal, name), signal.SIG_IGN)
            except (OSError, ValueError):
                pass
    signal.signal(signal.SIGINT, _shrug)
    # nbclient adds asyncio handlers for SIGINT and SIGTERM that shut the
    # kernel down: a cell's os.kill(1, SIGTERM) would end the run. The
    # runner's loop takes no signal handlers.
    import asyncio

    def add_signal_handler(self, sig, callback, *args):
        return None

    asyncio.SelectorEventLoop.add_signal_handler = add_signal_handler


def main() -> int:
    _not_dumpable()
    _immune()
    job = json.loads(sys.stdin.read())
    _become_subreaper()
    limit = int(job["memory_limit_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    env = job.get("env", {})
    os.environ.update({str(k): str(v) for k, v in env.items()})
    if job.get("workdir"):
        os.chdir(job["workdir"])
    out = sys.stdout
    # Nothing the kernel or a library prints may mix with the result line.
    sys.stdout = sys.stderr
    try:
        result = _run(job)
    except Exception as exc:  # report, so the batch goes on
        kill_descendants()
        result = {"status": "internal error", "detail": f"{type(exc).__name__}: {exc}"[:400], "probes": {}}
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
