"""Measured memory peaks of the course notebooks' graded runs, checked against ``--memory`` at start.

A kernel that needs more than ``--memory`` ends every row as ``memory
limit`` after minutes of work. ``segtutor grade`` therefore compares
``--memory`` with the peak each notebook reached when its complete source
was graded in the sandbox (``tools/measure_grading_peaks.py``, which
writes ``segtutor/data/grading_memory_peaks.csv``: the peak resident
memory of the kernel's processes and the largest data segment of one,
the two things ``--memory`` limits) before it grades anything.

Each row also keeps ``code_sha256``, a hash of the code cells the measured
run graded (:func:`code_hash`): when a notebook's code changes, its peak
may no longer hold, and :func:`stale_peaks` says so (``segtutor grade``
warns, and a test fails, until the tool is rerun).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import io
import math

from .._validate import check_scalar, check_str

__all__ = ["measured_peaks", "suggested_memory", "memory_shortfalls", "code_hash", "measured_hashes", "stale_peaks"]

#: What to run when a peak is stale or missing.
REMEASURE = "tools/measure_grading_peaks.py"

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
    return {row["notebook"]: int(row["peak_mb"]) for row in _rows(mode)}


def _rows(mode: str) -> list[dict]:
    text = (importlib.resources.files("segtutor") / "data" / PEAKS_FILE).read_text(encoding="utf-8")
    return [row for row in csv.DictReader(io.StringIO(text)) if row["mode"] == mode]


def measured_hashes(mode: str = "fast") -> dict[str, str]:
    """``{notebook file name: code_hash}`` of the notebooks as they were when measured in ``mode``.

    Examples
    --------
    >>> all(len(h) == 64 for h in measured_hashes().values())
    True
    """
    mode = check_str(mode, "mode")
    if mode not in ("fast", "class"):
        raise ValueError(f"mode must be 'fast' or 'class', got {mode!r}.")
    return {row["notebook"]: row.get("code_sha256") or "" for row in _rows(mode)}


def code_hash(notebook) -> str:
    """sha256 (hex) of a notebook's code cells, the part a graded run executes.

    Markdown, outputs and metadata do not count: they change no memory
    peak. Cell order and every character of the code do.

    Parameters
    ----------
    notebook : str, Path or nbformat.NotebookNode
        A source notebook, or its path.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    >>> code_hash(nb) == code_hash(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi"),
    ...                                                              nbformat.v4.new_code_cell("x = 1")]))
    True
    >>> code_hash(nb) == code_hash(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")]))
    False
    """
    import os

    import nbformat

    if isinstance(notebook, str | os.PathLike):
        from .._validate import check_path

        path = check_path(notebook, "notebook")
        if not path.is_file():
            raise FileNotFoundError(f"notebook: no notebook at {path}; check the path.")
        notebook = nbformat.read(path, as_version=4)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError(f"notebook must be a notebook (nbformat) or its path, got {type(notebook).__name__}.")
    digest = hashlib.sha256()
    for cell in notebook["cells"]:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            data = source.encode("utf-8")
            # Length-prefixed, so moving text across a cell boundary changes the hash.
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def stale_peaks(paths, *, fast: bool = True) -> list[str]:
    """One line per notebook whose measured peak was taken on different code.

    Parameters
    ----------
    paths : iterable of path
        Source notebooks being graded. Only those the table has a row for
        (by file name) are checked: an instructor's own notebook is not.
    fast : bool
        Check the fast-mode rows (``segtutor grade`` without
        ``--class-mode``); with False, the class-mode rows where measured
        (the fast-mode ones stand in for the rest, as in
        :func:`memory_shortfalls`).

    Examples
    --------
    >>> from pathlib import Path
    >>> stale_peaks([Path("no-such-course-notebook.ipynb")])
    []
    """
    from pathlib import Path

    if isinstance(paths, str | bytes) or not isinstance(paths, list | tuple | set | frozenset):
        raise TypeError(f"paths must be a list of notebook paths, got {type(paths).__name__}; "
                        "wrap one path in a list.")
    hashes = {name: (h, "fast mode") for name, h in measured_hashes("fast").items()}
    if not fast:
        hashes.update({name: (h, "class mode") for name, h in measured_hashes("class").items()})
    lines = []
    for path in sorted({Path(p) for p in paths}):
        if path.name not in hashes:
            continue
        want, mode = hashes[path.name]
        if code_hash(path) != want:
            lines.append(f"the measured memory peak of {path.name} ({mode}) is stale: its code cells changed since "
                         f"it was measured, so --memory is checked against an old number. Rerun "
                         f"{REMEASURE} {path.name} to measure it again.")
    return lines


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
        ``--class-mode``). Class mode is checked against the class-mode
        peaks; where a notebook has none, its fast-mode peak stands in,
        which need not bound it (class mode trains bigger models longer).

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
