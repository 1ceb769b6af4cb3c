"""The exercise engine: check(), diagnoses, specs, and the authoring helper."""

from __future__ import annotations

import io

import numpy as np
import pytest
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

from segtutor.exercises import Case, Exercise, check, exercise_names, get_exercise, to_plain
from segtutor.exercises.authoring import exercise_cells


def quiet(name, func, **kw):
    return check(name, func, verbose=False, **kw)


# -- honest implementations written here, independently of the package ----

def iou(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError("shapes differ")
    union = (pred | truth).sum()
    return 1.0 if union == 0 else (pred & truth).sum() / union


def dice(pred, truth):
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError("shapes differ")
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else 2 * (pred & truth).sum() / total


def bounding_box(mask):
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return (0, 0, 0, 0)
    return (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)


def softmax_cross_entropy(logits, labels):
    from scipy.special import logsumexp

    z, y = np.asarray(logits, float), np.asarray(labels)
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError("label out of range")
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))


def gradient_step(w, x, y, learning_rate):
    w, x, y = np.asarray(w, float), np.asarray(x, float), np.asarray(y, float)
    errors = x @ w - y
    return w - learning_rate * 2 * x.T @ errors / len(y)


def dense_relu(x, weights, bias):
    x, weights, bias = np.asarray(x, float), np.asarray(weights, float), np.asarray(bias, float)
    if x.shape[1] != weights.shape[0] or bias.shape != (weights.shape[1],):
        raise ValueError("x, weights and bias do not fit")
    return np.maximum(x @ weights + bias, 0)


HONEST = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "gradient_step": gradient_step,
    "dense_relu": dense_relu,
    "fraction_above": lambda image, t: np.mean(np.asarray(image) > t),
    "to_grayscale": lambda rgb: rgb2gray(np.asarray(rgb)[..., :3]),  # the exercise ignores an alpha channel
    "bounding_box": bounding_box,
    "iou": iou,
    "dice": dice,
    "otsu_threshold": threshold_otsu,
}


def test_registry_has_the_agreed_exercises():
    assert {"fraction_above", "to_grayscale", "bounding_box", "iou", "dice", "otsu_threshold"} <= set(exercise_names())


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_implementation_passes_every_check(name):
    result = quiet(name, HONEST[name], seed=0)
    assert result.passed, result.report
    assert result.score == 1.0 and result.n_passed == result.n_total >= 8


@pytest.mark.parametrize("name", sorted(HONEST))
def test_the_package_reference_passes_its_own_checks(name):
    spec = get_exercise(name)
    assert quiet(name, spec.reference_function(), seed=1).passed


# How fast check() runs is measured by bench/bench_grading.py, not asserted here:
# a wall-clock bound fails on a busy 2-core machine for reasons that are not bugs.


def test_fixed_cases_hold_the_values_their_notes_state():
    spec = get_exercise("iou")
    values = [float(spec.expected(c)[1]) for c in spec.fixed]
    assert values == pytest.approx([1.0, 0.0, 2 / 6, 3 / 6, 1 / 2])
    dice_values = [float(get_exercise("dice").expected(c)[1]) for c in get_exercise("dice").fixed]
    assert dice_values == pytest.approx([1.0, 0.0, 0.5, 6 / 9, 2 / 3])
    box = get_exercise("bounding_box")
    assert to_plain(box.expected(box.fixed[0])[1]).tolist() == [3, 2, 6, 7]
    gray = get_exercise("to_grayscale")
    assert gray.expected(gray.fixed[1])[1].ravel() == pytest.approx([0.2125, 0.7154, 0.0721])


