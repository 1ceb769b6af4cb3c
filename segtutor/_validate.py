"""Argument checks shared by the whole package.

Each check raises an error a student can act on: what was expected, what
came in, and the usual fix.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _backend

__all__ = [
    "ArgumentTypeError",
    "as_array",
    "check_finite",
    "check_scalar",
    "check_jobs",
    "MAX_JOBS",
    "check_size_budget",
    "check_pixel_budget",
    "check_seed",
    "MAX_ELEMENTS",
    "MAX_SEED",
    "check_str",
    "check_names",
    "check_output_file",
    "check_model",
    "check_model_input",
    "check_path",
    "check_keras_tensor",
    "check_cmap",
    "check_image_dict",
    "check_image",
    "check_mask",
    "check_same_shape",
    "check_positive_int",
    "check_in_range",
    "check_choice",
    "check_bool",
]


# The most array elements a course function will allocate in one go (2**28,
# 2 GiB of float64). A student's image is far below this; a typo (an extra
# zero, a wrong axis) is far above it and should fail at once, not swap.
MAX_ELEMENTS = 1 << 28

# Seeds are 32-bit unsigned integers: the range that NumPy, scikit-learn and
# TensorFlow all accept, so one check serves every function that takes a seed.
MAX_SEED = 2**32 - 1


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type.

    A :class:`TypeError`, as the standard says a wrong type should be; also a
    :class:`ValueError`, because these checks raised that before and code that
    catches it keeps working.
    """


