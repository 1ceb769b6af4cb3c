"""Find library shortcuts by measurement: installed public functions that pass an exercise's checks.

Run as a script (``python tests/_library_shortcuts.py``) it prints one JSON
line ``{exercise: [dotted names of every passer], "crashed": [...]}``;
``tests/test_grading_round3.py`` runs it in a child process, which sweeps
every exercise in one grandchild with an address space limit, a two-second
limit per call and a scratch working folder, so a library function that
allocates, loops or writes files harms nothing (one that crashes the
interpreter is skipped by a new grandchild, which resumes where it stopped).

A candidate is every public callable of the modules below whose signature
accepts the exercise's positional arguments; it passes when it scores full
marks on the exercise's grading cases (seed 0), the cases the grader uses.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import resource
import sys
import warnings

#: The course's installed libraries whose public functions are tried.
MODULES = (
    "numpy", "numpy.linalg", "scipy.ndimage", "scipy.signal", "scipy.special",
    "skimage.color", "skimage.exposure", "skimage.feature", "skimage.filters", "skimage.measure",
    "skimage.metrics", "skimage.morphology", "skimage.segmentation", "skimage.transform", "skimage.util",
    "sklearn.metrics", "pycocotools.mask",
)


def candidates():
    seen = set()
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attr in sorted(dir(module)):
            if attr.startswith("_"):
                continue
            try:
                obj = getattr(module, attr)
            except Exception:
                continue
            if not callable(obj) or inspect.isclass(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{name}.{attr}", obj


def fits(func, n_args: int) -> bool:
    nin = getattr(func, "nin", None)
    if isinstance(nin, int):  # a NumPy ufunc has no signature
        return nin == n_args
    try:
        inspect.signature(func).bind(*range(n_args))
    except (TypeError, ValueError):
        return False
    return True


def sweep(name: str, skip: set, trace, pool=None) -> list[str]:
    """Every candidate that passes exercise ``name``; each tried is first written to ``trace``.

    A passer is what ``spec.score`` gives full marks on all the grading
    cases, as the grader judges. The reference runs once per case (not once
    per candidate), and a candidate stops at its first case that cannot
    pass: a value case it gets wrong, or an error case it does not raise on.
    """
    from segtutor.exercises import get_exercise
    from segtutor.exercises._engine import run_student

    spec = get_exercise(name)
    n_args = len([p for p in re.sub(r"[()\s]", "", spec.signature).split(",") if p and "=" not in p
                  and not p.startswith("*")])
    cases = spec.grading_cases([0])
    expected = [spec.expected(case) for _, case in cases]
    sink = open(os.devnull, "w")  # what the functions print (np.info prints a lot)
    found = []
    for dotted, func in pool if pool is not None else candidates():
        if dotted in skip or not fits(func, n_args):
            continue
        trace.write(f"{name} {dotted}\n")
        trace.flush()
        outcomes = []
        for (_, case), (kind, ref) in zip(cases, expected):
            outcome = run_student(func, case, time_limit=2, output=sink)
            outcomes.append(outcome)
            if kind == "error" and outcome[0] != "error":
                break
            if kind == "value" and not (outcome[0] == "value" and spec.matches(ref, outcome[1], case.args)):
                break
        else:
            if spec.score(cases, outcomes).fraction == 1.0:
                found.append(dotted)
    return found


def sweep_all(names: list[str], skip: set, trace) -> dict:
    """:func:`sweep` for each exercise in one process: the libraries are imported once."""
    pool = list(candidates())
    out = {}
    for name in names:
        out[name] = sweep(name, skip, trace, pool)
        trace.write(f"{name} DONE {json.dumps(out[name])}\n")
        trace.flush()
    return out


def main() -> dict:
    """``{exercise: passers}`` for every exercise, swept in one child process.

    A library function that crashes the interpreter (scikit-image's
    ``max_tree_local_maxima`` segfaults on some inputs) is recorded under
    ``"crashed"``; a new child skips it and the exercises already done.
    """
    import subprocess
    import tempfile

    from segtutor.exercises import exercise_names

    out, crashed = {}, []
    for _ in range(20):
        todo = [n for n in exercise_names() if n not in out]
        if not todo:
            break
        with tempfile.NamedTemporaryFile("r") as trace:
            done = subprocess.run([sys.executable, __file__, ",".join(todo), trace.name, *crashed],
                                  capture_output=True, text=True, timeout=3000)
            lines = trace.read().splitlines()
        tried = None
        for line in lines:
            name, what = line.split(" ", 1)
            if what.startswith("DONE "):
                out[name] = json.loads(what[5:])
                tried = None
            else:
                tried = what
        if done.returncode != 0:
            if tried is None or tried in crashed:
                raise RuntimeError(f"the sweep failed: {done.stderr[-1000:]}")
            crashed.append(tried)
    if any(n not in out for n in exercise_names()):
        raise RuntimeError(f"more than 20 crashes; crashed so far: {crashed}")
    out["crashed"] = crashed
    return out


if __name__ == "__main__" and len(sys.argv) >= 3:
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    warnings.simplefilter("ignore")
    with open(sys.argv[2], "w") as trace:
        result = sweep_all(sys.argv[1].split(","), set(sys.argv[3:]), trace)
    sys.stdout.write(json.dumps(result) + "\n")
elif __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")
