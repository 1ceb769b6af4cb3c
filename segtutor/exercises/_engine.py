"""The exercise engine: specs, the student-side ``check`` and the comparisons
the grader reuses.

An :class:`Exercise` describes one function a student writes: the reference
implementation (a dotted path, imported only when needed), fixed cases that
teach, a generator of random cases compared with the reference, edge cases,
and classic mistakes written as small *buggy* implementations. When a
student's output matches a buggy implementation's output, the report names
the mistake.

The same spec serves two masters:

- :func:`check` runs in the student's kernel and prints a friendly report.
  It can be fooled (the student owns that process); grading does not use it.
- :mod:`segtutor.grading` draws cases with :meth:`Exercise.grading_cases`,
  runs the student's function in a separate kernel, brings the outputs back
  as plain numbers and scores them with :meth:`Exercise.score` in its own
  process.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import os
import signal
import sys
import sysconfig
import threading
import traceback
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .._validate import ArgumentTypeError, describe, as_array, check_bool, check_scalar
from .results import Case, CaseResult, ExerciseResult, Outcome

__all__ = [
    "Case",
    "Exercise",
    "CheckResult",
    "BadReturn",
    "check",
    "register",
    "get_exercise",
    "exercise_names",
    "to_plain",
    "default_compare",
]

#: Seconds of CPU time one call of a student's function may use inside ``check``.
CALL_TIME_LIMIT = 10.0
#: Seconds of CPU time one ``check`` may use in all; later cases are reported as not run.
CHECK_TIME_LIMIT = 60.0
#: A call that waits without computing (``sleep``, ``input``) is stopped after
#: this many times its CPU limit on the clock.
WALL_CLOCK_FACTOR = 10
#: Most random cases one ``check`` accepts.
MAX_N_RANDOM = 1000
# The most values a returned array may hold (16 M, 128 MB as float64); the answers are far smaller.
MAX_RETURN_ELEMENTS = 1 << 24
#: Characters of what the student's function printed that a report shows.
OUTPUT_SHOWN = 1000


class BadReturn(ValueError):
    """A student's function returned something that is not a number or array."""


def to_plain(value) -> np.ndarray:
    """Turn a return value into a plain float64 or int64 NumPy array.

    Parameters
    ----------
    value : number, bool, sequence or ndarray

    Returns
    -------
    ndarray
        Shape () for a single number. Booleans become 0/1 integers. NaN and
        infinity pass through unchanged: a reference may return them, and
        :func:`default_compare` counts NaN equal to NaN. uint64 values of
        2**63 and more become float64 (int64 would wrap them negative).

    Raises
    ------
    BadReturn
        For ``None``, strings, objects, ragged sequences and arrays of more
        than :data:`MAX_RETURN_ELEMENTS` values, with a message
        that says what was expected.

    Examples
    --------
    >>> to_plain((1, 2, 3, 4)).tolist()
    [1, 2, 3, 4]
    """
    if value is None:
        raise BadReturn("the function returned None, not a value: did you forget `return`?")
    if isinstance(value, str | bytes):
        raise BadReturn(f"the function returned the text {value!r}; expected a number or an array as its value.")
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise BadReturn(f"the return value could not be read as numbers ({exc}).") from None
    if arr.size > MAX_RETURN_ELEMENTS:
        # Refused before any copy: every case would otherwise convert and compare it again (seconds each).
        raise BadReturn(f"the function returned an array of {arr.size:,} values ({arr.nbytes / 2**20:,.0f} MB), "
                        "far larger than any exercise's answer: check its shape.")
    if arr.dtype == np.uint64 and arr.size and arr.max() >= 2**63:
        return arr.astype(np.float64)  # int64 would wrap these to negative numbers
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float64)
    raise BadReturn(
        f"the function returned {type(value).__name__} (read as dtype {arr.dtype}); "
        "expected a number or an array of real numbers as its value. Return plain numbers, e.g. float(x)."
    )


