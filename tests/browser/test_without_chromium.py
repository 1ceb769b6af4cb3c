"""Without Chromium the browser tests skip with one line saying how to install it; CI makes that a failure."""

import os
import subprocess
import sys

import browserlab as bl

MODULES = ["tests/browser/test_exercise_loop.py", "tests/browser/test_demo_mode.py",
           "tests/browser/test_course_open_settings.py::test_keeps_other_overrides_and_is_idempotent"]


def _pytest(**env):
    run_env = dict(os.environ, SEGTUTOR_CHROMIUM="/nonexistent/chromium", **env)
    if "SEGTUTOR_REQUIRE_BROWSER" not in env:
        run_env.pop("SEGTUTOR_REQUIRE_BROWSER", None)
    return subprocess.run([sys.executable, "-m", "pytest", *MODULES, "-ra", "-q", "-p", "no:cacheprovider"],
                          cwd=bl.REPO, env=run_env, capture_output=True, text=True, timeout=600)


def test_without_chromium_every_browser_test_skips_with_one_install_line():
    result = _pytest()
    assert result.returncode == 0, result.stdout + result.stderr
    skips = [line for line in result.stdout.splitlines() if "SKIPPED" in line]
    assert len(skips) == 1, result.stdout
    assert "apt-get install chromium" in skips[0] and "never `playwright install`" in skips[0]
    assert "1 passed, 4 deselected" in result.stdout.splitlines()[-1]  # the non-browser test still runs


def test_ci_turns_the_skip_into_a_failure():
    result = _pytest(SEGTUTOR_REQUIRE_BROWSER="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SEGTUTOR_REQUIRE_BROWSER is set" in result.stdout
    assert "4 errors" in result.stdout.splitlines()[-1] and "1 passed" in result.stdout.splitlines()[-1]
    ci = (bl.REPO / ".ci" / "run").read_text()
    assert "export SEGTUTOR_REQUIRE_BROWSER=1" in ci
    assert "chromium" in ci and "apt-get install" in ci and "playwright install" not in ci.replace(
        "never `playwright install`", "")
