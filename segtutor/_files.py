"""Atomic file writes, shared by every module that must never leave a half-written file.

A gradebook, a student's released notebook or a COCO file is written to a
temporary file in the same folder and then renamed over the target:
``os.replace`` is atomic on one file system, so a reader sees either the old
file or the new one, never a partial one, even if the writer is killed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text"]


def atomic_write_text(path, text: str, *, newline: str | None = None) -> None:
    """Write ``text`` to ``path`` atomically, creating the parent folder.

    Parameters
    ----------
    path : str or Path
        The file to (re)write.
    text : str
        The whole new content, written as UTF-8.
    newline : str, optional
        Passed to :func:`open`; use ``""`` for CSV files.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
