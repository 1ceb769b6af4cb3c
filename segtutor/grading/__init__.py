"""Release student copies and grade submissions (the ``segtutor`` command).

``segtutor release SRC... --to DIR [--update]``
    Student copies: solutions become stubs, outputs and secret metadata go,
    check cells are locked. See :mod:`segtutor.grading.release`.
``segtutor grade SUBMISSIONS... --source SRC --out gradebook.csv [--jobs N] [--scheduler local|ADDRESS]``
    A bubblewrap sandbox and a fresh kernel per submission, probe cells,
    comparison in the grader's process. See :mod:`segtutor.grading.grade`,
    :mod:`segtutor.grading.sandbox` and ``TRUST.md`` beside this file for
    what it defends against.
"""

__all__ = ["release", "grade", "gradebook", "cli"]


def __getattr__(name):
    import importlib

    if name in __all__ or name in {"assignment", "flags", "options", "probe", "runner", "sandbox", "results"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'segtutor.grading' has no attribute {name!r}")
