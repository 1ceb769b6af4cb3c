"""Fixtures for the browser tests: Chromium, one browser per module.

Without Chromium or Playwright the tests marked ``browser`` are left out of
the run and the session ends with ONE line saying how to install them;
SEGTUTOR_REQUIRE_BROWSER=1 (set by .ci/run) makes each of them fail instead,
so CI always runs them.
"""

import os

import pytest

import browserlab

_MISSING = None if browserlab.find_chromium() and browserlab.playwright_available() else browserlab.INSTALL_HINT
_REQUIRED = os.environ.get("SEGTUTOR_REQUIRE_BROWSER", "0") not in ("", "0")
_left_out: list = []


def pytest_collection_modifyitems(config, items):
    if _MISSING is None or _REQUIRED:
        return
    _left_out[:] = [item for item in items if item.get_closest_marker("browser")]
    if _left_out:
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
        config.hook.pytest_deselected(items=_left_out)


def pytest_terminal_summary(terminalreporter):
    if _left_out:
        terminalreporter.write_line(f"SKIPPED {len(_left_out)} browser tests: {_MISSING}", yellow=True)


def pytest_sessionfinish(session):
    # A pytest-xdist worker's summary is not shown: tests/conftest.py prints this line in the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and _left_out:
        workeroutput["browser_left_out"] = [len(_left_out), _MISSING]


@pytest.fixture(scope="session")
def chromium():
    if _MISSING is not None:
        pytest.fail(f"SEGTUTOR_REQUIRE_BROWSER is set, but {_MISSING}", pytrace=False)
    return browserlab.find_chromium()


@pytest.fixture(scope="module")
def browser(chromium):
    # One Playwright per module, not per session: the sync API owns an event
    # loop while it lives, and the nbval and grading tests that run later
    # bring their own.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browserlab.launch(p, chromium)
        yield b
        b.close()
