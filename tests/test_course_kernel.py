"""Every course notebook opens in the course's own kernel, and says so when it is not there.

On a JupyterHub the default "Python 3" kernel is the hub's Python, which has
no segtutor (issue 29). The notebooks name the ``segtutor`` kernelspec that
``course.py`` and the README's hub steps install, and their first cell stops
with one line naming the fix when the kernel cannot import segtutor.
"""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
COURSE = runpy.run_path(str(ROOT / "course.py"), run_name="course")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_names_the_course_kernel(path):
    spec = nbformat.read(path, as_version=4).metadata["kernelspec"]
    assert spec["name"] == COURSE["KERNEL_NAME"] == "segtutor"
    assert spec["display_name"] == COURSE["KERNEL_DISPLAY_NAME"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_released_copy_keeps_the_course_kernel(path):
    from segtutor.grading.release import release_notebook

    student = release_notebook(nbformat.read(path, as_version=4), name=path.name)
    assert student.metadata["kernelspec"]["name"] == "segtutor"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_cell_names_the_fix_in_a_kernel_without_segtutor(path, tmp_path):
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    guard = first.source.split("\nexcept ModuleNotFoundError")[0] + "\n"
    assert guard.startswith("try:\n    import segtutor"), "segtutor must be the first import of the first cell"
    guard = first.source[: first.source.index(") from None") + len(") from None")]
    # A kernel without segtutor: this Python has it, so a module that fails
    # to import the way a missing one does stands in front of it.
    blocker = tmp_path / "site" / "segtutor.py"
    blocker.parent.mkdir()
    blocker.write_text("raise ModuleNotFoundError(\"No module named 'segtutor'\", name='segtutor')\n")
    code = f"import sys; sys.path.insert(0, {str(blocker.parent)!r})\n" + guard
    proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ("ModuleNotFoundError: this kernel has no segtutor: choose Kernel > Change Kernel... > "
                    "Python 3 (segtutor)"), proc.stderr


def test_register_kernel_writes_the_kernelspec_into_the_venv(tmp_path, monkeypatch):
    calls = []
    course = runpy.run_path(str(ROOT / "course.py"), run_name="course")
    register = course["register_kernel"]
    monkeypatch.setitem(register.__globals__, "VENV", tmp_path / ".venv")
    monkeypatch.setitem(register.__globals__, "_run", lambda *args: calls.append(args))
    python = tmp_path / ".venv" / "bin" / "python"
    spec = register(python)
    assert calls == [(python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "segtutor",
                      "--display-name", "Python 3 (segtutor)")]
    # Once the spec points at this venv's Python, it is not installed again.
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher"]}))
    register(python)
    assert len(calls) == 1


@pytest.mark.skipif(not (ROOT / ".venv" / "share" / "jupyter" / "kernels" / "segtutor").is_dir(),
                    reason="the course venv has no segtutor kernel yet: run `python3 course.py open` or `test`")
def test_course_venv_kernel_imports_segtutor():
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager(kernel_dirs=[str(ROOT / ".venv" / "share" / "jupyter" / "kernels")])
    spec = manager.get_kernel_spec("segtutor")
    assert spec.display_name == "Python 3 (segtutor)"
    proc = subprocess.run([spec.argv[0], "-c", "import segtutor; print(segtutor.__file__)"],
                          capture_output=True, text=True, cwd=ROOT.parent)
    assert proc.returncode == 0 and str(ROOT / "segtutor") in proc.stdout, proc.stderr
