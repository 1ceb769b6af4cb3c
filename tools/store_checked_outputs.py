#!/usr/bin/env python3
"""Execute notebooks in fast mode and store only the outputs nbval compares.

nbval runs with ``--nbval-lax``: it compares a cell's outputs only when the
cell starts with ``# NBVAL_CHECK_OUTPUT``. Those outputs must therefore be
saved in the source notebook; every other output is cleared, so the
committed notebooks stay small and carry no stale figures.

Usage::

    .venv/bin/python tools/store_checked_outputs.py notebooks/02_classical_segmentation.ipynb [...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARKER = "# NBVAL_CHECK_OUTPUT"


def store(path: Path, timeout: int = 900) -> int:
    nb = nbformat.read(path, as_version=4)
    os.environ["SEGTUTOR_FAST"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    kept = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # nbclient's timestamps: noise in every diff
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(MARKER):
            # nbval skips comparison ("unrun reference cell") for cells without
            # an execution count, so kept cells keep the count of this run.
            kept += 1
        else:
            cell.execution_count = None
            cell.outputs = []
    # Keep the metadata a reader needs, drop what the run added.
    nb.metadata.pop("widgets", None)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return kept


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        kept = store(Path(name))
        print(f"{name}: stored outputs of {kept} checked cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
