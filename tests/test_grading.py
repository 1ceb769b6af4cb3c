"""segtutor grade: every committed attack gets what an honest reference says it deserves.

One batch grades all of ``tests/submissions/students`` (regenerate them with
``tests/submissions/make_submissions.py``), once per install mode: with this
checkout's editable install, and with a non-editable ``pip install`` of the
course (tests/non_editable.py, one install per session). Each batch is a
grader child process importing its copy; both grade at the same time, on
the session's background thread (tests/notebook_runs.py), queued when
collection ends, so they run while other tests do. The grader's ``main`` in
the test's process is exercised by the rerun tests. What a submission deserves is computed here, in
the test's process, by running the function it *really* defines on the same
hidden cases: a cheat must not beat that, whichever copy of the package the
grader and the sandbox hold.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from segtutor.exercises import get_exercise
from segtutor.exercises._engine import run_student
from segtutor.cli import main
from segtutor.grading.flags import suspicious_code
from segtutor.grading.grade import GradeOptions, case_seed, grade_submission, load_sources
from segtutor.grading.probe import decode_outcome, parse_probe_output
from segtutor.grading.sandbox import sandbox_problem

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "submissions" / "source" / "tiny.ipynb"
STUDENTS = HERE / "submissions" / "students"
SEED = 1234
POINTS = {"fraction_above": 2.0, "iou": 2.0, "bounding_box": 2.0}
ARGS = ["--source", str(SOURCE), "--seed", str(SEED), "--jobs", "2", "--cell-timeout", "10",
        "--probe-timeout", "15", "--timeout", "40", "--memory", "1024"]


# -- what each exercise deserves, computed independently ---------------------

def fraction_above(image, threshold):
    return float(np.mean(np.asarray(image) > threshold))


def iou(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError("shapes differ")
    union = (pred | truth).sum()
    return 1.0 if union == 0 else float((pred & truth).sum() / union)


def iou_no_empty_case(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    with np.errstate(all="ignore"):
        return (pred & truth).sum() / (pred | truth).sum()


def bounding_box(mask):
    ys, xs = np.nonzero(mask)
    return (0, 0, 0, 0) if ys.size == 0 else (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)


def deserved(student: str, name: str, func) -> float:
    """Points the function truly earns on this student's hidden cases."""
    if func is None:
        return 0.0
    spec = get_exercise(name)
    cases = spec.grading_cases(case_seed(SEED, student, name))
    scored = spec.score(cases, [run_student(func, c) for _, c in cases])
    return round(POINTS[name] * scored.fraction, 2)


def constant(value):
    return lambda *args: value


CORRECT = {"fraction_above": fraction_above, "iou": iou, "bounding_box": bounding_box}
NOTHING = dict.fromkeys(POINTS)

EXPECTED = {
    # student: (functions it really has, status)
    "honest_full": (CORRECT, "ok"),
    "honest_partial": ({"fraction_above": fraction_above, "iou": iou_no_empty_case, "bounding_box": None}, "ok"),
    "untouched": (NOTHING, "ok"),
    "monkeypatch_check": ({"fraction_above": constant(1.0), "iou": constant(1.0), "bounding_box": None}, "ok"),
    "always_equal": (NOTHING, "ok"),
    "input_transformer": (NOTHING, "incomplete"),
    "sys_exit": ({"fraction_above": fraction_above, "iou": None, "bounding_box": bounding_box}, "ok"),
    "os_exit": (NOTHING, "kernel died"),
    "infinite_loop": ({"fraction_above": fraction_above, "iou": None, "bounding_box": bounding_box}, "incomplete"),
    "stubborn_loop": (NOTHING, "timeout"),
    "memory_numpy": (CORRECT, "ok"),
    "memory_mmap": (NOTHING, "memory limit"),
    "edited_checks": ({"fraction_above": fraction_above, "iou": constant(0.5),
                       "bounding_box": constant((0, 0, 0, 0))}, "ok"),
    "renamed": ({"fraction_above": fraction_above, "iou": None, "bounding_box": bounding_box}, "incomplete"),
    "not_json": (NOTHING, "invalid notebook"),
    # issue 7, class 1: forged transcripts gain nothing over what the function computes
    "forge_stack": (NOTHING, "ok"),
    "forge_stdout": (dict.fromkeys(POINTS, constant(1.0)), "ok"),
    # class 1c and 3: nothing to read in the sandbox, so the solution cells are never found
    "read_solutions": (NOTHING, "incomplete"),
    # class 2: the references are stubs in the sandbox; regionprops is forbidden for bounding_box
    "hidden_reference": (NOTHING, "ok"),
    # class 4 and 5: the grader and the other students are out of reach
    "attack_grader": (CORRECT, "ok"),
    "fork_escape": (CORRECT, "ok"),
    # class 6: mallory's nested copies claim nobody else's row; a formula name is escaped
    "mallory": (NOTHING, "ok"),
    "=HYPERLINK(1)": ({"fraction_above": fraction_above, "iou": None, "bounding_box": None}, "ok"),
    # class 7: my_iou's first call prints past the probe's byte cap, so its answers are cut off
    "flood": ({"fraction_above": fraction_above, "iou": None, "bounding_box": bounding_box}, "incomplete"),
    # issue 23: an installed copy of the package is hidden, so its references are never found
    "installed_copy": (NOTHING, "ok"),
    # issue 23: every ending signal sent to the runner (PID 1) is ignored
    "kill_init": (CORRECT, "ok"),
    # issue 23: writing until full (at --jobs 2) fills only the capped tmpfs folders
    "fill_disk": (CORRECT, "ok"),
    # issue 23: the private helpers a reference is built from are stubs too
    "private_helpers": ({"fraction_above": fraction_above, "iou": None, "bounding_box": bounding_box}, "ok"),
    # issue 23: pycocotools' toBbox is forbidden for bounding_box (it scored 4/4 unflagged)
    "coco_bbox": ({"fraction_above": fraction_above, "iou": iou, "bounding_box": None}, "ok"),
}