def default_compare(expected: np.ndarray, got: np.ndarray, args: tuple, *, rtol=1e-6, atol=1e-8) -> bool:
    """Same shape and equal values within a small tolerance (NaN equals NaN).

    ``expected`` and ``got`` are real arrays (as :func:`to_plain` makes them);
    ``rtol`` and ``atol`` are non-negative tolerances, as in ``np.allclose``.
    """
    expected, got = as_array(expected, "expected"), as_array(got, "got")
    rtol = check_scalar(rtol, "rtol", low=0)
    atol = check_scalar(atol, "atol", low=0)
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    )


def _load(dotted: str) -> Callable:
    module_name, _, attr = dotted.rpartition(".")
    if ":" in dotted:
        module_name, attr = dotted.split(":", 1)
    module = importlib.import_module(module_name)
    return getattr(module, attr)


@dataclass
class Exercise:
    """The spec of one graded exercise.

    Parameters
    ----------
    name : str
        The exercise id, as in ``check("iou", my_iou)`` and the notebook's
        ``grade_id``.
    function : str
        The function name the notebook asks for (``"my_iou"``).
    signature : str
        Its arguments, for messages: ``"(pred, truth)"``.
    reference : str or callable
        The correct implementation, usually a dotted path such as
        ``"segtutor.metrics.iou"`` imported on first use.
    fixed : list of Case
        Hand-picked cases that teach; shown first.
    random_case : callable ``rng -> Case``
        Draws one random case (property-based check against the reference).
    edge : list of Case
        Empty masks, one pixel, shape mismatch... A case where the reference
        raises expects the student's function to raise too.
    mistakes : dict ``message -> buggy function``
        Classic mistakes written as wrong implementations with the same
        signature. The report names a mistake when its outputs equal every
        wrong (finite) value the student's function returned.
    compare : callable ``(expected, got, args) -> bool``
        Defaults to :func:`default_compare`. Both arrays come from
        :func:`to_plain`.
    n_random, n_hidden : int
        Random cases per ``check`` call and hidden cases per graded
        submission.
    off_by_one_hint : str
        Shown when integer outputs are off by exactly one.
    hides : tuple of str
        Dotted paths of other ``segtutor`` functions that do this
        exercise's work; the grading sandbox's copy of the package replaces
        them (and a ``segtutor.`` reference) with stubs that raise.
    forbids : tuple of str
        Dotted paths of library functions that would do the exercise's work
        (``"skimage.color.rgb2gray"``); a submission that reaches one is
        flagged and the exercise scores 0 when its function uses it (see
        :mod:`segtutor.grading.flags`).

    Examples
    --------
    A spec for a hypothetical ``double`` exercise:

    >>> spec = Exercise(
    ...     name="double", function="my_double", signature="(x)",
    ...     reference=lambda x: 2 * x,
    ...     fixed=[Case((3,), "two times three is six")],
    ...     random_case=lambda rng: Case((int(rng.integers(-9, 9)),)),
    ...     mistakes={"you added instead of multiplying": lambda x: x + 2},
    ... )
    >>> spec.run(lambda x: x + x, verbose=False).passed
    True
    """

    name: str
    function: str
    signature: str
    reference: str | Callable
    fixed: Sequence[Case] = ()
    random_case: Callable[[np.random.Generator], Case] | None = None
    edge: Sequence[Case] = ()
    mistakes: dict = field(default_factory=dict)
    compare: Callable | None = None
    n_random: int = 20
    n_hidden: int = 12
    off_by_one_hint: str = "the result is off by one: check the padding and whether ends are exclusive"
    hides: tuple = ()
    forbids: tuple = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"an exercise name should be a Python identifier such as 'iou', got {self.name!r}.")
        if not (callable(self.reference) or isinstance(self.reference, str)):
            raise ValueError(
                f"reference for {self.name!r} should be a dotted path or a function, got {self.reference!r}."
            )
        # Checked here, when the spec is written, not at the first check() a student runs.
        self.n_random = _check_n_random(self.n_random)
        self.n_hidden = _check_count(self.n_hidden, "n_hidden")
        for group in ("fixed", "edge"):
            cases = getattr(self, group)
            if not isinstance(cases, list | tuple) or not all(isinstance(c, Case) for c in cases):
                raise ArgumentTypeError(f"{group} for {self.name!r} should be a list of Case, got {describe(cases)}.")
        for attr in ("random_case", "compare"):
            if getattr(self, attr) is not None and not callable(getattr(self, attr)):
                raise ArgumentTypeError(f"{attr} for {self.name!r} should be a function or None, "
                                        f"got {describe(getattr(self, attr))}.")
        if not isinstance(self.mistakes, dict) or not all(callable(f) for f in self.mistakes.values()):
            raise ArgumentTypeError(f"mistakes for {self.name!r} should be a dict of message -> wrong function, "
                                    f"got {describe(self.mistakes)}.")

    # -- the reference and the cases --------------------------------------
    def hidden_names(self) -> list[str]:
        """Package functions held back from the grading sandbox (dotted paths)."""
        names = [self.reference] if isinstance(self.reference, str) and self.reference.startswith("segtutor.") else []
        return names + [n for n in self.hides if n not in names]

    def reference_function(self) -> Callable:
        """Import and return the reference implementation."""
        if callable(self.reference):
            return self.reference
        try:
            return _load(self.reference)
        except (ImportError, AttributeError) as exc:
            raise ImportError(
                f"the reference {self.reference!r} for exercise {self.name!r} cannot be imported ({exc}). "
                "Is the package installed (pip install -e .) and up to date?"
            ) from exc

    def expected(self, case: Case) -> tuple[str, Any]:
        """Run the reference: ``("value", array)`` or ``("error", type name)``."""
        args, kwargs = case.copy_args()
        try:
            return "value", to_plain(self.reference_function()(*args, **kwargs))
        except (ImportError, BadReturn):
            raise
        except Exception as exc:
            return "error", type(exc).__name__

    def cases(self, rng: np.random.Generator, n_random: int) -> list[tuple[str, Case]]:
        """Fixed, then random, then edge cases as ``(group, case)`` pairs."""
        out = [("fixed", c) for c in self.fixed]
        if self.random_case is not None:
            out += [("random", self.random_case(rng)) for _ in range(n_random)]
        out += [("edge", c) for c in self.edge]
        return out

    def grading_cases(self, seed) -> list[tuple[str, Case]]:
        """The cases a graded submission is scored on.

        The public fixed and edge cases plus :attr:`n_hidden` fresh random
        cases drawn from ``seed`` (an int or a sequence of ints), so there is
        no secret test file to steal.
        """
        return self.cases(np.random.default_rng(seed), self.n_hidden)

    def matches(self, expected: np.ndarray, got: np.ndarray, args: tuple) -> bool:
        compare = self.compare or default_compare
        try:
            return bool(compare(expected, got, args))
        except Exception:
            return False

    # -- scoring ------------------------------------------------------------
    def judge(self, case: Case, outcome: tuple[str, Any], group: str = "fixed") -> CaseResult:
        """Judge one outcome of the student's function on ``case``.

        ``outcome`` is ``("value", plain array)``, ``("error", "TypeName: message")``
        or ``("bad", message)``.
        """
        kind_ref, ref = self.expected(case)
        kind, got = outcome
        row = CaseResult(group, case, Outcome(kind), got, ref, Outcome(kind_ref))
        if row.expected_outcome == Outcome.ERROR:
            row.expected = f"an error (the reference raises {ref})"
            row.passed = row.outcome == Outcome.ERROR and not row.not_attempted
            if not row.passed:
                row.hint = (
                    "these inputs are invalid, so the function should raise an error "
                    "(a ValueError saying what was wrong) instead of returning a value"
                )
            return row
        if row.outcome == Outcome.VALUE:
            row.passed = self.matches(ref, got, case.args)
            if not row.passed:
                row.hint = self.diagnose(case, ref, got, mistakes=False)
        elif row.outcome == Outcome.BAD:
            row.hint = str(got)
        else:
            row.hint = _error_hint(str(got))
        return row

    def score(self, cases: list[tuple[str, Case]], outcomes: list[tuple[str, Any]]) -> ExerciseResult:
        """Judge outcomes on cases: the passed fraction, and the failure to show.

        Cases that expect an error count only when at least one case with a
        value passes, so a function that always raises earns nothing.
        """
        rows = [self.judge(c, o, g) for (g, c), o in zip(cases, outcomes)]
        attempted = not all(r.not_attempted for r in rows)
        if not any(r.passed and r.expected_outcome == Outcome.VALUE for r in rows):
            for r in rows:
                if r.expected_outcome == Outcome.ERROR:
                    r.passed = False
        failure = next((r for r in rows if not r.passed), None)
        # One case can fit two mistakes (on some inputs recall equals Dice);
        # the mistake that explains the most failures wins, and the report
        # shows the first failure it explains. It must explain every failed
        # value but the NaN and infinite ones (the generic hint covers those:
        # a missing empty-case guard often comes with the mistake): a
        # different bug can equal a mistake's output on a case or two by
        # chance, and a wrong hint is worse than none.
        failed_values = [r for r in rows if not r.passed and r.outcome == Outcome.VALUE
                         and r.expected_outcome == Outcome.VALUE]
        if failure is not None and failed_values and self.mistakes:
            counts = {m: 0 for m in self.mistakes}
            finite_counts = {m: 0 for m in self.mistakes}
            finite = [r for r in failed_values if np.all(np.isfinite(r.got)) or not np.all(np.isfinite(r.expected))]
            for r in failed_values:
                for m in self._matching_mistakes(r.case, r.expected, r.got):
                    counts[m] += 1
                    finite_counts[m] += any(r is f for f in finite)
            explain_all = [m for m in self.mistakes if counts[m] and finite_counts[m] == len(finite)]
            if explain_all:
                best = max(explain_all, key=counts.get)
                failure = next(r for r in failed_values if best in self._matching_mistakes(r.case, r.expected, r.got))
                failure.hint = best
        return ExerciseResult(self.name, self.function, self.signature, rows, attempted, failure)

    def diagnose(self, case: Case, expected: np.ndarray, got: np.ndarray, *, mistakes: bool = True) -> str | None:
        """Name the probable mistake behind a wrong value, or return None.

        With ``mistakes=False`` only the generic diagnoses are tried (shape,
        percentage, NaN, off by one); :meth:`score` weighs the exercise's
        own mistakes over every failed case.
        """
        if got.shape != expected.shape:
            if got.ndim == 2 and got.shape == expected.shape[::-1]:
                return "the result is transposed: this looks like (x, y) where (y, x) was expected"
            if expected.ndim == 0:
                return f"expected a single number, got an array of shape {got.shape}"
            return f"expected shape {expected.shape}, got shape {got.shape}"
        for message in self._matching_mistakes(case, expected, got) if mistakes else ():
            return message
        finite = np.isfinite(expected) & np.isfinite(got)
        # Only where something is finite: NaN everywhere leaves nothing to compare (allclose of nothing is True).
        if finite.any() and np.any(expected != 0) and np.allclose(got[finite], 100 * expected[finite], rtol=1e-6):
            return "this looks like a percentage: return a fraction between 0 and 1"
        if np.any(np.isnan(got)) and not np.any(np.isnan(expected)):
            return "the result is NaN: a division by zero? Handle the empty case first"
        diff = np.abs(got - expected)[finite]
        if diff.size and np.all(np.isin(diff, (0, 1))) and np.any(diff == 1):
            return self.off_by_one_hint
        return None

    def _matching_mistakes(self, case: Case, expected: np.ndarray, got: np.ndarray) -> list[str]:
        """The classic mistakes whose output on ``case`` equals ``got``."""
        found = []
        for message, buggy in self.mistakes.items():
            args, kwargs = case.copy_args()
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    wrong = to_plain(buggy(*args, **kwargs))
            except Exception:
                continue
            if (
                wrong.shape == got.shape
                and np.allclose(wrong, got, rtol=1e-6, atol=1e-8, equal_nan=True)
                and not self.matches(expected, wrong, case.args)
            ):
                found.append(message)
        return found

    # -- the student-side check ---------------------------------------------
    def run(self, func: Callable, *, seed=None, n_random: int | None = None, verbose: bool = True, file=None,
            time_limit: float = CALL_TIME_LIMIT):
        """Run every public check of this exercise on ``func``.

        See :func:`check`; this is the same with the spec at hand.
        """
        if not callable(func):
            result = CheckResult(self.name, False, 0.0, 0, 0, True, None, None)
            result.report = (
                f"{self.name}: check expects your function itself, e.g. "
                f"check({self.name!r}, {self.function}), but got {type(func).__name__}. "
                "Pass the function without calling it (no parentheses)."
            )
            if verbose:
                print(result.report, file=file or sys.stdout)
            return result
        n_random = self.n_random if n_random is None else _check_n_random(n_random)
        time_limit = _check_seconds(time_limit, "time_limit")
        rng = np.random.default_rng(seed)
        cases = self.cases(rng, n_random)
        printed = _CappedText()
        # CPU time, not the clock: on a loaded machine (a hub full of students,
        # CI) honest work takes longer on the clock without using more CPU.
        deadline = time.process_time() + CHECK_TIME_LIMIT
        outcomes = []
        timed_out = False
        for _, case in cases:
            if time.process_time() > deadline:
                outcomes.append(("error", f"TimeoutError: not run, check() used more than its {CHECK_TIME_LIMIT:g} s "
                                          "of CPU time"))
            elif timed_out:
                # A function that ran out of time once would again: one wait, not one per case.
                outcomes.append(("error", "TimeoutError: not run, an earlier call ran out of time"))
            else:
                outcome = run_student(func, case, time_limit=time_limit, output=printed)
                timed_out = outcome[0] == "error" and str(outcome[1]).startswith(_OUT_OF_TIME)
                outcomes.append(outcome)
        judged = self.score(cases, outcomes)
        result = CheckResult(
            name=self.name,
            passed=judged.passed,
            score=judged.fraction,
            n_passed=judged.n_passed,
            n_total=judged.n_total,
            attempted=judged.attempted,
            failure=judged.failure,
            hint=judged.failure.hint if judged.failure else None,
            result=judged,
        )
        result.report = judged.format()
        if printed.total:
            shown = printed.text()
            more = f" (first {len(shown)} shown)" if printed.total > len(shown) else ""
            result.report += f"\nYour function printed {printed.total} characters during the checks{more}:\n{shown}"
        if verbose:
            print(result.report, file=file or sys.stdout)
        return result


