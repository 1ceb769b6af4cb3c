"""What one student costs a server: peak memory and CPU time of each notebook's kernel, in class mode.

For sizing a JupyterHub (README, "Class deployment"). Each notebook runs in a
fresh kernel, started by a child process that executes it with nbclient,
exactly as a student's "Run all" would, in class mode (``SEGTUTOR_FAST=0``,
``CI`` removed). After the kernel exits, the child reads ``RUSAGE_CHILDREN``:
``ru_maxrss`` is the largest resident set any of its children reached (the
kernel's peak), ``ru_utime + ru_stime`` the CPU seconds they used. A last row
gives the largest peak plus the single-user server's own resident memory
(measured by starting ``jupyter server`` and reading its RSS once it answers),
which is the memory to guarantee per student.

One run per notebook: a class-mode run of the whole course takes many
minutes. Peak memory barely depends on machine load; CPU seconds do a little
(cache misses), wall time a lot, so the wall time column is only a guide.

``SEGTUTOR_BENCH_FAST=1`` measures fast mode instead (a quick smoke run);
``SEGTUTOR_BENCH_NOTEBOOKS=00,02`` limits the notebooks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
t = time.perf_counter()
NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak_mb": use.ru_maxrss / 1024, "cpu": use.ru_utime + use.ru_stime}))
"""


def measure_notebook(path: Path, *, fast: bool) -> dict:
    """``{"wall", "peak_mb", "cpu"}`` of one notebook run in a fresh kernel."""
    env = dict(os.environ, SEGTUTOR_FAST="1" if fast else "0")
    env.pop("CI", None)
    with tempfile.TemporaryDirectory(prefix="segtutor-mem-") as work:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path), work],
                             env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_memory_mb(timeout: float = 120.0) -> float:
    """Resident memory of an idle single-user Jupyter server with the course's extensions, in MB."""
    import psutil

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="segtutor-srv-") as root:
        args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
                "--IdentityProvider.token=", f"--ServerApp.root_dir={root}", "--allow-root"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                raise TimeoutError(f"jupyter server did not answer within {timeout:.0f} s")
            # One page load makes the server import the lab extensions it serves.
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=30).read()
            return psutil.Process(proc.pid).memory_info().rss / 2**20
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def run() -> list[dict]:
    fast = os.environ.get("SEGTUTOR_BENCH_FAST") == "1"
    mode = "fast" if fast else "class"
    only = {s.strip() for s in os.environ.get("SEGTUTOR_BENCH_NOTEBOOKS", "").split(",") if s.strip()}
    rows, peaks = [], []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if only and path.name[:2] not in only:
            continue
        try:
            r = measure_notebook(path, fast=fast)
        except subprocess.CalledProcessError as exc:
            rows.append({"benchmark": f"{path.stem} kernel peak ({mode})", "value": None, "unit": "MB",
                         "target": "", "note": "FAILED: " + (exc.stderr.strip().splitlines() or ["?"])[-1][:80]})
            continue
        peaks.append(r["peak_mb"])
        rows.append({"benchmark": f"{path.stem} kernel peak ({mode})", "value": r["peak_mb"], "unit": "MB",
                     "target": "", "note": f"CPU {r['cpu']:.0f} s, wall {r['wall']:.0f} s, 1 run"})
    server = server_memory_mb()
    rows.append({"benchmark": "single-user server (idle, JupyterLab)", "value": server, "unit": "MB",
                 "target": "", "note": "RSS after one /lab page load"})
    if peaks:
        rows.append({"benchmark": f"memory to guarantee per student ({mode})", "value": max(peaks) + server,
                     "unit": "MB", "target": "", "note": "largest kernel peak + server; one kernel open at a time"})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import format_table

    print(format_table(run()))
