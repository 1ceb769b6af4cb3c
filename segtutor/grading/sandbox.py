"""The sandbox each submission runs in: bubblewrap, and a package without answers.

:func:`sandbox_problem` says in one line why a sandbox cannot start here
(``bwrap`` missing, user namespaces disabled), or returns None.
:class:`GradingPackage` is a copy of ``segtutor`` for the kernel to import:
it lacks the exercise specs and has every reference implementation a spec
names (and the functions it declares in ``hides``) replaced by a stub that
raises, so a student's function can only score by computing the answer.
:func:`bwrap_command` wraps the runner in a bubblewrap sandbox with

- new user, PID, IPC, network (loopback only), UTS and cgroup namespaces,
  ``--die-with-parent`` and ``--new-session``; the runner's tree dies with
  the sandbox's init, so a double-forked helper cannot outlive it;
- no capabilities, a non-root user id (and, when the grader runs as root,
  a host user that is not root either whenever the files it binds are
  readable by others: :func:`launch_kwargs` drops to ``nobody`` before
  bwrap starts), no nested user namespaces (``--disable-userns``);
- writable only: a size-limited ``/tmp``, ``HOME``, working folder and
  ``/dev/shm`` (tmpfs; their sizes together are :func:`tmpfs_sizes`, a
  quarter of the memory limit); the root, ``/dev`` and everything else are
  read-only;
- visible read-only: the system's ``/usr``, a few files of ``/etc``, the
  Python installation and its environment with every installed copy of
  ``segtutor`` and its metadata hidden (:func:`installed_copies`), the
  answer-free package copy, the declared data folders and the student's own
  folder. Nothing else: not the gradebook, other submissions, the source
  notebooks, the project checkout, or ``/proc`` of any process outside the
  sandbox.

Example
-------
>>> isinstance(sandbox_problem(), (str, type(None)))
True
"""

from __future__ import annotations

import ast
import atexit
import compileall
import functools
import inspect
import os
import site
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

__all__ = ["sandbox_problem", "GradingPackage", "bwrap_command", "HOME", "WORKDIR", "PACKAGE_DIR", "FIX",
           "installed_copies", "tmpfs_sizes", "launch_kwargs", "privilege_problem", "UNPRIVILEGED",
           "hidden_functions", "reached_by", "held_back", "BUILDING_BLOCKS", "CHECK_MODULES", "root_sandbox_problem"]

#: Paths inside the sandbox.
HOME = "/home/student"
WORKDIR = "/segtutor-run"
PACKAGE_DIR = "/opt/segtutor-grading"
STUDENT_DIR = "/submission"
#: User id the runner and kernel have inside the sandbox (never 0).
SANDBOX_UID = 1000
#: Host user and group bwrap runs as when the grader is root (``nobody``).
UNPRIVILEGED = (65534, 65534)

FIX = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
       "or pass --unsandboxed to grade in good faith without a sandbox")

