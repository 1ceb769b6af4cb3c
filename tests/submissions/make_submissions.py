"""Regenerate the committed test submissions (run from the repository root).

    .venv/bin/python tests/submissions/make_submissions.py

``source/tiny.ipynb`` is a small source notebook with three exercises from
notebooks 00-02 (fraction_above, iou, bounding_box; 2 points each). Every
other notebook here is a student's copy of its release, honest or not; the
header comment of each attack says what it tries. ``tests/test_grading.py``
grades them all in one batch.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from segtutor.exercises.authoring import exercise_cells
from segtutor.grading.release import release_notebook

HERE = Path(__file__).resolve().parent

FRACTION = '''def my_fraction_above(image, threshold):
    """Fraction of pixels strictly above threshold."""
    ### BEGIN SOLUTION
    image = np.asarray(image)
    return float(np.count_nonzero(image > threshold) / image.size)
    ### END SOLUTION'''

IOU = '''def my_iou(pred, truth):
    """Intersection over union of two boolean masks."""
    ### BEGIN SOLUTION
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} and {truth.shape}")
    union = np.logical_or(pred, truth).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, truth).sum() / union)
    ### END SOLUTION'''

BOX = '''def my_bounding_box(mask):
    """(y1, x1, y2, x2) of a mask, ends exclusive; (0, 0, 0, 0) when empty."""
    ### BEGIN SOLUTION
    rows = np.flatnonzero(np.any(mask, axis=1))
    cols = np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
    ### END SOLUTION'''


def source_notebook():
    md = nbformat.v4.new_markdown_cell
    cells = [
        md("# A tiny assignment\nThree exercises from notebooks 00-02."),
        nbformat.v4.new_code_cell("import numpy as np\nfrom segtutor.exercises import check"),
    ]
    for name, src in (("fraction_above", FRACTION), ("iou", IOU), ("bounding_box", BOX)):
        cells.append(md(f"## Exercise: `{name}`"))
        cells += exercise_cells(name, src, points=2)
    cells.append(nbformat.v4.new_code_cell("from segtutor.metrics import iou\nprint(iou(np.ones((2, 2)), np.ones((2, 2))))"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def body(src: str) -> str:
    """A solution cell's honest code, without the markers."""
    return "\n".join(line for line in src.splitlines() if "### " not in line)


def student(released, replace: dict[int, str] | None = None, insert: dict[int, list[str]] | None = None,
            drop: tuple = ()):
    """A student's copy: replace cells by index, insert cells before an index, drop cells."""
    nb = nbformat.reads(nbformat.writes(released), as_version=4)
    for i, src in (replace or {}).items():
        nb.cells[i].source = src
    for i in sorted(insert or {}, reverse=True):
        nb.cells[i:i] = [nbformat.v4.new_code_cell(s) for s in insert[i]]
    nb.cells = [c for j, c in enumerate(nb.cells) if j not in drop]
    return nb


