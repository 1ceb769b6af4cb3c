#!/usr/bin/env python3
"""Run the course benchmarks and print one table.

Each ``bench/bench_*.py`` module exposes ``run() -> list[dict]`` with keys
``benchmark``, ``value``, ``unit``, ``target`` and ``note``. Values are
medians over repeats unless the note says otherwise.

Usage::

    .venv/bin/python bench/run.py                 # every benchmark
    .venv/bin/python bench/run.py datasets cnn    # only bench_datasets.py and bench_cnn.py
    SEGTUTOR_BENCH_CLASS=1 .venv/bin/python bench/run.py notebooks   # also time class mode
    .venv/bin/python bench/run.py widgets_browser   # key press to new picture in Chromium (needs Chromium)
    .venv/bin/python bench/run.py notebook_memory # peak memory and CPU per student, class mode (slow)
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def format_table(rows: list[dict]) -> str:
    headers = ["benchmark", "value", "unit", "target", "note"]
    cells = [[str(r.get("benchmark", "")), _fmt(r.get("value")), str(r.get("unit", "")),
              str(r.get("target", "")), str(r.get("note", ""))] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = sorted(HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in wanted]
    rows: list[dict] = []
    for path in modules:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        try:
            rows += _load(path).run()
        except Exception as exc:  # one broken benchmark must not hide the others
            rows.append({"benchmark": path.stem, "value": None, "unit": "", "target": "",
                         "note": f"FAILED: {type(exc).__name__}: {exc}"})
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
          f"Python {platform.python_version()}")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
