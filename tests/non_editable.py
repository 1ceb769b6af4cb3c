"""One non-editable install of the course per session (``non_editable_site`` in tests/conftest.py).

tests/test_grading.py grades the attack batch with it, tests/test_grading_round3.py
walks every file its sandbox shows and builds the conda and Binder layouts from
it. ``queue(config)`` builds it on the session's background thread
(tests/notebook_runs.py), for a test module whose own background job needs it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def install(site: Path) -> Path:
    """``pip install --no-deps --target site <checkout>``: a non-editable copy of the course; returns ``site``."""
    import subprocess
    import sys
    from importlib.metadata import version

    from packaging.version import Version

    isolation = [] if Version(version("setuptools")) < Version("77") else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    done = subprocess.run([*pip, "install", "--no-deps", "-q", *isolation, "--target", str(site), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (site / "segtutor" / "metrics" / "semantic.py").is_file()
    return site


JOB = "non-editable-site"


def queue(config) -> str:
    """Queue the session's non-editable install on the background thread (once); returns the job's key.

    A test module whose background job needs the install queues it first, so
    that it is done when that job runs (the thread runs its jobs in order).
    """
    import notebook_runs

    runs = notebook_runs.runs_of(config)
    if runs.job(JOB) is None:
        folder = Path(tempfile.mkdtemp(prefix="segtutor-prefix-"))
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        runs.submit(JOB, lambda: install(folder / "lib" / "site-packages"))
    return JOB