BUGS = [
    ("iou", lambda p, t: (p & t).sum() / (p.sum() + t.sum()), "intersection twice"),
    # The most common beginner version: right everywhere but on two empty masks (0 / 0).
    ("iou", lambda p, t: (p & t).sum() / (p | t).sum(), "the union is empty"),
    ("dice", lambda p, t: 2 * (p & t).sum() / (p.sum() + t.sum()), "|pred| + |truth| is 0"),
    ("iou", lambda p, t: 2 * (p & t).sum() / (p.sum() + t.sum()), "Dice"),
    ("iou", lambda p, t: 100 * iou(p, t), "percentage"),
    ("iou", lambda p, t: (p & t).sum() / t.sum(), "truth's area"),
    ("dice", lambda p, t: (p & t).sum() / (p.sum() + t.sum()), "factor 2"),
    ("dice", iou, "this is IoU"),
    ("bounding_box", lambda m: np.array(bounding_box(m))[[1, 0, 3, 2]], "(x, y)"),
    ("bounding_box", lambda m: np.array(bounding_box(m)) - [0, 0, 1, 1], "inclusive"),
    ("bounding_box", lambda m: np.array(bounding_box(m)) + [0, 0, 1, 0], "off by one"),
    ("to_grayscale", lambda rgb: np.asarray(rgb).mean(-1) / (255 if np.asarray(rgb).dtype == np.uint8 else 1), "plain mean"),
    ("to_grayscale", lambda rgb: rgb2gray(np.asarray(rgb)[..., ::-1]), "BGR"),
    ("to_grayscale", lambda rgb: np.asarray(rgb, float) @ [0.2125, 0.7154, 0.0721], "divide by 255"),
    ("fraction_above", lambda im, t: np.mean(np.asarray(im) >= t), ">="),
    ("fraction_above", lambda im, t: np.count_nonzero(np.asarray(im) > t), "number of pixels"),
    ("otsu_threshold", lambda im: float(np.mean(im)), "mean grey level"),
    ("softmax_cross_entropy", lambda z, y: softmax_cross_entropy(z, y) * len(y), "summed over the batch"),
    ("softmax_cross_entropy", lambda z, y: softmax_cross_entropy(z, y) / np.log(10), "log10"),
    ("gradient_step", lambda w, x, y, lr: 2 * np.asarray(w, float) - gradient_step(w, x, y, lr), "stepped uphill"),
    ("dense_relu", lambda x, w, b: np.asarray(x) @ np.asarray(w) + b, "forgot the ReLU"),
]


def test_learning_exercises_hold_the_values_their_notes_state():
    xent = get_exercise("softmax_cross_entropy")
    values = [float(xent.expected(c)[1]) for c in xent.fixed]
    assert values == pytest.approx([0.4170, np.log(4), (0.0067 + 5.0067) / 2, 1000.0], abs=1e-4)
    step = get_exercise("gradient_step")
    outs = [to_plain(step.expected(c)[1]).tolist() for c in step.fixed]
    assert outs[0] == pytest.approx([1.2]) and outs[1] == pytest.approx([2.0]) and outs[2] == pytest.approx([0.5, -0.5])
    dense = get_exercise("dense_relu")
    assert to_plain(dense.expected(dense.fixed[0])[1]).tolist() == [[3.0, 0.0]]


@pytest.mark.parametrize("name, func, words", BUGS, ids=[b[2] for b in BUGS])
def test_classic_mistakes_are_named(name, func, words):
    result = quiet(name, func, seed=0)
    assert not result.passed
    assert result.hint is not None and words in result.hint, result.report
    assert words in result.report


def test_transposed_output_is_diagnosed():
    spec = Exercise(
        name="transpose_me", function="my_t", signature="(a)", reference=lambda a: np.asarray(a) * 2,
        fixed=[Case((np.arange(6).reshape(2, 3),))],
    )
    result = spec.run(lambda a: (np.asarray(a) * 2).T, verbose=False)
    assert "(x, y)" in result.hint


def test_not_attempted_is_not_a_traceback():
    def my_iou(pred, truth):
        raise NotImplementedError("write your code here")

    out = io.StringIO()
    result = check("iou", my_iou, file=out)
    text = out.getvalue()
    assert not result.attempted and not result.passed and result.score == 0
    assert "not attempted yet" in text and "Traceback" not in text and len(text.splitlines()) == 1


@pytest.mark.parametrize(
    "func, words",
    [
        (lambda p, t: None, "forget `return`"),
        (lambda p, t: "0.5", "text"),
        (lambda p, t: {}["boom"], "KeyError"),
        (lambda p, t: object(), "expected a number"),
        (lambda: 1, "TypeError"),
    ],
)
def test_check_never_raises_for_student_bugs(func, words):
    out = io.StringIO()
    result = check("iou", func, file=out)
    assert not result.passed
    assert words in out.getvalue()


