#!/usr/bin/env python3
"""Mutation score of the exercise checks (issue 26): mutants per exercise, and how many ``check`` kills.

A mutant is a wrong solution committed in ``tests/_mutants`` (one per requirement the
instructions state, plus classic student mistakes) or one of the spec's own classic
mistakes. Each runs through ``check`` on the public fixed and edge cases only
(``n_random=0``), as ``tests/test_mutants.py`` does; it is killed when the check fails.
Target: every mutant killed.

Measured (December 2026, fast mode, on the shared 2-core machine): 244 mutants over the
29 exercises of notebooks 00-12 (155 written + 89 classic mistakes), from 5 (atrous_conv2d)
to 12 (encode_boxes, pseudo_labels) per exercise; all 244 killed, a mutation score of 100 %.

Usage::

    .venv/bin/python bench/bench_mutants.py          # table per exercise, then the total
    .venv/bin/python bench/run.py mutants            # the same rows in the course's benchmark table
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "tests", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def measure() -> list[dict]:
    """Per exercise: written and classic mutants, and how many fail their check."""
    from _mutants import all_mutants

    from segtutor.exercises import check

    rows = []
    for name, mutants in sorted(all_mutants().items()):
        start = time.perf_counter()
        killed = sum(not check(name, f, n_random=0, verbose=False).passed for f in mutants.values())
        classic = sum(d.startswith("classic: ") for d in mutants)
        rows.append({"exercise": name, "written": len(mutants) - classic, "classic": classic,
                     "total": len(mutants), "killed": killed, "seconds": time.perf_counter() - start})
    return rows


def run() -> list[dict]:
    rows = measure()
    out = [{"benchmark": f"mutants: {r['exercise']}", "value": r["total"], "unit": "mutants",
            "target": "all killed", "note": f"{r['killed']} killed ({r['written']} written + {r['classic']} classic)"}
           for r in rows]
    total, killed = sum(r["total"] for r in rows), sum(r["killed"] for r in rows)
    out.append({"benchmark": "mutation score", "value": round(100 * killed / total, 1), "unit": "%",
                "target": 100, "note": f"{killed} of {total} mutants over {len(rows)} exercises"})
    return out


def main() -> int:
    rows = measure()
    print(f"{'exercise':<24}{'written':>8}{'classic':>8}{'total':>7}{'killed':>8}")
    for r in rows:
        print(f"{r['exercise']:<24}{r['written']:>8}{r['classic']:>8}{r['total']:>7}{r['killed']:>8}")
    total, killed = sum(r["total"] for r in rows), sum(r["killed"] for r in rows)
    written = sum(r["written"] for r in rows)
    print(f"{'all ' + str(len(rows)) + ' exercises':<24}{written:>8}{total - written:>8}{total:>7}{killed:>8}")
    print(f"mutation score: {100 * killed / total:.1f} %")
    return 0 if killed == total else 1


if __name__ == "__main__":
    sys.exit(main())
