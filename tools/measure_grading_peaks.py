"""Measure each course notebook's memory peak in a graded run; write the table ``segtutor grade`` checks.

Each source notebook is graded as its own (honest, complete) submission,
in the bubblewrap sandbox, the way ``segtutor grade`` runs it. The runner's
watchdog reports the peak resident memory of the kernel's process tree and
the largest data segment of one process (sampled every 0.1 s); the larger
of the two is what ``--memory`` must exceed (it is both the watchdog's and
``RLIMIT_DATA``'s limit). ``cell_errors`` counts the cells that raised in
that run and ``held_back`` those among them that called a held-back
function (a graded honest submission raises the same ones, so the run is
the one grading makes; cells after such an error still run).
``code_sha256`` is the hash of the code cells measured
(``segtutor.grading.peaks.code_hash``): after a notebook's code changes,
``segtutor grade`` warns and ``tests/test_grading_memory.py`` fails until
this tool measures it again. Rows are merged into
``segtutor/data/grading_memory_peaks.csv``::

    .venv/bin/python tools/measure_grading_peaks.py notebooks/02_classical_segmentation.ipynb
    .venv/bin/python tools/measure_grading_peaks.py            # every notebook, fast mode
    .venv/bin/python tools/measure_grading_peaks.py --class-mode notebooks/06_unet.ipynb
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "segtutor" / "data" / "grading_memory_peaks.csv"
FIELDS = ["notebook", "mode", "peak_mb", "peak_rss_mb", "peak_data_mb", "status", "cell_errors", "held_back",
          "seconds", "measured_on", "code_sha256"]


def measure(path: Path, fast: bool, memory_mb: int) -> dict:
    from segtutor.grading.grade import GradeOptions, Submission, build_job, load_sources, run_job
    from segtutor.grading.peaks import code_hash

    sources = load_sources([path])
    options = GradeOptions(seed=1, cell_timeout=900, probe_timeout=120, notebook_timeout=1800,
                           memory_limit_mb=memory_mb, fast=fast)
    job = build_job(Submission("peak", path, None), sources, options)
    t0 = time.monotonic()
    run = run_job(job, options)
    rss, data = float(run.get("peak_rss_mb", 0)), float(run.get("peak_data_mb", 0))
    return {"notebook": path.name, "mode": "fast" if fast else "class", "peak_mb": round(max(rss, data)),
            "peak_rss_mb": round(rss), "peak_data_mb": round(data), "status": run.get("status", "?"),
            "cell_errors": run.get("cell_errors", "?"), "held_back": run.get("held_back", "?"),
            "seconds": round(time.monotonic() - t0), "measured_on": f"{os.cpu_count()}-core {platform.machine()}, "
            f"{time.strftime('%Y-%m-%d')}, sandboxed, --memory {memory_mb}",
            # What was measured: segtutor grade warns when the notebook's code no longer hashes to this.
            "code_sha256": code_hash(path)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="source notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--class-mode", action="store_true", help="measure class mode, not fast mode")
    parser.add_argument("--memory", type=int, default=8192, help="limit of the measuring run in MiB (default 8192)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    rows = {}
    if TABLE.exists():
        with open(TABLE, newline="") as f:
            rows = {(r["notebook"], r["mode"]): r for r in csv.DictReader(f)}
    for path in paths:
        row = measure(path, not args.class_mode, args.memory)
        print(row, flush=True)
        if row["status"] != "ok":
            print(f"  not recorded: the run ended {row['status']!r}", file=sys.stderr)
            continue
        rows[(row["notebook"], row["mode"])] = row
        with open(TABLE, "w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[k] for k in sorted(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
