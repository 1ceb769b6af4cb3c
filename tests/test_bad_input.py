"""Every public callable of segtutor, driven with bad input (issue 11).

The callables come from the ``__all__`` lists of every public module, so a
function added later is fuzzed without editing this file; if its required
arguments have names the registry in tests/_badinput.py does not know, the
coverage test below fails and says which entry to add.

For each callable, hypothesis picks a few (parameter, bad value) pairs from
the full list (``derandomize=True``: the same ones on every run) and the call
must end ``clear``: succeed as documented, or raise TypeError/ValueError/
FileNotFoundError from segtutor code naming the argument. See
tests/_badinput.py for the classes; bench/bench_bad_input.py runs every pair
and prints the counts.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _badinput as fz

# Pairs hypothesis draws per callable; the bench tries all of them.
EXAMPLES_PER_CALLABLE = 6

CALLABLES = sorted(q for q in fz.public_callables() if not fz.excluded_reason(q))


def test_discovery_walks_every_public_module():
    names = fz.public_callables()
    # A sample from several modules, widgets included through their own __all__.
    for expected in ("segtutor.boxes.box_area", "segtutor.interpret.grad_cam", "segtutor.viz.draw_boxes",
                     "segtutor.widgets.kernels.KernelPlayground", "segtutor.models.cnn.augmenter"):
        assert expected in names
    assert len(CALLABLES) > 150


def test_every_public_module_lists_its_names():
    missing = [m for m in fz.modules_without_all() if not fz.excluded_reason(m + ".x")]
    assert not missing, f"public modules without __all__: {missing}"


def test_widgets_package_lists_every_widget_class():
    import segtutor.widgets as widgets
    from segtutor.widgets._base import Visualiser

    classes = {q.rsplit(".", 1)[1] for q, obj in fz.public_callables().items()
               if inspect.isclass(obj) and issubclass(obj, Visualiser) and obj is not Visualiser}
    assert set(widgets.__all__) == classes
    assert all(getattr(widgets, name).__name__ == name for name in widgets.__all__)


def test_exclusions_stay_short():
    # No subpackage is left out; single callables only where every accepted value trains a model.
    # 18: issue 28 added five domain-adaptation trainers (segtutor.semi.adapt), each a U-Net training per call;
    # 19: and segtutor.semi.randomise.randomised_source, the same training on randomised copies (its copies come
    # from randomise_look, which the registry does test).
    assert not fz.EXCLUDED_MODULES and len(fz.EXCLUDED_CALLABLES) <= 19


@pytest.mark.parametrize("qualname", CALLABLES)
def test_registry_has_valid_examples(qualname):
    if fz.missing_program(qualname):
        pytest.skip(fz.missing_program(qualname))
    func = fz.public_callables()[qualname]
    missing = fz.missing_examples(qualname, func)
    assert not missing, (f"{qualname} needs example values for {missing}: add them to BY_NAME or BY_CALLABLE "
                         "in tests/_badinput.py")
    with fz.memory_cap():
        assert fz.baseline_ok(qualname), f"{qualname} rejects the registry's valid arguments; fix the registry entry"


@pytest.mark.parametrize("qualname", CALLABLES)
def test_bad_input_gets_a_clear_answer(qualname):
    if fz.missing_program(qualname):
        pytest.skip(fz.missing_program(qualname))
    func = fz.public_callables()[qualname]
    all_cases = fz.cases(qualname, func)
    if not all_cases:
        pytest.skip("no parameters")

    @settings(max_examples=min(EXAMPLES_PER_CALLABLE, len(all_cases)), deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(all_cases))
    def check(case):
        param, bad = case
        o = fz.run_case(qualname, param, bad)
        assert o.outcome == "clear", f"{o.outcome}: {qualname}({param}=<{bad.kind}>): {o.detail}"

    with fz.memory_cap():
        check()


@pytest.mark.parametrize("group, qualname, param, bad", fz.ISSUE24_CASES,
                         ids=[f"{g}:{q.rsplit('.', 1)[1]}({p}={b.kind})" for g, q, p, b in fz.ISSUE24_CASES])
def test_issue24_faults_get_one_clear_error(group, qualname, param, bad):
    with fz.memory_cap():
        o = fz.run_case(qualname, param, bad)
    assert o.outcome == "clear" and not o.detail.startswith("returned"), f"{o.outcome}: {o.detail}"


def test_issue24_legitimate_extremes_get_the_right_answer(tmp_path):
    from PIL import Image

    from segtutor import arrays, boxes, classical, interpret
    from segtutor.datasets.folder import read_mask
    from segtutor.metrics import semantic

    # Spans past float64's range: halving inside keeps the exact answer.
    np.testing.assert_array_equal(arrays.intensity_window(np.array([[-1e308, 0.0, 1e308]]), -1e308, 1e308),
                                  [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(interpret.normalise(np.array([[1e308, -1e308]])), [[1.0, 0.0]])
    counts, edges = arrays.histogram(np.array([[1e308, -1e308, 0.0]]), bins=2)
    assert counts.tolist() == [1, 2] and edges[0] == -1e308 and edges[-1] == 1e308
    # Superpixel ids are names: huge, bool and uint64 ids give the answer of small ones.
    image = np.random.default_rng(0).random((16, 16))
    ids = np.zeros((16, 16), np.int64)
    ids[:8] = 1
    expected = classical.superpixel_foreground(image, ids, threshold=0.45)
    for other in (ids * 10**12, ids.astype(bool), ids.astype(np.uint64) * np.uint64(2**63 + 1)):
        np.testing.assert_array_equal(classical.superpixel_foreground(image, other, threshold=0.45), expected)
    # Masks without pixels have empty boxes; uint64 labels past 2**63 do not wrap.
    for shape in ((0, 0), (0, 5), (5, 0, 0)):
        assert not boxes.masks_to_boxes(np.zeros(shape, bool)).any()
    big = np.full((2, 2), 2**63 + 7, np.uint64)
    assert semantic.pixel_accuracy(big, big) == 1.0
    assert boxes.box_area(np.array([[0, 0, 2**31 - 1, 2**31 - 1]], np.int32))[0] == (2**31 - 1) ** 2
    # A black-and-white mask saved in 16 bits reads as 0 and 1, as its 8-bit twin does.
    white = np.zeros((4, 4), np.uint16)
    white[1:3, 1:3] = 65535
    Image.fromarray(white).save(tmp_path / "mask16.png")
    assert read_mask(tmp_path / "mask16.png").tolist() == (white // 65535).tolist()
