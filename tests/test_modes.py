"""Course modes, seeds and the environment report."""

import io
import subprocess
import sys

import numpy as np
import pytest

import segtutor
from segtutor import modes


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "class"),
        ({"SEGTUTOR_FAST": "1"}, "fast"),
        ({"CI": "true"}, "fast"),
        ({"CI": "true", "SEGTUTOR_FAST": "0"}, "class"),
        ({"SEGTUTOR_FAST": "yes"}, "fast"),
    ],
)
def test_mode_follows_environment(monkeypatch, env, expected):
    monkeypatch.delenv("SEGTUTOR_FAST", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert modes.mode() == expected


def test_sizes_pick_the_column_of_the_mode(monkeypatch):
    monkeypatch.setenv("SEGTUTOR_FAST", "1")
    fast = modes.sizes("03")
    monkeypatch.setenv("SEGTUTOR_FAST", "0")
    full = modes.sizes("03")
    assert fast.mode == "fast" and full.mode == "class"
    for name, (class_value, fast_value) in modes.SIZES["03"].items():
        assert getattr(full, name) == class_value
        assert getattr(fast, name) == fast_value


def test_fast_mode_is_never_bigger_than_class_mode():
    for notebook, table in modes.SIZES.items():
        for name, (class_value, fast_value) in table.items():
            if class_value is None:  # None means "all of it"
                continue
            assert fast_value is not None and fast_value <= class_value, (notebook, name)


def test_bad_mode_value_and_unknown_notebook_explain_the_fix(monkeypatch):
    monkeypatch.setenv("SEGTUTOR_FAST", "maybe")
    with pytest.raises(ValueError, match="SEGTUTOR_FAST=1"):
        modes.mode()
    monkeypatch.setenv("SEGTUTOR_FAST", "1")
    with pytest.raises(ValueError, match="expected one of"):
        modes.sizes("99")


@pytest.mark.parametrize("raw, expected", [("1", True), (" Yes ", True), ("on", True), ("0", False),
                                           ("false", False), ("", False), (None, None)])
def test_read_flag_reads_every_switch_the_same_way(monkeypatch, raw, expected):
    monkeypatch.delenv("SEGTUTOR_SOME_SWITCH", raising=False)
    if raw is not None:
        monkeypatch.setenv("SEGTUTOR_SOME_SWITCH", raw)
    assert modes.read_flag("SEGTUTOR_SOME_SWITCH") is expected


def test_read_flag_refuses_an_unknown_value_and_a_bad_name(monkeypatch):
    monkeypatch.setenv("SEGTUTOR_SOME_SWITCH", "sometimes")
    with pytest.raises(ValueError, match="SEGTUTOR_SOME_SWITCH='sometimes' is not understood"):
        modes.read_flag("SEGTUTOR_SOME_SWITCH")
    with pytest.raises(TypeError, match="name must be"):
        modes.read_flag(3)


def test_seed_everything_makes_numpy_reproducible():
    segtutor.seed_everything(3)
    a = np.random.rand(4)
    segtutor.seed_everything(3)
    assert np.array_equal(a, np.random.rand(4))
    with pytest.raises(ValueError, match="from 0 to 2"):
        segtutor.seed_everything(-1)
    with pytest.raises(ValueError, match="integer"):
        segtutor.seed_everything(1.5)


def test_import_is_light():
    code = "import sys, segtutor; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_doctor_reports_and_passes_here():
    buffer = io.StringIO()
    ok = segtutor.doctor(check_tensorflow=False, file=buffer)
    text = buffer.getvalue()
    assert ok, text
    for word in ("Python", "CPU threads", "Course mode", "numpy", "Widget front end"):
        assert word in text


def test_doctor_names_what_is_missing(monkeypatch):
    from segtutor import environment

    monkeypatch.setattr(environment, "_version", lambda name: None if name == "pycocotools" else "1.0")
    buffer = io.StringIO()
    assert not segtutor.doctor(check_tensorflow=False, file=buffer)
    assert "pycocotools is missing" in buffer.getvalue()
