"""Shared pytest configuration, and the one build of the course site that the tests share."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The committed student submissions are data for tests/test_grading.py, not
# notebooks for nbval to execute (one of them is deliberately not JSON).
collect_ignore = ["submissions", "conftest.py", "browser/conftest.py"]


def pytest_collection_finish(session):
    # Notebooks whose released copy the browser test runs in *this* session (after -m/-k deselection):
    # tests/test_released_notebooks_run.py skips only those, so `-m "not browser"` still runs every copy.
    covered = set()
    for item in session.items:
        if item.nodeid.startswith("tests/browser/test_widgets_in_jupyterlab.py::test_runs_clean"):
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "notebook" in callspec.params:
                covered.add(callspec.params["notebook"])
    session.config.released_in_browser = covered


def load_site_builder():
    """tools/build_site.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_site", REPO / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fast_site(tmp_path_factory):
    """The whole course built as a site in fast mode, once per session: (folder, page records).

    tests/test_site.py checks its pages; tests/browser/test_offline.py opens
    them in Chromium with the network blocked. One build costs about what
    nbval's run of the notebooks costs.
    """
    out = tmp_path_factory.mktemp("site")
    pages = load_site_builder().build_site(out, fast=True, timeout=1800, log=lambda *a, **k: None)
    return out, pages
