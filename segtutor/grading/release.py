"""Release student copies of source notebooks.

``segtutor release SRC... --to DIR [--update]``:

- every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes a stub
  that raises ``NotImplementedError`` (in markdown: "YOUR ANSWER HERE");
  ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions vanish;
- all outputs and execution counts are cleared;
- cell metadata keeps only an allow-list (the nbgrader flags, ids and
  points; the segtutor exercise and function names; tags), notebook metadata
  only the kernel and language; anything else, widget state included, goes;
- cells marked ``nbgrader.locked`` get ``editable: false, deletable: false``;
- only the notebooks are written: nothing else from the source folder;
- a student's copy (answer cells without solution regions that hold an
  answer, or outputs) is refused as a source; an unedited released copy may
  be released again (the hub's login step does).

Updating a student's folder (``--update``, used by ``python3 course.py open``)
never loses work. ``DIR/.segtutor-release.json`` records, per notebook, a hash
of the cell sources released last. A notebook the student has not edited
since (same sources; running cells does not count as editing) is replaced by
the new release; an edited one is left alone and, when the course changed,
the new version is written next to it as
``NN_name.updated-YYYYmmdd-HHMMSS.ipynb``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import re
from pathlib import Path

import nbformat

from .._files import atomic_write_text
from ._checks import check_notebook, check_paths

__all__ = ["find_sources", "release_notebook", "release", "content_hash", "solution_lines", "RECORD_NAME"]

RECORD_NAME = ".segtutor-release.json"

_REGIONS = {
    "SOLUTION": (re.compile(r"^([ \t]*)### BEGIN SOLUTION\s*$"), re.compile(r"^[ \t]*### END SOLUTION\s*$")),
    "HIDDEN TESTS": (re.compile(r"^([ \t]*)### BEGIN HIDDEN TESTS\s*$"), re.compile(r"^[ \t]*### END HIDDEN TESTS\s*$")),
}
_CODE_STUB = "{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError(\"write your code here, then run the check cell below\")"
_MARKDOWN_STUB = "YOUR ANSWER HERE"

_NBGRADER_KEYS = {"grade", "grade_id", "locked", "points", "schema_version", "solution", "task"}
_SEGTUTOR_KEYS = {"exercise", "function"}
_NOTEBOOK_KEYS = {"kernelspec", "language_info"}


def _replace_regions(source: str, cell_type: str, where: str) -> str:
    lines = source.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        for kind, (begin, end) in _REGIONS.items():
            m = begin.match(line)
            if not m:
                continue
            j = i + 1
            while j < len(lines) and not end.match(lines[j]):
                if begin.match(lines[j]):
                    raise ValueError(f"{where}: a second '### BEGIN {kind}' before '### END {kind}'; close the first region.")
                j += 1
            if j == len(lines):
                raise ValueError(f"{where}: '### BEGIN {kind}' has no matching '### END {kind}'; add the END line.")
            if kind == "SOLUTION":
                stub = _CODE_STUB.format(indent=m.group(1)) if cell_type == "code" else _MARKDOWN_STUB
                out.extend(stub.splitlines())
            i = j + 1
            break
        else:
            if re.match(r"^\s*### END (SOLUTION|HIDDEN TESTS)\s*$", line):
                raise ValueError(f"{where}: {line.strip()!r} without a BEGIN line before it.")
            out.append(line)
            i += 1
    return "\n".join(out)


def release_notebook(nb, *, name: str = "notebook"):
    """Return the student copy of a source notebook (the input is untouched).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source notebook, with solutions.
    name : str
        Used in error messages.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    ValueError
        On unbalanced ``### BEGIN``/``### END`` markers.

    Examples
    --------
    >>> import nbformat
    >>> src = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "def f():\\n    ### BEGIN SOLUTION\\n    return 42\\n    ### END SOLUTION")])
    >>> print(release_notebook(src).cells[0].source)
    def f():
        # YOUR CODE HERE
        raise NotImplementedError("write your code here, then run the check cell below")
    """
    from .._validate import check_str
    nb, name = check_notebook(nb), check_str(name, "name")
    out = copy.deepcopy(nb)
    out.metadata = nbformat.NotebookNode({k: v for k, v in out.metadata.items() if k in _NOTEBOOK_KEYS})
    for index, cell in enumerate(out.cells):
        where = f"{name}, cell {index}"
        cell.source = _replace_regions(cell.source, cell.cell_type, where)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if cell.cell_type != "markdown":
            cell.pop("attachments", None)
        meta = cell.get("metadata", {})
        kept = {}
        grader = meta.get("nbgrader")
        if isinstance(grader, dict):
            kept["nbgrader"] = {k: v for k, v in grader.items() if k in _NBGRADER_KEYS}
        seg = meta.get("segtutor")
        if isinstance(seg, dict):
            kept["segtutor"] = {k: v for k, v in seg.items() if k in _SEGTUTOR_KEYS}
        if isinstance(meta.get("tags"), list):
            kept["tags"] = [t for t in meta["tags"] if isinstance(t, str)]
        if isinstance(grader, dict) and grader.get("locked"):
            kept["editable"] = False
            kept["deletable"] = False
        cell.metadata = nbformat.NotebookNode(kept)
    return out


def solution_lines(nb) -> list[str]:
    """The non-blank lines inside the solution regions of a source notebook."""
    nb = check_notebook(nb)
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if _REGIONS["SOLUTION"][0].match(line) or _REGIONS["HIDDEN TESTS"][0].match(line):
                inside = True
            elif _REGIONS["SOLUTION"][1].match(line) or _REGIONS["HIDDEN TESTS"][1].match(line):
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def content_hash(nb) -> str:
    """Hash of the cells' types and sources: what a student edits.

    Outputs, execution counts and metadata are left out, so running a
    notebook does not make it "edited".
    """
    nb = check_notebook(nb)
    payload = json.dumps([[c.cell_type, c.source] for c in nb.cells], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def find_sources(paths, name: str = "paths") -> list[Path]:
    """Expand files and folders into a sorted list of ``.ipynb`` paths.

    Parameters
    ----------
    paths : str, Path or list of them
        Notebooks, or folders whose notebooks (not nested, not hidden) count.
    name : str
        The caller's name for ``paths``, used in error messages.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.ipynb", "a.ipynb", "notes.txt"):
    ...     _ = (folder / name).write_text("{}")
    >>> [p.name for p in find_sources(folder)]
    ['a.ipynb', 'b.ipynb']
    """
    out: list[Path] = []
    for p in check_paths(paths, name):
        if p.is_dir():
            out += sorted(q for q in p.glob("*.ipynb") if not q.name.startswith("."))
        elif p.suffix == ".ipynb" and p.exists():
            out.append(p)
        elif not p.exists():
            raise FileNotFoundError(f"{name}: {p} does not exist; check the path.")
        else:
            raise ValueError(f"{name}: {p} is neither a notebook nor a folder of notebooks; check the path.")
    return out


def _write_nb(nb, path: Path) -> None:
    atomic_write_text(path, nbformat.writes(nb) + "\n")


def _read_record(folder: Path) -> dict:
    try:
        record = json.loads((folder / RECORD_NAME).read_text())
        if isinstance(record, dict) and isinstance(record.get("notebooks"), dict):
            return record
    except (OSError, ValueError):
        pass
    return {"version": 1, "notebooks": {}}


def _is_source(path: Path) -> bool:
    """True for a notebook that still has solution regions (an instructor's source)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return bool(solution_lines(nb))


def _student_work(nb) -> str | None:
    """Why ``nb`` is a student's copy with work in it, or None.

    A released copy keeps the ``nbgrader.solution`` flag of its answer cells
    but has no ``### BEGIN SOLUTION`` region left. Releasing it again is
    fine (the hub's login step does) while its answer cells still hold the
    release's stub and nothing was run; an answer or an output means a
    student worked in it, and a "release" of it would hand that work out.
    """
    answers = [c for c in nb.cells if isinstance(c.get("metadata", {}).get("nbgrader"), dict)
               and c.metadata["nbgrader"].get("solution")]
    if not answers or solution_lines(nb):
        return None
    # The stub's last line ("raise NotImplementedError(...)"), or the markdown stub: gone once answered.
    stub = {"code": _CODE_STUB.splitlines()[-1].format(indent="").strip(), "markdown": _MARKDOWN_STUB}
    if any(stub.get(c.cell_type, "") not in c.source for c in answers):
        return "its answer cells hold answers, not '### BEGIN SOLUTION' regions"
    if any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in nb.cells):
        return "it was run after it was released (it has outputs)"
    return None


