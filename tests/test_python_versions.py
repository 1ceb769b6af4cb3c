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


@pytest.mark.slow
@pytest.mark.parametrize("python", SUPPORTED)
def test_the_lock_resolves_on_each_supported_python(tmp_path, python):
    offline = _index_reachable()
    if offline:
        pytest.skip(offline)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]) + "\n")
    # --only-binary: a Python without wheels for a pinned version must fail here, not compile on a laptop.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--python-version", python, "--only-binary=:all:", "--disable-pip-version-check",
         "-c", str(ROOT / "requirements" / "constraints.txt"), "-r", str(requirements)],
        capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"the lock does not resolve on Python {python}:\n{result.stderr[-3000:]}"