def test_always_equal_object_fools_nothing():
    class Yes(float):
        def __eq__(self, other):
            return True

    class Anything:
        def __eq__(self, other):
            return True

    assert not quiet("iou", lambda p, t: Anything()).passed
    # A float subclass is judged by its value, not by its __eq__.
    assert not quiet("iou", lambda p, t: Yes(0.123)).passed


def test_passing_the_result_instead_of_the_function_explains():
    out = io.StringIO()
    result = check("iou", 0.5, file=out)
    assert not result.passed and "without calling it" in out.getvalue()


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(ValueError, match="iou"):
        check("ioo", iou)


def test_report_shows_input_expected_and_got_for_the_first_failure():
    out = io.StringIO()
    check("iou", lambda p, t: 0.25, file=out, seed=0)
    text = out.getvalue()
    assert "input:" in text and "expected:  1.0" in text and "got:       0.25" in text
    assert text.count("expected:") == 1  # only the first failure is detailed


def test_shape_mismatch_edge_case_requires_an_error():
    def no_check(pred, truth):
        p, t = np.asarray(pred, bool).ravel(), np.asarray(truth, bool).ravel()
        return iou(p, t)  # flattening hides the mismatch of (4, 5) and (5, 4)

    result = quiet("iou", no_check, seed=0)
    assert not result.passed and result.n_passed == result.n_total - 1
    assert result.failure.group == "edge" and "raise" in result.hint


def test_function_that_always_raises_earns_nothing():
    def always_raises(pred, truth):
        raise ValueError("nope")

    assert quiet("iou", always_raises).n_passed == 0


def test_inputs_are_copied_so_in_place_edits_do_not_leak():
    def mutating(pred, truth):
        result = iou(pred, truth)
        pred[...] = False
        return result

    assert quiet("iou", mutating, seed=0).passed


def test_otsu_accepts_any_threshold_with_the_same_segmentation():
    spec = get_exercise("otsu_threshold")
    image = np.array([[10, 10, 200, 200]], np.uint8)
    assert spec.matches(to_plain(threshold_otsu(image)), to_plain(150.0), (image,))
    assert not spec.matches(to_plain(threshold_otsu(image)), to_plain(5.0), (image,))


def test_to_plain():
    assert to_plain(True).dtype == np.int64
    assert to_plain((1, 2)).tolist() == [1, 2]
    assert to_plain(np.float32(0.5)).shape == ()
    with pytest.raises(ValueError, match="None"):
        to_plain(None)
    with pytest.raises(ValueError, match="number"):
        to_plain([object()])


def test_spec_validation():
    with pytest.raises(ValueError, match="identifier"):
        Exercise(name="not valid", function="f", signature="()", reference="x.y")
    with pytest.raises(ValueError, match="dotted path"):
        Exercise(name="ok", function="f", signature="()", reference=3)


def test_grading_cases_are_reproducible_from_the_seed():
    spec = get_exercise("iou")
    a = spec.grading_cases([7, 1, 2])
    b = spec.grading_cases([7, 1, 2])
    c = spec.grading_cases([8, 1, 2])
    assert len(a) == len(spec.fixed) + spec.n_hidden + len(spec.edge)
    assert all(np.array_equal(x[1].args[0], y[1].args[0]) for x, y in zip(a, b))
    assert any(x[1].args[0].shape != y[1].args[0].shape or not np.array_equal(x[1].args[0], y[1].args[0])
               for x, y in zip(a, c))


# -- authoring ---------------------------------------------------------------

SOURCE = '''def my_iou(pred, truth):
    """IoU."""
    ### BEGIN SOLUTION
    return 1.0
    ### END SOLUTION'''


def test_exercise_cells_metadata_is_the_agreed_one():
    solution, check_cell = exercise_cells("iou", SOURCE, points=2)
    assert solution.cell_type == check_cell.cell_type == "code"
    assert solution.metadata == {
        "nbgrader": {"grade": False, "grade_id": "iou", "locked": False, "schema_version": 3,
                     "solution": True, "task": False},
        "segtutor": {"exercise": "iou", "function": "my_iou"},
    }
    assert check_cell.metadata == {
        "nbgrader": {"grade": True, "grade_id": "iou_check", "locked": True, "points": 2,
                     "schema_version": 3, "solution": False, "task": False},
        "segtutor": {"exercise": "iou"},
    }
    assert check_cell.source == 'check("iou", my_iou)'
    assert solution.source == SOURCE