def _refuse_source_target(folder: Path, paths) -> None:
    """Never write student copies over, or next to, the instructor's sources."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--to {folder} is a file; pass a folder for the student copies.")
    resolved = folder.resolve()
    for src in paths:
        if Path(src).resolve().parent == resolved:
            raise ValueError(f"--to {folder} holds the source notebook {Path(src).name}; "
                             "release into a different folder (e.g. release/).")
    if folder.is_dir():
        for nb in sorted(folder.glob("*.ipynb")):
            if _is_source(nb):
                raise ValueError(f"--to {folder} holds {nb.name}, a source notebook with solutions; "
                                 "release into a different folder (e.g. release/).")


def release(sources, to, *, update: bool = False, force: bool = False, now=None, log=print) -> dict:
    """Release student copies of source notebooks into a folder.

    Parameters
    ----------
    sources : list of path
        Source notebooks (or folders of them).
    to : path
        Destination folder, created if needed.
    update : bool
        Student-folder mode: never overwrite an edited notebook; when the
        course changed, write the new version next to it.
    force : bool
        Instructor mode only: overwrite edited copies.
    now : datetime, optional
        Time used in the name of side-by-side updates.
    log : callable
        Where notes go (``print``).

    Returns
    -------
    dict
        ``{file name: action}``, the action one of ``"added"``, ``"updated"``,
        ``"unchanged"``, ``"kept edited copy"`` or the name of the updated
        copy written beside an edited notebook.

    Raises
    ------
    ValueError
        On a bad source (a student's copy with answers or outputs in it
        included), or (without ``update`` or ``force``) when a released
        copy in ``to`` was edited.
    """
    from .._validate import check_bool, check_path

    paths = find_sources(sources, "sources")
    if not paths:
        raise ValueError("sources hold no notebooks; pass .ipynb files or a folder that holds them.")
    folder = check_path(to, "to")
    update, force = check_bool(update, "update"), check_bool(force, "force")
    if now is not None and not isinstance(now, _dt.datetime):
        raise TypeError(f"now should be a datetime.datetime or None, got {type(now).__name__}.")
    if not callable(log):
        raise TypeError(f"log should be a function such as print, got {type(log).__name__}.")
    _refuse_source_target(folder, paths)
    # Every source is read and checked before anything is written.
    notebooks = {}
    for src in paths:
        try:
            notebooks[src] = nbformat.read(src, as_version=4)
        except Exception as exc:
            raise ValueError(f"{src} could not be read as a notebook ({exc}).") from None
        work = _student_work(notebooks[src])
        if work:
            raise ValueError(f"{src} is a student's copy ({work}); release from the instructor's source notebooks "
                             "(notebooks/) or from a folder of unedited student copies.")
    folder.mkdir(parents=True, exist_ok=True)
    record = _read_record(folder)
    entries = record["notebooks"]
    now = now or _dt.datetime.now()
    actions: dict[str, str] = {}
    for src in paths:
        student = release_notebook(notebooks[src], name=src.name)
        new = content_hash(student)
        target = folder / src.name
        entry = entries.get(src.name, {})
        if not target.exists():
            _write_nb(student, target)
            entries[src.name] = {"released": new, "file": new}
            actions[src.name] = "added"
            continue
        try:
            current = content_hash(nbformat.read(target, as_version=4))
        except Exception:
            current = None  # unreadable: treat as the student's, never overwrite
        if current == new:
            entries[src.name] = {"released": new, "file": new}
            actions[src.name] = "unchanged"
        elif entry and current == entry.get("file"):
            _write_nb(student, target)
            entries[src.name] = {"released": new, "file": new}
            actions[src.name] = "updated"
        elif force and not update:
            _write_nb(student, target)
            entries[src.name] = {"released": new, "file": new}
            actions[src.name] = "updated"
        elif not update:
            raise ValueError(
                f"{target} was edited since it was released; refusing to overwrite it. "
                "Use --update to keep it and write the new version beside it, or --force to overwrite."
            )
        elif entry.get("released") == new:
            actions[src.name] = "kept edited copy"
        else:
            side = folder / f"{target.stem}.updated-{now:%Y%m%d-%H%M%S}.ipynb"
            _write_nb(student, side)
            entries[src.name] = {"released": new, "file": entry.get("file")}
            actions[src.name] = side.name
            log(
                f"note: you edited {target.name}, so it was kept as it is; "
                f"the course's new version is in {side.name}."
            )
    atomic_write_text(folder / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return actions