_ETC_FILES = ("ld.so.cache", "ld.so.conf", "nsswitch.conf", "hosts", "localtime", "passwd", "group",
              "mime.types", "ssl", "fonts", "ca-certificates", "alternatives", "os-release")


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _system_binds() -> list[str]:
    """``/usr`` and friends read-only; merged-usr symlinks kept as symlinks."""
    args = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in _ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _site_dirs() -> list[Path]:
    """Folders Python installs packages into: the prefixes' site folders and
    every ``site-packages``/``dist-packages`` folder on ``sys.path`` (a
    ``PYTHONPATH`` or ``pip install --target`` install)."""
    dirs = []
    try:
        dirs += site.getsitepackages()
    except AttributeError:  # some embedded interpreters
        pass
    dirs += [sysconfig.get_paths().get(k) for k in ("purelib", "platlib")]
    dirs += [p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")]
    # The base interpreter's and the system's site folders are visible too
    # (a root ``pip install .`` lands in /usr/local), even when this
    # process runs in a venv that does not put them on sys.path.
    for prefix in {sys.prefix, sys.base_prefix, "/usr", "/usr/local"}:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"):
            dirs += [str(p) for p in Path(prefix).glob(pattern)]
    out = []
    for d in dirs:
        if d and Path(d).is_dir() and Path(d).resolve() not in out:
            out.append(Path(d).resolve())
    return out


def _python_roots() -> list[Path]:
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    stdlib = sysconfig.get_paths().get("stdlib")
    if stdlib:
        roots.add(Path(stdlib).resolve())
    roots.update(_site_dirs())
    return sorted(roots, key=lambda p: len(p.parts))


def _python_binds() -> list[str]:
    """The interpreter, its standard library and the environment, read-only."""
    roots = _python_roots()
    args = []
    for root in roots:
        if str(root).startswith(("/usr/", "/bin", "/lib")) or root == Path("/usr"):
            continue  # already bound with the system
        if any(root != r and str(root).startswith(str(r) + os.sep) for r in roots):
            continue  # inside another root
        args += ["--ro-bind", str(root), str(root)]
    # A venv's python may be a symlink to the base interpreter; bind the path it is called by.
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        args += ["--ro-bind", str(Path(sys.prefix).resolve()), sys.prefix]
    return args


def installed_copies() -> list[Path]:
    """Every installed copy of ``segtutor`` the sandbox would otherwise show.

    In each site folder of the environment (:func:`_site_dirs`, which
    covers an editable install, ``pip install .``, a conda prefix and
    Binder's ``postBuild``): the ``segtutor`` package folder, its
    ``.dist-info``/``.egg-info``, and an editable install's ``.pth``,
    ``.egg-link`` and finder module. The sandbox shows each as an empty
    folder or an empty file.

    Returns
    -------
    list of Path
        Resolved paths, folders and files.

    Examples
    --------
    >>> all(p.name.lower().replace("-", "_").startswith(("segtutor", "__editable__")) for p in installed_copies())
    True
    """
    found = []
    for folder in _site_dirs():
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            name = entry.name.lower().replace("-", "_")
            if name == "segtutor" or (name.startswith("segtutor") and name.endswith(
                    (".dist_info", ".egg_info", ".egg_link", ".pth"))) or (
                    name.startswith("__editable__") and "segtutor" in name):
                if entry.resolve() not in found:
                    found.append(entry.resolve())
    return found


def _hide_installed(empty: Path) -> list[str]:
    args = []
    for path in installed_copies():
        if path.is_dir():
            args += ["--ro-bind", str(empty / "folder"), str(path)]
        else:
            args += ["--ro-bind", str(empty / "file"), str(path)]
    return args


def tmpfs_sizes(memory_mb: int) -> dict[str, int]:
    """MiB of each writable (memory-backed) folder in a sandbox with ``memory_mb`` of memory.

    Together they are a quarter of ``memory_mb`` (at least 64 MiB): the
    working folder half of it, ``/tmp`` a quarter, ``HOME`` and
    ``/dev/shm`` an eighth each. tmpfs pages are not in any process's
    resident memory, so a sandbox holds at most ``memory_mb`` in its
    processes plus this much in files.

    Examples
    --------
    >>> tmpfs_sizes(4096)
    {'workdir': 512, 'tmp': 256, 'home': 128, 'shm': 128}
    >>> sum(tmpfs_sizes(1024).values())
    256
    """
    from .._validate import check_scalar

    memory_mb = check_scalar(memory_mb, "memory_mb", integer=True, low=1, high=1 << 20)
    total = max(64, int(memory_mb) // 4)
    return {"workdir": total // 2, "tmp": total // 4, "home": total // 8, "shm": total // 8}


def bwrap_command(inner: list[str], *, package: Path, data=(), student_dir: Path | None = None,
                  env: dict | None = None, memory_mb: int = 4096) -> list[str]:
    """The ``bwrap`` command that runs ``inner`` in a fresh sandbox.

    Parameters
    ----------
    inner : list of str
        The command to run inside (the runner); it becomes the PID
        namespace's init.
    package : Path
        Folder holding the answer-free ``segtutor`` copy (see :class:`GradingPackage`).
    data : sequence of path
        Public data folders, bound read-only at ``/segtutor-run/<name>``.
    student_dir : Path, optional
        The student's own folder, bound read-only at ``/submission``.
    env : dict, optional
        The whole environment inside (nothing else is inherited).
    memory_mb : int
        The kernel's memory limit; the writable folders' sizes are
        :func:`tmpfs_sizes` of it.

    Start the command with :func:`launch_kwargs` (``subprocess.Popen(cmd,
    **launch_kwargs(cmd))``): when the grader runs as root, that drops to an
    unprivileged host user first.
    """
    from .._validate import check_path, check_scalar

    if isinstance(inner, (str, bytes)) or not isinstance(inner, (list, tuple)) or not inner or not all(
            isinstance(a, str) for a in inner):
        raise TypeError(f"inner should be a non-empty list of strings (the command inside), got {inner!r}."[:200])
    package = check_path(package, "package")
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple)):
        raise TypeError(f"data should be a list of folders, got {type(data).__name__}.")
    data = [check_path(d, "data") for d in data]
    if student_dir is not None:
        student_dir = check_path(student_dir, "student_dir")
    if env is not None and not isinstance(env, dict):
        raise TypeError(f"env should be a dict of environment variables or None, got {type(env).__name__}.")
    sizes = tmpfs_sizes(check_scalar(memory_mb, "memory_mb", integer=True, low=1, high=1 << 20))
    bwrap = _bwrap()
    if bwrap is None:
        raise FileNotFoundError(f"bwrap is not installed: {FIX}.")
    args = [
        bwrap,
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
        "--unshare-cgroup-try", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--disable-userns",
        "--hostname", "grading", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        # ``inner`` is the PID namespace's init: no process in the sandbox
        # can signal it, and when it exits the kernel kills every other one.
        "--as-pid-1",
        "--clearenv",
        # The private folders first: a Python environment that lives under
        # /tmp or /home (a CI clone) is bound on top of them afterwards.
        "--size", str(sizes["tmp"] << 20), "--tmpfs", "/tmp",
        "--size", str(sizes["home"] << 20), "--tmpfs", HOME,
        "--size", str(sizes["workdir"] << 20), "--tmpfs", WORKDIR,
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(sizes["shm"] << 20), "--tmpfs", "/dev/shm",
        *_system_binds(),
        *_python_binds(),
        # An installed segtutor (pip install ., conda, Binder) holds every
        # reference and spec: an empty folder or file over each copy.
        *_hide_installed(_empty_dir()),
        "--ro-bind", str(Path(package).resolve()), PACKAGE_DIR,
    ]
    for folder in data:
        folder = Path(folder).resolve()
        args += ["--ro-bind", str(folder), f"{WORKDIR}/{folder.name}"]
    if student_dir is not None:
        args += ["--ro-bind", str(Path(student_dir).resolve()), STUDENT_DIR]
    # Every mount point exists now: the root (a tmpfs bwrap made, half the
    # RAM, unsized) and /dev become read-only; the size-capped tmpfs
    # folders above stay writable.
    args += ["--remount-ro", "/", "--remount-ro", "/dev"]
    base_env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "USER": "student",
        "LANG": "C.UTF-8",
        "PYTHONPATH": PACKAGE_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    base_env.update({str(k): str(v) for k, v in (env or {}).items()})
    for key, value in base_env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", WORKDIR, *inner]
    return args


@functools.lru_cache(maxsize=1)
def _empty_dir() -> Path:
    """A folder holding an empty ``folder`` and an empty ``file``, readable by all, to bind over installed copies."""
    path = Path(tempfile.mkdtemp(prefix="segtutor-empty-"))
    (path / "folder").mkdir()
    (path / "file").touch()
    for p, mode in ((path / "folder", 0o555), (path / "file", 0o444), (path, 0o555)):
        p.chmod(mode)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _unprivileged() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _reachable_by_others(path: str) -> bool:
    """Whether a user with no special rights can read ``path`` (every folder above it searchable)."""
    import stat

    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0)
    if st.st_mode & need != need:
        return False
    for parent in Path(os.path.abspath(path)).parents:
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _check_cmd(cmd) -> list[str]:
    if isinstance(cmd, (str, bytes)) or not isinstance(cmd, (list, tuple)) or not cmd or not all(
            isinstance(a, str) for a in cmd):
        raise TypeError(f"cmd should be the bwrap command, a non-empty list of strings (bwrap_command's result), "
                        f"got {cmd!r}."[:300])
    return list(cmd)