BATCHES_JOB = "grading-batches"


def grade_batches(modes, folder: Path, site: Path | None) -> dict:
    """Grade the attack batch once per install mode in ``modes``, all at the same time.

    Each batch is a grader child process (``--jobs 2``): the editable one
    imports this checkout, the non-editable one the pip-installed copy at
    ``site`` (every reference in it: the sandbox must hide that copy). One
    batch's waits (a notebook held to its timeout) pass while the other
    computes. Returns ``{mode: (gradebook, rows, seconds)}`` once all are done.
    """
    started = {}
    try:
        for mode in sorted(modes):
            out = folder / mode / "gradebook.csv"
            out.parent.mkdir(parents=True)
            env = dict(os.environ)
            if mode == "non-editable":
                env["PYTHONPATH"] = str(site)
                where = subprocess.run([sys.executable, "-c", "import segtutor; print(segtutor.__file__)"],
                                       capture_output=True, text=True, env=env, cwd=out.parent, timeout=300)
                assert where.stdout.strip().startswith(str(site / "segtutor")), (where.stdout, where.stderr[-2000:])
            log = out.parent / "grader.log"
            with open(log, "w") as sink:  # a file, not a pipe: nobody reads it until the batch ends
                child = subprocess.Popen([sys.executable, "-m", "segtutor", "grade", str(STUDENTS),
                                          "--out", str(out), "--results-json", *ARGS], stdout=sink,
                                         stderr=subprocess.STDOUT, env=env, cwd=out.parent)
            started[mode] = (child, out, log, time.monotonic())
        results = {}
        for mode, (child, out, log, start) in started.items():
            assert child.wait(timeout=3600) == 0, f"{mode} batch:\n{log.read_text()[-3000:]}"
            results[mode] = (out, read_rows(out), time.monotonic() - start)
        return results
    finally:
        for child, *_ in started.values():
            if child.poll() is None:
                child.kill()
                child.wait()


def queue_in_background(config, items):
    """Queue the selected batches on the session's background thread (tests/conftest.py), after the notebooks."""
    modes = {item.callspec.params["batch"] for item in items
             if "batch" in getattr(getattr(item, "callspec", None), "params", {})}
    if not modes or sandbox_problem() is not None:
        return
    import non_editable
    from notebook_runs import runs_of

    runs = runs_of(config)
    site_job = non_editable.queue(config) if "non-editable" in modes else None
    folder = Path(tempfile.mkdtemp(prefix="segtutor-grades-"))
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    # The thread runs its jobs in order: the install is done when the batches start.
    runs.submit(BATCHES_JOB, lambda: grade_batches(modes, folder, runs.job(site_job).result() if site_job else None))


@pytest.fixture(scope="module")
def batches(pytestconfig, tmp_path_factory):
    """``{mode: (gradebook, rows, seconds)}``, graded in the background since the session started its tests.

    Both batches finish before any test reads them (``test_no_process_outlives_its_sandbox`` looks at
    every process).
    """
    if sandbox_problem() is not None:
        # Several attacks signal every process they can see: never run them outside the sandbox.
        pytest.skip(f"no grading sandbox: {sandbox_problem()}")
    from notebook_runs import runs_of

    queued = runs_of(pytestconfig).job(BATCHES_JOB)
    if queued is not None:
        return queued.result()
    # Not queued (this module imported without the tests' conftest): grade here.
    import non_editable

    site = non_editable.install(tmp_path_factory.mktemp("prefix") / "lib" / "site-packages")
    return grade_batches({"editable", "non-editable"}, tmp_path_factory.mktemp("grades"), site)