def _stable_ids(nb, prefix: str):
    """Cell ids from the position, so regenerating changes only what changed."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"{prefix}-{i}"[:64]
    return nb


def _write(nb, path: Path) -> None:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.parent.name + "-" + path.stem)
    nbformat.write(_stable_ids(nb, stem), path)


def main() -> None:
    src = source_notebook()
    (HERE / "source").mkdir(exist_ok=True)
    _write(src, HERE / "source" / "tiny.ipynb")
    rel = release_notebook(src, name="tiny.ipynb")
    # cell indices in the release: 3 fraction solution, 4 check, 6 iou, 7 check, 9 box, 10 check
    F, FC, I, IC, B, BC = 3, 4, 6, 7, 9, 10
    subs = {}
    subs["honest_full"] = student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)})
    subs["honest_partial"] = student(rel, {
        F: body(FRACTION),
        # Forgets the empty case: 0/0 gives nan, so the both-empty edge case fails.
        I: '''def my_iou(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    return np.logical_and(pred, truth).sum() / np.logical_or(pred, truth).sum()''',
    })
    subs["untouched"] = student(rel)
    subs["monkeypatch_check"] = student(rel, {
        F: "def my_fraction_above(image, threshold):\n    return 1.0",
        I: "def my_iou(pred, truth):\n    return 1.0",
    }, insert={2: ['''# attack: make every check and the grader's scoring say "passed"
import segtutor.exercises as E, segtutor.exercises._engine as engine
class R:
    passed, score = True, 1.0
E.check = lambda *a, **k: (print("all checks passed"), R())[1]
engine.Exercise.score = lambda self, cases, outcomes: {"rows": [], "n_passed": 1, "n_total": 1,
                                                       "fraction": 1.0, "attempted": True, "failure": None}
import segtutor.grading.grade as G
G.grade_submission = lambda *a, **k: None
check = E.check''']})
    subs["always_equal"] = student(rel, {
        F: '''class Yes:
    """Equal to everything, close to everything."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return True
    def __ge__(self, other): return True
    def __bool__(self): return True
    def __float__(self): raise TypeError("no")
def my_fraction_above(image, threshold):
    return Yes()''',
        I: "def my_iou(pred, truth):\n    return [Yes(), Yes()]",
        B: "def my_bounding_box(mask):\n    return (Yes(), Yes(), Yes(), Yes())",
    })
    subs["input_transformer"] = student(rel, {
        F: "def my_fraction_above(image, threshold):\n    return 0.25",
        I: "def my_iou(pred, truth):\n    return 0.25",
    }, insert={2: ['''# attack: every later cell (checks and the grader's probes) becomes `pass`
def _silence(lines):
    return ["pass\\n"]
get_ipython().input_transformers_post.append(_silence)''']})
    subs["sys_exit"] = student(rel, {
        F: body(FRACTION),
        I: "import sys\ndef my_iou(pred, truth):\n    sys.exit(0)",
        B: body(BOX),
    }, insert={3: ["import sys\nsys.exit(0)"]})
    subs["os_exit"] = student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)},
                              insert={11: ["import os\nos._exit(0)"]})
    subs["infinite_loop"] = student(rel, {
        F: body(FRACTION),
        I: "def my_iou(pred, truth):\n    while True:\n        pass",
        B: body(BOX),
    }, insert={3: ["while True:\n    pass"]})
    subs["stubborn_loop"] = student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)}, insert={11: [
        '''# attack: a loop that swallows the interrupt
import time
while True:
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass''']})
    subs["memory_numpy"] = student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)}, insert={11: [
        '''chunks = []
