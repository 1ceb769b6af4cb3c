"""Fixtures for the browser tests: Chromium, one browser per module.

Without Chromium or Playwright every browser test is skipped with one line
saying how to install them; SEGTUTOR_REQUIRE_BROWSER=1 (set by .ci/run)
turns that skip into a failure, so CI always runs them.
"""

import os

import pytest

import browserlab


@pytest.fixture(scope="session")
def chromium():
    path = browserlab.find_chromium()
    if path is None or not browserlab.playwright_available():
        if os.environ.get("SEGTUTOR_REQUIRE_BROWSER", "0") not in ("", "0"):
            pytest.fail(f"SEGTUTOR_REQUIRE_BROWSER is set, but {browserlab.INSTALL_HINT}", pytrace=False)
        pytest.skip(browserlab.INSTALL_HINT)
    return path


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
