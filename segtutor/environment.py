"""The environment check, reproducible seeds and a quiet TensorFlow start.

TensorFlow is imported only inside the functions that need it, so that
``import segtutor`` stays fast for notebooks 00-02, which never train.
"""

from __future__ import annotations

import importlib
import os
import platform
import random
import sys

import numpy as np

# The TensorFlow gateway lives in _backend (ground layer); these two names stay here for notebooks.
from . import _backend
from ._backend import quiet_tensorflow
from ._backend import tensorflow as import_tensorflow

__all__ = ["quiet_tensorflow", "seed_everything", "doctor", "import_tensorflow"]

_COURSE_PACKAGES = (
    "numpy",
    "scipy",
    "matplotlib",
    "skimage",
    "sklearn",
    "tensorflow",
    "keras",
    "ipywidgets",
    "pycocotools",
)


def seed_everything(seed: int = 0) -> int:
    """Make a notebook reproducible: seed Python, NumPy and, if loaded, Keras.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    int
        The seed, for printing.

    Notes
    -----
    TensorFlow is seeded only if it has already been imported, so calling this
    in notebook 01 does not pay TensorFlow's import cost. Call it again after
    importing TensorFlow, or use :func:`segtutor.models` helpers, which do.
    """
    from ._validate import check_seed

    seed = check_seed(seed)
    if seed >= 2**32:
        raise ValueError(f"seed should be below 2**32 (NumPy's limit), got {seed:,}.")
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "tensorflow" in sys.modules:
        keras = _backend.keras()

        keras.utils.set_random_seed(seed)
    return seed


def _version(module_name: str) -> str | None:
    """The installed version of a module, or None when it cannot be imported."""
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return None
    version = getattr(module, "__version__", None)
    if version is None:  # pycocotools has no __version__; its distribution knows
        from importlib import metadata

        try:
            version = metadata.version(module_name)
        except metadata.PackageNotFoundError:
            version = "?"
    return version


def _widget_frontend() -> tuple[bool, str]:
    """Whether the ipywidgets front end (jupyterlab_widgets) is installed."""
    try:
        import jupyterlab_widgets  # noqa: F401
    except ImportError:
        return False, "install jupyterlab_widgets (`pip install ipywidgets`), then restart JupyterLab"
    return True, ""


def _tensorflow_works() -> tuple[bool, str]:
    try:
        tf = import_tensorflow()
        value = float(tf.reduce_sum(tf.ones((2, 2))).numpy())
    except Exception as exc:  # report, never crash the check
        return False, f"{type(exc).__name__}: {exc}"
    if value != 4.0:
        return False, f"a tiny computation gave {value}, expected 4.0"
    return True, ""


def doctor(*, check_tensorflow: bool = True, file=None) -> bool:
    """Print an environment report and say what to fix.

    Parameters
    ----------
    check_tensorflow : bool
        Also import TensorFlow and run a tiny computation (about 3 s).
    file : file-like, optional
        Where to print; defaults to ``sys.stdout``.

    Returns
    -------
    bool
        True when everything the course needs is in place.
    """
    import io

    from ._validate import check_bool
    from .modes import FAST_ENV_VAR, mode

    check_tensorflow = check_bool(check_tensorflow, "check_tensorflow")
    if file is not None and (not callable(getattr(file, "write", None))
                             or isinstance(file, (io.RawIOBase, io.BufferedIOBase))):
        raise TypeError(f"file should be a text stream with .write(), such as sys.stdout or open('report.txt', 'w'), "
                        f"got {type(file).__name__} {file!r:.60}. Open the file in text mode, then pass it.")
    out = file or sys.stdout
    problems: list[str] = []

    def line(label: str, value: str) -> None:
        print(f"  {label:<22}{value}", file=out)

    print("segtutor environment report", file=out)
    line("Python", platform.python_version())
    if sys.version_info < (3, 10):
        problems.append("Python 3.10 or newer is needed: install it, then rerun the set-up command.")
    line("Platform", f"{platform.system()} {platform.machine()}")
    line("CPU threads", str(os.cpu_count()))
    line("Course mode", f"{mode()}  (set {FAST_ENV_VAR}=1 for fast mode)")
    for name in _COURSE_PACKAGES:
        if name == "tensorflow" and not check_tensorflow:
            continue
        version = _version(name)
        line(name, version or "MISSING")
        if version is None:
            problems.append(f"{name} is missing: run `python3 course.py open` again to reinstall the course.")
    ok, why = _widget_frontend()
    line("Widget front end", "yes" if ok else "no")
    if not ok:
        problems.append(f"Widgets will not display: {why}.")
    if check_tensorflow:
        ok, why = _tensorflow_works()
        line("TensorFlow runs", "yes" if ok else "no")
        if not ok:
            problems.append(f"TensorFlow failed to run ({why}). Reinstall with `python3 course.py open`.")
    if problems:
        print("\nTo fix:", file=out)
        for p in problems:
            print(f"  - {p}", file=out)
        return False
    print("\nAll good: you are ready for the course.", file=out)
    return True
