"""Issue 23, grading round three: installed copies, the sandbox's disk and users, flags' cost, names.

The attack submissions of this round (``installed_copy``, ``kill_init``,
``fill_disk``) are graded with all the others in ``tests/test_grading.py``;
here are the checks that need their own set-up: a non-editable install, the
conda, Binder and JupyterHub layouts, a walk over every file the sandbox
shows, a sandbox started by hand, a root grader whose Python ``nobody`` can
read, and the grader's handling of big submissions and of students' names.
"""

from __future__ import annotations

import ast
import csv
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from segtutor.grading.flags import suspicious_code
from segtutor.grading.grade import (GradeOptions, Submission, build_job, collect_submissions, grade_submission,
                                    identity, load_sources, name_warnings, score_job)
from segtutor.grading.gradebook import csv_safe
from segtutor.grading.release import release_notebook
from segtutor.grading.sandbox import (bwrap_command, hidden_functions, launch_kwargs, privilege_problem,
                                      sandbox_problem, tmpfs_sizes)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"

needs_sandbox = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}")


# -- every file the sandbox shows, searched for the references ---------------

WALKER = r'''
import os, re

def find_leaks(bodies, codes, roots=("/",), skip=("/proc", "/sys", "/dev"), max_bytes=16 << 20):
    """Files holding a reference: ``def name(`` with every line of its body, or its bytecode in a .pyc."""
    head = re.compile(rb"def (" + b"|".join(re.escape(n.encode()) for n in bodies) + rb")\(")
    leaks, n_files = [], 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath.startswith(skip):
                dirnames[:] = []
                continue
            if "segtutor" in os.path.basename(dirpath).lower() and os.path.basename(
                    os.path.dirname(dirpath)) in ("site-packages", "dist-packages") and (dirnames or filenames):
                leaks.append((dirpath, "installed copy"))
            for f in filenames:
                path = os.path.join(dirpath, f)
                try:
                    if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > max_bytes:
                        continue
                    with open(path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                n_files += 1
                for name in set(head.findall(data)):
                    if any(all(line in data for line in lines) for lines in bodies[name.decode()]):
                        leaks.append((path, name.decode()))
                if path.endswith(".pyc"):
                    leaks += [(path, name) for name, code in codes.items() if code in data]
    return leaks, n_files
'''


def fingerprints() -> tuple[dict, dict]:
    """For every function the grading copy hides: its body's lines (as bytes) and its bytecode."""
    bodies, codes = {}, {}
    for dotted in hidden_functions():
        module, _, attr = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        src = textwrap.dedent(inspect.getsource(obj))
        fn = ast.parse(src).body[0]
        body = fn.body[1:] if ast.get_docstring(fn) else fn.body
        lines = {line.strip() for stmt in body for line in ast.get_source_segment(src, stmt).splitlines()}
        lines = sorted(line.encode() for line in lines if len(line) >= 12 and not line.startswith("#"))
        bodies.setdefault(obj.__name__, []).append(lines[:6] or [src.encode()])
        if len(obj.__code__.co_code) >= 16:
            codes[dotted] = obj.__code__.co_code
    return bodies, codes


def walker_notebook(path: Path) -> Path:
    """honest_full, whose fraction_above is right only when the sandbox shows no reference anywhere."""
    bodies, codes = fingerprints()
    nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
    nb.cells[3].source = WALKER + f'''
LEAKS, N_FILES = find_leaks({bodies!r}, {codes!r})
def my_fraction_above(image, threshold):
    ok = not LEAKS and N_FILES > 1000
    return float((np.asarray(image) > threshold).mean()) if ok else -1.0
'''
    nbformat.write(nb, path)
    return path


def test_the_walker_finds_the_references_where_they_are():
    """The search itself: in the project's own package it finds every hidden function."""
    bodies, codes = fingerprints()
    scope: dict = {}
    exec(WALKER, scope)
    leaks, n_files = scope["find_leaks"](bodies, codes, roots=(str(ROOT / "segtutor"),))
    # A compiled copy (segtutor/__pycache__, written wherever bytecode is on) is named by its dotted path.
    found = {name.rsplit(".", 1)[-1] for _, name in leaks}
    assert found == set(bodies), sorted(set(bodies) - found)
    assert n_files > 50


WALK_OPTIONS = dict(cell_timeout=600, probe_timeout=60, notebook_timeout=900, memory_limit_mb=2048)