def describe(x) -> str:
    """A short phrase naming what ``x`` is, for error messages: its type and value, or an array's shape and dtype."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


# The old private name, still imported by segtutor.grading and segtutor.exercises (their owners move them to
# describe); remove once they have.
_describe = describe


def as_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a NumPy array, or explain why it cannot be one."""
    if x is None:
        raise ValueError(f"{name} is None; expected an array. Did a function forget to `return`?")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many types
        raise ValueError(f"{name} could not be turned into an array: {exc}") from exc
    if arr.dtype == object:
        raise ArgumentTypeError(
            f"{name} is {describe(x)}; expected a numeric array. "
            "Ragged nested lists become object arrays: make every row the same length."
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ArgumentTypeError(
            f"{name} has complex dtype {arr.dtype}; expected real numbers. "
            f"Keep the part you mean: np.abs({name}) for the magnitude, {name}.real for the real part."
        )
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise ArgumentTypeError(
            f"{name} is {describe(x)}; expected a numeric array. "
            "Convert text first, e.g. np.asarray(values, dtype=float)."
        )
    return arr


def check_finite(arr, name: str) -> np.ndarray:
    """Raise if a numeric array holds NaN or infinity; return it unchanged.

    Integer and boolean arrays are always finite and pass without a scan.
    """
    arr = np.asarray(arr)
    if np.issubdtype(arr.dtype, np.inexact) and arr.size and not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(
            f"{name} holds {n_nan} NaN and {n_inf} infinite values (of {arr.size}); expected finite numbers. "
            f"Find where they come from (a division by zero, a log of 0) or replace them: np.nan_to_num({name})."
        )
    return arr


def check_scalar(value, name: str, *, integer: bool = False, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> int | float:
    """Check a real number (Python or NumPy scalar, never a bool) and return it as a Python scalar.

    ``integer=True`` asks for an integer (``np.int64`` included). ``low`` and
    ``high`` bound it (inclusive, or exclusive at ``low`` with ``low_open``).
    NaN and infinity are refused.
    """
    kind = "an integer" if integer else "a number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        hint = " (use round() or int() if a float was meant)" if integer and isinstance(value, numbers.Real) else ""
        raise ArgumentTypeError(f"{name} should be {kind}, got {describe(value)}{hint}.")
    value = int(value) if integer else float(value)
    if not integer and not np.isfinite(value):
        raise ValueError(f"{name} should be a finite number, got {value}.")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} should be {'above' if low_open else 'at least'} {low}, got {value}.")
    if high is not None and value > high:
        raise ValueError(f"{name} should be at most {high}, got {value}.")
    return value


#: The most jobs (submissions graded at once) that grading accepts, on threads or on a Dask cluster.
MAX_JOBS = 512


def check_jobs(jobs, name: str = "jobs") -> int:
    """Check a number of parallel grading jobs: an integer from 1 to :data:`MAX_JOBS`.

    The one check behind ``segtutor grade --jobs`` and the grading functions
    that take ``jobs``.

    Examples
    --------
    >>> check_jobs(4)
    4
    >>> check_jobs(0, "--jobs")
    Traceback (most recent call last):
    ...
    ValueError: --jobs should be at least 1, got 0.
    """
    return check_scalar(jobs, name, integer=True, low=1, high=MAX_JOBS)


def check_size_budget(n_elements, name: str, *, limit: int = MAX_ELEMENTS, what: str = "the result") -> int:
    """Refuse to allocate more than ``limit`` array elements for ``what``.

    Call it with the element count *before* allocating, so that an absurd size
    fails at once with the argument's name instead of exhausting memory.
    """
    n = int(n_elements)
    if n > limit:
        raise ValueError(
            f"{name} makes {what} {n:,} elements, above the course limit of {limit:,} "
            f"(about {limit * 8 / 2**30:.3g} GiB of float64). Check {name} for a typo or work on a smaller piece."
        )
    return n


def check_pixel_budget(arr: np.ndarray, name: str, *, limit: int, what: str) -> np.ndarray:
    """Refuse an image with more than ``limit`` pixels (H * W) for ``what``; return it.

    For the functions whose working memory is many times the image's own
    size (superpixels, pictures in float64): a photograph from a phone is
    fine, a whole-slide scan should be downscaled or cropped first.

    Examples
    --------
    >>> check_pixel_budget(np.zeros((10, 10)), "image", limit=50, what="this")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: image is 10 x 10 (100 pixels); this works on at most 50 pixels (about 7 x 7). ...
    """
    h, w = arr.shape[:2]
    if h * w > limit:
        side = int(limit**0.5)
        raise ValueError(
            f"{name} is {h} x {w} ({h * w:,} pixels); {what} works on at most {limit:,} pixels "
            f"(about {side} x {side}). Downscale it first (skimage.transform.rescale({name}, 0.5), "
            f"with channel_axis=-1 for colour) or crop the part you need ({name}[:{side}, :{side}])."
        )
    return arr


def check_seed(seed, name: str = "seed") -> int:
    """Check a random seed: an integer from 0 to 2**32 - 1 (:data:`MAX_SEED`); return it.

    NumPy takes larger seeds but scikit-learn and TensorFlow do not, so every
    course function asks for the range they share.

    Examples
    --------
    >>> check_seed(7)
    7
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise ArgumentTypeError(f"{name} should be an integer from 0 to 2**32 - 1, got {_describe(seed)}.")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} should be an integer from 0 to 2**32 - 1 ({MAX_SEED:,}), got {seed}. "
                         "Any small number will do, e.g. seed=0.")
    return int(seed)


def check_image(image, name: str = "image", *, allow_gray: bool = True, allow_rgb: bool = True,
                finite: bool = True) -> np.ndarray:
    """Check that ``image`` is a 2-D (H, W) or 3-D (H, W, C) real numeric array.

    NaN and infinity are refused unless ``finite=False``.
    """
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
    if finite:
        check_finite(arr, name)
    return arr


def check_mask(mask, name: str = "mask", *, ndim: int | tuple[int, ...] = (2, 3),
               nonnegative: bool = False) -> np.ndarray:
    """Check that ``mask`` holds integer labels or booleans and return it.

    Float masks are accepted only when every value is a whole number, since a
    probability map passed by mistake is the most common bug here.
    ``nonnegative=True`` also refuses negative labels (a negated mask, labels
    shifted by one), which would otherwise count as foreground or vanish.
    """
    arr = _check_mask(mask, name, ndim)
    if nonnegative and arr.dtype != bool and arr.size and arr.min() < 0:
        raise ValueError(
            f"{name} holds the negative label {arr.min()}; expected 0 for background and 1, 2, ... for objects. "
            f"Check for a sign flip or an offset (e.g. {name} - 1)."
        )
    return arr


def _check_mask(mask, name: str, ndim) -> np.ndarray:
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
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} should be an integer, got {describe(value)}.")
    if value < minimum:
        raise ValueError(f"{name} should be at least {minimum}, got {value}.")
    return int(value)


def check_in_range(value, name: str, low: float, high: float) -> float:
    """Check that ``low <= value <= high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} should be a finite number, got {describe(value)}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} should be a finite number, got {describe(value)}.")
    if not (low <= value <= high):
        raise ValueError(f"{name} should be between {low} and {high}, got {value}.")
    return float(value)


def check_choice(value, name: str, choices) -> str:
    """Check that ``value`` is one of ``choices``."""
    try:
        known = value in choices
    except TypeError:  # an unhashable value asked of a set or dict
        known = False
    if not known:
        raise ValueError(f"{name} should be one of {sorted(choices)}, got {describe(value)}.")
    return value