@pytest.fixture(scope="module", params=["editable", "non-editable"])
def batch(request, batches):
    return batches[request.param]


def read_rows(out):
    with open(out, newline="") as f:
        # A spreadsheet-formula name is stored with a leading quote.
        return {r["student"][1:] if r["student"][:2] == "'=" else r["student"]: r for r in csv.DictReader(f)}


def test_every_submission_gets_a_row(batch):
    out, rows, elapsed = batch
    assert set(rows) == set(EXPECTED)
    header = out.read_text().splitlines()[0].split(",")
    assert header[:5] == ["student", "notebook", "fraction_above", "iou", "bounding_box"]
    assert {"total", "status", "flags", "seed"} <= set(header)
    assert all(r["seed"] == str(SEED) for r in rows.values())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_score_is_what_an_honest_reference_says(batch, student):
    _, rows, _ = batch
    funcs, status = EXPECTED[student]
    row = rows[student]
    assert row["status"] == status, row
    want = {name: deserved(student, name, funcs[name]) for name in POINTS}
    got = {name: float(row[name]) for name in POINTS}
    assert got == pytest.approx(want, abs=0.011), row
    assert float(row["total"]) == pytest.approx(sum(want.values()), abs=0.03)


def test_the_reference_scores_are_not_trivial(batch):
    _, rows, _ = batch
    assert float(rows["honest_full"]["total"]) == 6
    assert float(rows["untouched"]["total"]) == 0
    # the partial solution misses exactly two cases of iou: two empty masks, and shapes (1, 3) and (3, 3)
    # that NumPy broadcasts (it has no shape check)
    spec = get_exercise("iou")
    n = len(spec.grading_cases([0]))
    assert float(rows["honest_partial"]["iou"]) == pytest.approx(round(2 * (n - 2) / n, 2))
    for cheat in ("monkeypatch_check", "always_equal", "input_transformer", "edited_checks"):
        assert float(rows[cheat]["total"]) < 3, cheat


def test_suspicious_code_is_flagged(batch):
    _, rows, _ = batch
    assert "uses reference: fraction_above" in rows["hidden_reference"]["flags"]
    assert "forbidden call: bounding_box (skimage.measure.regionprops)" in rows["hidden_reference"]["flags"]
    assert "bounding_box: uses skimage.measure.regionprops (forbidden), scored 0" in rows["hidden_reference"]["notes"]
    assert "forbidden call: bounding_box (pycocotools.mask.toBbox)" in rows["coco_bbox"]["flags"]
    assert "input transformers" in rows["input_transformer"]["flags"]
    assert "comparison override" in rows["always_equal"]["flags"]
    assert "exit call" in rows["os_exit"]["flags"]
    assert "grader names" in rows["monkeypatch_check"]["flags"]
    assert rows["honest_full"]["flags"] == "" and rows["honest_partial"]["flags"] == ""


def test_feedback_and_results_json(batch):
    out, rows, _ = batch
    text = (out.parent / "feedback" / "honest_partial.tiny.txt").read_text()
    # the same report check() prints, with the points
    n = len(get_exercise("iou").grading_cases([0]))
    # Two failures: the empty case, and shapes (1, 3) and (3, 3) that NumPy broadcasts without a shape check.
    points = deserved("honest_partial", "iou", iou_no_empty_case)
    assert f"iou: {points:g} / 2 points. {n - 2} of {n} checks passed." in text
    assert "First failed check (edge): two empty masks" in text
    assert "expected:  1.0" in text and "got:       nan" in text
    assert "bounding_box: 0 / 2 points. not attempted yet" in text
    assert "not JSON" not in text
    bad = (out.parent / "feedback" / "not_json.tiny.txt").read_text()
    assert "could not be read as a notebook" in bad
    results = json.loads((out.parent / "results" / "honest_full" / "results.json").read_text())
    assert results["score"] == 6 and [t["max_score"] for t in results["tests"]] == [2, 2, 2]
    assert results["tests"][1]["output"].startswith(f"iou: 2 / 2 points. all {n} checks passed. Well done!")


