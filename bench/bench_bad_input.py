#!/usr/bin/env python3
"""Bad input across the package: counts per module per outcome class (issue 11).

Runs the fuzzer of tests/test_bad_input.py exhaustively (every bad value for
every parameter of every public callable, where the test samples a few with
hypothesis) and prints, per module, how many calls ended in

* ``clear``   success as documented, or TypeError/ValueError/FileNotFoundError
  from segtutor naming the argument;
* ``cryptic`` another exception, one raised inside NumPy/SciPy/scikit-image/
  scikit-learn/Keras/TensorFlow, or a message that does not name the argument;
* ``silent``  NaN/inf/complex/'False' accepted without a documented reason, a
  non-finite result, or a NumPy scalar refused;
* ``hang``    past the watchdog, MemoryError, or a NumPy peak above 1 GiB.

Target: 0 cryptic, 0 silent, 0 hang. ``--details`` lists every failing call.

Measured (November 2026, on the shared 2-core machine at a load average of
about 11, so the times are inflated): the default run, 3,309 calls over
every public module, took 245 s and ended 3,309 clear, 0 cryptic, 0 silent,
0 hang. The three subpackages fuzzed last, every bad value tried
(``SEGTUTOR_BAD_INPUT_LIMIT=0``), before and after their argument checks:

=====================================  =====  ===============================  =================
module prefix                          calls  before (cryptic/silent/hang)     after
=====================================  =====  ===============================  =================
segtutor.maskrcnn (+ StageBrowser)      1241  482 / 70 / 8                     0 / 0 / 0
segtutor.exercises                       198  60 / 11 / 0                      0 / 0 / 0
segtutor.grading                         384  227 / 4 / 0                      0 / 0 / 0
=====================================  =====  ===============================  =================

Issue 24 (December 2026, fast mode, the same shared 2-core machine at a load
average of 7-9): the default run, 3,381 calls, took 202 s and ended 3,377
clear, 4 cryptic (``KernelPlayground(preset=...)`` and ``cutmix``), 0 silent,
0 hang; after fixing those two messages, the three modules concerned
(``segtutor.convolution segtutor.semi.mean_teacher segtutor.widgets.kernels``,
240 calls) ended 240 / 0 / 0 / 0. The generic bad values above do not reach
most of issue 24's faults, so a full run without prefixes also runs the
targeted cases of ``ISSUE24_CASES`` in tests/_badinput.py, one or more per
group of the issue (a call that returns counts as silent there). Of those 21
cases the code before the fixes gave 0 clear, 3 cryptic, 14 silent, 4 hang
(commit 3c6e257); after them, 21 clear.

Usage::

    PYTHONPATH=$PWD .venv/bin/python bench/bench_bad_input.py [--details] [--verbose] [module-prefix ...]

Module prefixes restrict the run, e.g. ``segtutor.maskrcnn segtutor.widgets.stages``.

``SEGTUTOR_BAD_INPUT_LIMIT`` (default 12) caps the bad values per callable,
spread evenly over its parameters; 0 tries every one (slow: about 5,000 calls).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HANG_SECONDS = 20.0
VERBOSE = False
# Bad values tried per callable (spread over its parameters); None tries all of them.
LIMIT = int(os.environ.get("SEGTUTOR_BAD_INPUT_LIMIT", "12")) or None  # shorter than the test's 60 s so that a "before" run finishes; a hang is still a hang


def _fuzzer():
    """tests/_badinput.py, loaded by path (a site-packages ``tests`` package may shadow ours)."""
    import importlib.util

    if "_badinput" in sys.modules:
        return sys.modules["_badinput"]
    spec = importlib.util.spec_from_file_location("_badinput", ROOT / "tests" / "_badinput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_badinput"] = module
    spec.loader.exec_module(module)
    return module


def fuzz(prefixes=(), limit=None):
    fz = _fuzzer()

    outcomes = []
    uncovered = []
    with fz.memory_cap():
        for qualname, func in sorted(fz.public_callables().items()):
            if prefixes and not qualname.startswith(tuple(prefixes)):
                continue
            if fz.excluded_reason(qualname):
                continue
            if fz.missing_examples(qualname, func):
                uncovered.append(qualname)
                continue
            start = time.perf_counter()
            for param, bad in fz.cases(qualname, func, limit):
                outcomes.append(fz.run_case(qualname, param, bad, hang_seconds=HANG_SECONDS))
            if VERBOSE:
                print(f"{time.perf_counter() - start:6.1f} s  {qualname}", file=sys.stderr, flush=True)
    return outcomes, uncovered


def targeted() -> list:
    """The targeted cases of issue 24 (tests/_badinput.py ISSUE24_CASES): each must end in a clear error.

    A call that returns counts as ``silent`` here, since every case is a
    fault that should have been refused.
    """
    fz = _fuzzer()

    out = []
    with fz.memory_cap():
        for group, qualname, param, bad in fz.ISSUE24_CASES:
            o = fz.run_case(qualname, param, bad, hang_seconds=HANG_SECONDS)
            if o.outcome == "clear" and o.detail.startswith("returned"):
                o.outcome = "silent"
            o.qualname = f"issue 24 {group}.{qualname}"
            out.append(o)
    return out


def table(outcomes) -> list[dict]:
    fz = _fuzzer()

    rows = []
    counts = fz.tally(outcomes)
    total = dict.fromkeys(fz.OUTCOMES, 0)
    for module, row in sorted(counts.items()):
        for k in total:
            total[k] += row[k]
        rows.append((module, row))
    rows.append(("TOTAL", total))
    return rows


def run() -> list[dict]:
    start = time.perf_counter()
    outcomes, uncovered = fuzz(limit=LIMIT)
    seconds = time.perf_counter() - start
    out = []
    for module, row in table(outcomes):
        out.append({"benchmark": f"bad input: {module}",
                    "value": "/".join(str(row[k]) for k in ("clear", "cryptic", "silent", "hang")),
                    "unit": "clear/cryptic/silent/hang", "target": "x/0/0/0",
                    "note": f"{len(outcomes)} calls in {seconds:.0f} s" if module == "TOTAL" else ""})
    if uncovered:
        out.append({"benchmark": "bad input: callables without examples", "value": len(uncovered), "unit": "",
                    "target": 0, "note": ", ".join(uncovered)[:200]})
    return out


def main(argv: list[str]) -> int:
    global VERBOSE
    details = "--details" in argv
    VERBOSE = "--verbose" in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    start = time.perf_counter()
    outcomes, uncovered = fuzz(prefixes, LIMIT)
    print(f"{len(outcomes)} calls in {time.perf_counter() - start:.0f} s")
    print(f"| {'module':40s} | clear | cryptic | silent | hang |")
    print(f"|{'-' * 42}|-------|---------|--------|------|")
    for module, row in table(outcomes):
        print(f"| {module:40s} | {row['clear']:5d} | {row['cryptic']:7d} | {row['silent']:6d} | {row['hang']:4d} |")
    if uncovered:
        print("callables without example arguments:", ", ".join(uncovered))
    cases = targeted() if not prefixes else []
    if cases:
        counts = {k: sum(o.outcome == k for o in cases) for k in ("clear", "cryptic", "silent", "hang")}
        print(f"issue 24 targeted cases ({len(cases)}): " + " / ".join(f"{v} {k}" for k, v in counts.items()))
        outcomes = outcomes + cases
    if details:
        for o in outcomes:
            if o.outcome != "clear":
                print(f"{o.outcome:8s} {o.qualname}({o.param}={o.bad}): {o.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
