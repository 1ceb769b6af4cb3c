"""Every Python the README names can install the lock; an older one gets one line that says what to do.

The README says Python 3.11 or newer, and 3.11, 3.12 and 3.13 are the ones
named. For each, pip resolves the course's dependencies under the lock
(``requirements/constraints.txt``) as it would on that Python, from wheels
only, without installing anything (``--dry-run``). It needs the package
index, so it skips with the reason when the index cannot be reached.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The first release of each: a lock that needs 3.11.5 (soupsieve 3 and later do) fails on Debian 12's 3.11.2.
SUPPORTED = ("3.11.0", "3.12.0", "3.13.0")


def test_readme_and_pyproject_name_the_same_pythons():
    readme = (ROOT / "README.md").read_text()
    assert "Python 3.11 or newer (3.11, 3.12 and 3.13 are tested)" in readme
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"


@pytest.mark.parametrize("old", [(3, 10, 12), (3, 9, 2)])
def test_course_py_stops_older_python_with_one_line(monkeypatch, old):
    course = runpy.run_path(str(ROOT / "course.py"), run_name="course")
    monkeypatch.setattr(sys, "version_info", old)
    monkeypatch.setattr(sys, "version", ".".join(map(str, old)) + " (test)")
    with pytest.raises(SystemExit) as stop:
        course["main"](["test"])
    message = str(stop.value.code)
    assert "\n" not in message and message.startswith("segtutor needs Python 3.11 or newer")
    assert ".".join(map(str, old)) in message and "python3.11" in message and "environment.yml" in message


def _index_reachable() -> str | None:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=15).close()
    except OSError as exc:
        return f"the package index cannot be reached ({exc}); the lock's resolve needs it"
    return None


def _resolve_command(python: str, requirements: Path) -> list[str]:
    # --only-binary: a Python without wheels for a pinned version must fail here, not compile on a laptop.
    return [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--python-version", python, "--only-binary=:all:", "--disable-pip-version-check",
            "-c", str(ROOT / "requirements" / "constraints.txt"), "-r", str(requirements)]


@pytest.fixture(scope="module")
def resolves(request, tmp_path_factory):
    """The resolve of each selected Python, all started at once: ``{python: (Popen, its log file)}``.

    A resolve mostly waits on the package index, so the three overlap instead
    of waiting one after another; each test still reads only its own.
    """
    offline = _index_reachable()
    if offline:
        pytest.skip(offline)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    folder = tmp_path_factory.mktemp("lock")
    requirements = folder / "requirements.txt"
    requirements.write_text("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]) + "\n")
    selected = [item.callspec.params["python"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_the_lock_resolves_on_each_supported_python"
                and item.path == request.path]
    procs = {}
    for python in dict.fromkeys(selected or SUPPORTED):
        # Files, not pipes: a resolve that is not read yet must never block on a full pipe.
        with open(folder / f"{python}.log", "w") as log:
            procs[python] = (subprocess.Popen(_resolve_command(python, requirements), stdout=log,
                                              stderr=subprocess.STDOUT), folder / f"{python}.log")
    yield procs
    for proc, _ in procs.values():  # a test that failed or was interrupted leaves its resolve running
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("python", SUPPORTED)
def test_the_lock_resolves_on_each_supported_python(resolves, python):
    proc, log = resolves[python]
    returncode = proc.wait(timeout=1200)
    assert returncode == 0, f"the lock does not resolve on Python {python}:\n{log.read_text()[-3000:]}"
