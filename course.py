#!/usr/bin/env python3
"""Set up and run the segtutor course. Needs only Python 3.10+.

    python3 course.py open    # install (first time only) and open the course in JupyterLab
    python3 course.py test    # install (first time only) and run every test, notebooks included

Both commands are idempotent: the virtual environment in ``.venv`` is created
once and reinstalled only when ``pyproject.toml`` or the constraints change.
``open`` releases student copies of the notebooks into ``work/`` and never
overwrites a notebook you have edited there.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
STAMP = VENV / ".segtutor-install"
WORK = ROOT / "work"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


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
    if sys.version_info < (3, 10):
        sys.exit(f"segtutor needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    if not _python().exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return _python()
    print("Installing the course (a few minutes the first time) ...", flush=True)
    _run(_python(), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(_python(), "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, "-e", f"{ROOT}[test]")
    STAMP.write_text(wanted)
    return _python()


def release_work_copies(python: Path) -> None:
    """Release student copies into work/, keeping any notebook already edited."""
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    _run(python, "-m", "segtutor.grading.cli", "release", *sources, "--to", WORK, "--update")


def cmd_open(extra: list[str]) -> int:
    python = ensure_environment()
    release_work_copies(python)
    args = [python, "-m", "jupyterlab", "--notebook-dir", str(WORK), "00_welcome.ipynb"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and JupyterHub images often run as root
    print("JupyterLab is starting; if no browser opens, copy the http://127.0.0.1 URL it prints.", flush=True)
    return subprocess.call([str(a) for a in args + extra], cwd=WORK)


def cmd_test(extra: list[str]) -> int:
    python = ensure_environment()
    env = dict(os.environ)
    env.setdefault("SEGTUTOR_FAST", "1")  # the notebooks' fast mode; CI=true also turns it on
    # The package's docstring examples are tests too (--doctest-modules on segtutor/).
    args = [python, "-m", "pytest", "tests", "segtutor", "notebooks", "--doctest-modules",
            "--nbval-lax", "--nbval-current-env",
            "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-p", "no:cacheprovider"]
    print("+", " ".join(str(a) for a in args + extra), flush=True)
    return subprocess.call([str(a) for a in args + extra], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    commands = {"open": cmd_open, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
