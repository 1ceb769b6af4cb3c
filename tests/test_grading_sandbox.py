"""The grading sandbox hides the grader's world; the command line refuses bad input before writing.

One sandboxed run (a notebook that looks for everything it must not see)
plus fast checks of option validation, the gradebook lock, identities and
``release``'s refusal to write over sources. The attack batch itself is in
``tests/test_grading.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from segtutor.cli import main
from segtutor.grading.grade import GradeOptions, Submission, collect_submissions, grade_submission, load_sources
from segtutor.grading.gradebook import GradebookStore, csv_safe
from segtutor.grading.sandbox import PACKAGE_DIR, GradingPackage, sandbox_problem

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"

needs_sandbox = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}")


@needs_sandbox
def test_sandbox_hides_the_graders_world(tmp_path):
    gradebook = tmp_path / "grades" / "gradebook.csv"
    gradebook.parent.mkdir()
    gradebook.write_text("student,notebook,total\n")
    secrets = [gradebook, STUDENTS / "honest_full.ipynb", SOURCE, ROOT / "pyproject.toml",
               ROOT / "notebooks", Path.home() / ".bashrc", Path(os.path.realpath(__file__))]
    secrets = [str(p) for p in secrets if p.exists()]
    nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
    # Correct only when none of the grader's files and none of its processes
    # can be seen, the package has no specs, and its folder cannot be written.
    nb.cells[3].source = f'''import os
def _visible():
    seen = [p for p in {secrets!r} if os.path.exists(p)]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            cmd = open(f"/proc/{{pid}}/cmdline", "rb").read()
        except OSError:
            continue
        if b"pytest" in cmd or b"bwrap" in cmd:
            seen.append("process " + pid)
    import segtutor.exercises.specs as specs
    if not getattr(specs, "GRADING_COPY", False) or [f for f in os.listdir(os.path.dirname(specs.__file__)) if f.endswith(".py")] != ["__init__.py"]:
        seen.append("specs")
    try:
        open({PACKAGE_DIR!r} + "/segtutor/x", "w")
        seen.append("package writable")
    except OSError:
        pass
    if os.getuid() == 0:
        seen.append("root")
    return seen
SEEN = _visible()
print(SEEN)
def my_fraction_above(image, threshold):
    return float((np.asarray(image) > threshold).mean()) if not SEEN else -1.0
'''
    path = tmp_path / "peek.ipynb"
    nbformat.write(nb, path)
    # Check the probe would see them unsandboxed, so the test can fail.
    assert secrets
    sources = load_sources([SOURCE])
    options = GradeOptions(seed=5, cell_timeout=20, probe_timeout=20, notebook_timeout=120, memory_limit_mb=1024)
    result = grade_submission(Submission("peek", path), sources, options)
    assert result.status == "ok", result.notes
    assert result.scores["fraction_above"] == 2.0, result.details


def test_grading_package_has_no_answers(tmp_path):
    package = GradingPackage(tmp_path)
    root = tmp_path / "segtutor"
    assert sorted(p.name for p in (root / "exercises" / "specs").iterdir() if p.suffix == ".py") == ["__init__.py"]
    text = (root / "metrics" / "semantic.py").read_text()
    assert "def iou(*args, **kwargs):\n    raise RuntimeError(" in text
    assert "segtutor.metrics.iou" in package.hidden and "segtutor.boxes.masks_to_boxes" in package.hidden


def _grade(tmp_path, *extra):
    return main(["grade", str(STUDENTS / "untouched.ipynb"), "--source", str(SOURCE), *extra])


@pytest.mark.parametrize("extra, message", [
    (["--memory", "-5"], "--memory"),
    (["--memory", "0"], "--memory"),
    (["--seed", "-1"], "--seed"),
    (["--timeout", "nan"], "--timeout"),
    (["--timeout", "inf"], "--timeout"),
    (["--cell-timeout", "0"], "--cell-timeout"),
    (["--jobs", "0"], "--jobs"),
    (["--data", "/no/such/folder"], "data folder"),
])
def test_bad_options_stop_before_anything_is_written(tmp_path, capsys, extra, message):
    out = tmp_path / "gradebook.csv"
    assert _grade(tmp_path, "--out", str(out), *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_out_must_be_a_gradebook_or_a_new_path(tmp_path, capsys):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    assert _grade(tmp_path, "--out", str(precious)) == 2
    assert precious.read_text() == "keep me"
    other = tmp_path / "marks.csv"
    other.write_text("name,mark\nalice,3\n")
    assert _grade(tmp_path, "--out", str(other)) == 2
    assert other.read_text() == "name,mark\nalice,3\n"
    assert _grade(tmp_path, "--out", str(tmp_path)) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("segtutor grade: --out") for e in errors), errors


def test_missing_submission_is_an_error_not_a_row(tmp_path, capsys):
    out = tmp_path / "gradebook.csv"
    assert main(["grade", str(tmp_path / "nobody.ipynb"), "--source", str(SOURCE), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_a_second_grader_refuses_while_the_first_holds_the_lock(tmp_path, capsys):
    out = tmp_path / "gradebook.csv"
    first = GradebookStore(out)
    first.lock()
    try:
        assert _grade(tmp_path, "--out", str(out), "--unsandboxed") == 2
        assert "another segtutor grade is writing" in capsys.readouterr().err
    finally:
        first.unlock()


def test_identities_come_from_top_level_arguments(tmp_path):
    sources = load_sources([SOURCE])
    subs = {s.student: s.path for s in collect_submissions([STUDENTS], sources)}
    assert subs["mallory"] == STUDENTS / "mallory" / "tiny.ipynb"
    assert subs["honest_full"] == STUDENTS / "honest_full.ipynb"
    # `grade alice/ bob/ mallory/`: nothing nested in mallory's folder counts.
    for name in ("honest_full", "untouched"):
        (tmp_path / name).mkdir()
        shutil.copy(STUDENTS / f"{name}.ipynb", tmp_path / name / "tiny.ipynb")
    subs = collect_submissions([tmp_path / "honest_full", tmp_path / "untouched", STUDENTS / "mallory"], sources)
    assert [(s.student, s.path.parent.name) for s in subs] == [
        ("honest_full", "honest_full"), ("untouched", "untouched"), ("mallory", "mallory")]
    # Two arguments that claim one row are refused.
    (tmp_path / "x").mkdir()
    shutil.copy(STUDENTS / "untouched.ipynb", tmp_path / "x" / "untouched.ipynb")
    with pytest.raises(ValueError, match="both claim student 'untouched'"):
        collect_submissions([tmp_path / "untouched", tmp_path / "x" / "untouched.ipynb"], sources)


def test_store_retries_failed_rows_and_escapes_formulas(tmp_path):
    store = GradebookStore(tmp_path / "g.csv")
    store.add({"student": "a", "notebook": "n", "status": "kernel died", "sha256": "1"})
    store.add({"student": "b", "notebook": "n", "status": "ok", "sha256": "2"})
    again = GradebookStore(tmp_path / "g.csv")
    assert not again.done("a", "n", "1") and again.done("a", "n", "1", retry=False)
    assert again.done("b", "n", "2") and not again.done("b", "n", "3")
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok")] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok"]


def test_release_refuses_to_write_over_sources(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SOURCE, src / "tiny.ipynb")
    before = (src / "tiny.ipynb").read_text()
    assert main(["release", str(src / "tiny.ipynb"), "--to", str(src), "--force"]) == 2
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(SOURCE, other / "old_source.ipynb")
    assert main(["release", str(src / "tiny.ipynb"), "--to", str(other), "--force"]) == 2
    assert (src / "tiny.ipynb").read_text() == before
    err = capsys.readouterr().err
    assert "holds the source notebook tiny.ipynb" in err and "holds old_source.ipynb" in err


def test_without_bwrap_grade_stops_with_one_line_naming_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    sandbox_problem.cache_clear()
    try:
        out = tmp_path / "g.csv"
        assert _grade(tmp_path, "--out", str(out)) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert "apt-get install bubblewrap" in err and "--unsandboxed" in err
        assert not out.exists()
    finally:
        monkeypatch.undo()
        sandbox_problem.cache_clear()


@needs_sandbox
def test_a_killed_grader_loses_at_most_the_row_in_progress(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from segtutor.grading.gradebook import GradebookStore

    out = tmp_path / "g.csv"
    names = ("honest_full", "honest_partial", "untouched")
    cmd = [sys.executable, "-m", "segtutor", "grade", *[str(STUDENTS / f"{n}.ipynb") for n in names],
           "--source", str(SOURCE), "--out", str(out), "--seed", "3", "--cell-timeout", "20", "--timeout", "120",
           "--memory", "1024"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    grader = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = out.with_name(out.name + ".store.json")
    deadline = time.monotonic() + 300
    while not store.exists() and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.2)
    from segtutor.grading.runner import descendants

    sandboxes = descendants(grader.pid)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    # bwrap --die-with-parent: the sandbox in progress dies with the grader.
    deadline = time.monotonic() + 30  # a wait for the kernel to reap them, not a timing claim
    while any(Path(f"/proc/{p}").exists() for p in sandboxes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in sandboxes if Path(f"/proc/{p}").exists()]
    first = GradebookStore(out).rows
    assert 1 <= len(first) <= len(names)
    # The rerun resumes: the saved rows are kept, the others are graded.
    assert main(cmd[3:]) == 0
    rows = GradebookStore(out).rows
    assert {k[0] for k in rows} == set(names)
    for key, row in first.items():
        assert rows[key]["graded_at"] == row["graded_at"]
    assert rows[("honest_full", "tiny.ipynb")]["total"] == "6"


def test_a_symlinked_submission_is_not_graded_as_its_target(tmp_path):
    from segtutor.grading.grade import build_job

    (tmp_path / "mallory").mkdir()
    (tmp_path / "mallory" / "tiny.ipynb").symlink_to(STUDENTS / "honest_full.ipynb")
    sources = load_sources([SOURCE])
    (sub,) = collect_submissions([tmp_path / "mallory"], sources)
    result = build_job(sub, sources, GradeOptions(seed=1))
    assert result.status == "invalid notebook" and result.total == 0
    assert "symbolic link" in result.notes[0]


@needs_sandbox
def test_course_notebooks_01_and_02_grade_full_and_blank_in_the_sandbox(tmp_path):
    """The real notebooks: the sources (solutions) score full marks, their releases 0."""
    from segtutor.grading.release import release

    sources = [ROOT / "notebooks" / "01_images_as_arrays.ipynb", ROOT / "notebooks" / "02_classical_segmentation.ipynb"]
    solution = tmp_path / "subs" / "solution"
    solution.mkdir(parents=True)
    for src in sources:
        shutil.copy(src, solution / src.name)
    release(sources, tmp_path / "subs" / "blank", log=lambda *a: None)
    out = tmp_path / "out" / "g.csv"
    assert main(["grade", str(tmp_path / "subs"), "--source", *map(str, sources), "--out", str(out), "--jobs", "2",
                 "--seed", "11", "--cell-timeout", "60", "--timeout", "300", "--memory", "2048"]) == 0
    rows = GradebookStore(out).rows
    assert len(rows) == 4
    for (student, notebook), row in rows.items():
        assert row["status"] == "ok", row
        assert row["total"] == (row["max"] if student == "solution" else "0"), row


def test_threads_asking_at_once_share_one_grading_package(monkeypatch):
    """Two submissions graded in threads of one process (grade_submission called directly) build one copy."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from segtutor.grading import sandbox

    built = []
    started = threading.Event()

    class SlowBuild:
        def __init__(self):
            built.append(self)
            started.set()
            threading.Event().wait(0.2)  # a real build takes seconds: the other threads ask meanwhile

    monkeypatch.setattr(sandbox, "_PACKAGE", [])
    monkeypatch.setattr(sandbox, "GradingPackage", SlowBuild)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda _: sandbox.grading_package(), range(4)))
    assert started.is_set() and len(built) == 1 and all(g is built[0] for g in got)
