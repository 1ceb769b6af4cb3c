"""Find the submissions: which notebook belongs to which student.

The first stage of grading (:mod:`segtutor.grading.grade` chains them). A
command-line argument names a notebook, a student's folder or a class
folder; :func:`collect_submissions` turns them into one
:class:`Submission` per (student, notebook), refusing names that hide
characters and two submissions that claim one gradebook row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._validate import ArgumentTypeError, check_path, check_str, describe
from ._checks import check_paths
from .assignment import Assignment, check_sources

__all__ = ["Submission", "identity", "name_warnings", "student_id", "collect_submissions"]


@dataclass(frozen=True)
class Submission:
    """One notebook to grade and the student it belongs to.

    ``folder`` is the student's own folder when a command-line argument
    named it (visible read-only at ``/submission`` in the sandbox), else None.
    """

    student: str
    path: Path
    folder: Path | None = None


#: Letters that look like Latin ones (Cyrillic, Greek), for :func:`name_warnings`.
_CONFUSABLE = str.maketrans("аеорсухіјѕԁһкмнтвℓοαρντικμ", "aeopcyxijsdhkmhtbloapvtiku")


def identity(name: str, where="name") -> str:
    """A student identity: ``name`` in Unicode NFKC form, refused if it hides characters.

    Control characters (a newline fakes a line in the console summary) and
    format characters (right-to-left overrides, zero-width joiners) make a
    name display as something else, so they raise ValueError naming
    ``where``.

    Examples
    --------
    >>> identity("ａｌｉｃｅ")
    'alice'
    """
    import unicodedata

    name = unicodedata.normalize("NFKC", check_str(name, "name"))
    bad = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")})
    if bad:
        # ascii(): the message itself must not carry the characters it reports.
        raise ValueError(f"{ascii(str(where))[1:-1][:200]} names a student with control or bidirectional characters "
                         f"({', '.join(bad)}); rename it with plain letters.")
    if not name.strip():
        raise ValueError(f"{ascii(str(where))[1:-1][:200]} gives an empty student name; rename it.")
    return name


def name_warnings(subs) -> list[str]:
    """Pairs of students whose names look alike (``alice`` and Cyrillic ``аlice``), one line each.

    Examples
    --------
    >>> cyrillic_a = chr(0x430)
    >>> warnings = name_warnings([Submission("alice", Path("a.ipynb")), Submission(cyrillic_a + "lice", Path("b.ipynb"))])
    >>> len(warnings), "look alike" in warnings[0]
    (1, True)
    """
    if isinstance(subs, (str, bytes)) or not isinstance(subs, (list, tuple)) or not all(
            isinstance(s, Submission) for s in subs):
        raise ArgumentTypeError(f"subs should be a list of Submission objects (collect_submissions' result), "
                                f"got {describe(subs)}.")
    seen: dict[str, str] = {}
    out = []
    for student in sorted({s.student for s in subs}):
        skeleton = student.casefold().translate(_CONFUSABLE)
        if skeleton in seen and seen[skeleton] != student:
            out.append(f"students {ascii(seen[skeleton])} and {ascii(student)} look alike; check they are two people")
        seen.setdefault(skeleton, student)
    return out


def student_id(path: Path, sources: dict[str, Assignment]) -> str:
    """The student a single notebook path belongs to.

    ``subs/alice/02_classical.ipynb`` (file named like a source notebook)
    belongs to ``alice``; ``subs/alice.ipynb`` belongs to ``alice``. The
    name is in NFKC form (:func:`identity`).
    """
    path = check_path(path, "path")
    sources = check_sources(sources)
    return identity(path.parent.name if path.name in sources else path.stem, path)


def collect_submissions(args, sources: dict[str, Assignment]) -> list[Submission]:
    """The submissions named by the command line's arguments, one identity each.

    Each argument is one of:

    - a notebook file: ``alice.ipynb`` is ``alice``'s; a file named like a
      source notebook (``alice/tiny.ipynb``) belongs to its folder's name;
    - a student's folder, holding notebooks named like the source notebooks
      (``alice/`` with ``alice/tiny.ipynb``): the folder's name; only files
      directly in it and named like a source count, so nothing nested can
      claim another student's row;
    - a class folder, holding such files and folders: each is one student.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    ValueError
        For a file named that is not a notebook (``notes.txt``), when two
        submissions claim the same (student, notebook) row, when
        two students would share a feedback file (``alice`` and ``alice_``
        have one safe name), or for a name with control or bidirectional
        characters (:func:`identity`).
    """
    args = check_paths(args, "args")
    sources = check_sources(sources)
    subs: list[Submission] = []

    def student_folder(folder: Path) -> list[Submission]:
        found = [folder / name for name in sorted(sources) if (folder / name).is_file()]
        if not found and len(sources) == 1:
            notebooks = sorted(folder.glob("*.ipynb"))
            found = notebooks if len(notebooks) == 1 else []
        return [Submission(identity(folder.name, folder), p, folder) for p in found] if found else []

    for arg in args:
        if not arg.exists():
            raise FileNotFoundError(f"submission {arg} does not exist; check the path (args).")
        if arg.is_file():
            # As --source does: a named file must be a notebook (notes.txt is nobody's submission).
            # Inside folders, other files are skipped without a word.
            if arg.suffix != ".ipynb":
                raise ValueError(f"submission {arg} is not a notebook (.ipynb); pass students' notebooks or "
                                 "folders, such as subs/ (other files in a folder are skipped) (args).")
            # A bare file shows no folder in the sandbox: its parent may hold
            # other students' files.
            subs.append(Submission(student_id(arg, sources), arg, None))
        elif any((arg / name).is_file() for name in sources):
            subs += student_folder(arg)
        else:
            for child in sorted(arg.iterdir()):
                if child.name.startswith(".") or child.is_symlink():
                    continue
                if child.is_file() and child.suffix == ".ipynb":
                    subs.append(Submission(identity(child.stem, child), child, None))
                elif child.is_dir():
                    subs += student_folder(child)
    seen: dict[tuple[str, str], Path] = {}
    for sub in subs:
        assignment = match_assignment(sub.path, sources)
        key = (sub.student, assignment.filename if assignment else sub.path.name)
        if key in seen:
            raise ValueError(
                f"{seen[key]} and {sub.path} both claim student {sub.student!r}, notebook {key[1]!r}; "
                "give each student one folder or one file name."
            )
        seen[key] = sub.path
    # Every output file is keyed by the safe name: one safe name, one student. (gradebook imports fcntl,
    # which Windows lacks, so only when this runs.)
    from .gradebook import safe_name

    owners: dict[str, str] = {}
    for sub in subs:
        key = safe_name(sub.student).casefold()
        if owners.setdefault(key, sub.student) != sub.student:
            raise ValueError(f"students {ascii(owners[key])} and {ascii(sub.student)} would share the feedback files "
                             f"{safe_name(sub.student)}.*; rename one of them.")
    return subs


def match_assignment(path: Path, sources: dict[str, Assignment]) -> Assignment | None:
    """The source notebook a submitted file answers: the one of its name, the only one, or None."""
    if path.name in sources:
        return sources[path.name]
    if len(sources) == 1:
        return next(iter(sources.values()))
    return None