def test_rerun_skips_graded_submissions_unless_forced(batch, tmp_path, capsys):
    out, rows, _ = batch
    copy = tmp_path / "gradebook.csv"
    shutil.copy(out, copy)
    shutil.copy(out.with_name(out.name + ".store.json"), tmp_path / "gradebook.csv.store.json")
    # --keep-failed: the rows that ended in timeout or kernel died are not retried.
    assert main(["grade", str(STUDENTS), "--out", str(copy), "--keep-failed", *ARGS]) == 0
    assert f"skipped {len(EXPECTED)}" in capsys.readouterr().out
    assert main(["grade", str(STUDENTS / "honest_full.ipynb"), "--out", str(copy), "--force", *ARGS]) == 0
    regraded = read_rows(copy)
    assert set(regraded) == set(rows)
    assert regraded["honest_full"]["total"] == "6"


def test_network_is_cut_with_no_network_when_unsandboxed(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    nb = nbformat.read(STUDENTS / "honest_full.ipynb", as_version=4)
    # Correct only when the kernel sees no network interface but loopback.
    nb.cells[3].source = (
        "import socket\n"
        "def my_fraction_above(image, threshold):\n"
        "    alone = [n for _, n in socket.if_nameindex()] == ['lo']\n"
        "    return float((np.asarray(image) > threshold).mean()) if alone else -1.0\n"
    )
    path = tmp_path / "netcheck.ipynb"
    nbformat.write(nb, path)
    sources = load_sources([SOURCE])
    options = GradeOptions(seed=SEED, cell_timeout=10, probe_timeout=10, notebook_timeout=60, no_network=True,
                           sandbox=False)
    result = grade_submission(path, sources, options)
    assert result.status == "ok", result.notes
    assert result.scores["fraction_above"] == 2.0


def test_probe_output_parsing_ignores_forgeries():
    nonce = "ab" * 16
    text = "\n".join([
        "0" * 32 + ' 0 {"value": 1.0, "shape": [], "kind": "f"}',  # wrong nonce
        nonce + ' 0 {"value": 0.5, "shape": [], "kind": "f"}',
        nonce + ' 0 {"value": 1.0, "shape": [], "kind": "f"}',  # a second, different line: case 0 is wrong
        nonce + ' 5 {"value": 2.0, "shape": [], "kind": "f"}',
        nonce + ' 5 {"kind": "f", "shape": [], "value": 2.0}',  # the same answer twice is one answer
        nonce + " 1 not json",
        nonce + ' 2 {"value": [[1, 2]], "shape": [2], "kind": "i"}',  # shape lies
        nonce + ' 3 {"value": ["a"], "shape": [1], "kind": "f"}',
        nonce + ' 4 {"__reduce__": "os.system"}',
    ])
    found = parse_probe_output(text, nonce)
    assert decode_outcome(found[0]) == ("bad", "conflicting answers for this case were printed")
    assert decode_outcome(found[5])[1] == 2.0
    assert 1 not in found
    assert decode_outcome(found[2])[0] == "bad"
    assert decode_outcome(found[3])[0] == "bad"
    assert decode_outcome(found[4])[0] == "bad"
    assert decode_outcome(None)[0] == "error"


def test_flags_are_hints_on_text():
    assert suspicious_code(["import numpy as np\nfrom segtutor.exercises import check\ncheck('iou', my_iou)"]) == []
    flags = suspicious_code(
        ["open('../../x', 'w').write('1')", "def my_iou(p, t):\n    from segtutor.metrics import iou\n    return iou(p, t)"],
        {"iou": ("my_iou", "segtutor.metrics.iou")},
    )
    assert {"../ path", "file write", "uses reference: iou"} <= set(flags)


def test_every_row_is_sandboxed_and_hashed(batch):
    out, rows, _ = batch
    assert {r["sandbox"] for r in rows.values()} == {"bwrap"}
    for name in ("honest_full", "forge_stack"):
        assert rows[name]["sha256"] == hashlib.sha256((STUDENTS / f"{name}.ipynb").read_bytes()).hexdigest()
    assert rows["mallory"]["sha256"] == hashlib.sha256((STUDENTS / "mallory" / "tiny.ipynb").read_bytes()).hexdigest()
    # The CSV holds the formula name escaped, never as a formula cell.
    text = out.read_text()
    assert "'=HYPERLINK(1)" in text and "\n=HYPERLINK" not in text


def test_no_process_outlives_its_sandbox(batch):
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        assert b"segtutor-escape-marker" not in cmdline


def test_probe_flood_is_cut_at_the_cap(batch):
    _, rows, _ = batch
    assert "iou: output past" in rows["flood"]["notes"]

