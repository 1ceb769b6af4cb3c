"""A wheel of the package carries its data: load_coins() works from a non-editable install.

Builds the wheel (no dependencies; with the environment's setuptools when it
is new enough for pyproject.toml, else pip fetches setuptools for an isolated
build, as any ``pip install .`` does), installs it into an empty folder and imports it from there, in a working
folder outside the checkout, so nothing can come from the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_install_loads_the_coins_and_holds_no_notebooks(tmp_path):
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import Version

    try:
        isolation = [] if Version(version("setuptools")) < Version("77") else ["--no-build-isolation"]
    except PackageNotFoundError:
        isolation = []
    build = subprocess.run([*pip, "wheel", "--no-deps", *isolation, "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("segtutor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "segtutor/data/coins_instances.json" in names
    assert "segtutor/widgets/_aria.js" in names  # the slider-naming module the widgets send to the browser
    # the lazy_loader stubs: each package's __init__ reads its __init__.pyi when it is imported
    stubs = {p.relative_to(ROOT).as_posix() for p in (ROOT / "segtutor").rglob("*.pyi")}
    assert stubs and stubs <= set(names), sorted(stubs - set(names))
    assert not [n for n in names if n.endswith(".ipynb")]
    site = tmp_path / "site"
    install = subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SEGTUTOR_DATA_DIR")}
    env["PYTHONPATH"] = str(site)
    code = ("import segtutor, segtutor.datasets as d, segtutor.grading, segtutor.widgets; c = d.load_coins(); "
            "import segtutor.widgets._aria as a; assert 'noUi-handle' in a._ESM; "
            "print(segtutor.__file__); print(c.masks.shape)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    where, shape = run.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(site)), where
    assert shape == "(24, 303, 384)"
