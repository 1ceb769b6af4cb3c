"""Benchmark grading and check() on this machine.

    .venv/bin/python bench/bench_grading.py [--notebook notebooks/01_images_as_arrays.ipynb] [--n 30] [--jobs 2]

1. ``check()``: median seconds per exercise over 7 calls with a correct
   implementation (the package's reference).
2. Grading: ``n`` copies of a source notebook (solutions in place, so every
   copy is an honest full submission) graded with ``--jobs``, sandboxed (the
   default), then a third as many ``--unsandboxed`` (the sandbox's cost), then
   on a Dask ``LocalCluster`` of ``--jobs`` workers (throughput). ``--table``
   prints the rows ``bench/run.py`` shows. Reports wall
   seconds per submission, and the overhead beyond executing the notebook:
   per-submission grading time minus the time nbclient alone takes to run
   the same notebook in a fresh kernel (the median of 3 plain runs, one at a
   time, so with ``--jobs 2`` on 2 cores the overhead also holds the cost of
   sharing the CPU).

Results go to stdout and ``bench/results/grading.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_check(repeats: int = 7) -> dict:
    from segtutor.exercises import check, exercise_names, get_exercise

    out = {}
    for name in exercise_names():
        spec = get_exercise(name)
        try:
            func = spec.reference_function()
        except ImportError as exc:
            out[name] = f"reference missing: {exc}"
            continue
        check(name, func, verbose=False)  # warm imports
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            check(name, func, verbose=False)
            times.append(time.perf_counter() - t)
        out[name] = round(statistics.median(times), 4)
    return out


def plain_execution(notebook: Path, repeats: int = 3) -> float:
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        nb = nbformat.read(notebook, as_version=4)
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(notebook, Path(d) / notebook.name)
            t = time.perf_counter()
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": d}}).execute()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_grading(notebook: Path, n: int, jobs: int, *, sandbox: bool = True, scheduler: str | None = None) -> dict:
    from segtutor.grading.grade import GradeOptions, grade_batch, load_sources

    sources = load_sources([notebook])
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i in range(n):
            folder = Path(d) / f"student{i:02d}"
            folder.mkdir()
            shutil.copy(notebook, folder / notebook.name)
            paths.append(folder / notebook.name)
        t = time.perf_counter()
        results = grade_batch(paths, sources, GradeOptions(seed=1, sandbox=sandbox), jobs=jobs, scheduler=scheduler)
        wall = time.perf_counter() - t
    max_points = sources[notebook.name].max_points
    return {
        "n": n,
        "jobs": jobs,
        "wall_s": round(wall, 1),
        "seconds_per_submission": round(wall / n, 2),
        "median_submission_s": round(statistics.median(r.seconds for r in results), 2),
        "all_full_marks": all(r.total == max_points and r.status == "ok" for r in results),
        "statuses": sorted({str(r.status) for r in results}),
        "per_minute": round(60 * n / wall, 1),
    }


def run(n: int = 30, jobs: int = 2) -> list[dict]:
    """Rows for ``bench/run.py``: check(), batch grading of notebook 01 with and
    without the sandbox, and on a two-worker Dask LocalCluster."""
    os.environ.setdefault("SEGTUTOR_FAST", "1")
    notebook = ROOT / "notebooks" / "01_images_as_arrays.ipynb"
    checks = {k: v for k, v in bench_check().items() if isinstance(v, float)}
    rows = [{"benchmark": "check(): median over exercises", "value": statistics.median(checks.values()) * 1000,
             "unit": "ms", "target": "< 1000 ms",
             "note": f"{len(checks)} exercises, slowest {max(checks, key=checks.get)} "
                     f"{max(checks.values()) * 1000:.0f} ms; median of 7 calls each"}]
    plain = plain_execution(notebook)
    g = bench_grading(notebook, n, jobs)
    rows.append({"benchmark": f"grade {n} x {notebook.stem}, --jobs {jobs}", "value": g["seconds_per_submission"],
                 "unit": "s/sub", "target": "", "note": f"wall {g['wall_s']} s; all full marks: {g['all_full_marks']}"})
    rows.append({"benchmark": "grading overhead beyond executing the notebook (sandboxed)",
                 "value": g["median_submission_s"] - plain, "unit": "s/sub", "target": "< 1 s",
                 "note": f"median submission {g['median_submission_s']} s - plain nbclient run {plain:.2f} s"})
    u = bench_grading(notebook, max(2, n // 3), jobs, sandbox=False)
    rows.append({"benchmark": "sandbox cost per submission (bwrap vs --unsandboxed)",
                 "value": g["median_submission_s"] - u["median_submission_s"], "unit": "s/sub", "target": "",
                 "note": f"median {g['median_submission_s']} s sandboxed, {u['median_submission_s']} s unsandboxed"})
    try:
        d = bench_grading(notebook, n, jobs, scheduler="local")
        rows.append({"benchmark": f"Dask LocalCluster, {jobs} workers, {n} x {notebook.stem}",
                     "value": d["per_minute"], "unit": "subs/min", "target": "",
                     "note": f"wall {d['wall_s']} s incl. cluster start; thread pool: {g['per_minute']} subs/min; "
                             f"all full marks: {d['all_full_marks']}"})
    except ImportError as exc:
        rows.append({"benchmark": "Dask LocalCluster", "value": float("nan"), "unit": "subs/min", "target": "",
                     "note": str(exc)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default=str(ROOT / "notebooks" / "01_images_as_arrays.ipynb"))
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="print bench/run.py's rows for this file and stop")
    args = parser.parse_args()
    if args.table:
        for row in run(args.n, args.jobs):
            print(f"{row['benchmark']:<62} {row['value']:>8.2f} {row['unit']:<9} {row['target']:<8} {row['note']}")
        return 0
    os.environ.setdefault("SEGTUTOR_FAST", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    notebook = Path(args.notebook).resolve()
    report = {"machine_cpus": os.cpu_count(), "notebook": notebook.name}
    report["check_median_s"] = bench_check()
    print("check() median seconds:", json.dumps(report["check_median_s"], indent=1), flush=True)
    report["plain_execution_s"] = round(plain_execution(notebook), 2)
    print(f"plain nbclient run of {notebook.name}: {report['plain_execution_s']} s", flush=True)
    report["grading"] = bench_grading(notebook, args.n, args.jobs)
    g = report["grading"]
    # With jobs running in parallel, each submission's own time includes CPU
    # sharing; the wall time per submission is what a teacher waits.
    report["overhead_per_submission_s"] = round(g["median_submission_s"] - report["plain_execution_s"], 2)
    print(json.dumps(report["grading"], indent=1))
    print(f"overhead beyond executing the notebook: {report['overhead_per_submission_s']} s per submission")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "grading.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
