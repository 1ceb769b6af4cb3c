"""Probe cells: how the grader asks a submission's kernel for answers.

The harness appends one probe cell per exercise to the submission. A probe
looks up the student's function by the name the *source* notebook gives,
applies it to inputs the harness drew, and prints one line per case::

    <nonce> <case index> <JSON>

where the JSON is plain data: ``{"value": nested list, "shape": [...],
"kind": "f"|"i"|"b"}``, ``{"error": "TypeName: message"}``, ``{"bad": why}``
or ``{"missing": true}``. Nothing is pickled either way. The nonce is fresh
per submission, so lines printed by the student's own cells are ignored;
a function that finds the nonce and prints answers of its own only makes
the case conflict, which scores as wrong (see :func:`parse_probe_output`).
The harness compares the values with the reference in its own process
(:func:`decode_outcome` then :meth:`segtutor.exercises.Exercise.score`).
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["encode_value", "probe_source", "parse_probe_output", "decode_outcome", "MAX_LINE"]

#: Longest result line read back, in characters; longer lines are ignored.
MAX_LINE = 2_000_000

_PROBE = '''# segtutor grading probe: {exercise} (added by the grader)
def _segtutor_probe(_name={function!r}, _nonce={nonce!r}, _cases={cases!r}):
    import json as _json, sys as _sys
    import numpy as _np
    def _emit(i, payload):
        _sys.stdout.write(_nonce + " " + str(i) + " " + _json.dumps(payload) + "\\n")
        _sys.stdout.flush()
    def _dec(v):
        if isinstance(v, dict) and "__ndarray__" in v:
            return _np.array(v["__ndarray__"], dtype=v["dtype"]).reshape(v["shape"])
        return v
    func = globals().get(_name)
    if not callable(func):
        _emit(-1, {{"missing": True}})
        return
    for i, case in enumerate(_json.loads(_cases)):
        args = [_dec(a) for a in case["args"]]
        kwargs = {{k: _dec(v) for k, v in case["kwargs"].items()}}
        try:
            value = func(*args, **kwargs)
        except (Exception, SystemExit) as e:
            _emit(i, {{"error": type(e).__name__ + ": " + str(e)[:300]}})
            continue
        try:
            if value is None:
                raise TypeError("the function returned None: did you forget `return`?")
            a = _np.asarray(value)
            if a.dtype.kind not in "biuf":
                raise TypeError("returned " + type(value).__name__ + ", not a number or an array of numbers")
            _emit(i, {{"value": a.tolist(), "shape": list(a.shape), "kind": a.dtype.kind}})
        except Exception as e:
            _emit(i, {{"bad": str(e)[:300]}})
_segtutor_probe()
del _segtutor_probe
'''


def encode_value(value):
    """Encode one case argument as JSON-ready data (arrays with dtype and shape).

    NaN and infinity in a float array are kept as they are; :func:`probe_source`,
    which writes strict JSON, then refuses them, so a spec's cases must be finite.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"case arguments (value) must be real numeric arrays, got dtype {value.dtype}.")
        return {"__ndarray__": value.ravel().tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(
        f"case arguments (value) must be NumPy arrays or Python scalars, got {type(value).__name__}; "
        "convert it in the spec's random_case."
    )


def probe_source(exercise: str, function: str, cases, nonce: str) -> str:
    """Source of the probe cell for one exercise.

    Parameters
    ----------
    exercise : str
        The exercise's name (for the comment only).
    function : str
        The student's function name, from the source notebook.
    cases : list of Case
        Inputs chosen by the harness.
    nonce : str
        Tag that marks the probe's output lines.
    """
    from .._validate import check_str

    exercise, nonce = check_str(exercise, "exercise"), check_str(nonce, "nonce")
    if not isinstance(function, str) or not function.isidentifier():
        raise ValueError(f"function name {function!r} is not a Python identifier.")
    from segtutor.exercises import Case

    if isinstance(cases, (str, bytes)) or not isinstance(cases, (list, tuple)) or not all(
            isinstance(c, Case) for c in cases):
        raise TypeError(f"cases should be a list of Case objects (the exercise's grading cases), "
                        f"got {type(cases).__name__}.")
    payload = json.dumps(
        [{"args": [encode_value(a) for a in c.args], "kwargs": {k: encode_value(v) for k, v in c.kwargs.items()}}
         for c in cases],
        allow_nan=False,
    )
    return _PROBE.format(exercise=exercise, function=function, nonce=nonce, cases=payload)


def parse_probe_output(text: str, nonce: str) -> dict[int, dict]:
    """Read ``{case index: payload}`` from a probe cell's stdout.

    Every byte the kernel printed is untrusted: the student's function runs
    in the same process as the probe and can find its nonce and print lines
    of its own. So lines without the nonce, too long or not valid JSON
    objects are skipped, and when two lines for one case differ the case
    gets ``{"bad": ..., "conflict": True}``, which scores as wrong: printing
    extra answers can only lose points.
    """
    if not isinstance(text, str) or not isinstance(nonce, str):
        bad = "text" if not isinstance(text, str) else "nonce"
        raise TypeError(f"{bad} should be a string, got {type(text if bad == 'text' else nonce).__name__}.")
    found: dict[int, dict] = {}
    raw_seen: dict[int, str] = {}
    for line in text.splitlines():
        if not line.startswith(nonce + " ") or len(line) > MAX_LINE:
            continue
        try:
            _, index, raw = line.split(" ", 2)
            index = int(index)
            payload = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if not isinstance(payload, dict):
            continue
        canonical = json.dumps(payload, sort_keys=True)
        if index not in found:
            found[index], raw_seen[index] = payload, canonical
        elif raw_seen[index] != canonical:
            found[index] = {"bad": "conflicting answers for this case were printed", "conflict": True}
            raw_seen[index] = ""
    return found


def _check_nested(value, depth: int = 0, bools: bool = False) -> None:
    if depth > 8:
        raise ValueError("nested too deeply")
    if isinstance(value, list):
        for v in value:
            _check_nested(v, depth + 1, bools)
    elif isinstance(value, bool) != bools or not isinstance(value, int | float):
        raise ValueError(f"unexpected {type(value).__name__} in a result")


def decode_outcome(payload: dict | None) -> tuple[str, object]:
    """Turn one probe payload into an outcome for :meth:`Exercise.judge`."""
    if payload is not None and not isinstance(payload, dict):
        raise TypeError(f"payload should be one probe's dict (from parse_probe_output) or None, "
                        f"got {type(payload).__name__}.")
    if payload is None:
        return "error", "NoResult: no answer came back (the cell timed out, or the kernel stopped)"
    if "error" in payload:
        return "error", str(payload["error"])[:300]
    if "bad" in payload:
        return "bad", str(payload["bad"])[:300]
    try:
        value, shape, kind = payload["value"], payload["shape"], payload["kind"]
        if kind not in ("b", "i", "u", "f"):
            raise ValueError("unknown kind")
        if kind == "b":
            _check_nested(value, bools=True)
            arr = np.array(value, dtype=bool).astype(np.int64)
        else:
            _check_nested(value)
            arr = np.array(value, dtype=np.float64 if kind == "f" else np.int64)
        if not isinstance(shape, list) or list(arr.shape) != [int(s) for s in shape]:
            raise ValueError("shape does not match")
        return "value", arr
    except Exception:
        return "bad", "the result could not be read back as numbers"