def check_bool(value, name: str) -> bool:
    """Check that ``value`` is a real boolean (NumPy's included).

    Truthiness is not enough: the string ``'False'`` is truthy, so a flag
    passed as text would silently mean the opposite.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} should be True or False, got {describe(value)}. Write {name}=False, not {name}='False'.")


def check_str(value, name: str) -> str:
    """Check that ``value`` is a string (NumPy's ``str_`` included)."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} should be a string, got {describe(value)}.")
    return str(value)


def check_names(values, name: str) -> list[str]:
    """Check a non-empty list of distinct, non-empty strings (class names, file stems); return it as a list.

    A bare string is refused rather than read as one name or as letters:
    ``'cell'`` and ``['cell']`` mean different things elsewhere.

    Examples
    --------
    >>> check_names(("cell", "debris"), "categories")
    ['cell', 'debris']
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(f"{name} should be a list of names such as ['cell'], got {_describe(values)}.")
    names = list(values)
    bad = [v for v in names if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ArgumentTypeError(f"{name} should hold non-empty strings, got {bad[0]!r} in {names!r:.120}.")
    if not names:
        raise ValueError(f"{name} is empty; give at least one name, e.g. ['cell'].")
    if len(set(names)) != len(names):
        twice = sorted({v for v in names if names.count(v) > 1})
        raise ValueError(f"{name} repeats {twice}; each name must be used once.")
    return [str(v) for v in names]


def check_output_file(value, name: str):
    """Check a path to write a file to: not an existing folder, nor inside a file; return it as a Path."""
    path = check_path(value, name)
    if path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder; give a file inside it, e.g. {str(path / 'out.json')!r}.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{name} {str(path)!r} lies inside {str(parent)!r}, which is a file, not a folder.")
            break
    return path


def check_model(model, name: str = "model"):
    """Check that ``model`` is a Keras model (built, with an input), and return it.

    A wrong object here would otherwise fail deep inside Keras with a message
    about tensors; say what was expected instead.
    """
    keras = _backend.keras()
    if not isinstance(model, keras.Model):
        raise ArgumentTypeError(
            f"{name} should be a Keras model (keras.Model), got {describe(model)}. "
            "Build one (segtutor.models.cnn.build_cnn()) or load one (segtutor.models.load_model())."
        )
    try:
        model.inputs  # a subclassed model that was never called has no inputs
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"{name} has not been built yet (no input shape): call it once on a batch first.") from exc
    return model


def check_model_input(model, batch: np.ndarray, name: str, *, model_name: str = "model") -> np.ndarray:
    """Check that a batch ``(N, H, W, C)`` fits the model's input shape; return it.

    ``None`` in the model's input shape matches any size.
    """
    expected = tuple(model.inputs[0].shape)[1:]
    got = tuple(batch.shape)[1:]
    if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected, got)):
        want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise ValueError(
            f"{name} has shape {got} per image but {model_name} expects {want}. "
            "Resize or crop the image to the model's input size (skimage.transform.resize), "
            "or add the channel axis with [..., None]."
        )
    return batch


def check_path(value, name: str):
    """Check that ``value`` is a path (str or os.PathLike) and return it as a :class:`pathlib.Path`."""
    import os
    from pathlib import Path

    if isinstance(value, (bytes, bool)) or not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{name} should be a path (str or pathlib.Path), got {describe(value)}."
        )
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} is an empty string; expected a path such as 'data/images'.")
    return Path(value)


def check_keras_tensor(x, name: str = "x", *, ndim: int = 4):
    """Check that ``x`` is a Keras/TensorFlow tensor of ``ndim`` dimensions (for model-building blocks)."""
    keras = _backend.keras()
    if not (isinstance(x, keras.KerasTensor) or keras.ops.is_tensor(x)):
        raise ArgumentTypeError(
            f"{name} should be a Keras tensor such as keras.Input((64, 64, 1)) or a layer's output, "
            f"got {describe(x)}. These blocks build a model; call the finished model on arrays."
        )
    if len(x.shape) != ndim:
        raise ValueError(f"{name} should have {ndim} dimensions (N, H, W, C), got shape {tuple(x.shape)}.")
    return x


def check_cmap(cmap, name: str = "cmap", *, extra: tuple = ()) -> str:
    """Check a Matplotlib colormap name (or one of ``extra``) before a figure is half drawn."""
    import matplotlib

    if not isinstance(cmap, str):
        raise ArgumentTypeError(f"{name} should be a colormap name such as 'gray' or 'viridis', got {describe(cmap)}.")
    if cmap not in extra and cmap not in matplotlib.colormaps:
        also = f" or one of {list(extra)}" if extra else ""
        raise ValueError(
            f"{name} {cmap!r} is not a Matplotlib colormap; use a name such as 'gray', 'viridis', 'magma'{also} "
            "(list(matplotlib.colormaps) shows them all)."
        )
    return cmap


def check_image_dict(images, name: str = "images", *, allow_rgb: bool = True) -> dict:
    """Check a non-empty dict ``{title: image}`` of images; return it with each image checked."""
    if not isinstance(images, dict):
        raise ArgumentTypeError(
            f"{name} should be a dict {{title: image}}, e.g. {{'camera': skimage.data.camera()}}, got {describe(images)}."
        )
    if not images:
        raise ValueError(f"{name} is empty; pass a dict like {{'camera': array}} or leave it out.")
    return {check_str(k, f"{name} key"): check_image(v, f"{name}[{k!r}]", allow_rgb=allow_rgb)
            for k, v in images.items()}
