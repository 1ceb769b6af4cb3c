"""The set-up files agree with each other: pyproject, constraints, environment.yml, .ci/run."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_dependency_is_pinned_inside_its_range():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _constraints()
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    for spec in deps:
        req = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {req.specifier}"


def test_environment_yml_installs_what_course_py_installs():
    text = (ROOT / "environment.yml").read_text()
    assert "-c requirements/constraints.txt" in text
    assert "-e .[test]" in text
    python = re.search(r"python=(\d+)\.(\d+)", text)
    assert python, "environment.yml must pin a Python version"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.10" and (int(python[1]), int(python[2])) >= (3, 10)
    course = (ROOT / "course.py").read_text()
    assert '"-c", CONSTRAINTS' in course and '[test]' in course


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "python3 course.py test" in ci
    assert "python3 course.py test" in readme and "python3 course.py open" in readme
