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


def main() -> None:
    src = source_notebook()
    (HERE / "source").mkdir(exist_ok=True)
    nbformat.write(src, HERE / "source" / "tiny.ipynb")
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
        '''# shared mappings escape RLIMIT_DATA; the harness's watchdog must stop this one
import mmap
import numpy as np
m = mmap.mmap(-1, 16 << 30)
pages = np.frombuffer(m, dtype=np.uint8)
for start in range(0, len(pages), 256 << 20):   # touch one byte per page, 256 MiB at a time, at C speed
    pages[start:start + (256 << 20):4096] = 1''']})
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
    out = HERE / "students"
    out.mkdir(exist_ok=True)
    for name, nb in subs.items():
        nbformat.write(nb, out / f"{name}.ipynb")
    (out / "not_json.ipynb").write_text('{"cells": [ this is not JSON\n')


if __name__ == "__main__":
    main()
