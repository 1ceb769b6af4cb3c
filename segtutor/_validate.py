"""Argument checks shared by the whole package.

Each check raises an error a student can act on: what was expected, what
came in, and the usual fix.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_array",
    "check_image",
    "check_mask",
    "check_same_shape",
    "check_positive_int",
    "check_in_range",
    "check_choice",
    "check_bool",
]


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def as_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a NumPy array, or explain why it cannot be one."""
    if x is None:
        raise ValueError(f"{name} is None; expected an array. Did a function forget to `return`?")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many types
        raise ValueError(f"{name} could not be turned into an array: {exc}") from exc
    if arr.dtype == object:
        raise ValueError(
            f"{name} is {_describe(x)}; expected a numeric array. "
            "Ragged nested lists become object arrays: make every row the same length."
        )
    return arr


def check_image(image, name: str = "image", *, allow_gray: bool = True, allow_rgb: bool = True) -> np.ndarray:
    """Check that ``image`` is a 2-D (H, W) or 3-D (H, W, C) numeric array."""
    arr = as_array(image, name)
    ok_ndim = (allow_gray and arr.ndim == 2) or (allow_rgb and arr.ndim == 3 and arr.shape[-1] in (1, 3, 4))
    if not ok_ndim:
        expected = " or ".join(
            s for s, ok in (("(H, W)", allow_gray), ("(H, W, 3)", allow_rgb)) if ok
        )
        raise ValueError(
            f"{name} should have shape {expected}, got shape {arr.shape}. "
            "For a batch, pass one image at a time (images[0])."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} should be numeric, got dtype {arr.dtype}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one pixel.")
    return arr


def check_mask(mask, name: str = "mask", *, ndim: int | tuple[int, ...] = (2, 3)) -> np.ndarray:
    """Check that ``mask`` holds integer labels or booleans and return it.

    Float masks are accepted only when every value is a whole number, since a
    probability map passed by mistake is the most common bug here.
    """
    arr = as_array(mask, name)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        raise ValueError(
            f"{name} should have {' or '.join(map(str, allowed))} dimensions, got shape {arr.shape}."
        )
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(
                f"{name} has non-integer float values (dtype {arr.dtype}); expected labels or booleans. "
                "If this is a probability map, threshold it first: (probs > 0.5)."
            )
        return arr.astype(np.int64)
    raise ValueError(f"{name} should hold booleans or integer labels, got dtype {arr.dtype}.")


def check_same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Raise if two arrays differ in shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {a.shape} and {b.shape}. "
            "Check that both come from the same image and that neither still has a batch or channel axis."
        )


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} should be an integer, got {_describe(value)}.")
    if value < minimum:
        raise ValueError(f"{name} should be at least {minimum}, got {value}.")
    return int(value)


def check_in_range(value, name: str, low: float, high: float) -> float:
    """Check that ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} should be a finite number, got {_describe(value)}.")
    if not (low <= value <= high):
        raise ValueError(f"{name} should be between {low} and {high}, got {value}.")
    return float(value)


def check_choice(value, name: str, choices) -> str:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} should be one of {sorted(choices)}, got {value!r}.")
    return value


def check_bool(value, name: str) -> bool:
    """Check that ``value`` is a real boolean (NumPy's included).

    Truthiness is not enough: the string ``'False'`` is truthy, so a flag
    passed as text would silently mean the opposite.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} should be True or False, got {_describe(value)}. Write {name}=False, not {name}='False'.")