def privilege_problem(cmd: list[str]) -> str | None:
    """Why a root grader's sandbox ``cmd`` cannot start as :data:`UNPRIVILEGED`; None if it can (or if not root).

    bwrap, started by an unprivileged user, resolves every folder it binds
    as that user: each must be readable by others, with every folder above
    it searchable (a Python installed under ``/root`` is not).
    """
    cmd = _check_cmd(cmd)
    if not _unprivileged():
        return None
    for i, arg in enumerate(cmd[:-2]):
        if arg == "--chdir":
            break
        if arg == "--ro-bind" and not _reachable_by_others(cmd[i + 1]):
            return f"{cmd[i + 1]} is not readable by others"
    return None


def root_sandbox_problem() -> str | None:
    """Why this root grader's sandboxes will run as host root (see :func:`privilege_problem`); None if they won't."""
    if not _unprivileged():
        return None
    with tempfile.TemporaryDirectory(prefix="segtutor-sbx-") as empty:
        Path(empty).chmod(0o755)
        return privilege_problem(bwrap_command(["true"], package=Path(empty)))


def launch_kwargs(cmd: list[str]) -> dict:
    """Keyword arguments for :class:`subprocess.Popen` that start ``cmd`` (from :func:`bwrap_command`).

    As root, bwrap maps the sandbox's user to host root (exempt from the
    process limit, the owner of root's files). So a root grader starts the
    sandbox as :data:`UNPRIVILEGED` (``nobody``, no supplementary groups)
    whenever everything it binds is readable by others
    (:func:`privilege_problem`); otherwise the sandbox runs as host root,
    and the grader says so on the row. An empty dict when not root.

    Examples
    --------
    >>> launch_kwargs(["true"]) in ({}, {"user": 65534, "group": 65534, "extra_groups": []})
    True
    """
    if not _unprivileged() or privilege_problem(_check_cmd(cmd)):
        return {}
    uid, gid = UNPRIVILEGED
    return {"user": uid, "group": gid, "extra_groups": []}


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why a sandbox cannot start on this machine, in one line; None if it can."""
    bwrap = _bwrap()
    if bwrap is None:
        return f"bubblewrap (bwrap) is not installed: {FIX}."
    with tempfile.TemporaryDirectory(prefix="segtutor-sbx-") as empty:
        Path(empty).chmod(0o755)
        cmd = bwrap_command([sys.executable, "-c", "import json, numpy"], package=Path(empty))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **launch_kwargs(cmd))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap could not start ({exc}): {FIX}."
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return (f"bwrap cannot start a sandbox here ({why}); user namespaces may be disabled: enable them "
                "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ allow bwrap in AppArmor) "
                "or pass --unsandboxed to grade in good faith without a sandbox.")
    return None


# -- the answer-free package ------------------------------------------------------

def _stub(name: str, dotted: str) -> str:
    # runner.HELD_BACK is the phrase the runner recognises in these errors.
    return (f"def {name}(*args, **kwargs):\n"
            f"    raise RuntimeError({dotted + ' is not available while grading: write the exercise yourself'!r})\n")


def _strip_functions(path: Path, names: dict[str, str]) -> None:
    """Replace top-level functions ``names`` (name -> dotted path) in ``path`` by stubs."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans.append((first - 1, node.end_lineno, node.name))
    missing = set(names) - {s[2] for s in spans}
    if missing:
        raise ValueError(f"{path}: functions {sorted(missing)} to hide were not found at the top level.")
    for start, end, name in sorted(spans, reverse=True):
        lines[start:end] = [_stub(name, names[name])]
    text = "".join(lines)
    compile(text, str(path), "exec")
    path.write_text(text, encoding="utf-8")


