"""Wrong solutions of every graded exercise: ``check`` must fail each one.

One module per notebook; each defines ``MUTANTS``, a dict from exercise name
to ``{what is wrong: function}``. A mutant breaks one requirement the
exercise's instructions state (an error it must raise, an argument it must
honour, a tie, boundary, empty case, dtype or shape rule) or makes a classic
student mistake. :func:`all_mutants` adds each spec's own classic mistakes
(``Exercise.mistakes``), so the committed set is both.

``tests/test_mutants.py`` runs every one through ``check`` and fails on any
that passes; ``bench/bench_mutants.py`` prints how many each exercise has.
"""

from __future__ import annotations

import importlib
import pkgutil

from segtutor.exercises import exercise_names, get_exercise


def written_mutants() -> dict[str, dict]:
    """The mutants written in this package, by exercise."""
    out: dict[str, dict] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, mutants in module.MUTANTS.items():
            out.setdefault(name, {}).update(mutants)
    return out


def all_mutants() -> dict[str, dict]:
    """Every exercise's mutants: the written ones plus the spec's classic mistakes.

    Returns ``{exercise: {description: function}}``; a classic mistake's
    description is its hint, prefixed ``"classic: "``.
    """
    written = written_mutants()
    out = {}
    for name in exercise_names():
        spec = get_exercise(name)
        out[name] = {f"classic: {m}": f for m, f in spec.mistakes.items()}
        out[name].update(written.get(name, {}))
    return out