_OUT_OF_TIME = "TimeoutError: the call used more than"


class _CallTimeout(BaseException):
    """Raised in the student's function when its call runs past the time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the block after ``seconds`` of CPU time (main thread on Unix; else no limit).

    The limit is on the process's CPU time (``ITIMER_PROF``), so a machine
    busy with other work does not turn a slow but finite call into a
    timeout, while an endless loop, which computes at full speed, is stopped.
    A call that waits without computing is stopped by the clock after
    :data:`WALL_CLOCK_FACTOR` times the limit. Either signal raises
    :class:`_CallTimeout`, a BaseException, so ``except Exception`` in the
    student's code does not swallow it; the timers re-fire every 0.5 s in case
    a first one is caught anyway.
    """
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise _CallTimeout()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGALRM, signal.SIGPROF)}
    signal.setitimer(signal.ITIMER_PROF, float(seconds), 0.5)
    signal.setitimer(signal.ITIMER_REAL, WALL_CLOCK_FACTOR * float(seconds), 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, old in previous.items():
            signal.signal(sig, old)


class _CappedText(io.TextIOBase):
    """A text sink that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = OUTPUT_SHOWN):
        self.cap, self.kept, self.total = cap, [], 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.cap - sum(len(t) for t in self.kept)
        if room > 0:
            self.kept.append(text[:room])
        self.total += len(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.kept)


def run_student(func: Callable, case: Case, *, time_limit: float | None = None, output=None) -> tuple[str, Any]:
    """Call ``func`` on a copy of the case's inputs; never raise.

    Parameters
    ----------
    time_limit : float, optional
        Seconds of CPU time before the call is interrupted (reported as a
        TimeoutError); a call that waits is stopped after
        :data:`WALL_CLOCK_FACTOR` times as long on the clock.
    output : text stream, optional
        Where the function's printing goes (``check`` passes a capped sink).
    """
    args, kwargs = case.copy_args()
    redirect = (contextlib.redirect_stdout(output), contextlib.redirect_stderr(output)) if output else ()
    try:
        # A student's division by zero should be judged by its result, not
        # spill RuntimeWarnings over the report.
        with contextlib.ExitStack() as stack:
            for r in redirect:
                stack.enter_context(r)
            stack.enter_context(warnings.catch_warnings())
            stack.enter_context(np.errstate(all="ignore"))
            warnings.simplefilter("ignore")
            with _time_limit(time_limit):
                value = func(*args, **kwargs)
    except _CallTimeout:
        return "error", (f"{_OUT_OF_TIME} {time_limit:g} s of CPU time or waited "
                         f"{WALL_CLOCK_FACTOR * time_limit:g} s (an endless loop?)")
    except SystemExit as exc:
        return "error", f"SystemExit: your function called sys.exit({exc.code!r}); return a value instead"
    except NotImplementedError as exc:
        return "error", f"NotImplementedError: {exc}"
    except Exception as exc:
        where = _raised_where(exc)
        return "error", f"{type(exc).__name__}: {exc}" + (f"\n{where}" if where else "")
    try:
        return "value", to_plain(value)
    except BadReturn as exc:
        return "bad", str(exc)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(
    os.path.abspath(d) + os.sep
    for d in {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")} if d
)


def _raised_where(exc: BaseException) -> str | None:
    """Where in the student's own code ``exc`` was raised, or None.

    The innermost traceback frame outside ``segtutor``, the standard library
    and installed packages: the line of the student's cell (or file) that
    called NumPy, not NumPy's own line.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = os.path.abspath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if path.startswith(_PACKAGE_DIR + os.sep) or path.startswith(_LIBRARY_DIRS):
            continue
        # ipykernel names a cell's code /tmp/ipykernel_<pid>/<hash>.py; IPython's older name is <ipython-input-...>.
        in_cell = "ipykernel_" in path or path.startswith("<ipython-input")
        place = "its cell" if in_cell else os.path.basename(path)
        source = (frame.line or "").strip()
        return f"raised in {frame.name}, line {frame.lineno} of {place}" + (f": {source}" if source else "")
    return None


def _check_n_random(n_random) -> int:
    if isinstance(n_random, bool) or not isinstance(n_random, int | np.integer) or not 0 <= n_random <= MAX_N_RANDOM:
        raise ValueError(f"n_random must be an integer from 0 to {MAX_N_RANDOM}, got {n_random!r}; "
                         "the default is the exercise's own number.")
    return int(n_random)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= MAX_N_RANDOM:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_N_RANDOM}, got {value!r}.")
    return int(value)


