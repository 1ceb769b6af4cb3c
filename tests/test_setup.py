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
    assert requires == ">=3.11" and (int(python[1]), int(python[2])) >= (3, 11)
    course = (ROOT / "course.py").read_text()
    assert '"-c", CONSTRAINTS' in course and '[test]' in course


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "python3 course.py test" in ci
    assert "python3 course.py test" in readme and "python3 course.py open" in readme


def test_environment_yml_conda_packages_match_the_lock():
    """Anything conda installs itself (besides Python and pip) must be the locked version."""
    import yaml  # PyYAML comes with the lock (Jupyter needs it)

    pins = _constraints()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = [re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:=+\s*(\S+))?$", d).groups()
                  for d in env["dependencies"] if isinstance(d, str)]
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_lines == ["-c requirements/constraints.txt", "-e .[test]"]
    python = [v for n, v in conda_deps if n == "python"]
    assert python and python[0] == "3.11", "environment.yml: python=3.11, the version the lock was made with"
    assert "Python 3.11" in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()[0]
    for name, version in conda_deps:
        if name in ("python", "pip"):
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert key in pins, f"environment.yml installs {name} with conda but the lock does not pin it"
        assert version == pins[key], f"environment.yml: {name}={version}, lock: {pins[key]}"


def test_binder_installs_the_locked_course_on_the_locked_python():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    env_python = re.search(r"python=(\d+\.\d+)", (ROOT / "environment.yml").read_text())[1]
    assert runtime == f"python-{env_python}", "binder/runtime.txt and environment.yml name different Pythons"
    post = (ROOT / "binder" / "postBuild").read_text()
    install = [line for line in post.splitlines() if "pip install" in line]
    assert install and all("-c requirements/constraints.txt" in line for line in install)
    assert "segtutor release notebooks/" in post and "rm -rf notebooks" in post
    # Binder must not pick up a second, unlocked dependency list.
    for name in ("requirements.txt", "environment.yml", "Pipfile", "setup.py"):
        assert not (ROOT / "binder" / name).exists(), f"binder/{name} would bypass the lock"
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "binder/postBuild must be executable"


def test_quick_tier_leaves_out_what_is_marked_by_cost(monkeypatch):
    import runpy

    course = runpy.run_path(str(ROOT / "course.py"), run_name="course")
    calls = []
    cmd_test = course["cmd_test"]
    monkeypatch.setitem(cmd_test.__globals__, "ensure_environment", lambda: Path("python"))
    monkeypatch.setattr(cmd_test.__globals__["subprocess"], "call", lambda args, **kw: calls.append(args) or 0)
    assert cmd_test(["--quick", "-x"]) == 0 and cmd_test([]) == 0
    quick, full = calls
    assert quick[quick.index("-m", 2) + 1] == "not notebooks and not browser and not slow"
    assert "notebooks" not in quick and "--quick" not in quick and quick[-1] == "-x"
    assert "notebooks" in full and "not slow" not in " ".join(full)
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert {m.split(":")[0] for m in markers} >= {"notebooks", "browser", "slow"}
