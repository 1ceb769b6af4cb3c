"""Course modes: one switch between class-sized runs and fast CI runs.

Every notebook reads its sizes (image counts, epochs, steps) from
:func:`sizes`, never from ``if`` blocks of its own, so that the whole
course switches between two modes with one environment variable:

``SEGTUTOR_FAST=1``
    Fast mode: tiny data, one epoch, a few steps. Every code path still runs,
    so CI proves the notebooks work end to end in minutes.
unset, or ``SEGTUTOR_FAST=0``
    Class mode: the real sizes, timed to finish within class time on a
    2-core laptop.

Fast mode is also on whenever ``CI=true``, as in most CI services.

Examples
--------
>>> from segtutor.modes import sizes
>>> s = sizes("03")
>>> s.epochs >= 1
True
"""

from __future__ import annotations

import os
from types import MappingProxyType, SimpleNamespace

__all__ = ["FAST_ENV_VAR", "fast_mode", "mode", "read_flag", "sizes", "SIZES"]

#: The one documented switch between class mode and fast mode.
FAST_ENV_VAR = "SEGTUTOR_FAST"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# One table for the whole course: notebook -> {name: (class mode, fast mode)}.
# Keeping every size here means a teacher can see, and tune, the cost of each
# notebook in one place.
SIZES = MappingProxyType(
    {
        "00": {"n_images": (8, 4)},
        "01": {"n_images": (16, 4)},
        "02": {"n_shapes": (4, 4), "kmeans_clusters": (5, 5)},
        "03": {
            "epochs": (30, 1),  # about 20-35 s on 2 cores; ~99 % test accuracy
            "batch_size": (32, 32),
            "n_train": (None, 256),  # None: the whole training split
            "n_test": (None, 128),
        },
        "04": {"epochs": (30, 1), "batch_size": (32, 32), "n_train": (None, 256), "n_test": (None, 128)},
        "05": {"cnn_epochs": (15, 1), "n_train": (None, 256)},
        # 06 and 07 train on make_nuclei(vary=True), batches of 8 patches: 06's 300 steps took 94-149 s and its
        # three 60-step runs about 80 s in class-mode runs on 2 nearly idle cores (2026-12-07; 636 s at load 20).
        "06": {"n_train": (300, 8), "n_val": (12, 2), "image_size": (256, 64), "patch": (128, 64),
               "depth": (4, 2), "width": (8, 8), "epochs": (6, 1), "steps": (50, 2), "compare_steps": (60, 1)},
        "07": {"n_train": (300, 8), "n_val": (12, 2), "image_size": (256, 64), "patch": (128, 64),
               "unet_depth": (4, 2), "epochs": (4, 1), "steps": (50, 1)},
        "08": {"n_images": (8, 4)},
        "09": {"n_images": (8, 2)},
        "10": {
            # Class mode trains a short live run for the loss curves (200 steps), then evaluates the shipped
            # weights (weights/CARD.md) on 200 held-out images; bench/bench_maskrcnn.py scores 500. Fast mode
            # runs two steps to prove the code runs.
            "n_train": (800, 16),
            "steps": (200, 2),
            "steps_per_epoch": (25, 1),
            "n_eval": (200, 16),
            "n_nuclei": (32, 4),
        },
        # 11 trains U-Nets (depth 3, width 8) on 64-pixel patches of 128-pixel make_nuclei(vary=True) images:
        # per labelled fraction, `steps` on the labels, then `semi_steps` more for each method (see
        # bench/bench_semi.py for the same experiment over three seeds).
        "11": {"n_train": (40, 20), "n_test": (16, 4), "image_size": (128, 64), "patch": (64, 32),
               "depth": (3, 3), "width": (8, 8), "steps": (250, 2), "semi_steps": (250, 2),
               # Section 5 (domain shift) at bench/bench_semi_shift.py's sizes: one seed live, the table stored.
               "shift_size": (256, 32), "shift_n": (40, 5), "shift_patch": (64, 32), "shift_steps": (400, 2),
               # Section 6: the side of the real image the shipped model is adapted to and segments with.
               "real_crop": (512, 128)},
        # 12 trains three small models on the shipped 64 x 64 examples and the coins photograph; the class-mode
        # run of the whole notebook is timed in README.md (target <= 5 minutes on 2 cores).
        # more_images and more_steps: the same U-Net on 2,000 more generated images, to tell a bug from too
        # little data (trial runs, held-out mean IoU: 0.53 after a 600-step schedule, 0.85 after 1,200 steps of
        # a 1,600-step one).
        "12": {"unet_steps": (400, 2), "batch_size": (8, 4), "more_images": (2000, 16), "more_steps": (1200, 2),
               "maskrcnn_steps": (60, 1), "coins_steps": (300, 2), "coins_patch": (96, 64)},
    }
)


def read_flag(name: str) -> bool | None:
    """Read an on/off environment variable the same way everywhere in the course.

    The course's switches (``SEGTUTOR_FAST``, ``SEGTUTOR_EAGER``, ``CI``, the
    test command's own) all read through this function, so ``1``, ``true``,
    ``yes`` and ``on`` mean on, ``0``, ``false``, ``no``, ``off`` and the
    empty string mean off, and anything else is an error rather than a silent
    guess.

    Parameters
    ----------
    name : str
        The environment variable's name, e.g. ``"SEGTUTOR_FAST"``.

    Returns
    -------
    bool or None
        True or False for a set variable, None when it is not set.

    Raises
    ------
    ValueError
        If the variable is set to a value that is neither on nor off.

    Examples
    --------
    >>> import os
    >>> os.environ["SEGTUTOR_EXAMPLE_FLAG"] = "yes"
    >>> read_flag("SEGTUTOR_EXAMPLE_FLAG")
    True
    >>> del os.environ["SEGTUTOR_EXAMPLE_FLAG"]
    >>> read_flag("SEGTUTOR_EXAMPLE_FLAG") is None
    True
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"read_flag: name must be an environment variable's name (a non-empty str), got {name!r}")
    raw = os.environ.get(name)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is not understood; "
        f"expected one of {sorted(_TRUE | _FALSE - {''})} (or empty). "
        f"Set {name}=1 to turn it on, or unset it."
    )


def fast_mode() -> bool:
    """Return True when the course runs in fast (CI) mode.

    ``SEGTUTOR_FAST`` decides when it is set; otherwise ``CI=true`` turns
    fast mode on.
    """
    explicit = read_flag(FAST_ENV_VAR)
    if explicit is not None:
        return explicit
    return bool(read_flag("CI"))


def mode() -> str:
    """Return ``"fast"`` or ``"class"``."""
    return "fast" if fast_mode() else "class"


def sizes(notebook: str) -> SimpleNamespace:
    """Return the sizes a notebook should use in the current mode.

    Parameters
    ----------
    notebook : str
        Two-digit notebook number, such as ``"03"``.

    Returns
    -------
    SimpleNamespace
        One attribute per size, plus ``mode`` (``"class"`` or ``"fast"``).

    Raises
    ------
    ValueError
        If the notebook has no entry in :data:`SIZES`.
    """
    key = str(notebook).zfill(2)
    if key not in SIZES:
        raise ValueError(
            f"no sizes are defined for notebook {notebook!r}; "
            f"expected one of {sorted(SIZES)}. Add a row to segtutor.modes.SIZES."
        )
    index = 1 if fast_mode() else 0
    values = {name: pair[index] for name, pair in SIZES[key].items()}
    return SimpleNamespace(mode=mode(), **values)
