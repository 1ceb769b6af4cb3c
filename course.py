#!/usr/bin/env python3
"""Set up and run the segtutor course. Needs only Python 3.11+.

    python3 course.py open    # install (first time only) and open the course in JupyterLab
    python3 course.py test    # install (first time only) and run every test, notebooks included
    python3 course.py test --quick  # unit tests, doctests and bad-input tests only (minutes, for editing)
    python3 course.py demo 02 # serve one widget notebook as a code-free app (Voila), for a projector
                              # (add --fast for the notebooks' fast mode, --port N for another port)

Both commands are idempotent: the virtual environment in ``.venv`` is created
once and reinstalled only when ``pyproject.toml`` or the constraints change.
The venv also holds the ``segtutor`` kernelspec ("Python 3 (segtutor)"),
the kernel every course notebook names. ``open`` releases student copies of
the notebooks into ``work/`` and never overwrites a notebook you have edited
there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The lock (requirements/constraints.txt) pins NumPy 2.4, SciPy 1.17, IPython 9 and networkx 3.6, which need 3.11.
MIN_PYTHON = (3, 11)
PYTHON_FIX = ("install Python 3.11 or newer and run course.py with it (Ubuntu 22.04: sudo apt install "
              "python3.11 python3.11-venv, then python3.11 course.py; or conda env create -f environment.yml)")
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
STAMP = VENV / ".segtutor-install"
WORK = ROOT / "work"
NOTEBOOKS = ROOT / "notebooks"
# Every course notebook names this kernel. It lives in the venv (``--sys-prefix``), not in
# ~/.local: the JupyterLab started from the venv finds it there, two checkouts never
# overwrite each other's, and deleting .venv removes it.
KERNEL_NAME = "segtutor"
KERNEL_DISPLAY_NAME = "Python 3 (segtutor)"

# JupyterLab's "Would you like to get notified about official Jupyter news?"
# toast covers the bottom right of widgets and check reports until a student
# dismisses it, and the news and update checks reach out to the internet.
NEWS_OFF = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _segtutor(python: Path) -> Path:
    """The ``segtutor`` command that pip installed beside the venv's Python (pyproject's [project.scripts])."""
    return python.parent / ("segtutor.exe" if os.name == "nt" else "segtutor")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _run(*args, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def ensure_environment() -> Path:
    """Create ``.venv`` and install the course into it, once."""
    if sys.version_info < MIN_PYTHON:
        # One line, before pip would fail with ResolutionImpossible and a traceback.
        sys.exit(f"segtutor needs Python 3.11 or newer, this is {sys.version.split()[0]}: {PYTHON_FIX}.")
    if not _python().exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        register_kernel(_python())  # a venv made before the course named its kernel
        return _python()
    print("Installing the course (a few minutes the first time) ...", flush=True)
    _run(_python(), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(_python(), "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, "-e", f"{ROOT}[test]")
    STAMP.write_text(wanted)
    register_kernel(_python())
    return _python()


def register_kernel(python: Path) -> Path:
    """Install the ``segtutor`` kernelspec, the kernel every course notebook names, into the venv."""
    spec = VENV / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    try:
        if json.loads(spec.read_text(encoding="utf-8"))["argv"][0] == str(python):
            return spec
    except (OSError, ValueError, KeyError, IndexError):
        pass
    _run(python, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
         "--display-name", KERNEL_DISPLAY_NAME)
    return spec


def release_work_copies(python: Path) -> None:
    """Release student copies into work/, keeping any notebook already edited."""
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    _run(_segtutor(python), "release", *sources, "--to", WORK, "--update")


def write_lab_overrides(prefix: Path) -> Path:
    """Turn JupyterLab's news and update checks off for the environment at ``prefix``.

    Writes ``PREFIX/share/jupyter/lab/settings/overrides.json``, the file
    JupyterLab reads for defaults that override its extensions' own; keys
    already there are kept.
    """
    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        settings = {}  # a broken file would stop JupyterLab reading any override; replace it
    if not isinstance(settings, dict):
        settings = {}
    for plugin, values in NEWS_OFF.items():
        current = settings.get(plugin)
        settings[plugin] = {**(current if isinstance(current, dict) else {}), **values}
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


def cmd_open(extra: list[str]) -> int:
    python = ensure_environment()
    write_lab_overrides(VENV)
    release_work_copies(python)
    args = [python, "-m", "jupyterlab", "--notebook-dir", str(WORK), "00_welcome.ipynb"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and JupyterHub images often run as root
    print("JupyterLab is starting; if no browser opens, copy the http://127.0.0.1 URL it prints.", flush=True)
    return subprocess.call([str(a) for a in args + extra], cwd=WORK)


#: What ``test --quick`` leaves out (markers of tests/conftest.py and pyproject.toml).
QUICK_MARKERS = "not notebooks and not browser and not slow"


def cmd_test(extra: list[str]) -> int:
    python = ensure_environment()
    env = dict(os.environ)
    env.setdefault("SEGTUTOR_FAST", "1")  # the notebooks' fast mode; CI=true also turns it on
    if "--quick" in extra:
        # The edit-test loop: unit tests, doctests and the bad-input property tests; no notebook, browser,
        # training or pipeline test (see the markers in tests/conftest.py).
        extra = [a for a in extra if a != "--quick"]
        args = [python, "-m", "pytest", "tests", "segtutor", "--doctest-modules", "-m", QUICK_MARKERS,
                "-p", "no:cacheprovider", "--durations=20"]
        print("+", " ".join(str(a) for a in args + extra), flush=True)
        return subprocess.call([str(a) for a in args + extra], cwd=ROOT, env=env)
    # The package's docstring examples are tests too (--doctest-modules on segtutor/). Two workers
    # (pytest-xdist): whole groups of tests at a time, heaviest first, so both cores stay busy and each
    # notebook still runs once (tests/conftest.py); add -n 0 to run in one process.
    args = [python, "-m", "pytest", "tests", "segtutor", "notebooks", "--doctest-modules",
            "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder",
            "--nbval-lax", "--nbval-current-env",
            "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-p", "no:cacheprovider",
            "--durations=40"]
    print("+", " ".join(str(a) for a in args + extra), flush=True)
    return subprocess.call([str(a) for a in args + extra], cwd=ROOT, env=env)


def find_notebook(name: str) -> Path:
    """The course notebook ``name`` names: "02", "02_classical_segmentation", a file name or a path."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    stem = path.name.removesuffix(".ipynb")
    matches = sorted(NOTEBOOKS.glob(f"{stem}.ipynb")) or sorted(NOTEBOOKS.glob(f"{stem}_*.ipynb"))
    if len(matches) != 1:
        known = ", ".join(p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
        raise SystemExit(f"no single course notebook matches {name!r}; give its number or name, one of: {known}")
    return matches[0]


# The demo's Voila template (share/jupyter/voila/templates/segtutor): Voila's
# own, without its Font Awesome links to a CDN. Voila finds templates in the
# Jupyter data folders, so demo_env puts this one first on JUPYTER_PATH.
DEMO_TEMPLATE = "segtutor"
DATA_DIR = ROOT / "share" / "jupyter"


def demo_command(python, notebook: Path, *, port: int = 8866, browser: bool = True) -> list[str]:
    """The Voila command line that serves ``notebook`` as an app on 127.0.0.1:``port``; run it with ``demo_env``."""
    args = [str(python), "-m", "voila", str(notebook), "--Voila.ip=127.0.0.1", f"--port={port}",
            f"--template={DEMO_TEMPLATE}", "--strip_sources=True", "--theme=light", "--show_tracebacks=True",
            # nbgrader's and Notebook 7's JupyterLab extensions cannot load
            # outside JupyterLab and fill the page's console with errors.
            "--VoilaConfiguration.extension_denylist=@jupyter/nbgrader",
            "--VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension"]
    if not browser:
        args.append("--no-browser")
    return args


def demo_env(env: dict) -> dict:
    """A copy of ``env`` in which Voila finds the course's demo template (JUPYTER_PATH)."""
    paths = [str(DATA_DIR)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return dict(env, JUPYTER_PATH=os.pathsep.join(paths))


def cmd_demo(extra: list[str]) -> int:
    """Serve one widget notebook with Voila: outputs and widgets only, no code, on loopback."""
    import argparse

    parser = argparse.ArgumentParser(prog="course.py demo", description=cmd_demo.__doc__)
    parser.add_argument("notebook", help='a course notebook: "02", "02_classical_segmentation" or a path')
    parser.add_argument("--fast", action="store_true", help="run it in fast mode (tiny data, seconds)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(extra)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    notebook = find_notebook(args.notebook)
    python = ensure_environment()
    env = demo_env(dict(os.environ, SEGTUTOR_FAST="1" if args.fast else "0"))
    if not args.fast:
        env.pop("CI", None)  # CI=true would turn fast mode on behind the teacher's back
    print(f"Voila is running {notebook.name} ({'fast' if args.fast else 'class'} mode; every visit starts "
          f"a fresh kernel and runs the notebook first). Open http://127.0.0.1:{args.port}/ ; Ctrl+C stops it.",
          flush=True)
    cmd = demo_command(python, notebook, port=args.port, browser=not args.no_browser)
    return subprocess.call(cmd, cwd=notebook.parent, env=env)


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"segtutor needs Python 3.11 or newer, this is {sys.version.split()[0]}: {PYTHON_FIX}.")
    commands = {"open": cmd_open, "test": cmd_test, "demo": cmd_demo}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
