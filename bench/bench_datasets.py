"""Benchmark: how long the synthetic data sets take to make.

Targets (a 2-core laptop): 1,000 shapes images at 128x128 in <= 2 s, and 200
nuclei images at 256x256 in <= 5 s. Each figure is the median of 5 runs.

Run as a script for a table::

    python bench/bench_datasets.py
"""

from __future__ import annotations

import statistics
import time

REPEATS = 5


def _median_seconds(make, repeats: int = REPEATS) -> float:
    make()  # warm-up: imports and first-touch allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[dict]:
    """Time the generators; return one row per benchmark.

    Returns
    -------
    list of dict
        Rows ``{"benchmark", "value", "unit", "target", "note"}``; ``value``
        is the median time in seconds over 5 repeats.
    """
    from segtutor.datasets import make_nuclei, make_shapes

    shapes = _median_seconds(lambda: make_shapes(1000, size=128, seed=0))
    nuclei = _median_seconds(lambda: make_nuclei(200, size=256, seed=0))
    return [
        {
            "benchmark": "make_shapes 1,000 x 128x128",
            "value": shapes,
            "unit": "s",
            "target": "<= 2 s",
            "note": f"median of {REPEATS}; max_instances=4, overlap=0.3",
        },
        {
            "benchmark": "make_nuclei 200 x 256x256",
            "value": nuclei,
            "unit": "s",
            "target": "<= 5 s",
            "note": f"median of {REPEATS}; density=4 (about 19 nuclei per image)",
        },
    ]


def main() -> None:
    rows = run()
    width = max(len(r["benchmark"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'median':>8}  target   note")
    for r in rows:
        ok = "ok " if r["value"] <= float(r["target"].split()[1]) else "SLOW"
        print(f"{r['benchmark']:<{width}}  {r['value']:>6.2f} {r['unit']}  {r['target']}  {ok} {r['note']}")


if __name__ == "__main__":
    main()
