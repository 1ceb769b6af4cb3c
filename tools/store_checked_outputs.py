#!/usr/bin/env python3
"""Execute notebooks in fast mode and store only the outputs nbval compares.

nbval runs with ``--nbval-lax``: it compares a cell's outputs only when the
cell starts with ``# NBVAL_CHECK_OUTPUT``. Those outputs must therefore be
saved in the source notebook; every other output is cleared, so the
committed notebooks stay small and carry no stale figures.

The outputs come from the run the tests compare them with
(``build_site.run_notebook``, tests/notebook_runs.py): the student copy in
fast mode, with each source solution checked after its check cell. A run that
fails stores nothing.

Usage::

    .venv/bin/python tools/store_checked_outputs.py notebooks/02_classical_segmentation.ipynb [...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_site import run_notebook  # noqa: E402  (tools/ is not a package)

MARKER = "# NBVAL_CHECK_OUTPUT"


def store(path: Path, timeout: int = 900) -> int:
    run = run_notebook(path, fast=True, timeout=timeout, verify_solutions=True)
    if run.error:
        raise SystemExit(f"{path}: the run failed, nothing stored: {run.error}")
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    executed = run.code_cells()
    if len(code) != len(executed):
        raise SystemExit(f"{path}: the run has {len(executed)} code cells, the notebook {len(code)}")
    kept = 0
    for count, (cell, (ran, _)) in enumerate(zip(code, executed), start=1):
        cell.metadata.pop("execution", None)  # nbclient's timestamps: noise in every diff
        if cell.source.lstrip().startswith(MARKER):
            # nbval skips comparison ("unrun reference cell") for cells without
            # an execution count, so kept cells keep their place among the code cells.
            kept += 1
            cell.execution_count = count
            cell.outputs = ran.outputs
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
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
