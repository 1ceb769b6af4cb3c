"""Wall time and peak memory of each notebook, in fast mode and (optionally) class mode.

Each notebook runs in a fresh child process that executes it with nbclient;
the kernel's peak resident memory is read from ``RUSAGE_CHILDREN`` of that
child once the kernel has exited. One run per notebook and mode: a class-mode
run of the whole course takes many minutes, so the note says "1 run".
Class mode runs only when ``SEGTUTOR_BENCH_CLASS=1``. Notebook numbers on the
command line restrict the run, e.g. ``SEGTUTOR_BENCH_CLASS=1 python
bench/bench_notebooks.py 10 11 12``.

Timings on a shared machine say little without the load they were taken
under, so each row's note also gives the kernel's CPU time (on 2 idle cores a
CPU-bound notebook takes between half of it and all of it) and a load probe:
while the notebook runs, a fixed single-threaded loop is timed every 2 s; its
median over its fastest run is the slowdown a single thread saw.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
t = time.perf_counter()
NotebookClient(nb, timeout=3600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
wall = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def _probe_once() -> float:
    """Seconds of a fixed single-threaded loop (0.12 s or less when it has a core to itself)."""
    start = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return time.perf_counter() - start


class LoadProbe:
    """Times :func:`_probe_once` every ``every`` seconds in a thread, with the 1-minute load average."""

    def __init__(self, every: float = 2.0):
        self.every, self.samples, self.loads = every, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.samples.append(_probe_once())
            self.loads.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "no load sample"
        slowdown = statistics.median(self.samples) / min(self.samples)
        return (f"load avg {statistics.median(self.loads):.1f}, probe {statistics.median(self.samples):.2f} s "
                f"(x{slowdown:.1f} its fastest)")


def time_notebook(path: Path, fast: bool) -> dict:
    env = dict(os.environ, SEGTUTOR_FAST="1" if fast else "0")
    env.pop("CI", None)
    with LoadProbe() as probe:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(path.parent)],
                             env=env, capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": probe.summary()}


def run(numbers=()) -> list[dict]:
    """One row per notebook and mode; ``numbers`` (such as ``("12",)``) picks some notebooks."""
    modes = [True] + ([False] if os.environ.get("SEGTUTOR_BENCH_CLASS") == "1" else [])
    rows = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if numbers and path.name[:2] not in numbers:
            continue
        for fast in modes:
            mode = "fast" if fast else "class"
            try:
                r = time_notebook(path, fast)
            except subprocess.CalledProcessError as exc:
                rows.append({"benchmark": f"{path.stem} ({mode})", "value": None, "unit": "s",
                             "target": "", "note": "FAILED: " + exc.stderr.strip().splitlines()[-1][:80]})
                continue
            note = f"peak {r['peak_mb']:.0f} MB, kernel CPU {r['cpu']:.0f} s, {r['load']}, 1 run"
            rows.append({"benchmark": f"{path.stem} ({mode})", "value": r["wall"], "unit": "s",
                         "target": "" if fast else ("<= 5 min" if path.name[:2] >= "08" else "< 10 min"),
                         "note": note})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import format_table

    print(format_table(run(tuple(f"{int(n):02d}" for n in sys.argv[1:]))))
