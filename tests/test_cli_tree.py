"""The one ``segtutor`` parser tree: every subcommand, every option's default in --help, exit status 2 on bad input.

Fast on purpose: every refusal here comes before any training, kernel or sandbox starts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from segtutor import cli
from segtutor._validate import MAX_JOBS, check_jobs
from segtutor.training.shipped import SHIPPED

ROOT = Path(__file__).resolve().parent.parent


def _subcommands(parser, prefix=()):
    """``(("train",), parser), (("weights", "shapes"), parser), ...`` for every (nested) subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _subcommands(sub, prefix + (name,))


def test_one_tree_holds_every_subcommand():
    names = {" ".join(path) for path, _ in _subcommands(cli.build_parser())}
    assert set(cli.COMMANDS) <= names
    assert {f"weights {n}" for n in SHIPPED if n != "ablation"} <= names
    assert "ablation" in names


def _expected_default(action) -> str:
    if action.required:
        return "(required)"
    if action.nargs == 0:
        return "(default: off)"
    if isinstance(action.default, tuple):
        return f"(default: {' '.join(map(str, action.default))})"
    return f"(default: {action.default})"


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in _subcommands(cli.build_parser())])
def test_each_help_lists_every_option_with_its_default(path):
    parser = dict((" ".join(p), s) for p, s in _subcommands(cli.build_parser()))[path]
    text = " ".join(cli.help_text(path).split())
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"
               and not isinstance(a, argparse._SubParsersAction)]
    # --help lists the options in order: each one's entry runs from its flag to the next option's flag
    cursor = text.index("options:")
    starts = []
    for action in options:
        flag = max(action.option_strings, key=len)
        cursor = text.index(f" {flag}", cursor)
        starts.append(cursor)
        cursor += len(flag)
    for action, start, end in zip(options, starts, starts[1:] + [len(text)]):
        entry = text[start:end]
        assert _expected_default(action) in entry, (path, entry)


def test_train_help_keeps_its_model_choices_and_defaults():
    from segtutor.training import DEFAULTS

    text = " ".join(cli.help_text("train").split())
    assert "{unet,deeplab,maskrcnn}" in text
    for key, value in DEFAULTS.items():
        assert f"(default: {value})" in text, key


def _status_and_one_line(capsys, argv) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse's own refusals
        code = stop.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("segtutor"), lines[0]
    return code, lines[0]


@pytest.mark.parametrize("argv, fragment", [
    (["nonsense"], "invalid choice"),
    (["train", "--data", "shapes", "--bogus"], "unrecognized arguments"),
    (["train", "--data", "shapes", "--steps", "many"], "invalid int value"),
    (["train", "--data", "shapes", "--steps", "0"], "steps (--steps) should be at least 1"),
    (["train", "--data", "shapes", "--image-size", "40"], "image_size (--image-size) should be a multiple of 16"),
    (["train", "--data", "shapes", "--val-fraction", "2"], "val_fraction (--val-fraction)"),
    (["train", "--steps", "3"], "--data"),
    (["weights"], "RECIPE"),
    (["weights", "shapes"], "--out"),
    (["weights", "shapes", "--out", "w", "--steps", "0"], "steps (--steps) should be at least 1"),
    (["weights", "nuclei", "--out", "w", "--models", "vgg"], "models (--models)"),
    (["weights", "nuclei-maskrcnn", "--out", "w", "--n-train", "3"], "n_train (--n-train)"),
    (["weights", "nuclei-maskrcnn", "--out", "w", "--data", "big"], "data (--data) should be 'vary' or 'scaled'"),
    (["weights", "nuclei", "--out", "w", "--data", "big"], "data (--data) should be 'scaled' or 'vary'"),
    (["ablation", "--out", "a.json", "--n-eval", "0"], "n_eval (--n-eval)"),
    (["release", "--to", "x"], "sources"),
    (["grade", "subs", "--out", "g.csv", "--jobs", "0"], "--jobs should be at least 1"),
    (["grade", "subs", "--out", "g.csv", "--jobs", str(MAX_JOBS + 1)], f"--jobs should be at most {MAX_JOBS}"),
    (["collect", "x"], "--to"),
    (["examples", "--out", ""], "out should name a folder"),
    (["examples", "--out", "d", "--format", "coco"], "unrecognized arguments"),
])
def test_every_input_error_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)  # nothing may be written; if it were, it lands here
    code, line = _status_and_one_line(capsys, argv)
    assert code == 2, (argv, line)
    assert fragment in line, (argv, line)
    assert not any(tmp_path.iterdir()), list(tmp_path.iterdir())


def test_jobs_is_checked_once_with_one_limit():
    assert check_jobs(1) == 1 and check_jobs(MAX_JOBS) == MAX_JOBS
    for bad in (0, MAX_JOBS + 1, 2.0, True, "4"):
        with pytest.raises((TypeError, ValueError), match="jobs"):
            check_jobs(bad)
    # the grading CLI's help states the same limit
    assert f"1 to {MAX_JOBS}" in " ".join(cli.help_text("grade").split())


def test_the_installed_command_is_the_one_tree(tmp_path):
    script = Path(sys.executable).parent / "segtutor"
    if not script.exists():
        pytest.skip(f"no segtutor script beside {sys.executable} (the package is not pip-installed here)")
    done = subprocess.run([str(script), "weights", "--help"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("nuclei", "shapes", "nuclei-maskrcnn"):
        assert name in done.stdout
    bad = subprocess.run([str(script), "ablation"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_python_m_segtutor_is_the_same_command(tmp_path):
    # For a machine where the segtutor script is not on PATH (a venv not activated, Windows).
    done = subprocess.run([sys.executable, "-m", "segtutor", "--help"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in cli.COMMANDS), done.stdout
    bad = subprocess.run([sys.executable, "-m", "segtutor", "grade", "subs"], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "--out" in bad.stderr and not any(tmp_path.iterdir())
