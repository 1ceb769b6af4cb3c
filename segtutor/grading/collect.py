"""Collect students' course folders from their homes into a submissions folder.

On a JupyterHub every student's copies live in a folder of the same name in
their home (``/home/alice/segtutor-work``, ``/home/bob/segtutor-work``), so
the folder's own name cannot tell the students apart. ``segtutor collect``
takes each student's identity from the folder's *parent* (the home's name)
and copies the notebooks to ``submissions/<user>/``, the layout
``segtutor grade`` reads::

    segtutor collect /home/*/segtutor-work --to submissions/
    segtutor grade submissions/ --out grades/gradebook.csv

Only notebooks directly in each folder are copied, never symbolic links (a
link in a home could point at another student's work). Each collected
folder records where it came from, so collecting the same homes again
refreshes them, while two different homes that claim the same user are an
error.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .._files import atomic_write_text

__all__ = ["collect_homes", "RECORD_NAME"]

RECORD_NAME = ".segtutor-collect.json"


def _student(folder: Path) -> str:
    user = folder.parent.name
    if not user or user in {".", ".."} or user.startswith("."):
        raise ValueError(f"{folder} has no home folder above it to name its student; "
                         "give folders as /home/<user>/<folder> (folders).")
    return user


def collect_homes(folders, to) -> dict[str, list[str]]:
    """Copy each ``<home>/<user>/<folder>`` to ``to/<user>/``.

    Parameters
    ----------
    folders : sequence of str or Path
        The students' course folders, one per student, for example
        ``/home/alice/segtutor-work``; the student is the parent folder's name.
    to : str or Path
        The submissions folder (created if missing).

    Returns
    -------
    dict of str to list of str
        For each student, the notebook names copied, sorted.

    Raises
    ------
    FileNotFoundError
        When a folder does not exist.
    ValueError
        When an argument is not a folder, when two folders name the same
        student, or when ``to/<user>/`` was collected from another folder.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for user in ("alice", "bob"):
    ...     (root / "home" / user / "segtutor-work").mkdir(parents=True)
    ...     _ = (root / "home" / user / "segtutor-work" / "00_welcome.ipynb").write_text("{}")
    >>> collect_homes(sorted((root / "home").glob("*/segtutor-work")), root / "submissions")
    {'alice': ['00_welcome.ipynb'], 'bob': ['00_welcome.ipynb']}
    """
    if isinstance(folders, (str, Path)):
        folders = [folders]
    try:
        folders = [Path(f) for f in folders]
    except TypeError:
        raise ValueError(f"folders must be paths of the students' folders, got {folders!r}.") from None
    if not folders:
        raise ValueError("folders is empty: give at least one student folder, such as /home/alice/segtutor-work.")
    if not isinstance(to, (str, Path)):
        raise ValueError(f"to must be the path of the submissions folder, got {to!r}.")
    to = Path(to)
    by_user: dict[str, Path] = {}
    for folder in folders:
        if not folder.exists():
            raise FileNotFoundError(f"{folder} does not exist; check the path (folders).")
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a folder; give each student's course folder, "
                             "such as /home/alice/segtutor-work (folders).")
        user = _student(folder.resolve())
        if user in by_user:
            raise ValueError(f"{by_user[user]} and {folder} both claim student {user!r}; "
                             "collect one folder per student (folders).")
        by_user[user] = folder.resolve()
    for user, folder in by_user.items():
        record = to / user / RECORD_NAME
        if (to / user).exists():
            try:
                earlier = json.loads(record.read_text(encoding="utf-8"))["from"]
            except (OSError, ValueError, KeyError, TypeError):
                earlier = None
            if earlier != str(folder):
                where = f"from {earlier}" if earlier else "by hand or by another tool"
                raise ValueError(f"{to / user} already holds student {user!r}'s work, collected {where}, "
                                 f"not from {folder}; move it away or collect into another folder (to).")
    copied: dict[str, list[str]] = {}
    for user, folder in sorted(by_user.items()):
        dest = to / user
        dest.mkdir(parents=True, exist_ok=True)
        names = []
        for path in sorted(folder.glob("*.ipynb")):
            if path.name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            shutil.copyfile(path, dest / path.name)
            names.append(path.name)
        atomic_write_text(dest / RECORD_NAME, json.dumps({"from": str(folder), "notebooks": names}, indent=1) + "\n")
        copied[user] = names
    return copied