def _check_seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value) \
            or not 0 < value <= 3600:
        raise ValueError(f"{name} must be a number of seconds in (0, 3600], got {value!r}.")
    return float(value)


def _error_hint(error: str) -> str:
    error = error.partition("\n")[0]  # the message; the next line says where it was raised
    if error.startswith("NotImplementedError"):
        return "not attempted yet: replace `raise NotImplementedError` with your code"
    if error.startswith("ZeroDivisionError"):
        return "a division by zero: handle the empty case before dividing"
    if error.startswith(("IndexError", "ValueError")) and ("size 0" in error or "empty" in error):
        return "it fails on an empty input: handle that case before indexing"
    if error.startswith("IndexError") and "too many indices" in error:
        return ("an array has fewer axes than the code indexes: one row of an (N, 4) array, boxes[i], has "
                "shape (4,), while boxes[i:i+1] keeps the shape (1, 4)")
    return f"your function raised {error.split(':', 1)[0]}; it should return a value here"


@dataclass
class CheckResult:
    """What :func:`check` found.

    Attributes
    ----------
    name : str
    passed : bool
        Every check passed.
    score : float
        Fraction of checks passed, in [0, 1].
    n_passed, n_total : int
    attempted : bool
        False while the function still raises ``NotImplementedError``.
    failure : CaseResult or None
        The failed check the report details (group, case, expected, got, hint).
    hint : str or None
        The probable mistake behind that failure.
    report : str
        The printed report (:meth:`ExerciseResult.format`); ``print(result)``
        shows it again.
    result : ExerciseResult or None
        Every case, judged.
    """

    name: str
    passed: bool
    score: float
    n_passed: int
    n_total: int
    attempted: bool
    failure: CaseResult | None
    hint: str | None
    report: str = ""
    result: ExerciseResult | None = None

    def __str__(self) -> str:
        return self.report

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed}, {self.n_passed}/{self.n_total})"

    def _ipython_display_(self):
        # check() already printed the report; showing the object again below
        # it would only repeat it.
        pass


