"""Shared pytest configuration."""

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