def hidden_functions() -> dict[str, str]:
    """``{dotted path: exercise}`` of every package function a spec names (reference or ``hides``)."""
    from segtutor.exercises import exercise_names, get_exercise

    out = {}
    for name in exercise_names():
        for dotted in get_exercise(name).hidden_names():
            out[dotted] = name
    return out


#: Modules whose functions only check arguments and convert them to arrays:
#: a reference may reach them, and they compute no part of an answer.
CHECK_MODULES = ("segtutor._validate", "segtutor.metrics._checks", "segtutor.semi._checks")
#: Package names a reference reaches that stay in the grading copy, and why.
BUILDING_BLOCKS = {
    "segtutor.models.unet.conv_block": "notebook 06 imports it for students to build encoder_block and the U-Net",
    "segtutor.models.unet._keras": "imports Keras; computes nothing",
    "segtutor.models.unet.NORMALISATIONS": "the names of the allowed normalisation options (argument checking)",
    "segtutor.losses.EPSILON": "the clipping tolerance 1e-7 the exercise text states (as Keras does)",
}


def _building_block(dotted: str) -> bool:
    module, _, name = dotted.rpartition(".")
    return (module in CHECK_MODULES or dotted in BUILDING_BLOCKS or name.startswith(("_check", "check_"))
            or name.lstrip("_").startswith(("MAX_", "CHUNK_")))


