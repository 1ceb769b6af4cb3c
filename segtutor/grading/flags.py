"""Static hints of suspicious code in a submission, for a human to look at.

These are hints only: they never change a score, and a determined student
can hide from a text search. The score's defence is elsewhere (fresh kernel,
probe cells, comparison in the grader's own process).
"""

from __future__ import annotations

import ast
import re

__all__ = ["suspicious_code", "PATTERNS", "reached_names", "forbidden_uses", "FLAG_BUDGET_S"]

#: (flag, regular expression) pairs searched in every code cell. Every
#: repetition is bounded and no pattern can match across a line, so the
#: search is linear in the text (an unbounded ``open\s*\([^)]*`` took 75 s
#: on a 200 KB comment).
_S = r"[ \t]{0,16}"
PATTERNS = (
    ("input transformers", r"input_transformers|register_transformer|ast_transformers"),
    ("get_ipython", r"get_ipython|__IPYTHON__|IPython\.core"),
    ("sys.modules patch", rf"sys{_S}\.{_S}modules"),
    ("comparison override", r"def[ \t]{1,16}__(eq|ne|lt|le|gt|ge|bool|array|array_ufunc|float|int|index|hash)__"),
    ("/proc path", r"/proc\b"),
    ("../ path", r"\.\.[/\\]"),
    ("exit call", rf"\b(sys{_S}\.{_S}exit|os{_S}\.{_S}_exit|os{_S}\.{_S}kill|quit{_S}\(|exit{_S}\()"),
    ("process or shell", rf"\b(subprocess|os{_S}\.{_S}(system|popen|fork|exec\w{{0,8}}|spawn\w{{0,8}})|multiprocessing|pty)\b"
                         r"|^[ \t]{0,64}!"),
    ("file write", rf"open{_S}\([^()\n]{{0,120}}['\"][wax+]|\.write_(text|bytes){_S}\(|shutil\."
                   rf"|os{_S}\.{_S}(remove|unlink|rename|replace|chmod)"),
    # (?<![\w.]): model.compile(...) and re.compile(...) are not dynamic code.
    ("dynamic code", rf"(?<![\w.])(exec|eval|compile|__import__){_S}\(|importlib|marshal|pickle|ctypes"),
    ("grader names", rf"segtutor{_S}\.{_S}(grading|exercises)|_segtutor_probe|CheckResult"),
    ("monkeypatch", rf"\bsetattr{_S}\(|\bbuiltins\b|__builtins__|__class__{_S}="),
)
#: Seconds of flagging per submission; past it the rest is skipped and flagged.
FLAG_BUDGET_S = 20.0
_COMPILED = tuple((flag, re.compile(rx, re.M)) for flag, rx in PATTERNS)
_SETUP = re.compile(r"^[ \t]{0,64}(from segtutor\.exercises import check|check\([ \t]{0,8}['\"]\w{1,64}['\"]"
                    r"[ \t]{0,8},[ \t]{0,8}\w{1,200}[ \t]{0,8}\))[ \t]{0,64}$", re.M)


def suspicious_code(sources, references: dict[str, tuple] | None = None, *, course=(),
                    budget_s: float = FLAG_BUDGET_S) -> list[str]:
    """Flags raised by a submission's code cells.

    Parameters
    ----------
    sources : list of str
        The code cells' sources, in order.
    course : collection of str, optional
        Cells the course itself wrote (the released copy's code cells,
        compared without surrounding whitespace): they raise no text flag,
        so an untouched notebook is never charged for the course's own
        ``from importlib import resources``. They still count when imports
        are resolved.
    budget_s : float
        Seconds of searching; past it the remaining cells are skipped and
        the flag ``"flagging stopped at its time limit"`` says so.
    references : dict, optional
        ``{exercise: (function name, dotted name or tuple of them)}``: the
        course's own implementations of each exercise. A submission whose
        exercise function reaches one (resolved through imports, aliases, ``getattr`` and
        ``importlib.import_module`` with constant names; see
        :func:`reached_names`) gets ``"uses reference: <exercise>"``.

    Returns
    -------
    list of str
        Sorted, without repeats; empty when nothing looked odd.

    Examples
    --------
    >>> suspicious_code(["import sys\\nsys.modules['x'] = None"])
    ['sys.modules patch']
    """
    from ._checks import check_code

    sources = check_code(sources, "sources")
    if references is not None and not isinstance(references, dict):
        raise TypeError(f"references should be a dict {{exercise: (function name, dotted names)}} or None, "
                        f"got {type(references).__name__}.")
    if isinstance(course, (str, bytes)) or not all(isinstance(c, str) for c in course):
        raise TypeError("course should be a collection of code-cell sources (strings).")
    course = {c.strip() for c in course}
    import time

    from .._validate import check_scalar

    deadline = time.monotonic() + float(check_scalar(budget_s, "budget_s", low=0))
    flags = set()
    for source in sources:
        if source.strip() in course:
            continue
        # The course's own setup line is expected in every notebook.
        text = _SETUP.sub("", source)
        for flag, rx in _COMPILED:
            if time.monotonic() > deadline:
                flags.add("flagging stopped at its time limit")
                break
            if flag not in flags and rx.search(text):
                flags.add(flag)
    if references:
        reached = reached_names([s for s in sources if isinstance(s, str)])
        for exercise, (function, names) in references.items():
            names = (names,) if isinstance(names, str) else tuple(names)
            inside = [r for r, where in reached if where == function]
            if any(_same_function(r, n) for r in inside for n in names):
                flags.add(f"uses reference: {exercise}")
    return sorted(flags)



