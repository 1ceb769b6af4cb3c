"""``segtutor train``: help, bad input, checkpoints, kill -9 and resume, reproducibility, exports.

The training runs are real (a tiny U-Net on 32 x 32 shapes) and run in
subprocesses, as a user would run the command; TensorFlow's op determinism
stays out of the pytest process.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from segtutor import cli
from segtutor.training import DEFAULTS, batch_indices, find_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def tiny(seed: int = 3, steps: int = 40) -> list:
    """A 32 x 32, two-level, 4-filter U-Net on 12 shapes images: seconds per run."""
    return ["--data", "shapes", "--model", "unet", "--steps", str(steps), "--checkpoint-every", "4",
            "--batch-size", "4", "--n-images", "12", "--image-size", "32", "--depth", "2", "--width", "4",
            "--seed", str(seed), "--no-progress"]


TINY = tiny()


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    return env


def _command(*args):
    return [sys.executable, "-m", "segtutor", "train", *args]


def _run(*args):
    return subprocess.run(_command(*args), capture_output=True, text=True, env=_env(), cwd=ROOT)


def _rows(out: Path):
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.pop("seconds")  # wall time is the one column allowed to differ
    return rows


def _assert_same_run(a: Path, b: Path):
    rows_a, rows_b = _rows(a), _rows(b)
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b]
    for ra, rb in zip(rows_a, rows_b):
        for key in ra:
            assert float(ra[key]) == pytest.approx(float(rb[key]), rel=1e-5, abs=1e-6), (key, ra, rb)
    eval_a = json.loads((a / "evaluation.json").read_text())
    eval_b = json.loads((b / "evaluation.json").read_text())
    assert eval_a.keys() == eval_b.keys()
    for key in eval_a:
        assert eval_a[key] == pytest.approx(eval_b[key], rel=1e-5, abs=1e-6), key


def make_runs(base: Path) -> dict:
    """An uninterrupted run, a second one with the same seed, and one killed with SIGKILL and resumed."""
    whole = _run(*TINY, "--out", str(base / "whole"), "--tensorboard")
    assert whole.returncode == 0, whole.stderr[-2000:]
    again = _run(*TINY, "--out", str(base / "again"))
    assert again.returncode == 0, again.stderr[-2000:]

    killed = base / "killed"
    code, _ = _kill_after_first_checkpoint(TINY, killed)
    assert code == -signal.SIGKILL, "the run ended before it could be killed"
    interrupted_at = json.loads((find_checkpoint(killed) / "state.json").read_text())["step"]
    assert not (killed / "evaluation.json").exists()
    resumed = _run(*TINY, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return {"whole": base / "whole", "again": base / "again", "killed": killed, "interrupted_at": interrupted_at,
            "resumed_stderr": resumed.stderr, "whole_stdout": whole.stdout}


def queue_in_background(config, items):
    """Start the module's training runs on the session's background thread (tests/conftest.py).

    They are child processes that the tests only read afterwards, so they
    train while the session's other tests run.
    """
    from notebook_runs import runs_of

    needed = {name for item in items for name in ("runs", "maskrcnn_runs")
              if name in getattr(item, "fixturenames", ())}
    for name, make in (("runs", make_runs), ("maskrcnn_runs", make_maskrcnn_runs)):
        if name in needed:
            base = Path(tempfile.mkdtemp(prefix=f"segtutor-{name}-"))
            config.add_cleanup(lambda base=base: shutil.rmtree(base, ignore_errors=True))
            runs_of(config).submit(f"train-cli-{name}", lambda make=make, base=base: make(base))


def _queued_or_made(config, name: str, make, tmp_path_factory) -> dict:
    from notebook_runs import runs_of

    queued = runs_of(config).job(f"train-cli-{name}")
    return queued.result() if queued is not None else make(tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def runs(pytestconfig, tmp_path_factory):
    """``make_runs``, trained in the background since collection ended (or here, if it was not queued)."""
    return _queued_or_made(pytestconfig, "runs", make_runs, tmp_path_factory)


def test_a_killed_run_resumes_and_ends_where_an_uninterrupted_run_ends(runs):
    assert runs["interrupted_at"] < 40
    assert f"resuming {runs['killed']} from step {runs['interrupted_at']}" in runs["resumed_stderr"]
    _assert_same_run(runs["whole"], runs["killed"])


def test_same_seed_and_data_give_the_same_metrics(runs):
    _assert_same_run(runs["whole"], runs["again"])
    assert len(_rows(runs["whole"])) == 10  # a row per checkpoint, 40 steps / 4


def test_a_different_seed_gives_different_metrics(runs, tmp_path):
    other = _run(*tiny(seed=4), "--out", str(tmp_path / "other"))
    assert other.returncode == 0, other.stderr[-2000:]
    assert float(_rows(tmp_path / "other")[0]["loss"]) != float(_rows(runs["whole"])[0]["loss"])


def test_checkpoints_are_complete_and_only_the_last_ones_are_kept(runs):
    folder = find_checkpoint(runs["whole"])
    assert folder.name == "step-00000040"
    assert sorted(p.name for p in folder.iterdir()) == ["model.weights.h5", "optimizer.npz", "state.json"]
    state = json.loads((folder / "state.json").read_text())
    assert state["step"] == 40 and state["model"] == "unet"
    assert set(state["rng"]) == {"python", "numpy", "keras", "tensorflow", "layers"}
    kept = sorted(p.name for p in (runs["whole"] / "checkpoints").glob("step-*"))
    assert kept == ["step-00000036", "step-00000040"]
    assert not list((runs["whole"] / "checkpoints").glob(".*.tmp"))


def test_tensorboard_logs_hold_the_training_scalars(runs):
    import tensorflow as tf

    files = list((runs["whole"] / "tensorboard").glob("events.out.tfevents.*"))
    assert files
    tags = {}
    for event in tf.compat.v1.train.summary_iterator(str(files[0])):
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(event.step)
            assert value.metadata.plugin_data.plugin_name == "scalars"
    assert tags["loss"] == list(range(4, 41, 4))
    assert "validation/mean_iou" in tags


def test_predictions_are_exported_for_other_tools(runs):
    from pycocotools.coco import COCO
    from skimage.io import imread

    out = runs["whole"] / "predictions"
    coco = COCO(str(out / "coco.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["square", "circle", "triangle"]
    pngs = sorted((out / "masks").glob("*.png"))
    assert len(pngs) == len(coco.getImgIds()) >= 1
    for png, image_id in zip(pngs, sorted(coco.getImgIds())):
        ids = imread(png)
        assert ids.shape == (32, 32) and ids.max() <= 3
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):
            # every exported object is a connected region of its class in the PNG
            assert (ids[coco.annToMask(ann).astype(bool)] == ann["category_id"]).all()
    assert "validation: pixel_accuracy" in runs["whole_stdout"]


def test_help_lists_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--data", "--model", "--out", "--steps", "--batch-size", "--checkpoint-every", "--learning-rate",
                   "--seed", "--image-size", "--n-images", "--val-fraction", "--width", "--depth", "--keep",
                   "--tensorboard", "--resume", "--no-progress"):
        assert option in text, option
    for key, value in DEFAULTS.items():
        assert f"(default: {value})" in text, key
    assert "{unet,deeplab,maskrcnn}" in text


def _one_line_error(capsys, argv, fragment):
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("segtutor train: error:"), err
    assert "Traceback" not in err
    assert fragment in lines[0], lines[0]


def test_bad_input_gives_one_error_line_and_status_2(tmp_path, capsys, runs):
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "nowhere")], "no data set at")
    (tmp_path / "notes.txt").write_text("hello")
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "notes.txt")], "is not a data set")
    (tmp_path / "broken.json").write_text("{not json")
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "broken.json")], "not a JSON file")
    (tmp_path / "other.json").write_text('{"rows": []}')
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "other.json")], "not a COCO instances file")
    (tmp_path / "empty").mkdir()
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "empty")], "is empty")
    (tmp_path / "empty2" / "images").mkdir(parents=True)
    (tmp_path / "empty2" / "masks").mkdir()
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "empty2")], "the folder is empty")
    _one_line_error(capsys, ["train", *TINY, "--out", str(runs["whole"]), "--resume", "--model", "maskrcnn"],
                    "is from a unet run, not maskrcnn")
    _one_line_error(capsys, ["train", *TINY, "--out", str(runs["whole"])], "already holds a run")
    _one_line_error(capsys, ["train", *TINY, "--out", str(tmp_path / "fresh"), "--resume"], "no checkpoint")
    _one_line_error(capsys, ["train", *TINY, "--out", str(runs["whole"]), "--resume", "--seed", "5"],
                    "made with other seed")
    _one_line_error(capsys, ["train", *TINY, "--out", str(tmp_path / "x"), "--image-size", "40"],
                    "multiple of 16")
    _one_line_error(capsys, ["train", *TINY, "--out", str(tmp_path / "x"), "--image-size", "16"],
                    "image_size (--image-size) should be at least 32")
    _one_line_error(capsys, ["train", *TINY, "--out", str(tmp_path / "x"), "--steps", "0"],
                    "steps (--steps) should be at least 1")
    _one_line_error(capsys, ["train", *TINY, "--out", str(tmp_path / "x"), "--learning-rate", "nan"],
                    "learning_rate (--learning-rate) should be a finite number")


def test_an_empty_out_is_refused_rather_than_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _one_line_error(capsys, ["train", *TINY, "--out", ""], "out (--out) should be a folder path")
    _one_line_error(capsys, ["train", *TINY, "--out", "  "], "out (--out) should be a folder path")
    assert not list(tmp_path.iterdir())  # nothing written where the student stood


def test_a_larger_steps_extends_a_finished_run_and_a_smaller_one_is_refused(runs, tmp_path, capsys):
    import shutil

    longer = tmp_path / "longer"
    shutil.copytree(runs["whole"], longer)
    _one_line_error(capsys, ["train", *tiny(steps=20), "--out", str(longer), "--resume"],
                    "can be longer (a larger --steps), not shorter")
    extended = _run(*tiny(steps=48), "--out", str(longer), "--resume")
    assert extended.returncode == 0, extended.stderr[-2000:]
    assert f"resuming {longer} from step 40 of 48" in extended.stderr
    steps = [int(r["step"]) for r in _rows(longer)]
    assert steps == list(range(4, 49, 4))  # the 10 old rows kept, two new ones appended
    assert _rows(longer)[:10] == _rows(runs["whole"])
    assert json.loads((longer / "evaluation.json").read_text())["steps"] == 48


def test_another_models_weights_give_one_line_not_keras_warnings(runs, tmp_path):
    import shutil

    from segtutor.models.unet import build_unet

    foreign = tmp_path / "foreign"
    shutil.copytree(runs["whole"], foreign)
    # The state says "this run"; the weights are those of a wider U-Net.
    build_unet((32, 32, 1), depth=2, width=8).save_weights(find_checkpoint(foreign) / "model.weights.h5")
    resumed = _run(*TINY, "--out", str(foreign), "--resume")
    assert resumed.returncode == 2
    lines = [line for line in resumed.stderr.splitlines() if line.strip() and "resuming" not in line]
    assert len(lines) == 1 and "do not fit this model" in lines[0], resumed.stderr[-3000:]


def test_an_unknown_option_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--data", "shapes", "--model", "resnet"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice" in err[0]


def test_the_real_command_prints_no_traceback_for_a_missing_path(tmp_path):
    result = _run("--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("segtutor")]
    assert len(lines) == 1 and "no data set at" in lines[0] and "Traceback" not in result.stderr


def test_release_and_grade_are_registered_in_the_one_tree():
    from segtutor.grading import commands

    parser = cli.build_parser()
    args = parser.parse_args(["release", "notebooks", "--to", "out"])
    assert args.command == "release" and args.to == "out" and args.handler is commands.cmd_release
    args = parser.parse_args(["grade", "subs", "--out", "g.csv"])
    assert args.command == "grade" and args.jobs == 1 and args.handler is commands.cmd_grade
    # segtutor.cli is the only parser: the grading package only adds its commands to it
    assert not hasattr(commands, "main") and not hasattr(commands, "build_parser")
    assert not (ROOT / "segtutor" / "grading" / "cli.py").exists()


def test_the_segtutor_script_points_at_the_new_cli():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'segtutor = "segtutor.cli:main"' in text


def test_several_accelerators_train_with_mirrored_strategy(monkeypatch):
    import tensorflow as tf

    from segtutor.training import run as train_run

    made = []
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0", "GPU:1"])
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda: made.append("mirrored") or "mirrored")
    assert train_run.distribution_strategy() == "mirrored" and made == ["mirrored"]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])
    assert train_run.distribution_strategy() is tf.distribute.get_strategy()


_TWO_REPLICAS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from segtutor import cli
from segtutor.training import run as train_run
train_run.distribution_strategy = lambda: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("model", ["unet", "maskrcnn"])
def test_two_replicas_really_train_under_mirrored_strategy(model, tmp_path):
    # No machine here has two GPUs; two logical CPUs give MirroredStrategy two real replicas, so the training
    # loop (Mask R-CNN's own train_step too), the optimizer, the checkpoints and the evaluation run in its
    # cross-replica context, not a mock.
    out = tmp_path / "mirrored"
    args = tiny(steps=8) if model == "unet" else ["--data", "shapes", "--model", "maskrcnn", "--steps", "4",
                                                  "--checkpoint-every", "2", "--batch-size", "2", "--n-images", "8",
                                                  "--image-size", "32", "--seed", "3", "--no-progress"]
    done = subprocess.run([sys.executable, "-c", _TWO_REPLICAS, "train", *args, "--out", str(out)],
                          capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"trained {model} " in done.stdout and "(MirroredStrategy)" in done.stdout, done.stdout
    rows = _rows(out)
    assert [r["step"] for r in rows] == (["4", "8"] if model == "unet" else ["2", "4"])
    losses = [float(r["loss"]) for r in rows]
    assert np.isfinite(losses).all()
    if model == "unet":  # batch norm sees half a batch per replica: not one device's numbers, but the same trend
        assert losses[1] < losses[0]
    assert find_checkpoint(out) is not None and (out / "evaluation.json").exists()


def test_batches_depend_only_on_seed_and_step():
    a = [batch_indices(s, 10, 4, 0).tolist() for s in range(5)]
    b = [batch_indices(s, 10, 4, 0).tolist() for s in range(5)]
    assert a == b
    # every item once per epoch: 20 items drawn from 10 = two full epochs
    flat = np.concatenate(a)
    assert sorted(flat[:10].tolist()) == list(range(10)) and sorted(flat[10:20].tolist()) == list(range(10))
    assert batch_indices(0, 10, 4, 1).tolist() != a[0]
    with pytest.raises(ValueError, match="step"):
        batch_indices(-1, 10, 4, 0)


# --------------------------------------------------------------------------------------------------
# Mask R-CNN and DeepLab: the same kill-and-resume contract, and one trace of the training step per process


def tiny_maskrcnn() -> list:
    """A Mask R-CNN on 8 shapes images at 32 x 32, batches of 2: its one trace dominates each run."""
    return ["--data", "shapes", "--model", "maskrcnn", "--steps", "6", "--checkpoint-every", "2",
            "--batch-size", "2", "--n-images", "8", "--image-size", "32", "--seed", "3", "--no-progress"]


# The uninterrupted run goes through run_training in a child process that counts how often Python runs
# MaskRCNN.train_step: once per trace of the compiled step (an eager step would count once per step).
_COUNTING_RUN = r"""
import json, sys
from segtutor import cli
from segtutor.maskrcnn import model as maskrcnn_model