def reached_by(dotted: str) -> dict[str, str]:
    """Package functions and constants a function reaches, transitively (its AST call graph).

    Follows every name in the function's body that its module binds to a
    ``segtutor`` function, or to an upper-case module constant, and every
    ``module.name`` of a ``segtutor`` module; then the same for each
    function found.

    Returns
    -------
    dict
        ``{dotted path: "function" or "constant"}``, without ``dotted`` itself.

    Examples
    --------
    >>> sorted(k for k in reached_by("segtutor.metrics.iou") if "semantic" in k)
    ['segtutor.metrics.semantic._overlap_counts', 'segtutor.metrics.semantic._ratio']
    """
    import importlib
    import textwrap
    import types

    from .._validate import check_str

    module_name, _, attr = check_str(dotted, "dotted").rpartition(".")
    try:
        if not module_name.startswith("segtutor"):
            raise ImportError
        start = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"dotted should name a segtutor function such as 'segtutor.metrics.iou', got {dotted!r}.") \
            from None
    found: dict[str, str] = {}
    todo = [start]
    while todo:
        obj = todo.pop()
        try:
            src = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            continue
        module = sys.modules[obj.__module__]
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Name) and node.id in module.__dict__:
                name, target, owner = node.id, module.__dict__[node.id], module.__name__
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and isinstance(
                    module.__dict__.get(node.value.id), types.ModuleType):
                base = module.__dict__[node.value.id]
                if not base.__name__.startswith("segtutor") or not hasattr(base, node.attr):
                    continue
                name, target, owner = node.attr, getattr(base, node.attr), base.__name__
            else:
                continue
            if isinstance(target, types.FunctionType) and target.__module__.startswith("segtutor"):
                key = f"{target.__module__}.{target.__name__}"
                if key not in found and target is not start:
                    found[key] = "function"
                    todo.append(target)
            elif not callable(target) and not isinstance(target, types.ModuleType) and name.isupper() \
                    and owner.startswith("segtutor"):
                defined_in = owner if name in vars(sys.modules[owner]) else module.__name__
                found.setdefault(f"{defined_in}.{name}", "constant")
    return found


def held_back() -> dict[str, str]:
    """``{dotted path: exercise}`` of everything the grading copy stubs or hides.

    Every reference and ``hides`` entry of a spec, and everything they
    reach inside ``segtutor`` (:func:`reached_by`) except argument checks and
    :data:`BUILDING_BLOCKS`: so a student cannot assemble an answer from the
    private helpers (``_overlap_counts`` and ``_ratio`` for ``iou``) or
    constants (``LUMA_WEIGHTS`` for ``to_grayscale``) a reference is built from.
    """
    out = {}
    for dotted, exercise in hidden_functions().items():
        out.setdefault(dotted, exercise)
        for reached in reached_by(dotted):
            if not _building_block(reached):
                out.setdefault(reached, exercise)
    return out