while True:
    chunks.append(np.ones(2**24))  # 128 MiB at a time, until something gives''']})
    subs["memory_mmap"] = student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)}, insert={11: [
        '''# shared mappings escape RLIMIT_DATA; the harness's watchdog must stop this one.
# It swallows the cell timeout's interrupt and, once over the limit, holds the
# memory until it is killed: on a loaded machine the memory limit, not the
# cell timeout or a watchdog that was slow to look, ends it. No race.
import mmap
import time
import numpy as np
m = mmap.mmap(-1, 4 << 30)
pages = np.frombuffer(m, dtype=np.uint8)
start = 0
while True:
    try:
        if start < len(pages):
            pages[start:start + (256 << 20):4096] = 1   # touch one byte per page, 256 MiB at a time, at C speed
            start += 256 << 20
        else:
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass''']})
    subs["edited_checks"] = student(rel, {
        F: body(FRACTION),
        I: "def my_iou(pred, truth):\n    return 0.5",
        IC: 'print("iou: all 28 checks passed. Well done!")',
        B: "def my_bounding_box(mask):\n    return (0, 0, 0, 0)",
    }, insert={11: ['# attack: fake probe output with a guessed tag\nfor i in range(40):\n    print("0" * 32, i, \'{"value": 1.0, "shape": [], "kind": "f"}\')']},
        drop=(FC, BC))
    for cell in subs["edited_checks"].cells:
        cell.metadata = {}
    subs["renamed"] = student(rel, {
        F: body(FRACTION),
        I: body(IOU).replace("def my_iou(", "def my_iou_v2("),
        IC: 'check("iou", my_iou_v2)',
        B: body(BOX),
    })
    subs["renamed"].cells[I].metadata["segtutor"] = {"exercise": "iou_v2", "function": "my_iou_v2"}
    subs.update(issue7_attacks(rel, F, I, B))
    subs.update(issue23_attacks(rel, F, I, B))
    out = HERE / "students"
    out.mkdir(exist_ok=True)
    for name, nb in subs.items():
        _write(nb, out / f"{name}.ipynb")
    (out / "not_json.ipynb").write_text('{"cells": [ this is not JSON\n')
    # Folder layout (attack class 6): mallory's folder holds her own (blank)
    # notebook plus copies that try to claim honest_full's and untouched's rows.
    mallory = out / "mallory"
    (mallory / "honest_full").mkdir(parents=True, exist_ok=True)
    _write(student(rel), mallory / "tiny.ipynb")
    _write(student(rel), mallory / "honest_full" / "tiny.ipynb")
    _write(student(rel, {F: body(FRACTION), I: body(IOU), B: body(BOX)}), mallory / "untouched.ipynb")
    # A student folder whose name is a spreadsheet formula.
    formula = out / "=HYPERLINK(1)"
    formula.mkdir(exist_ok=True)
    _write(student(rel, {F: body(FRACTION)}), formula / "tiny.ipynb")


