"""The package's layers (pyproject.toml, [tool.importlinter]) hold, and the check would catch a break.

``lint-imports`` (import-linter) reads the contracts from pyproject.toml: the
layers from the entry points down to the ground, the independent leaves of
the NumPy core, no import loop inside any package and no private module
imported from outside its package. The second test copies the package into a
temporary folder, adds one import that breaks a contract, and checks that
``lint-imports`` fails on the copy and names that import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the package found in ``cwd``, with the contracts of ``cwd/pyproject.toml``."""
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                     "import sys; from importlinter.cli import lint_imports_command;"
                                                     " sys.exit(lint_imports_command())"]
    # --no-cache: no .import_linter_cache folder in the repository or the copy.
    return subprocess.run([*command, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(cwd)})


def test_contracts_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    # Every contract of pyproject.toml ran, not an empty configuration.
    assert result.stdout.count(" KEPT") == 4, result.stdout


# (file to edit, line appended to it, a contract that must break, text the report must contain). An
# import up a layer also closes a loop between the top-level modules, so it breaks two contracts.
BREAKS = {
    "import up a layer": ("dense.py", "from .widgets import overlay  # noqa", "segtutor's layers",
                          "segtutor.dense -> segtutor.widgets.overlay"),
    "import loop": ("maskrcnn/box_coding.py", "from .model import MaskRCNN  # noqa",
                    "no import loop", "segtutor.maskrcnn"),
    "private module from outside": ("widgets/overlay.py", "from ..maskrcnn import _checks  # noqa",
                                    "private module", "segtutor.widgets.overlay -> segtutor.maskrcnn._checks"),
    "two leaves of the core": ("boxes.py", "from . import metrics  # noqa", "leaves of the NumPy core",
                               "segtutor.boxes -> segtutor.metrics"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_break_fails_the_check(tmp_path, case):
    path, line, contract, culprit = BREAKS[case]
    shutil.copytree(ROOT / "segtutor", tmp_path / "segtutor",
                    ignore=shutil.ignore_patterns("__pycache__", "*.npz", "*.json", "*.keras", "*.h5"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "segtutor" / path
    target.write_text(target.read_text() + "\n" + line + "\n")

    result = lint_imports(tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode != 0, report
    broken = [row for row in report.splitlines() if row.endswith("BROKEN") or " BROKEN (" in row]
    assert any(contract in row for row in broken), report
    assert culprit in report, report