traces = []
original = maskrcnn_model.MaskRCNN.train_step

def counted(self, data):
    traces.append(1)
    return original(self, data)

maskrcnn_model.MaskRCNN.train_step = counted
code = cli.main(["train", *sys.argv[1:]])
print(json.dumps({"code": code, "traces": len(traces)}))
"""


#: `segtutor train` in a child that, after saving its first checkpoint, waits for a line on stdin: the test signals
#: it while it waits, so the run cannot end between the checkpoint and the signal, however loaded the machine.
_PAUSING_RUN = r"""
import sys
from segtutor import cli
from segtutor.training import run

original = run.save_checkpoint
saved = []

def pausing(*args, **kwargs):
    result = original(*args, **kwargs)
    if not saved:
        saved.append(1)
        print("first checkpoint saved", flush=True)
        sys.stdin.readline()
    return result

run.save_checkpoint = pausing
sys.exit(cli.main(["train", *sys.argv[1:]]))
"""


def _kill_after_first_checkpoint(args, out: Path, sig=signal.SIGKILL):
    """Start the command, send ``sig`` while it waits after its first checkpoint; return its status and stderr."""
    proc = subprocess.Popen([sys.executable, "-c", _PAUSING_RUN, *args, "--out", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    try:
        # stderr is read on a thread, so that a chatty child cannot fill its pipe and stall before the checkpoint.
        err = []
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        reader.start()
        for line in proc.stdout:
            if line.strip() == "first checkpoint saved":
                proc.send_signal(sig)
                break
        proc.stdout.read()
        proc.wait()
        reader.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    return proc.returncode, "".join(err)


def make_maskrcnn_runs(base: Path) -> dict:
    """A whole tiny Mask R-CNN run counting its traces, and one killed after its first checkpoint and resumed."""
    args = tiny_maskrcnn()
    whole = subprocess.run([sys.executable, "-c", _COUNTING_RUN, *args, "--out", str(base / "whole")],
                           capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert whole.returncode == 0, whole.stderr[-2000:]
    counted = json.loads(whole.stdout.strip().splitlines()[-1])
    assert counted["code"] == 0, whole.stderr[-2000:]
    killed = base / "killed"
    code, _ = _kill_after_first_checkpoint(args, killed)
    assert code == -signal.SIGKILL, "the run ended before it could be killed"
    interrupted_at = json.loads((find_checkpoint(killed) / "state.json").read_text())["step"]
    assert not (killed / "evaluation.json").exists()
    resumed = _run(*args, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return {"whole": base / "whole", "killed": killed, "interrupted_at": interrupted_at,
            "resumed_stderr": resumed.stderr, "traces": counted["traces"]}


@pytest.fixture(scope="module")
def maskrcnn_runs(pytestconfig, tmp_path_factory):
    return _queued_or_made(pytestconfig, "maskrcnn_runs", make_maskrcnn_runs, tmp_path_factory)


def test_a_killed_maskrcnn_run_resumes_and_ends_where_an_uninterrupted_run_ends(maskrcnn_runs):
    assert maskrcnn_runs["interrupted_at"] < 6
    assert f"from step {maskrcnn_runs['interrupted_at']} of 6" in maskrcnn_runs["resumed_stderr"]
    _assert_same_run(maskrcnn_runs["whole"], maskrcnn_runs["killed"])
    assert len(_rows(maskrcnn_runs["whole"])) == 3
    assert set(json.loads((maskrcnn_runs["whole"] / "evaluation.json").read_text())) >= {"mask_AP", "mask_AP50"}


def test_maskrcnn_traces_its_training_step_once_across_checkpoints(maskrcnn_runs):
    # 6 steps in three stretches of 2, a checkpoint after each: one trace, not one per stretch
    assert maskrcnn_runs["traces"] == 1


def test_maskrcnn_sampling_draws_from_the_checkpointed_generator(maskrcnn_runs):
    """The anchor and RoI samples come from TensorFlow's global generator, whose state the checkpoint holds."""
    states = [json.loads((folder / "state.json").read_text())["rng"]["tensorflow"]
              for folder in sorted((maskrcnn_runs["whole"] / "checkpoints").glob("step-*"))]
    assert len(states) == 2 and states[0] != states[1]  # the generator moved between the last two checkpoints