def issue7_attacks(rel, F, I, B) -> dict:
    """Attacks of issue 7 that won against the unsandboxed grader (classes 1-5 and 7)."""
    honest = {F: body(FRACTION), I: body(IOU), B: body(BOX)}
    subs = {}
    # 1. Forge the probe's output from inside the probe: find the nonce on the
    # call stack and print an answer of one's own, then fail.
    subs["forge_stack"] = student(rel, {I: '''import sys
def my_iou(pred, truth):
    frame = sys._getframe(1)
    while frame is not None and "_nonce" not in frame.f_locals:
        frame = frame.f_back
    if frame is not None:
        i = frame.f_locals.get("i", 0)
        print(frame.f_locals["_nonce"], i, \'{"value": 1.0, "shape": [], "kind": "f"}\')
    raise NotImplementedError'''})
    # 1b. Rewrite the probe's error lines into answers on stdout: the grader
    # sees what a function returning 1.0 would have printed.
    subs["forge_stdout"] = student(rel, insert={2: ['''# attack: every "error" line the probes print becomes 1.0
import sys, re
class Rewrite:
    def __init__(self, inner): self.inner = inner
    def write(self, text):
        return self.inner.write(re.sub(r'\\{"error": "[^\\n]*\\}', \'{"value": 1.0, "shape": [], "kind": "f"}\', text))
    def flush(self): return self.inner.flush()
    def __getattr__(self, name): return getattr(self.inner, name)
sys.stdout = Rewrite(sys.stdout)''']})
    # 1c + 3. Read the run notebook, the grader's command line and any source
    # notebook with solutions; exec the solution cells found.
    subs["read_solutions"] = student(rel, {F: "# (nothing here)", I: "# (nothing here)", B: "# (nothing here)"}, insert={2: ['''# attack: look for the probes' notebook and the instructor's solutions
import glob, json, os
found = []
roots = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for name in ("cwd",):
            try:
                roots.append(os.readlink(f"/proc/{pid}/{name}"))
            except OSError:
                pass
        try:
            found.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
        except OSError:
            pass
roots += [os.getcwd(), "/submission", "/tmp", "/work", "/home", "/opt", "/srv", os.path.expanduser("~")]
seen = 0
for root in roots:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".venv", "site-packages", "proc", "sys")]
        seen += len(files)
        if seen > 50000:
            break
        for f in files:
            if f.endswith(".ipynb"):
                try:
                    nb = json.load(open(os.path.join(folder, f)))
                except Exception:
                    continue
                for cell in nb.get("cells", []):
                    src = "".join(cell.get("source", ""))
                    if "### BEGIN SOLUTION" in src or "_segtutor_probe" in src:
                        try:
                            exec(src.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), globals())
                        except Exception:
                            pass''']}, drop=(F, I, B))
    # 2. Hidden calls of the references and a forbidden library shortcut.
    subs["hidden_reference"] = student(rel, {
        F: '''import importlib
def my_fraction_above(image, threshold):
    return getattr(importlib.import_module("segtutor.arrays"), "fraction_above")(image, threshold)''',
        I: '''import importlib
def my_iou(pred, truth):
    return importlib.import_module("segtu" + "tor.metrics").__dict__["iou"](pred, truth)''',
        B: '''from skimage import measure as m
def my_bounding_box(mask):
    props = m.regionprops(np.asarray(mask).astype(int))
    return props[0].bbox if props else (0, 0, 0, 0)''',
    })
    # 4. Attack the grader and the next students: signal every process in
    # sight, plant an IPython startup file and a fake runner, then work honestly.
    subs["attack_grader"] = student(rel, honest, insert={2: ['''# attack: stop or kill every other process, poison later kernels
import os, signal
me = os.getpid()
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid != me:
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
open(os.path.join(startup, "00-evil.py"), "w").write("my_fraction_above = my_iou = my_bounding_box = lambda *a: 0\\n")
import segtutor, sys
for folder in [os.getcwd(), os.path.dirname(os.path.dirname(segtutor.__file__))] + sys.path:
    try:
        os.makedirs(os.path.join(folder, "segtutor", "grading"), exist_ok=True)
        open(os.path.join(folder, "segtutor", "grading", "runner.py"), "w").write("raise SystemExit(0)\\n")
    except OSError:
        pass''']})
    # 5. Escape the kill: a double-forked, detached process that outlives the
    # kernel and would attack later students.
    subs["fork_escape"] = student(rel, honest, insert={2: ['''# attack: a detached grandchild that should outlive grading
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sh", ["/bin/sh", "-c", "exec -a segtutor-escape-marker sleep 600"])
    os._exit(0)
os.wait()''']})
    # 7. Resources: flood stdout (a cell, and the probe: my_iou's first call
    # prints 4 MB, past the probe's cap, so its answers are cut off), fill
    # /tmp and HOME, then work honestly otherwise.
    subs["flood"] = student(rel, {**honest, I: body(IOU).replace(
        "def my_iou(pred, truth):\n",
        "def my_iou(pred, truth):\n    global FLOODED\n    if not globals().get('FLOODED'):\n"
        "        FLOODED = print('y' * (4 << 20)) or True\n")}, insert={2: ['''# attack: 64 MB of output and disk writes outside the run folder
import os, sys
chunk = "x" * (1 << 20)
for _ in range(64):
    sys.stdout.write(chunk)
for folder in ("/tmp", os.path.expanduser("~")):
    try:
        with open(os.path.join(folder, "ballast"), "wb") as f:
            for _ in range(300):
                f.write(b"\\0" * (1 << 20))
    except OSError:
        pass''']})
    return subs