# -- names a submission reaches, resolved through imports ------------------------

def _parse(source: str):
    """AST of a cell; IPython magics and shell lines are blanked first."""
    lines = [("pass" if line.lstrip().startswith(("%", "!")) else line) for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError):
        return None


def _const_str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Resolver:
    """Aliases from ``import``, ``from ... import`` and ``name = dotted`` across cells."""

    def __init__(self, trees):
        self.alias: dict[str, str] = {}
        self.star: list[str] = []
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.asname:
                            self.alias[a.asname] = a.name
                        else:
                            root = a.name.split(".")[0]
                            self.alias.setdefault(root, root)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    for a in node.names:
                        if a.name == "*":
                            self.star.append(node.module)
                        else:
                            self.alias[a.asname or a.name] = f"{node.module}.{a.name}"
        # Assignments may chain (g = skimage.color; h = g.rgb2gray): two passes.
        for _ in range(2):
            for tree in trees:
                for node in ast.walk(tree):
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                        dotted = self.dotted(node.value)
                        if dotted:
                            self.alias[node.targets[0].id] = dotted

    def dotted(self, node) -> str | None:
        if isinstance(node, ast.Name):
            return self.alias.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = self.dotted(node.func) or (node.func.id if isinstance(node.func, ast.Name) else None)
            if func in ("getattr", "builtins.getattr") and len(node.args) >= 2:
                base, attr = self.dotted(node.args[0]), _const_str(node.args[1])
                return f"{base}.{attr}" if base and attr else None
            if func in ("importlib.import_module", "__import__", "builtins.__import__") and node.args:
                return _const_str(node.args[0])
        return None

    def candidates(self, node) -> list[str]:
        dotted = self.dotted(node)
        if dotted:
            return [dotted]
        if isinstance(node, ast.Name) and self.star:
            return [f"{m}.{node.id}" for m in self.star]
        return []


def reached_names(sources) -> list[tuple[str, str | None]]:
    """Dotted names a submission's code reaches, with the function each is in.

    Resolves ``import``/``from`` aliases, ``x = module.attr`` assignments,
    ``getattr(module, "name")`` and ``importlib.import_module("name")`` with
    constant strings. Names built at run time are not resolved (see TRUST.md).

    Returns
    -------
    list of (dotted name, enclosing top-level function name or None)

    Examples
    --------
    >>> ("skimage.color.rgb2gray", "f") in reached_names(["import skimage.color as c\\ndef f(x):\\n    return c.rgb2gray(x)"])
    True
    """
    from ._checks import check_code

    sources = check_code(sources, "sources")
    trees = [t for t in (_parse(s) for s in sources if isinstance(s, str)) if t is not None]
    resolver = _Resolver(trees)
    found: list[tuple[str, str | None]] = []

    def visit(node, function):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and function is None:
            name = getattr(node, "name", None)
            for child in ast.iter_child_nodes(node):
                visit(child, name)
            return
        if isinstance(node, ast.Name | ast.Attribute | ast.Call):
            for dotted in resolver.candidates(node):
                found.append((dotted, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    for tree in trees:
        for stmt in tree.body:
            # ``my_f = lambda ...`` at top level is that function too.
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda) and isinstance(stmt.targets[0], ast.Name):
                visit(stmt.value.body, stmt.targets[0].id)
            else:
                visit(stmt, None)
    return found


def _same_function(dotted: str, target: str) -> bool:
    # skimage.color.colorconv.rgb2gray is skimage.color.rgb2gray: same
    # top-level package and same final name.
    if dotted == target:
        return True
    d, t = dotted.split("."), target.split(".")
    return len(d) >= 2 and d[0] == t[0] and d[-1] == t[-1]


def forbidden_uses(sources, rules: dict[str, tuple[str, tuple]]) -> dict[str, list[tuple[str, bool]]]:
    """Forbidden functions a submission reaches, per exercise.

    Parameters
    ----------
    sources : list of str
        Code cells.
    rules : dict
        ``{exercise: (student function name, forbidden dotted names)}``.

    Returns
    -------
    dict
        ``{exercise: [(forbidden name, reached inside the student's function)]}``,
        only exercises with a hit.

    Examples
    --------
    >>> src = ["from skimage import color\\ndef my_gray(rgb):\\n    return color.rgb2gray(rgb)"]
    >>> forbidden_uses(src, {"to_grayscale": ("my_gray", ("skimage.color.rgb2gray",))})
    {'to_grayscale': [('skimage.color.rgb2gray', True)]}
    """
    from ._checks import check_code

    sources = check_code(sources, "sources")
    if not isinstance(rules, dict) or not all(isinstance(v, tuple) and len(v) == 2 for v in rules.values()):
        raise TypeError(f"rules should be a dict {{exercise: (function name, forbidden dotted names)}}, "
                        f"got {type(rules).__name__}.")
    reached = reached_names(sources)
    out: dict[str, list[tuple[str, bool]]] = {}
    for exercise, (function, forbidden) in rules.items():
        hits = {}
        for target in forbidden:
            for dotted, where in reached:
                if _same_function(dotted, target):
                    hits[target] = hits.get(target, False) or where == function
        if hits:
            out[exercise] = sorted(hits.items())
    return out