def tiny_deeplab() -> list:
    """DeepLab (width 4) on 8 nuclei images at 32 x 32: one class, so the sigmoid, bce + Dice path."""
    return ["--data", "nuclei", "--model", "deeplab", "--steps", "8", "--checkpoint-every", "2",
            "--batch-size", "2", "--n-images", "8", "--image-size", "32", "--width", "4", "--seed", "1",
            "--no-progress"]


def test_deeplab_trains_on_nuclei_and_resumes_after_ctrl_c(tmp_path):
    args = tiny_deeplab()
    whole = _run(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert "trained deeplab on nuclei for 8 steps" in whole.stdout and "dice" in whole.stdout
    rows = _rows(tmp_path / "whole")
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8] and "dice" in rows[0]
    assert json.loads((find_checkpoint(tmp_path / "whole") / "state.json").read_text())["model"] == "deeplab"
    evaluation = json.loads((tmp_path / "whole" / "evaluation.json").read_text())
    assert set(evaluation) == {"steps", "validation_images", "pixel_accuracy", "dice"}
    assert 0.0 <= evaluation["dice"] <= 1.0 and evaluation["validation_images"] == 2
    assert len(list((tmp_path / "whole" / "predictions" / "masks").glob("*.png"))) == 2

    code, err = _kill_after_first_checkpoint(args, tmp_path / "stopped", signal.SIGINT)
    assert code == 130, err[-2000:]  # Ctrl-C: the command's own message and status, no traceback
    assert "interrupted: stopped at step" in err and "--resume" in err and "Traceback" not in err
    resumed = _run(*args, "--out", str(tmp_path / "stopped"), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stderr
    _assert_same_run(tmp_path / "whole", tmp_path / "stopped")
