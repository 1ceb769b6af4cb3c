"""Static hints of suspicious code in a submission, for a human to look at.

These are hints only: they never change a score, and a determined student
can hide from a text search. The score's defence is elsewhere (fresh kernel,
probe cells, comparison in the grader's own process).
"""

from __future__ import annotations

import re

__all__ = ["suspicious_code", "PATTERNS"]

#: (flag, regular expression) pairs searched in every code cell.
PATTERNS = (
    ("input transformers", r"input_transformers|register_transformer|ast_transformers"),
    ("get_ipython", r"get_ipython|__IPYTHON__|IPython\.core"),
    ("sys.modules patch", r"sys\s*\.\s*modules"),
    ("comparison override", r"def\s+__(eq|ne|lt|le|gt|ge|bool|array|array_ufunc|float|int|index|hash)__"),
    ("/proc path", r"/proc\b"),
    ("../ path", r"\.\.[/\\]"),
    ("exit call", r"\b(sys\s*\.\s*exit|os\s*\.\s*_exit|os\s*\.\s*kill|quit\s*\(|exit\s*\()"),
    ("process or shell", r"\b(subprocess|os\s*\.\s*(system|popen|fork|exec\w*|spawn\w*)|multiprocessing|pty)\b|^\s*!"),
    ("file write", r"open\s*\([^)]*['\"][wax+]|\.write_(text|bytes)\s*\(|shutil\.|os\s*\.\s*(remove|unlink|rename|replace|chmod)"),
    ("dynamic code", r"\b(exec|eval|compile|__import__)\s*\(|importlib|marshal|pickle|ctypes"),
    ("grader names", r"segtutor\s*\.\s*(grading|exercises)|_segtutor_probe|CheckResult"),
    ("monkeypatch", r"\bsetattr\s*\(|\bbuiltins\b|__builtins__|__class__\s*="),
)
_COMPILED = tuple((flag, re.compile(rx, re.M)) for flag, rx in PATTERNS)


def suspicious_code(sources, references: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """Flags raised by a submission's code cells.

    Parameters
    ----------
    sources : list of str
        The code cells' sources, in order.
    references : dict, optional
        ``{exercise: (function name, reference dotted path)}``. A cell that
        defines the function and mentions the reference (its module path or
        its last name, e.g. ``threshold_otsu``) gets the flag
        ``"uses reference: <exercise>"``.

    Returns
    -------
    list of str
        Sorted, without repeats; empty when nothing looked odd.

    Examples
    --------
    >>> suspicious_code(["import sys\\nsys.modules['x'] = None"])
    ['sys.modules patch']
    """
    flags = set()
    for source in sources:
        text = source if isinstance(source, str) else ""
        # The course's own setup line is expected in every notebook.
        text = re.sub(r"^\s*from segtutor\.exercises import check\s*$", "", text, flags=re.M)
        text = re.sub(r"^\s*check\(\s*['\"]\w+['\"]\s*,\s*\w+\s*\)\s*$", "", text, flags=re.M)
        for flag, rx in _COMPILED:
            if rx.search(text):
                flags.add(flag)
        for exercise, (function, reference) in (references or {}).items():
            if re.search(rf"def\s+{re.escape(function)}\s*\(", text) and isinstance(reference, str):
                module, _, name = reference.replace(":", ".").rpartition(".")
                called = rf"(\.\s*{re.escape(name)}\b|\bimport\b[^\n]*\b{re.escape(name)}\b)"
                if module in text or re.search(called, _strip_def(text, function)):
                    flags.add(f"uses reference: {exercise}")
    return sorted(flags)


def _strip_def(text: str, function: str) -> str:
    # The function's own name may contain the reference's (my_iou vs iou).
    return re.sub(rf"\b{re.escape(function)}\b", "", text)