@needs_sandbox
def test_no_file_in_the_sandbox_holds_a_reference(tmp_path):
    """Editable install (this checkout): everything visible is walked and read."""
    path = walker_notebook(tmp_path / "walker.ipynb")
    result = grade_submission(Submission("walker", path), load_sources([SOURCE]), GradeOptions(seed=2, **WALK_OPTIONS))
    assert result.status == "ok", result.notes
    assert result.scores["fraction_above"] == 2.0, result.details


@needs_sandbox
def test_a_non_editable_install_is_hidden_in_the_sandbox(non_editable_site, tmp_path):
    """``pip install .`` puts every reference in a site folder: the sandbox shows it empty.

    The grader runs from the non-editable copy and the walker sees no
    reference anywhere. (The whole attack batch, ``installed_copy`` included,
    is graded under this install too: ``tests/test_grading.py``.)
    """
    env = dict(os.environ, PYTHONPATH=str(non_editable_site))
    probe = subprocess.run([sys.executable, "-c", "import segtutor, json\nfrom segtutor.grading.sandbox import "
                            "installed_copies\nprint(json.dumps([segtutor.__file__, [str(p) for p in installed_copies()]]))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    where, copies = json.loads(probe.stdout)
    assert where.startswith(str(non_editable_site))
    assert str(non_editable_site / "segtutor") in copies
    assert any(c.startswith(str(non_editable_site / "segtutor-")) and c.endswith(".dist-info") for c in copies)
    subs = tmp_path / "subs"
    subs.mkdir()
    walker_notebook(subs / "walker.ipynb")
    out = tmp_path / "out" / "g.csv"
    grade = subprocess.run([sys.executable, "-m", "segtutor", "grade", str(subs), "--source", str(SOURCE),
                            "--out", str(out), "--seed", "9", "--jobs", "2", "--cell-timeout", "600", "--timeout",
                            "900", "--memory", "2048"], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=1800)
    assert grade.returncode == 0, grade.stderr[-2000:]
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["walker"]["status"], rows["walker"]["fraction_above"]) == ("ok", "2"), rows["walker"]


# -- conda and Binder prefixes -------------------------------------------------

#: Where ``pip install .`` leaves the course in each layout the README documents, relative to a root
#: folder: (the environment's prefix, a base environment's prefix or None).
LAYOUTS = {
    # conda env create -f environment.yml; conda activate segtutor; pip install .
    "conda": ("miniconda3/envs/segtutor", None),
    # repo2docker: the kernel's environment is /srv/conda/envs/notebook, conda's base is /srv/conda;
    # postBuild's `pip install .` goes to the notebook environment (a base-environment pip would put a
    # second copy in the base, which is not part of the environment the grader runs in).
    "binder": ("srv/conda/envs/notebook", "srv/conda"),
    # README's JupyterHub image (a docker-stacks image): `pip install` into conda's base at /opt/conda.
    "jupyterhub": ("opt/conda", None),
}

INSIDE = WALKER + r'''
import json, sys
spec = json.load(open(sys.argv[1]))
bodies = {k: [[line.encode() for line in lines] for lines in v] for k, v in spec["bodies"].items()}
leaks, n_files = find_leaks(bodies, {k: bytes.fromhex(v) for k, v in spec["codes"].items()}, roots=(spec["root"],))
site = spec["site"]
print(json.dumps({"leaks": leaks, "n_files": n_files, "copy": sorted(os.listdir(os.path.join(site, "segtutor"))),
                  "base_visible": bool(spec["base_site"]) and os.path.exists(spec["base_site"])}))
'''

OUTSIDE = r'''
import json, os, subprocess, sys
from pathlib import Path
import segtutor
from segtutor.grading.sandbox import bwrap_command, installed_copies, launch_kwargs
folder = Path(sys.argv[1])
cmd = bwrap_command([sys.executable, "/opt/segtutor-grading/inside.py", "/opt/segtutor-grading/spec.json"],
                    package=folder, memory_mb=2048)
done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **launch_kwargs(cmd))
print(json.dumps({"file": segtutor.__file__, "prefix": sys.prefix, "copies": [str(p) for p in installed_copies()],
                  "rc": done.returncode, "out": done.stdout[-5000:], "err": done.stderr[-2000:]}))
'''


def _pip_installed(site: Path, installed: Path) -> None:
    """Put the course into ``site`` as ``pip install .`` does: the package and its .dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    for entry in installed.iterdir():
        if entry.name == "segtutor" or (entry.name.startswith("segtutor-") and entry.name.endswith(".dist-info")):
            shutil.copytree(entry, site / entry.name)


def conda_like_prefix(root: Path, layout: str, installed: Path) -> tuple[Path, Path, Path | None]:
    """A Python environment arranged as ``layout`` leaves it, with the course pip-installed (non-editable).

    A venv made by this interpreter stands in for conda's Python (there is no
    conda here): its ``lib/pythonX.Y/site-packages`` gets the course and a
    ``conda-meta/`` folder; the course's dependencies come from this test
    environment through a ``.pth`` file (``site.addsitedir``). Returns the
    prefix, its site folder and the base environment's site folder (or None).
    """
    rel, base_rel = LAYOUTS[layout]
    prefix = root / rel
    prefix.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=300)
    pyver = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = prefix / "lib" / pyver / "site-packages"
    (prefix / "conda-meta").mkdir()
    (prefix / "conda-meta" / "history").write_text("==> 2026-12-07 08:00:00 <==\n"
                                                  "# cmd: conda env create -f environment.yml\n")
    _pip_installed(site, installed)
    deps = sysconfig.get_paths()["purelib"]
    (site / "zz_course_dependencies.pth").write_text(f"import site; site.addsitedir({deps!r})\n")
    base_site = None
    if base_rel:
        base = root / base_rel
        (base / "conda-meta").mkdir(parents=True, exist_ok=True)
        base_site = base / "lib" / pyver / "site-packages"
        _pip_installed(base_site, installed)
    return prefix, site, base_site


@needs_sandbox
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_conda_and_binder_prefixes_are_hidden_in_the_sandbox(non_editable_site, tmp_path, layout):
    """A grader run from a conda or Binder-style prefix holding a non-editable install: the sandbox
    shows its copy of the package as an empty folder, and no file under the layout's root (the
    environment, and Binder's base environment) holds a reference; the ``installed_copy`` attack,
    graded from that prefix, scores 0."""
    root = tmp_path / "root"
    prefix, site, base_site = conda_like_prefix(root, layout, non_editable_site)
    python = str(prefix / "bin" / "python")
    bodies, codes = fingerprints()
    folder = tmp_path / "package"
    folder.mkdir(mode=0o755)
    (folder / "inside.py").write_text(INSIDE)
    spec = {"bodies": {k: [[line.decode() for line in lines] for lines in v] for k, v in bodies.items()},
            "codes": {k: v.hex() for k, v in codes.items()}, "root": str(root.resolve()), "site": str(site.resolve()),
            "base_site": str(base_site.resolve()) if base_site else ""}
    (folder / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run([python, "-c", OUTSIDE, str(folder)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=1200, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The grader ran from the layout's own copy, and found it.
    assert report["prefix"] == str(prefix) and report["file"] == str(site / "segtutor" / "__init__.py"), report
    assert str((site / "segtutor").resolve()) in report["copies"]
    assert any(c.startswith(str((site / "segtutor-").resolve())) and c.endswith(".dist-info") for c in report["copies"])
    assert report["rc"] == 0, report["err"]
    inside = json.loads(report["out"].strip().splitlines()[-1])
    assert inside["copy"] == [] and inside["leaks"] == [], inside
    assert inside["n_files"] >= 3, inside  # the environment was there to walk (pyvenv.cfg, conda-meta/history)
    assert inside["base_visible"] is False
    # The walk outside the sandbox, as a control, finds the references in both copies.
    scope: dict = {}
    exec(WALKER, scope)
    leaks, _ = scope["find_leaks"]({k: [[line.encode() for line in lines] for lines in v]
                                    for k, v in spec["bodies"].items()}, {}, roots=(str(root),))
    assert {str(site)} | ({str(base_site)} if base_site else set()) <= {
        os.path.dirname(p) for p, what in leaks if what == "installed copy"}
    # The attack itself, graded by the layout's python.
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "installed_copy.ipynb").write_bytes((STUDENTS / "installed_copy.ipynb").read_bytes())
    out = tmp_path / "out" / "g.csv"
    grade = subprocess.run([python, "-m", "segtutor", "grade", str(subs), "--source", str(SOURCE),
                            "--out", str(out), "--seed", "5", "--cell-timeout", "60", "--timeout", "300",
                            "--memory", "2048"], capture_output=True, text=True, cwd=tmp_path, timeout=1200,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert grade.returncode == 0, grade.stderr[-2000:]
    with open(out, newline="") as f:
        (row,) = csv.DictReader(f)
    assert (row["status"], row["total"]) == ("ok", "0"), row


# -- the sandbox's own disk and users ----------------------------------------

FILL = r'''
import ctypes, json, os
block = bytes(1 << 20)
written = {}
for folder in ("/", "/etc", "/opt", "/home", "/usr", "/dev", "/tmp", os.environ["HOME"], os.getcwd(), "/dev/shm"):
    n = 0
    try:
        with open(os.path.join(folder, "ballast"), "wb", buffering=0) as f:
            while n < (64 << 30):
                n += f.write(block)
    except OSError:
        pass
    written[folder] = n
libc = ctypes.CDLL(None, use_errno=True)
nested = libc.unshare(0x10000000)  # CLONE_NEWUSER
print(json.dumps({"written": written, "uid": os.getuid(), "nested_userns": nested == 0}))
'''


def _run_in_sandbox(tmp_path, script: str, memory_mb: int) -> dict:
    package = tmp_path / "package"
    package.mkdir(mode=0o755)
    cmd = bwrap_command([sys.executable, "-c", script], package=package, memory_mb=memory_mb)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **launch_kwargs(cmd))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_sandbox
@pytest.mark.parametrize("memory_mb", [1024, 2048])
def test_only_the_capped_folders_take_writes(tmp_path, memory_mb):
    """The root, /etc, /opt, /home, /usr and /dev are read-only; the tmpfs folders hold a quarter of --memory."""
    report = _run_in_sandbox(tmp_path, FILL, memory_mb)
    written = report["written"]
    for folder in ("/", "/etc", "/opt", "/home", "/usr", "/dev"):
        assert written[folder] == 0, (folder, written)
    cap = sum(tmpfs_sizes(memory_mb).values()) << 20
    assert cap == (memory_mb << 20) // 4
    total = sum(written.values())
    # Full to within a few MiB of the cap (the last block does not fit), never past it.
    assert cap - (8 << 20) * 4 <= total <= cap, (total, cap, written)
    assert report["uid"] == 1000 and report["nested_userns"] is False


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only a root grader drops privileges")
@needs_sandbox
def test_a_root_grader_starts_the_sandbox_as_nobody(tmp_path):
    """launch_kwargs: bwrap starts as nobody when all it binds is readable by others.

    Shown with a sandbox of world-readable system folders (``sleep`` in it,
    seen from the host as uid 65534). Where the Python environment itself is
    in a folder others cannot enter (``/root``), privilege_problem names it
    and the grader notes on each row that the sandbox ran as host root.
    """
    cmd = ["bwrap", "--unshare-user", "--unshare-pid", "--uid", "1000", "--gid", "1000", "--disable-userns",
           "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib",
           "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--remount-ro", "/", "sleep", "20"]
    assert privilege_problem(cmd) is None
    kwargs = launch_kwargs(cmd)
    assert kwargs == {"user": 65534, "group": 65534, "extra_groups": []}
    proc = subprocess.Popen(cmd, **kwargs)
    try:
        sleeper = None
        for _ in range(200):  # until bwrap has started sleep (a wait, not a timing claim)
            from segtutor.grading.runner import descendants

            kids = [p for p in descendants(proc.pid) if b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes()]
            if kids:
                sleeper = kids[0]
                break
            threading.Event().wait(0.05)
        assert sleeper is not None
        uids = [line for line in Path(f"/proc/{sleeper}/status").read_text().splitlines() if line.startswith("Uid:")]
        assert uids[0].split()[1:] == ["65534"] * 4
    finally:
        proc.kill()
        proc.wait()
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "env").mkdir()
    assert privilege_problem(cmd[:-2] + ["--ro-bind", str(closed / "env"), "/x", "sleep", "1"]) == \
        f"{closed / 'env'} is not readable by others"


def _readable_by_others(path: Path) -> bool:
    """``path`` readable (and, for a folder, enterable) by a user without rights, every folder above it enterable."""
    import stat

    path = Path(path)
    need = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
    return path.exists() and path.stat().st_mode & need == need and all(
        p.stat().st_mode & stat.S_IXOTH for p in path.resolve().parents)


def _world_readable_python() -> str | None:
    """An interpreter of this Python version that ``nobody`` can run: this one's base, or the system's."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (getattr(sys, "_base_executable", ""), f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if not candidate or not Path(candidate).is_file():
            continue
        real = Path(candidate).resolve()
        probe = subprocess.run([str(real), "-c", "import sys, sysconfig, venv; print(sys.version_info[:2], "
                                "sysconfig.get_paths()['stdlib'])"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0 or str(tuple(sys.version_info[:2])) not in probe.stdout:
            continue
        stdlib = Path(probe.stdout.split(") ", 1)[1].strip())
        if _readable_by_others(real) and _readable_by_others(stdlib):
            return str(real)
    return None


UID_CHECK = '''import os
import numpy as np
def my_fraction_above(image, threshold):
    # Which host user the sandbox's uid is, seen from inside: a folder the host's nobody owns is ours,
    # and host root's /usr is not (as host root it would be ours, and nobody's folder not).
    # (/proc/self/uid_map cannot tell: --disable-userns nests a second user namespace, whose map
    # always reads "1000 0 1".)
    me = os.getuid()
    right = float((np.asarray(image) > threshold).mean())
    return right if os.stat("/submission").st_uid == me and os.stat("/usr").st_uid != me else -1.0
'''


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only a root grader drops privileges")
@needs_sandbox
def test_a_root_grader_runs_the_student_as_nobody(tmp_path):
    """The whole path, end to end: a root grader whose Python environment others can read grades a
    submission whose ``fraction_above`` is right only when the sandbox's user is host ``nobody``.

    The control: the same batch graded by this test environment's Python, when it lives under
    ``/root`` (0700, as on the machine these tests were written on), runs the sandbox as host root
    and scores ``fraction_above`` 0 (``as_root`` note).

    This machine's own Python lives under ``/root``, so the grader here runs from a venv
    (under ``/tmp``, world-readable) of a world-readable interpreter of the same version (the
    system's ``/usr/bin/python3.X``), with this environment's packages added by a ``.pth`` file;
    they must be readable by others too.
    """
    python = _world_readable_python()
    if python is None:
        pytest.skip(f"no python{sys.version_info.major}.{sys.version_info.minor} that others can read here")
    deps = Path(sysconfig.get_paths()["purelib"])
    if not _readable_by_others(deps):
        pytest.skip(f"{deps} is not readable by others, so a sandbox started as nobody could not import NumPy")
    import tempfile

    # pytest's tmp_path is under /tmp/pytest-of-root (0700): nobody could not enter it.
    open_dir = Path(tempfile.mkdtemp(prefix="segtutor-nobody-"))
    try:
        open_dir.chmod(0o755)
        env_dir = open_dir / "env"
        subprocess.run([python, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=300)
        site = next((env_dir / "lib").glob("python3*/site-packages"))
        (site / "zz_course.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
        for p in [open_dir, *env_dir.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o444 | (0o111 if p.is_dir() else 0))
        student = open_dir / "subs" / "asnobody"
        student.mkdir(mode=0o755, parents=True)
        nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
        nb.cells[3].source = UID_CHECK
        nbformat.write(nb, student / "tiny.ipynb")
        (student / "tiny.ipynb").chmod(0o644)
        os.chown(student, 65534, 65534)
        subs = student.parent
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        checked = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import json, sys\n"
                                  "from segtutor.grading.sandbox import root_sandbox_problem\n"
                                  "print(json.dumps([sys.prefix, root_sandbox_problem()]))"],
                                 capture_output=True, text=True, env=clean, cwd=open_dir, timeout=300)
        assert checked.returncode == 0, checked.stderr[-2000:]
        assert json.loads(checked.stdout.strip().splitlines()[-1]) == [str(env_dir), None]
        out = tmp_path / "out" / "g.csv"
        grade = subprocess.run([str(env_dir / "bin" / "python"), "-m", "segtutor", "grade", str(subs),
                                "--source", str(SOURCE), "--out", str(out), "--seed", "6", "--cell-timeout", "120",
                                "--timeout", "600", "--memory", "2048"], capture_output=True, text=True, env=clean,
                               cwd=open_dir, timeout=1200)
        assert grade.returncode == 0, grade.stderr[-2000:]
        assert "runs as host root" not in grade.stderr
        with open(out, newline="") as f:
            (row,) = csv.DictReader(f)
        assert (row["status"], row["fraction_above"], row["total"]) == ("ok", "2", "6"), row
        assert "host root" not in row["notes"], row["notes"]
        # The control: graded by a Python others cannot read, the sandbox is host root and the check says so.
        from segtutor.grading.sandbox import root_sandbox_problem

        if root_sandbox_problem() is not None:
            out2 = tmp_path / "out2" / "g.csv"
            grade = subprocess.run([sys.executable, "-m", "segtutor", "grade", str(subs), "--source",
                                    str(SOURCE), "--out", str(out2), "--seed", "6", "--cell-timeout", "120",
                                    "--timeout", "600", "--memory", "2048"], capture_output=True, text=True,
                                   cwd=open_dir, timeout=1200)
            assert grade.returncode == 0, grade.stderr[-2000:]
            assert "each sandbox runs as host root" in grade.stderr
            with open(out2, newline="") as f:
                (row,) = csv.DictReader(f)
            assert (row["status"], row["fraction_above"], row["total"]) == ("ok", "0", "4"), row
            assert "the sandbox ran as host root" in row["notes"], row["notes"]
    finally:
        shutil.rmtree(open_dir, ignore_errors=True)


# -- the grader's own inputs: big submissions, the course's own code -------------

def _scored(path: Path, sources) -> object:
    """score_job on a run that printed nothing: flags and notes only, no kernel."""
    options = GradeOptions(seed=1)
    job = build_job(Submission("big", path), sources, options)
    return score_job(job, {"status": "ok", "probes": {}}, options)


def test_flagging_a_multi_megabyte_submission_is_linear(tmp_path):
    """Texts that made the old patterns quadratic (200 KB: 75 s), 6 MB of them, flagged in one pass."""
    nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
    nasty = ("# " + "open(" * 300_000 + "\n" + "\n" * 300_000 + "sys" + " " * 300_000 + "\n"
             + "check('" + "a" * 300_000 + "\n" + ("  " * 100_000 + "!") + "\n" + "def" + " " * 300_000 + "\n!ls\n")
    nb.cells.append(nbformat.v4.new_code_cell(nasty * 3))
    path = tmp_path / "big.ipynb"
    nbformat.write(nb, path)
    assert path.stat().st_size > 5 << 20
    sources = load_sources([SOURCE])
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", _scored(path, sources)), daemon=True)
    worker.start()
    worker.join(timeout=600)  # a guard against a hang (the old patterns would run for hours), not a timing claim
    assert "result" in box, "flagging did not finish"
    flags = box["result"].flags
    assert "file write" not in flags and "process or shell" in flags  # the "!" line is a shell line
    nb.cells.append(nbformat.v4.new_code_cell("open('x', 'w').write('1')"))
    nbformat.write(nb, path)
    assert "file write" in _scored(path, sources).flags


def test_flagging_stops_at_its_time_budget():
    flags = suspicious_code(["import sys\nsys.modules['x'] = None"] * 3, budget_s=0)
    assert flags == ["flagging stopped at its time limit"]


def test_the_courses_own_code_is_never_charged_to_a_student(tmp_path):
    """Issue 29: an untouched notebook 10 uses ``from importlib import resources``; no flag for it."""
    source = ROOT / "notebooks" / "10_mask_rcnn_training.ipynb"
    sources = load_sources([source])
    released = release_notebook(nbformat.read(source, as_version=4), name=source.name)
    assert any("importlib" in c.source for c in released.cells if c.cell_type == "code")
    path = tmp_path / source.name
    nbformat.write(released, path)
    assert _scored(path, sources).flags == []
    released.cells.append(nbformat.v4.new_code_cell("import importlib\nm = importlib.import_module('os')"))
    nbformat.write(released, path)
    assert "dynamic code" in _scored(path, sources).flags


# -- names ---------------------------------------------------------------------

def _class_folder(root: Path, names) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "tiny.ipynb").write_bytes((STUDENTS / "untouched.ipynb").read_bytes())
    return root


@pytest.mark.parametrize("names, message", [
    (("alice", "alice_"), "would share the feedback files alice"),
    (("Bob", "bob"), "would share the feedback files"),
    (("carol\nalice           6 of 6  ok", "dave"), "control or bidirectional characters (U+000A)"),
    (("\u202eevil.ipynb", "erin"), "control or bidirectional characters (U+202E)"),
    (("fr\u200bank", "frank"), "control or bidirectional characters (U+200B)"),
])
def test_names_that_collide_or_hide_characters_are_refused(tmp_path, names, message):
    root = _class_folder(tmp_path / "class", names)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        collect_submissions([root], load_sources([SOURCE]))
    assert "\n" not in str(err.value)  # one line, whatever the name holds


def test_names_are_normalised_and_look_alikes_are_warned(tmp_path, capsys):
    assert identity("\uff41\uff4c\uff49\uff43\uff45") == "alice"  # full-width letters: one student
    root = _class_folder(tmp_path / "class", ("alice", "\u0430lice"))  # Cyrillic a
    subs = collect_submissions([root], load_sources([SOURCE]))
    assert len(subs) == 2
    assert name_warnings(subs) == ["students 'alice' and '\\u0430lice' look alike; check they are two people"]
    assert name_warnings(subs[:1]) == []


@pytest.mark.parametrize("cell", ["=1+2", " =1+2", "\u00a0=1+2", "  +1", "\t-1", " @SUM(A1)", "\r=1"])
def test_every_formula_prefix_is_escaped(cell):
    assert csv_safe(cell) == "'" + cell


def test_plain_cells_are_not_escaped():
    assert [csv_safe(v) for v in ("alice", "6", "a=b", "ok")] == ["alice", "6", "a=b", "ok"]


# -- private helpers: what each reference is built from is held back too ------

def test_every_exercise_holds_back_what_its_reference_is_built_from(tmp_path):
    """For every exercise of notebooks 00-12: each segtutor function or constant its
    reference reaches (AST call graph, transitively) is a stub in the grading copy,
    unless it only checks arguments or is a listed building block."""
    from segtutor.exercises import exercise_names, get_exercise
    from segtutor.grading.sandbox import BUILDING_BLOCKS, CHECK_MODULES, GradingPackage, reached_by

    package = GradingPackage(tmp_path)
    notebooks = {int(Path(nb).stem[:2]) for nb in os.listdir(ROOT / "notebooks") if nb.endswith(".ipynb")}
    assert notebooks == set(range(13))
    kept, stubbed = [], []
    for name in exercise_names():
        spec = get_exercise(name)
        for top in spec.hidden_names():
            assert package.hidden[top] is not None
            for dotted, kind in reached_by(top).items():
                module, _, attr = dotted.rpartition(".")
                if module in CHECK_MODULES or dotted in BUILDING_BLOCKS or attr.startswith(("_check", "check_")) \
                        or attr.lstrip("_").startswith(("MAX_", "CHUNK_")):
                    kept.append(dotted)
                    continue
                stubbed.append(dotted)
                assert dotted in package.hidden, (name, top, dotted)
                text = (tmp_path / Path(*module.split("."))).with_suffix(".py")
                text = text if text.exists() else tmp_path / Path(*module.split(".")) / "__init__.py"
                source = text.read_text() if text.exists() else ""
                if kind == "function":
                    assert f"def {attr}(*args, **kwargs):\n    raise RuntimeError(" in source or any(
                        f"def {attr}(*args, **kwargs):\n    raise RuntimeError(" in p.read_text()
                        for p in (tmp_path / Path(*module.split("."))).parent.rglob("*.py")), (name, dotted)
    assert {"segtutor.metrics.semantic._overlap_counts", "segtutor.metrics.semantic._ratio",
            "segtutor.arrays.to_float", "segtutor.arrays.LUMA_WEIGHTS"} <= set(stubbed)
    assert "segtutor._validate.as_array" in kept
    # The copy still imports, and a held-back constant raises when used.
    modules = sorted({d.rpartition(".")[0] for d in package.hidden})
    code = ("import importlib, numpy as np\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "from segtutor.arrays import LUMA_WEIGHTS\n"
            "try:\n    np.asarray(LUMA_WEIGHTS)\nexcept RuntimeError as e:\n    print('held back:', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(tmp_path)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "held back: segtutor.arrays.LUMA_WEIGHTS is not available while grading" in done.stdout


# -- --memory too small ---------------------------------------------------------

MEMORY_HOG = '''# what an import does when --memory is too small: allocations fail, then a thread waits forever
import time
held = []
try:
    while True:
        held.append(np.empty(1 << 21))  # 16 MiB of address space each, never touched: little resident memory
except MemoryError:
    pass
while True:
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass
'''


HOG_TEST = "test_running_out_of_memory_is_reported_as_memory_limit_with_its_peak"


@pytest.fixture(scope="module")
def memory_hog_grading(tmp_path_factory):
    """The hog graded in a thread of its own: a future of its ``GradeResult``.

    The hog's kernel waits until the notebook timeout (40 s) kills it, doing
    nothing; started with the module, that wait passes while the module's
    other tests run instead of after them.
    """
    nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
    nb.cells.insert(11, nbformat.v4.new_code_cell(MEMORY_HOG))
    path = tmp_path_factory.mktemp("hog") / "hog.ipynb"
    nbformat.write(nb, path)
    options = GradeOptions(seed=4, cell_timeout=10, probe_timeout=10, notebook_timeout=40, memory_limit_mb=512)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-hog") as pool:
        yield pool.submit(grade_submission, Submission("hog", path), load_sources([SOURCE]), options)


@pytest.fixture(scope="module", autouse=True)
def _memory_hog_starts_with_the_module(request):
    if sandbox_problem() is None and any(getattr(item, "originalname", None) == HOG_TEST and item.path == request.path
                                         for item in request.session.items):
        request.getfixturevalue("memory_hog_grading")


@needs_sandbox
def test_running_out_of_memory_is_reported_as_memory_limit_with_its_peak(memory_hog_grading):
    """Not `timeout`: the row says memory limit, with the peak, and what to change (issue 23: notebook 02 at 256 MB)."""
    result = memory_hog_grading.result()
    assert result.status == "memory limit", result.notes
    note = next(n for n in result.notes if "ran out of memory" in n)
    assert "largest data segment" in note and "limit 512 MiB" in note and "--memory" in note


# -- library shortcuts, found by measurement ------------------------------------

def _same_function(dotted: str, target: str) -> bool:
    # skimage.filters.thresholding.threshold_otsu is skimage.filters.threshold_otsu
    d, t = dotted.split("."), target.split(".")
    return dotted == target or (d[0] == t[0] and d[-1] == t[-1])


def test_every_library_function_that_passes_an_exercise_is_forbidden(tmp_path):
    """Every public function of NumPy, SciPy, scikit-image, scikit-learn and pycocotools whose
    signature fits an exercise and that passes all its grading cases is in that exercise's
    ``forbids`` (tests/_library_shortcuts.py; every exercise swept in one child process with an
    address-space limit and two seconds per call). Keras ops are not swept."""
    from segtutor.exercises import exercise_names, get_exercise

    done = subprocess.run([sys.executable, str(HERE / "_library_shortcuts.py")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=3600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found.pop("crashed")
    assert set(found) == set(exercise_names())
    allowed = {name: get_exercise(name).forbids for name in found}
    missing = {name: [p for p in passers if not any(_same_function(p, f) for f in allowed[name])]
               for name, passers in found.items()}
    assert not any(missing.values()), {k: v for k, v in missing.items() if v}
    # Controls: the sweep finds a known shortcut, and would find one on every exercise, those with cases
    # that expect an error included (each exercise's own reference, offered as the only candidate, passes).
    assert "skimage.filters.threshold_otsu" in found["otsu_threshold"]
    import _library_shortcuts

    with open(tmp_path / "trace", "w") as trace:
        for name in exercise_names():
            reference = get_exercise(name).reference_function()
            assert _library_shortcuts.sweep(name, set(), trace, [("reference", reference)]) == ["reference"], name


@pytest.mark.parametrize("code", [
    "import pycocotools.mask\ndef my_bounding_box(m):\n    return pycocotools.mask.toBbox(m)",
    "import pycocotools.mask as pm\nf = pm.toBbox\ndef my_bounding_box(m):\n    return f(m)",
    "from pycocotools.mask import toBbox as tb\ndef my_bounding_box(m):\n    return tb(m)",
    "from pycocotools import mask\ndef my_bounding_box(m):\n    g = mask.toBbox\n    return g(m)",
    "import pycocotools.mask as pm\ndef my_bounding_box(m):\n    return getattr(pm, 'toBbox')(m)",
    "import importlib\ndef my_bounding_box(m):\n    return importlib.import_module('pycocotools.mask').toBbox(m)",
    "from pycocotools.mask import *\ndef my_bounding_box(m):\n    return toBbox(m)",
])
def test_a_forbidden_call_is_found_through_every_name_the_ast_resolves(code):
    from segtutor.grading.flags import forbidden_uses

    rules = {"bounding_box": ("my_bounding_box", ("pycocotools.mask.toBbox",))}
    assert forbidden_uses([code], rules) == {"bounding_box": [("pycocotools.mask.toBbox", True)]}


def test_hidden_cases_come_from_the_batch_seed_and_the_student():
    """TRUST.md 2: no secret test file; one seed and one student give one set of cases, classmates get others."""
    import numpy as np

    from segtutor.exercises import get_exercise
    from segtutor.grading.grade import case_seed

    spec = get_exercise("iou")

    def hidden(seed, student):
        return [np.asarray(a).tobytes() for _, c in spec.grading_cases(case_seed(seed, student, "iou"))
                for a in c.copy_args()[0]]

    assert hidden(7, "alice") == hidden(7, "alice")
    assert hidden(7, "alice") != hidden(7, "bob") and hidden(7, "alice") != hidden(8, "alice")