# -- the registry ------------------------------------------------------------

_REGISTRY: dict[str, Exercise] = {}
_loaded = False


def register(spec: Exercise) -> Exercise:
    """Add a spec to the course's registry (replacing one of the same name)."""
    if not isinstance(spec, Exercise):
        raise ArgumentTypeError(f"spec should be an Exercise(name=..., ...), got {describe(spec)}.")
    _REGISTRY[spec.name] = spec
    return spec


def _load_specs() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import specs

        specs.load_all()


def _grading_copy() -> bool:
    from . import specs

    return bool(getattr(specs, "GRADING_COPY", False))


def exercise_names() -> list[str]:
    """The names of every registered exercise, sorted."""
    _load_specs()
    return sorted(_REGISTRY)


def get_exercise(name: str) -> Exercise:
    """Return the spec called ``name``.

    Raises
    ------
    ValueError
        If no exercise has that name, listing the names that exist.
    """
    _load_specs()
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name should be an exercise's name (a string) such as 'iou', got {describe(name)}.")
    if name not in _REGISTRY:
        raise ValueError(
            f"there is no exercise called {name!r}; expected a name among {sorted(_REGISTRY)}. "
            "Check the spelling in check(...)."
        )
    return _REGISTRY[name]


def check(name: str, func: Callable, *, seed=None, n_random: int | None = None, verbose: bool = True, file=None,
          time_limit: float = CALL_TIME_LIMIT):
    """Check a function you wrote and print a short report.

    Runs the exercise's worked examples, random inputs compared with the
    course's reference implementation, and edge cases (empty masks, one
    pixel, mismatched shapes). For the first check that fails it shows the
    input, the expected value, what came back and, when it recognises a
    classic mistake, names it. A function that still raises
    ``NotImplementedError`` is reported as not attempted. ``check`` never
    raises because of a bug in your function: an exception, ``sys.exit``, or a
    call using more than ``time_limit`` seconds of CPU time is reported as a failed check,
    and whatever the function prints is collected and shown (cut short) below
    the report. The whole check stops running new cases after
    :data:`CHECK_TIME_LIMIT` seconds of CPU time, or after a call ran out of time.

    Under nbgrader's autograder (``NBGRADER_EXECUTION`` set), a check that does
    not pass raises ``AssertionError`` with the same report, so nbgrader
    scores the cell 0; elsewhere it never raises for your function.

    Parameters
    ----------
    name : str
        The exercise, e.g. ``"iou"``.
    func : callable
        Your function (pass it without calling it).
    seed : int, optional
        Seed for the random cases; fresh ones each call by default.
    n_random : int, optional
        Number of random cases, 0 to 1000 (the exercise's default otherwise).
    verbose : bool
        Print the report (default True).
    time_limit : float
        Seconds of CPU time one call of ``func`` may use (default 10); limits
        are on CPU time so that a busy machine does not fail a slow but honest
        function.

    Returns
    -------
    CheckResult
        ``.passed``, ``.score`` (fraction of checks passed), ``.hint``.

    Examples
    --------
    >>> def my_fraction_above(image, threshold):
    ...     return float((image > threshold).mean())
    >>> check("fraction_above", my_fraction_above, verbose=False).passed
    True
    """
    if _grading_copy():
        # The grading sandbox's package has no specs and no references: the
        # grader's probes do the checking, outside the kernel.
        if verbose:
            print(f"{name}: check() is skipped while grading; the grader checks {name} itself.", file=file or sys.stdout)
        return None
    spec = get_exercise(name)
    if seed is not None:
        seed = check_scalar(seed, "seed", integer=True, low=0)
    verbose = check_bool(verbose, "verbose")
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"file should be a text stream with .write(), such as sys.stdout or open('out.txt', 'w'), "
                        f"got {type(file).__name__} {file!r:.60}.")
    start = time.perf_counter()
    result = spec.run(func, seed=seed, n_random=n_random, verbose=verbose, file=file, time_limit=time_limit)
    result.seconds = time.perf_counter() - start
    if os.environ.get("NBGRADER_EXECUTION") and not result.passed:
        # nbgrader scores a test cell by whether it raises.
        raise AssertionError(result.report)
    return result
