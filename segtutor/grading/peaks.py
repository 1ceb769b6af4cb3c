"""Measured memory peaks of the course notebooks' graded runs, checked against ``--memory`` at start.

A kernel that needs more than ``--memory`` ends every row as ``memory
limit`` after minutes of work. ``segtutor grade`` therefore compares
``--memory`` with the peak each notebook reached when its complete source
was graded in the sandbox (``tools/measure_grading_peaks.py``, which
writes ``segtutor/data/grading_memory_peaks.csv``: the peak resident
memory of the kernel's processes and the largest data segment of one,
the two things ``--memory`` limits) before it grades anything.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import math

from .._validate import check_scalar, check_str

__all__ = ["measured_peaks", "suggested_memory", "memory_shortfalls"]

#: The table in the package's data folder.
PEAKS_FILE = "grading_memory_peaks.csv"


def measured_peaks(mode: str = "fast") -> dict[str, int]:
    """``{notebook file name: peak MiB}`` measured in ``mode`` ('fast' or 'class').

    Examples
    --------
    >>> peaks = measured_peaks()
    >>> all(isinstance(v, int) and v > 0 for v in peaks.values())
    True
    """
    mode = check_str(mode, "mode")
    if mode not in ("fast", "class"):
        raise ValueError(f"mode must be 'fast' or 'class', got {mode!r}.")
    text = (importlib.resources.files("segtutor") / "data" / PEAKS_FILE).read_text(encoding="utf-8")
    return {row["notebook"]: int(row["peak_mb"]) for row in csv.DictReader(io.StringIO(text)) if row["mode"] == mode}


def suggested_memory(peak_mb: float) -> int:
    """A ``--memory`` for a notebook that peaked at ``peak_mb`` MiB: a quarter more, in steps of 256 MiB.

    The margin covers what one measurement misses (another seed, another
    machine's thread pools, the watchdog's 0.1 s between looks).

    Examples
    --------
    >>> suggested_memory(600), suggested_memory(1000)
    (768, 1280)
    """
    peak_mb = check_scalar(peak_mb, "peak_mb", low=0)
    return max(256, 256 * math.ceil(1.25 * float(peak_mb) / 256))


def memory_shortfalls(notebooks, memory_mb: int, *, fast: bool = True) -> list[str]:
    """One line per notebook whose measured peak is above ``memory_mb``.

    Parameters
    ----------
    notebooks : iterable of str
        File names of the source notebooks being graded
        (``02_classical_segmentation.ipynb``); names without a measurement
        (an instructor's own notebook) are not checked.
    memory_mb : int
        The ``--memory`` value, in MiB.
    fast : bool
        The notebooks run in fast mode (``segtutor grade`` without
        ``--class-mode``). Class mode is checked against the fast-mode
        peak where no class-mode one was measured: a lower bound.

    Examples
    --------
    >>> lines = memory_shortfalls(["02_classical_segmentation.ipynb"], 256)
    >>> len(lines), "--memory" in lines[0]
    (1, True)
    >>> memory_shortfalls(["02_classical_segmentation.ipynb", "mine.ipynb"], 65536)
    []
    """
    if isinstance(notebooks, str) or not isinstance(notebooks, list | tuple | set | frozenset):
        raise TypeError(f"notebooks must be a list of notebook file names, got {type(notebooks).__name__}; "
                        "wrap one name in a list.")
    names = [check_str(n, "notebooks") for n in notebooks]
    memory_mb = check_scalar(memory_mb, "memory_mb", integer=True, low=1)
    peaks = {name: (peak, "fast mode") for name, peak in measured_peaks("fast").items()}
    if not fast:
        peaks.update({name: (peak, "class mode") for name, peak in measured_peaks("class").items()})
    lines = []
    for name in sorted(set(names)):
        peak, mode = peaks.get(name, (None, ""))
        if peak is not None and memory_mb < peak:
            lines.append(f"{name} peaked at {peak} MiB when graded ({mode}, measured), above --memory "
                         f"{memory_mb}: its rows are likely to end 'memory limit'. Use --memory {suggested_memory(peak)}.")
    return lines