STOLEN_SEARCH = '''# attack: import an installed copy of segtutor under another name
import importlib, os, site, sys, sysconfig
STOLEN = None
folders = set(sys.path) | set(site.getsitepackages()) | set(sysconfig.get_paths().values())
for root in ("/usr", "/opt", "/srv", "/home", "/root", "/work", "/tmp", sys.prefix, sys.base_prefix):
    for folder, dirs, files in os.walk(root):
        if folder.endswith(("site-packages", "dist-packages")):
            folders.add(folder)
            dirs[:] = []
for folder in sorted(f for f in folders if f and os.path.isdir(f)):
    copy = os.path.join(folder, "segtutor")
    if folder.startswith("/opt/segtutor-grading") or not os.path.isfile(os.path.join(copy, "metrics", "semantic.py")):
        continue
    link = f"/tmp/stolen{len(os.listdir('/tmp'))}"
    os.makedirs(link)
    os.symlink(copy, os.path.join(link, "stolen"))
    sys.path.insert(0, link)
    try:
        STOLEN = importlib.import_module("stolen")
        for name in ("arrays", "metrics", "boxes"):
            importlib.import_module("stolen." + name)
        STOLEN.metrics.iou(np.ones((2, 2)), np.ones((2, 2)))  # a stub would raise
        break
    except Exception:
        STOLEN = None'''

KILL_INIT = '''# attack: end the sandbox's init (the runner), then work honestly
import os, signal, time
for sig in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGPIPE", "SIGABRT",
            "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGXCPU", "SIGSTOP", "SIGKILL"):
    try:
        os.kill(1, getattr(signal, sig))
    except OSError:
        pass
    time.sleep(0.05)'''

FILL_DISK = '''# attack: write until every writable place is full
import os
block = bytes(1 << 20)
for folder in ("/", "/etc", "/opt", "/home", "/dev", "/usr", "/tmp", os.path.expanduser("~"), os.getcwd(), "/dev/shm"):
    try:
        with open(os.path.join(folder, "ballast"), "wb") as f:
            for _ in range(4096):
                f.write(block)
    except OSError:
        pass'''


def issue23_attacks(rel, F, I, B) -> dict:
    """Attacks of issue 23 (grading, round three) on the sandbox itself."""
    honest = {F: body(FRACTION), I: body(IOU), B: body(BOX)}
    subs = {}
    # An installed copy of the package (pip install ., conda, Binder) holds
    # every reference: find any segtutor folder but the grading copy, link it
    # under another name and call its references.
    subs["installed_copy"] = student(rel, {
        F: "def my_fraction_above(image, threshold):\n    return STOLEN.arrays.fraction_above(image, threshold)",
        I: "def my_iou(pred, truth):\n    return STOLEN.metrics.iou(pred, truth)",
        B: "def my_bounding_box(mask):\n"
           "    return tuple(int(v) for v in STOLEN.boxes.masks_to_boxes(np.asarray(mask)[None])[0])",
    }, insert={2: [STOLEN_SEARCH]})
    # PID 1 is the runner: signal it with everything that ends a process.
    subs["kill_init"] = student(rel, honest, insert={2: [KILL_INIT]})
    # Fill every folder of the sandbox (graded with --jobs 2): only the
    # size-capped tmpfs folders take anything; the root, /etc, /opt, /home,
    # /usr and /dev are read-only.
    subs["fill_disk"] = student(rel, honest, insert={2: [FILL_DISK]})
    # The private helpers iou is built from (issue 23 measured 4/7 with them).
    subs["private_helpers"] = student(rel, {**honest, I: '''from segtutor.metrics import semantic
def my_iou(pred, truth):
    inter, a, b = semantic._overlap_counts(pred, truth, "pooled")
    return float(semantic._ratio(inter, a + b - inter))'''})
    # A library shortcut the old hand-made list missed (4/4 unflagged in issue 23).
    subs["coco_bbox"] = student(rel, {**honest, B: '''from pycocotools import mask as coco
def my_bounding_box(mask):
    mask = np.asarray(mask)
    if not mask.any():
        return (0, 0, 0, 0)
    x, y, w, h = coco.toBbox(coco.encode(np.asfortranarray(mask.astype(np.uint8))))
    return (int(y), int(x), int(y + h), int(x + w))'''})
    return subs


if __name__ == "__main__":
    main()