@pytest.mark.parametrize(
    "name, source, points, words",
    [
        ("nope", SOURCE, 2, "no exercise called"),
        ("iou", SOURCE.replace("### END SOLUTION", ""), 2, "exactly one"),
        ("iou", "x = 1\n### BEGIN SOLUTION\n### END SOLUTION", 2, "defines no function"),
        ("iou", SOURCE, 0, "points"),
        ("iou", "def f(:\n### BEGIN SOLUTION\n### END SOLUTION", 2, "not valid Python"),
    ],
)
def test_exercise_cells_rejects_bad_input(name, source, points, words):
    with pytest.raises(ValueError, match=words):
        exercise_cells(name, source, points)


# -- check() is bounded: time, exits, output, arguments ----------------------------

def test_check_time_limit_stops_a_sleeping_or_looping_function():
    import time as _time

    def sleepy(pred, truth):
        _time.sleep(30)

    def loops(pred, truth):
        while True:
            try:
                pass
            except Exception:  # a broad except does not swallow the time limit
                pass

    for func in (sleepy, loops):
        start = _time.monotonic()
        result = check("iou", func, n_random=0, verbose=False, time_limit=0.2)
        assert not result.passed and "TimeoutError" in str(result.failure.got)
        # bounded by the limit per call, not by the function (30 s per call unbounded)
        assert _time.monotonic() - start < 25


def test_check_time_limit_is_cpu_time_so_a_busy_machine_does_not_fail_honest_work():
    # A call that is slow on the clock but computes little (as on a loaded machine) passes; only the
    # clock backstop (WALL_CLOCK_FACTOR times the limit) would stop it.
    import time as _time

    from segtutor.metrics import iou

    def slow_but_right(pred, truth):
        _time.sleep(0.4)
        return iou(pred, truth)

    result = check("iou", slow_but_right, n_random=0, verbose=False, time_limit=0.3)
    assert result.passed, result.report


def test_check_stops_after_the_first_call_that_runs_out_of_time():
    calls = []

    def loops(pred, truth):
        calls.append(1)
        while True:
            pass

    result = check("iou", loops, n_random=0, verbose=False, time_limit=0.2)
    assert not result.passed and len(calls) == 1


def test_check_reports_sys_exit_inside_the_function():
    import sys as _sys

    result = check("iou", lambda pred, truth: _sys.exit(3), verbose=False)
    assert not result.passed and "SystemExit" in str(result.failure.got)


def test_check_caps_what_the_function_prints(capsys):
    def chatty(image, threshold):
        print("x" * 1_000_000)
        return float((np.asarray(image) > threshold).mean())

    result = check("fraction_above", chatty)
    out = capsys.readouterr().out
    assert result.passed and len(out) < 5000
    assert "Your function printed" in out and "(first 1000 shown)" in out


@pytest.mark.parametrize("kwargs, words", [
    ({"n_random": 10**9}, "n_random must be an integer from 0 to 1000"),
    ({"n_random": -1}, "n_random"),
    ({"n_random": 2.5}, "n_random"),
    ({"time_limit": 0}, "time_limit"),
    ({"time_limit": float("nan")}, "time_limit"),
])
def test_check_refuses_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        check("iou", lambda p, t: 1.0, verbose=False, **kwargs)


def test_check_raises_under_nbgrader_only_when_a_check_fails(monkeypatch):
    from segtutor.arrays import fraction_above

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check("fraction_above", fraction_above, verbose=False).passed
    with pytest.raises(AssertionError, match="not attempted yet"):
        def stub(image, threshold):
            raise NotImplementedError
        check("fraction_above", stub, verbose=False)
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert check("fraction_above", stub, verbose=False).passed is False


def test_an_error_shows_the_line_of_the_students_code_that_raised():
    def my_box_iou(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return np.maximum(a[:, None, 0], b[None, :, 0])

    def my_nms(boxes, scores, iou_threshold):
        return my_box_iou(boxes[0], boxes)  # a 1-D box: IndexError inside the helper

    result = quiet("nms", my_nms)
    assert "IndexError" in result.report
    assert "raised in my_box_iou, line" in result.report and "np.maximum(a[:, None, 0], b[None, :, 0])" in result.report
    assert "input:" in result.report and "boxes[i:i+1]" in result.hint
