"""Wall time and peak memory of each notebook, in fast mode and (optionally) class mode.

Each notebook runs in a fresh child process that executes it with nbclient;
the kernel's peak resident memory is read from ``RUSAGE_CHILDREN`` of that
child once the kernel has exited. One run per notebook and mode: a class-mode
run of the whole course takes many minutes, so the note says "1 run".
Class mode runs only when ``SEGTUTOR_BENCH_CLASS=1``. Notebook numbers on the
command line restrict the run, e.g. ``SEGTUTOR_BENCH_CLASS=1 python
bench/bench_notebooks.py 10 11 12``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "peak_mb": peak_kb / 1024}))
"""


def time_notebook(path: Path, fast: bool) -> dict:
    env = dict(os.environ, SEGTUTOR_FAST="1" if fast else "0")
    env.pop("CI", None)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(path.parent)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(numbers=()) -> list[dict]:
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
            rows.append({"benchmark": f"{path.stem} ({mode})", "value": r["wall"], "unit": "s",
                         "target": "" if fast else ("<= 5 min" if path.name[:2] >= "08" else "< 10 min"), "note": f"peak {r['peak_mb']:.0f} MB, 1 run"})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import format_table

    print(format_table(run(tuple(f"{int(n):02d}" for n in sys.argv[1:]))))
