#!/usr/bin/env python3
"""Regenerate requirements/constraints.txt from a fresh virtual environment.

Run on Linux x86_64 with the oldest supported Python you test on::

    python3 tools/lock.py

It installs the course's dependencies (without version pins) into a
throwaway environment and writes what pip resolved. Review the diff and
run ``python3 course.py test`` before committing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """# Exact versions the course was tested with (Linux x86_64, Python {py}).
# course.py and environment.yml install with '-c' this file; pyproject.toml keeps compatible ranges.
# Regenerate: python3 tools/lock.py
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        venv.EnvBuilder(with_pip=True).create(tmp)
        python = Path(tmp) / "bin" / "python"
        subprocess.run([python, "-m", "pip", "install", "--quiet", f"{ROOT}[test]"], check=True)
        frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude", "segtutor"],
                                check=True, capture_output=True, text=True).stdout
    # Linux x86_64 installs tensorflow-cpu; pin plain tensorflow at the same
    # version for the platforms that install it instead (macOS, ARM).
    for line in frozen.splitlines():
        if line.lower().startswith("tensorflow-cpu=="):
            frozen += "tensorflow==" + line.split("==", 1)[1] + "\n"
    py = ".".join(map(str, sys.version_info[:2]))
    (ROOT / "requirements" / "constraints.txt").write_text(HEADER.format(py=py) + frozen)
    print("wrote requirements/constraints.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