_HELD_BACK_CONSTANT = '''

class _HeldBackConstant:
    """A module constant held back while grading: any use raises."""

    def __init__(self, name):
        self._name = name

    def _raise(self, *args, **kwargs):
        raise RuntimeError(self._name + " is not available while grading: write the exercise yourself")

    __array__ = __iter__ = __len__ = __getitem__ = __float__ = __int__ = __index__ = _raise
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _raise
    __matmul__ = __rmatmul__ = __pow__ = __rpow__ = __neg__ = __bool__ = __contains__ = _raise

    def __repr__(self):
        return "<" + self._name + ": held back while grading>"
'''


def _strip_constants(path: Path, names: dict[str, str]) -> None:
    """Replace top-level assignments ``NAME = ...`` (name -> dotted path) by a held-back object."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            hit = [t.id for t in targets if isinstance(t, ast.Name) and t.id in names]
            if hit:
                spans.append((node.lineno - 1, node.end_lineno, hit[0]))
    missing = set(names) - {s[2] for s in spans}
    if missing:
        raise ValueError(f"{path}: constants {sorted(missing)} to hide were not found at the top level.")
    for start, end, name in sorted(spans, reverse=True):
        lines[start:end] = [f"{name} = _HeldBackConstant({names[name]!r})\n"]
    # The class goes after the module's imports (a __future__ import must come first).
    first = min(s[0] for s in spans)
    lines[first:first] = [_HELD_BACK_CONSTANT.lstrip("\n") + "\n\n"]
    text = "".join(lines)
    compile(text, str(path), "exec")
    path.write_text(text, encoding="utf-8")


class GradingPackage:
    """A copy of ``segtutor`` without exercise specs or reference implementations.

    Built once per batch in a folder the grader owns; ``path`` goes first on
    the kernel's ``PYTHONPATH`` (bound read-only at ``/opt/segtutor-grading``).
    """

    def __init__(self, root: Path | None = None):
        import segtutor

        self.source = Path(segtutor.__file__).resolve().parent
        self._tmp = None
        if root is not None:
            from .._validate import check_path

            root = check_path(root, "root")
        if root is None:
            self._tmp = tempfile.mkdtemp(prefix="segtutor-package-")
            root = Path(self._tmp)
            atexit.register(self.cleanup)
            # Readable by the unprivileged user a root grader's sandbox runs as.
            root.chmod(0o755)
        self.path = Path(root)
        self.hidden = self._build()

    def _build(self) -> dict[str, str]:
        dest = self.path / "segtutor"
        shutil.copytree(self.source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "specs"))
        specs = dest / "exercises" / "specs"
        specs.mkdir()
        (specs / "__init__.py").write_text(
            '"""Held back while grading: the specs name the reference implementations."""\n\n'
            "GRADING_COPY = True\n\n\ndef load_all() -> None:\n    pass\n",
            encoding="utf-8",
        )
        import importlib

        by_file: dict[Path, dict[str, str]] = {}
        constants: dict[Path, dict[str, str]] = {}
        hidden = held_back()
        for dotted in hidden:
            module_name, _, attr = dotted.rpartition(".")
            module = importlib.import_module(module_name)
            obj = getattr(module, attr)
            if callable(obj):
                file = Path(inspect.getsourcefile(obj)).resolve()
                by_file.setdefault(dest / file.relative_to(self.source), {})[obj.__name__] = dotted
            else:
                file = Path(inspect.getsourcefile(module)).resolve()
                constants.setdefault(dest / file.relative_to(self.source), {})[attr] = dotted
        for file, names in by_file.items():
            _strip_functions(file, names)
        for file, names in constants.items():
            _strip_constants(file, names)
        compileall.compile_dir(str(dest), quiet=1, workers=1)
        return hidden

    def cleanup(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


_PACKAGE: list = []  # the process's one GradingPackage, once built
_PACKAGE_LOCK = threading.Lock()


def grading_package() -> GradingPackage:
    """The process's one :class:`GradingPackage` (built on first use).

    A thread that asks while another thread builds it waits for that build:
    two builds at once would make two copies and parse the package's sources
    in two threads at the same time, which CPython 3.11 can fail with
    ``SystemError: AST constructor recursion depth mismatch``.
    """
    with _PACKAGE_LOCK:
        if not _PACKAGE:
            _PACKAGE.append(GradingPackage())
        return _PACKAGE[0]
