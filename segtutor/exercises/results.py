"""What checking one exercise found: one model for ``check()`` and the grader.

:class:`Outcome` is what one call of the student's function gave (a value,
an error, or something that is not numbers); :class:`CaseResult` judges it
against the reference on one case; :class:`ExerciseResult` gathers the cases
of one exercise and has the one :meth:`~ExerciseResult.format` that both
``check()`` prints and the grader's feedback shows.

Example
-------
>>> r = ExerciseResult("double", "my_double", "(x)", problem="missing",
...                    message="no function called my_double was found")
>>> r.format()
'double: no function called my_double was found'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import ArgumentTypeError, describe

__all__ = ["Case", "Outcome", "CaseResult", "ExerciseResult", "show_value", "describe_case", "GROUPS"]

#: Groups of checks, in the order a report shows them.
GROUPS = ("fixed", "random", "edge")
_LABELS = {"fixed": "worked examples", "random": "random inputs vs the reference", "edge": "edge cases"}


@dataclass(frozen=True)
class Case:
    """One input to an exercise.

    Parameters
    ----------
    args : tuple
        Positional arguments: NumPy arrays or Python scalars. A list is
        taken as a tuple; a single argument still needs the comma,
        ``(image,)``.
    note : str
        What the case teaches, shown when it fails ("pixels equal to the
        threshold do not count").
    kwargs : dict
        Keyword arguments, same types as ``args``.
    """

    args: tuple
    note: str = ""
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        # A case is built once and run many times: a wrong one should fail here, naming the field,
        # not later as "my_iou() takes 2 positional arguments but 3 were given" against the student.
        if isinstance(self.args, str):
            raise ArgumentTypeError(f"args should be a tuple of arguments, got the string {self.args!r}; "
                                    f"for a single argument write Case(({self.args!r},)), with the comma.")
        if isinstance(self.args, list):
            object.__setattr__(self, "args", tuple(self.args))
        if not isinstance(self.args, tuple):
            raise ArgumentTypeError(f"args should be a tuple of arguments such as (image, 0.5), got "
                                    f"{describe(self.args)}; for a single argument write (image,), with the comma.")
        if not isinstance(self.note, str):
            raise ArgumentTypeError(f"note should be a string saying what the case teaches, got {describe(self.note)}.")
        if not isinstance(self.kwargs, dict) or not all(isinstance(k, str) for k in self.kwargs):
            raise ArgumentTypeError(f"kwargs should be a dict of keyword arguments such as {{'size': 3}}, got "
                                    f"{describe(self.kwargs)}; leave it out when there are none.")

    def copy_args(self) -> tuple[tuple, dict]:
        # Students may modify inputs in place; every call gets fresh copies.
        copy = lambda v: v.copy() if isinstance(v, np.ndarray) else v  # noqa: E731
        return tuple(copy(a) for a in self.args), {k: copy(v) for k, v in self.kwargs.items()}


class Outcome(enum.StrEnum):
    """What one call of a function gave."""

    VALUE = "value"  # numbers (a plain int64/float64 array)
    ERROR = "error"  # it raised (or ran past its time limit)
    BAD = "bad"  # it returned something that is not numbers


@dataclass
class CaseResult:
    """One case, judged.

    Attributes
    ----------
    group : str
        ``"fixed"``, ``"random"`` or ``"edge"``.
    case : Case
        The inputs.
    outcome : Outcome
        What the student's function gave.
    got : ndarray or str
        The value, or the error / problem text.
    expected : ndarray or str
        The reference's value, or a sentence saying an error is expected.
    expected_outcome : Outcome
        ``VALUE``, or ``ERROR`` when the reference raises on these inputs.
    passed : bool
    hint : str or None
        The probable mistake.
    """

    group: str
    case: Any
    outcome: Outcome
    got: Any
    expected: Any
    expected_outcome: Outcome
    passed: bool = False
    hint: str | None = None

    @property
    def not_attempted(self) -> bool:
        return self.outcome == Outcome.ERROR and str(self.got).startswith("NotImplementedError")


@dataclass
class ExerciseResult:
    """The cases of one exercise, judged; or the reason there are none.

    Attributes
    ----------
    name, function, signature : str
        The exercise, the function the notebook asks for and its arguments.
    cases : list of CaseResult
    attempted : bool
        False while every case raised ``NotImplementedError``.
    failure : CaseResult or None
        The failure the report details (the first, or the first that a
        named classic mistake explains).
    problem : str or None
        ``"missing"``, ``"no answer"`` or ``"forbidden"`` when no case could
        be judged; ``message`` then says why.
    points, score : float or None
        Set by the grader: maximum points and points earned.
    """

    name: str
    function: str = ""
    signature: str = ""
    cases: list = field(default_factory=list)
    attempted: bool = True
    failure: CaseResult | None = None
    problem: str | None = None
    message: str = ""
    points: float | None = None
    score: float | None = None

    @property
    def n_total(self) -> int:
        return len(self.cases)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def fraction(self) -> float:
        return self.n_passed / self.n_total if self.cases and self.problem is None else 0.0

    @property
    def passed(self) -> bool:
        return self.problem is None and bool(self.cases) and self.n_passed == self.n_total

    @property
    def state(self) -> str:
        """``"graded"``, ``"not attempted"`` or the problem."""
        if self.problem:
            return self.problem
        return "graded" if self.attempted else "not attempted"

    def format(self) -> str:
        """The report: counts per group, then the first failure in detail."""
        head = f"{self.name}: "
        if self.points is not None:
            head += f"{(self.score or 0.0):g} / {self.points:g} points. "
        if self.problem:
            return head + self.message
        if not self.attempted:
            return (head + f"not attempted yet. Write {self.function}{self.signature} in its cell, replacing "
                    "`raise NotImplementedError`, then run the check cell below it. "
                    "(The rest of the notebook works without it.)")
        if self.passed:
            lines = [head + f"all {self.n_total} checks passed. Well done!"]
        else:
            lines = [head + f"{self.n_passed} of {self.n_total} checks passed."]
        for group in GROUPS:
            in_group = [c for c in self.cases if c.group == group]
            if in_group:
                ok = sum(c.passed for c in in_group)
                mark = "ok" if ok == len(in_group) else "FAILED"
                lines.append(f"  {_LABELS[group]:<32}{ok:>3}/{len(in_group):<3} {mark}")
        failure = self.failure
        if failure is not None:
            note = failure.case.note
            lines.append(f"First failed check ({failure.group}){': ' + note if note else ''}")
            pad = " " * 4
            lines.append(pad + "input:     " + _indent(describe_case(self.signature, failure.case), pad + " " * 11))
            lines.append(pad + "expected:  " + _indent(show_value(failure.expected), pad + " " * 11))
            if failure.outcome == Outcome.VALUE:
                got = show_value(failure.got)
            elif failure.outcome == Outcome.BAD:
                got = "(not a number)"
            else:
                # The message, cut short, then where in the student's code it was raised.
                message, _, where = str(failure.got).partition("\n")
                got = f"an error: {message[:200]}" + (f"\n{where[:300]}" if where else "")
            lines.append(pad + "got:       " + _indent(got, pad + " " * 11))
            if failure.hint:
                lines.append(pad + "hint:      " + failure.hint)
        return "\n".join(lines)


# -- formatting helpers -------------------------------------------------------------

def show_value(value) -> str:
    """A value as a report shows it (arrays summarised, floats short).

    Any value is accepted: NaN, infinity and complex numbers are shown as
    NumPy prints them, other objects by ``str``.

    Examples
    --------
    >>> show_value(np.float64(0.5)), show_value(2.0)
    ('0.5', '2.0')
    """
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return show_value(value.item())
        note, dtype = "", value.dtype
        if value.dtype == bool:
            value, note = value.astype(np.uint8), " (True shown as 1)"
        with np.printoptions(threshold=120, edgeitems=4, linewidth=70, precision=4, suppress=True):
            text = np.array2string(value, separator=", ")
        prefix = f"array of shape {value.shape}, dtype {dtype}{note}:\n" if value.ndim >= 2 else ""
        return prefix + text
    if isinstance(value, np.generic):
        return show_value(value.item())
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".ein") else text + ".0"
    return str(value)


def _indent(text: str, pad: str) -> str:
    lines = text.splitlines() or [""]
    return lines[0] + "".join("\n" + pad + line for line in lines[1:])


def _signature_names(signature: str, n: int) -> list[str]:
    inner = signature.strip().strip("()")
    names = [p.split("=")[0].strip() for p in inner.split(",") if p.strip()]
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


def describe_case(signature: str, case) -> str:
    """The inputs of a case, named after the function's ``signature``."""
    if not isinstance(signature, str):
        raise TypeError(f"signature should be a string such as '(image, threshold)', got {type(signature).__name__}.")
    if not isinstance(case, Case):
        raise TypeError(f"case should be a Case (segtutor.exercises.Case), got {type(case).__name__}.")
    names = _signature_names(signature, len(case.args))
    parts = [f"{n} = {_indent(show_value(a), ' ' * (len(n) + 3))}" for n, a in zip(names, case.args)]
    parts += [f"{k} = {show_value(v)}" for k, v in case.kwargs.items()]
    return "\n".join(parts)
