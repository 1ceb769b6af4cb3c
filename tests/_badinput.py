"""The bad-input fuzzer shared by tests/test_bad_input.py and bench/bench_bad_input.py.

It discovers every public callable by walking the ``__all__`` list of every
public module of :mod:`segtutor` (a module added later is covered without
editing this file), builds valid example arguments for it from a small
registry keyed by parameter name (or by callable), then replaces one argument
at a time with a bad value and classifies what happens:

``clear``
    success as documented, or ``TypeError``/``ValueError``/``FileNotFoundError``
    raised by segtutor code whose message names the argument.
``cryptic``
    any other exception, an exception raised from inside NumPy/SciPy/
    scikit-image/scikit-learn/Keras/TensorFlow, or a message that does not name
    the argument.
``silent``
    success where a clear error was due: a non-finite float in the result, or
    NaN/inf/complex input accepted, without the docstring saying what happens;
    a string such as ``'False'`` accepted as a flag; a NumPy scalar refused
    where the Python scalar is accepted.
``hang``
    the call ran past the watchdog, raised ``MemoryError`` (the session runs
    under a data-segment limit so that a runaway allocation fails fast instead
    of swapping a shared machine) or its NumPy allocations peaked above the
    memory budget (measured with :mod:`tracemalloc`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import importlib
import inspect
import math
import numbers
import pkgutil
import resource
import signal
import tempfile
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

import segtutor

PACKAGE_DIR = Path(segtutor.__file__).resolve().parent
# A call still running after this long is a hang. Generous on purpose: a busy shared machine can make a
# slow call ten times slower, and this only has to catch a call that never returns; how fast calls are
# is measured in bench/bench_bad_input.py, with its own tighter budget.
HANG_SECONDS = 600.0
MEMORY_BUDGET = 1 << 30  # bytes of NumPy allocations one call may peak at
DATA_LIMIT_HEADROOM = 6 << 30  # RLIMIT_DATA above the session's start: a safety net only
OUTCOMES = ("clear", "cryptic", "silent", "hang")

# Whole subpackages the fuzzer does not drive, with the reason. Keep it short.
EXCLUDED_MODULES = {
}
# Single callables that cannot be fuzzed sensibly, with the reason. Keep it short.
EXCLUDED_CALLABLES = {
    # (Command-line entry points, every module-level ``main(argv)``, are left out by
    # excluded_reason: argv parsing is argparse's job; tests/test_train_cli.py,
    # tests/test_capstone.py and tests/test_grading.py test their refusals.)
    # Minutes of training even at the smallest sizes; their arguments are checked
    # by the unit tests in tests/test_cnn.py and tests/test_segmentation_models.py.
    "segtutor.models.cnn.train_course_cnn": "trains a CNN (minutes)",
    "segtutor.models.train_nuclei.train": "trains a segmentation model (minutes)",
    "segtutor.models.train_nuclei.evaluate": "evaluates on a held-out nuclei split (minutes)",
    # Every accepted value starts Keras training (10-30 s a call on 2 busy cores);
    # its refusals are tested in tests/test_issue11_examples.py.
    "segtutor.training.live.fit": "trains a model on every accepted value (10-30 s a call)",
    # Every accepted value trains a Mask R-CNN (a minute or more: the first step's trace alone is 12-20 s);
    # their refusals are tested in tests/test_maskrcnn_training.py.
    "segtutor.maskrcnn.train_shapes.train_shapes": "trains a Mask R-CNN on every accepted value",
    "segtutor.maskrcnn.nuclei.train_nuclei": "trains a Mask R-CNN on every accepted value",
    "segtutor.maskrcnn.ablation.run_ablation": "trains one Mask R-CNN per variant on every accepted value",
    # Every accepted value trains a model (seconds to minutes a call); their
    # refusals are tested in tests/test_semi.py and tests/test_train_cli.py.
    "segtutor.training.run.run_training": "trains a model and writes checkpoints on every accepted value",
    "segtutor.semi.training.train_supervised": "trains a U-Net on every accepted value",
    "segtutor.semi.self_training.self_training": "trains a U-Net (per round) on every accepted value",
    "segtutor.semi.mean_teacher.train_mean_teacher": "trains a student and a teacher on every accepted value",
    "segtutor.semi.experiment.label_efficiency": "trains several U-Nets per fraction on every accepted value",
    "segtutor.semi.adapt.source_only": "trains a U-Net on every accepted value",
    "segtutor.semi.adapt.oracle": "trains a U-Net on every accepted value",
    "segtutor.semi.adapt.self_train_on_target": "trains a U-Net on every accepted value",
    "segtutor.semi.adapt.mean_teacher_on_target": "trains a student and a teacher on every accepted value",
    "segtutor.semi.adapt.domain_adaptation": "trains five U-Nets on every accepted value",
    "segtutor.semi.randomise.randomised_source": "trains a U-Net on every accepted value",
    # Prints a report on the machine; takes only flags.
    "segtutor.environment.doctor": "environment report, imports TensorFlow and prints",
}


# --------------------------------------------------------------------------
# discovery
# --------------------------------------------------------------------------

def _is_data_container(obj) -> bool:
    """Dataclasses, named tuples, enums and exceptions hold values; nothing to validate."""
    return inspect.isclass(obj) and (
        dataclasses.is_dataclass(obj) or issubclass(obj, (tuple, enum.Enum, BaseException))
    )


def public_modules() -> list[str]:
    names = ["segtutor"]
    for info in pkgutil.walk_packages(segtutor.__path__, "segtutor."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or ".exercises.specs" in info.name:
            continue
        names.append(info.name)
    return names


@lru_cache(maxsize=1)
def public_callables() -> dict[str, object]:
    """``{qualified name: callable}`` for every callable in a public ``__all__``."""
    found: dict[str, object] = {}
    seen: set[int] = set()
    for modname in public_modules():
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or _is_data_container(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            home = getattr(obj, "__module__", modname) or modname
            found[f"{home}.{getattr(obj, '__qualname__', name)}"] = obj
    return found


# Callables that need a program the README does not promise (bubblewrap is Linux-only), with the program.
# On a machine without it they skip with the reason instead of failing (the README's promise: green
# wherever it runs); tests/test_without_tools.py runs them with the program hidden.
NEEDS_PROGRAM = {
    "segtutor.grading.sandbox.bwrap_command": "bwrap",
    # as root it builds a bwrap command to check; found failing on a PATH without bwrap (2026-12-07)
    "segtutor.grading.sandbox.root_sandbox_problem": "bwrap",
}


def missing_program(qualname: str) -> str | None:
    """Why ``qualname`` cannot run on this machine (a program it needs is not on PATH), or None."""
    import shutil

    program = NEEDS_PROGRAM.get(qualname)
    if program and shutil.which(program) is None:
        return f"{program} is not installed here; {qualname} needs it (the grading sandbox is Linux-only)"
    return None


@lru_cache(maxsize=1)
def _sandbox_works() -> bool:
    from segtutor.grading.sandbox import sandbox_problem

    return sandbox_problem() is None


def excluded_reason(qualname: str) -> str | None:
    if qualname in EXCLUDED_CALLABLES:
        return EXCLUDED_CALLABLES[qualname]
    if qualname.endswith(".main"):
        # A module's command-line entry point, main(argv): argv parsing is argparse's job.
        return "CLI entry point"
    for prefix, why in EXCLUDED_MODULES.items():
        if qualname.startswith(prefix + "."):
            return why
    return None


def modules_without_all() -> list[str]:
    return [m for m in public_modules()
            if not hasattr(importlib.import_module(m), "__all__")]


# --------------------------------------------------------------------------
# valid example arguments
# --------------------------------------------------------------------------

def _rng():
    return np.random.default_rng(0)


def _image():
    return (_rng().random((32, 32)) * 255).astype(np.float64)


def _mask():
    m = np.zeros((32, 32), bool)
    m[4:14, 4:14] = True
    m[18:30, 16:28] = True
    return m


def _labels():
    lab = np.zeros((32, 32), np.int64)
    lab[4:14, 4:14] = 1
    lab[18:30, 16:28] = 2
    return lab


def _prob():
    return np.clip(_mask() * 0.8 + 0.1, 0, 1).astype(np.float32)


@lru_cache(maxsize=None)
def tiny_cnn():
    """A small course CNN (28x28x1, 10 classes), built once per session."""
    from segtutor.models.cnn import build_cnn

    return build_cnn(filters=(4, 8, 8), dense_units=8)


@lru_cache(maxsize=None)
def tiny_unet():
    from segtutor.models.unet import build_unet

    return build_unet(depth=2, width=4)


@lru_cache(maxsize=None)
def tiny_extractor():
    from segtutor.models.cnn import conv_layer_names, feature_extractor

    model = tiny_cnn()
    return feature_extractor(model, conv_layer_names(model)[:2], any_size=True)


def _keras_tensor():
    import keras

    return keras.Input((16, 16, 4))


def _history():
    return {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]}


_TMP = tempfile.TemporaryDirectory(prefix="segtutor-fuzz-")  # removed when the session ends


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(dir=_TMP.name))


def _coco_record() -> dict:
    return {"file_name": "a.png", "masks": np.stack([_labels() == 1, _labels() == 2]), "class_ids": np.array([1, 1])}


def _coco_file() -> Path:
    from segtutor.datasets.coco import write_coco

    folder = _tmp()
    write_coco(folder / "a.json", [_coco_record()], ["thing"])
    return folder / "a.json"


def _png(kind: str) -> Path:
    from skimage import io

    folder = _tmp()
    data = (_image()).astype(np.uint8) if kind == "image" else _labels().astype(np.uint8)
    io.imsave(folder / "a.png", data, check_contrast=False)
    return folder / "a.png"


def _folders():
    from skimage import io

    root = _tmp()
    (root / "images").mkdir()
    (root / "masks").mkdir()
    io.imsave(root / "images" / "a.png", _image().astype(np.uint8), check_contrast=False)
    io.imsave(root / "masks" / "a.png", (_mask() * 255).astype(np.uint8), check_contrast=False)
    return root


# Valid arguments by parameter name; a value is a zero-argument factory so that
# every call gets a fresh object (some functions write into their inputs).
BY_NAME = {
    "image": _image,
    "rgb": lambda: np.stack([_image()] * 3, axis=-1),
    "images": lambda: np.stack([_image()] * 2),
    "mask": _mask,
    "masks": lambda: np.stack([_mask()] * 2),
    "labels": _labels,
    "truth_labels": _labels,
    "pred_labels": _labels,
    "truth": _mask,
    "pred": _mask,
    "prob": _prob,
    "threshold": lambda: 100.0,
    "boxes": lambda: np.array([[2, 3, 10, 12], [5, 5, 20, 30]], np.int64),
    "boxes_a": lambda: np.array([[2, 3, 10, 12], [5, 5, 20, 30]], np.int64),
    "boxes_b": lambda: np.array([[2, 3, 11, 12]], np.int64),
    "xywh": lambda: np.array([[2, 3, 8, 9]], np.int64),
    "kernel": lambda: np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
    "kernels": lambda: _rng().standard_normal((3, 3, 1, 4)),
    "superpixels": lambda: (np.arange(32 * 32).reshape(32, 32) // 64).astype(np.int64),
    "model": tiny_cnn,
    "extractor": tiny_extractor,
    "activation": lambda: _rng().random((7, 7, 6)).astype(np.float32),
    "activations": lambda: _rng().random((1, 7, 7, 6)).astype(np.float32),
    "gradients": lambda: _rng().standard_normal((1, 7, 7, 6)).astype(np.float32),
    "heatmap": lambda: _rng().random((32, 32)),
    "heatmaps": lambda: _rng().random((2, 32, 32)),
    "x": lambda: _rng().standard_normal((4, 5)),
    "y": lambda: _rng().standard_normal((4, 1)),
    "logits": lambda: _rng().standard_normal((4, 3)),
    "scores": lambda: _rng().standard_normal((4, 3)),
    "weights": lambda: _rng().standard_normal((5, 3)),
    "bias": lambda: np.zeros(3),
    "value": lambda: 10,
    "low": lambda: 10.0,
    "high": lambda: 200.0,
    "level": lambda: 100.0,
    "width": lambda: 50.0,
    "n": lambda: 3,
    "size": lambda: 8,
    "input_size": lambda: 7,
    "kernel_size": lambda: 3,
    "stride": lambda: 2,
    "dilation": lambda: 2,
    "c_in": lambda: 8,
    "c_out": lambda: 16,
    "n_classes": lambda: 2,
    "n_images": lambda: 2,
    "n_train": lambda: 2,
    "n_val": lambda: 1,
    "out_y": lambda: 1,
    "out_x": lambda: 1,
    "factor": lambda: 2,
    "depth": lambda: 2,
    "multiple": lambda: 8,
    "layers": lambda: [(3, 1), (3, 1), (2, 2)],
    "rates": lambda: (1, 2, 3),
    "rate": lambda: 2,
    "schedule": lambda: "same",
    "history": _history,
    "filters": lambda: 4,
    "x_keras": _keras_tensor,
    "skip": _keras_tensor,
    "name": lambda: "sharpen",
    "layer_names": lambda: ["conv1", "pool1"],
    "learning_rate": lambda: 0.01,
    "total_steps": lambda: 10,
    "epochs": lambda: 1,
    "steps_per_epoch": lambda: 1,
    "shift": lambda: 1,
    "jumps": lambda: 2,
    "json_path": _coco_file,
    "path": lambda: _png("image"),
    "input_shape": lambda: (28, 28, 1),
    "batch_size": lambda: 2,
    "seed": lambda: 0,
}

# Per-callable overrides (qualified name -> {parameter: factory}).
BY_CALLABLE = {
    "segtutor.arrays.saturating_add": {"image": lambda: (_image()).astype(np.uint8)},
    "segtutor.arrays.fraction_above": {"threshold": lambda: 0.5},
    "segtutor.widgets.overlay.dice_at": {"threshold": lambda: 0.5},
    "segtutor.widgets.overlay.threshold_picture": {"threshold": lambda: 0.5},
    "segtutor.classical.kmeans_clusters": {"sample_size": lambda: 500},
    "segtutor.classical.match_labels": {"reference": lambda: np.roll(_labels(), 1, axis=1)},
    "segtutor.convolution.kernel_preset": {"name": lambda: "sharpen"},
    "segtutor.datasets.folder.read_mask": {"path": lambda: _png("mask")},
    "segtutor.datasets.folder.read_mask_folder": {
        "image_dir": lambda: _folders() / "images", "mask_dir": lambda: _folders() / "masks"},
    "segtutor.datasets.coco.write_coco": {
        "json_path": lambda: _tmp() / "out.json",
        "records": lambda: [_coco_record()],
        "categories": lambda: ["thing"]},
    "segtutor.datasets.shapes.make_shapes": {"size": lambda: 64},
    "segtutor.datasets.nuclei.make_nuclei": {"size": lambda: 64},
    "segtutor.datasets.digits.load_digits": {"n": lambda: 20},
    "segtutor.datasets.pipeline.segmentation_dataset": {
        "images": lambda: np.stack([_image()] * 2), "masks": lambda: np.stack([_mask()] * 2),
        "start_step": lambda: 3, "steps": lambda: 2},
    "segtutor.models.cnn.split_validation": {
        "images": lambda: _rng().random((10, 28, 28, 1)).astype(np.float32), "labels": lambda: np.arange(10) % 10},
    "segtutor.models.cnn.augmented_batches": {
        "images": lambda: _rng().random((4, 28, 28, 1)).astype(np.float32), "labels": lambda: np.arange(4)},
    "segtutor.interpret.as_batch": {"images": lambda: np.zeros((28, 28))},
    "segtutor.interpret.grad_cam": {"images": lambda: _rng().random((28, 28)).astype(np.float32)},
    "segtutor.interpret.saliency_map": {"images": lambda: _rng().random((28, 28)).astype(np.float32)},
    "segtutor.interpret.grad_cam_tf_keras_vis": {"images": lambda: _rng().random((28, 28)).astype(np.float32)},
    "segtutor.interpret.saliency_tf_keras_vis": {"images": lambda: _rng().random((28, 28)).astype(np.float32)},
    "segtutor.interpret.activations": {"image": lambda: _rng().random((28, 28)).astype(np.float32)},
    "segtutor.interpret.shift_equivariance": {"image": lambda: _rng().random((20, 20)).astype(np.float32),
                                              "shift": lambda: (2, 0), "jumps": lambda: _jumps()},
    "segtutor.interpret.show_heatmaps": {"images": lambda: np.stack([_image()] * 2)},
    "segtutor.interpret.grad_cam_from_gradients": {
        "activations": lambda: _rng().random((7, 7, 6)), "gradients": lambda: _rng().standard_normal((7, 7, 6))},
    "segtutor.interpret.overlay_heatmap": {"image": _image},
    "segtutor.interpret.match_kernels": {"kernels": lambda: _rng().standard_normal((3, 3, 1, 4))},
    "segtutor.learning.softmax_cross_entropy": {"labels": lambda: np.array([0, 1, 2, 1])},
    "segtutor.learning.mse_gradient": {"y": lambda: _rng().standard_normal(4), "w": lambda: np.zeros(5)},
    "segtutor.losses.categorical_cross_entropy": {
        "prob": lambda: np.full((8, 8, 3), 1 / 3, np.float32), "labels": lambda: np.zeros((8, 8), np.int64)},
    "segtutor.losses.softmax": {"scores": lambda: _rng().standard_normal((4, 3))},
    "segtutor.metrics.semantic.confusion_matrix": {"pred": _labels, "truth": _labels, "n_classes": lambda: 3},
    "segtutor.metrics.semantic.iou_per_class": {"pred": _labels, "truth": _labels, "n_classes": lambda: 3},
    "segtutor.metrics.semantic.dice_per_class": {"pred": _labels, "truth": _labels, "n_classes": lambda: 3},
    "segtutor.metrics.semantic.mean_iou": {"pred": _labels, "truth": _labels, "n_classes": lambda: 3},
    "segtutor.dense.fully_convolutional": {"model": tiny_cnn},
    "segtutor.models.deeplab.aspp": {"x": _keras_tensor},
    "segtutor.models.deeplab.separable_conv": {"x": _keras_tensor},
    "segtutor.models.deeplab.atrous_picture": {"rates": lambda: (1, 2)},
    "segtutor.models.unet.encoder_block": {"x": _keras_tensor},
    "segtutor.models.unet.decoder_block": {"x": lambda: __import__("keras").Input((8, 8, 4)), "skip": _keras_tensor},
    "segtutor.models.unet.conv_block": {"x": _keras_tensor},
    "segtutor.models.unet.check_input_size": {"size": lambda: 32},
    "segtutor.models.unet.build_unet": {"depth": lambda: 2, "width": lambda: 4},
    "segtutor.models.deeplab.build_deeplab": {"width": lambda: 4},
    "segtutor.models.cnn.build_cnn": {"filters": lambda: (4, 8), "dense_units": lambda: 8},
    "segtutor.models.complexity.count_flops": {"input_shape": lambda: (28, 28, 1)},
    "segtutor.models.complexity.seconds_per_image": {
        "images": lambda: _rng().random((2, 28, 28, 1)).astype(np.float32), "repeats": lambda: 1},
    "segtutor.models.pretrained.predict_probability": {"model": tiny_unet, "image": lambda: _rng().random((32, 32))},
    "segtutor.models.pretrained.segment_nuclei": {"model": tiny_unet, "image": lambda: _rng().random((32, 32))},
    "segtutor.models.pretrained.segment_at_scale": {"image": lambda: _rng().random((32, 32)),
                                                    "segment": lambda: (lambda small: small > 0.5),
                                                    "trained_diameter": lambda: 11.0, "diameter": lambda: 22.0},
    "segtutor.maskrcnn.nuclei.segment_nuclei": {"image": lambda: _rng().random((32, 32)), "diameter": lambda: 21.0},
    "segtutor.models.scale.check_diameter": {"diameter": lambda: 30.0},
    "segtutor.models.scale.warn_if_unusual": {"diameter": lambda: 30.0, "estimated": lambda: True},
    "segtutor.models.scale.resize_labels": {"labels": lambda: np.arange(16, dtype=np.int32).reshape(4, 4),
                                            "shape": lambda: (8, 8)},
    "segtutor.models.train_nuclei.nuclei_splits": {"size": lambda: 64},
    "segtutor.models.train_nuclei.build": {"name": lambda: "unet"},
    "segtutor.models.train_nuclei.training_batches": {"split": lambda: _nuclei_split(),
                                                      "patch_size": lambda: 32, "batch_size": lambda: 2},
    "segtutor.models.train_nuclei.save": {"model": lambda: _nuclei_unet(), "record": lambda: {"steps": 1},
                                          "name": lambda: "unet", "folder": _tmp},
    "segtutor.models.train_nuclei.compile_for_nuclei": {"model": tiny_unet},
    "segtutor.models.pretrained.load_model": {"name": lambda: "unet"},
    "segtutor.models.pretrained.model_card": {"name": lambda: "unet"},
    "segtutor.training.live.fit": {"model": tiny_unet, "train": lambda: _seg_batches(), "loss": lambda: "binary_crossentropy",
                              "epochs": lambda: 1, "steps_per_epoch": lambda: 1, "live": lambda: False},
    "segtutor.training.live.check_batch": {"model": tiny_unet, "images": lambda: np.zeros((2, 32, 32, 1), np.float32),
                                      "targets": lambda: np.zeros((2, 32, 32, 1), np.float32)},
    "segtutor.training.live.history_figure": {"history": _history},
    "segtutor.widgets.atrous.layer_rates": {"layers": lambda: 3, "schedule": lambda: "same rate"},
    "segtutor.widgets.intensity.window_view": {"low": lambda: 10.0, "high": lambda: 200.0},
    "segtutor.widgets.overlay.MaskThreshold": {
        "images": lambda: np.stack([_image()] * 2), "truth": lambda: np.stack([_mask()] * 2),
        "prob": lambda: np.stack([_prob()] * 2)},
    "segtutor.widgets.anchors.AnchorExplorer": {
        "images": lambda: np.stack([np.stack([_image() / 255] * 3, -1)] * 2),
        "boxes": lambda: [np.array([[2, 3, 10, 12]]), np.array([[5, 5, 20, 30]])]},
    "segtutor.widgets.feature_maps.FeatureMapExplorer": {"model": tiny_cnn},
    "segtutor.widgets.classical.watershed_scores": {"labels": _labels},
    "segtutor.viz.show_grid": {"images": lambda: [_image(), _image()]},
    "segtutor.viz.draw_boxes": {"image": _image},
    "segtutor.viz.side_by_side": {"panels": lambda: [_image(), _image()]},
    "segtutor.viz.to_unit_range": {"values": _image},
    "segtutor.viz.figure_to_rgb": {"fig": lambda: importlib.import_module("segtutor.viz").new_figure(1, 1)},
    "segtutor.instances.split_instances": {"prob": _prob},
    "segtutor.convolution.receptive_field": {"layers": lambda: [(3, 1), (3, 1), (2, 2)]},
    "segtutor.modes.sizes": {"notebook": lambda: "01"},
    "segtutor.modes.read_flag": {"name": lambda: "SEGTUTOR_FAST"},
    "segtutor.classical.format_table": {"rows": lambda: [
        {"method": "otsu", "objects": 2, "iou": 0.5, "dice": 0.6, "f1@0.5": 0.7, "mean_score": 0.4}]},
    "segtutor.learning.gradient_step": {"w": lambda: np.zeros(5), "y": lambda: _rng().standard_normal(4)},
    "segtutor.models.cnn.TrainResult": {"model": tiny_cnn, "history": _history, "test_accuracy": lambda: 0.9,
                                        "seconds": lambda: 1.0},
}


def _nuclei_split():
    from segtutor.models.train_nuclei import nuclei_splits

    return nuclei_splits(2, 1, size=64)[0]


def _seg_batches():
    import tensorflow as tf

    x = np.zeros((2, 32, 32, 1), np.float32)
    return tf.data.Dataset.from_tensor_slices((x, x)).batch(2).repeat()


def _jumps():
    from segtutor.models.cnn import receptive_fields

    names = list(tiny_extractor().output.keys()) if isinstance(tiny_extractor().output, dict) else []
    jumps = {r["layer"]: r["jump"] for r in receptive_fields(tiny_cnn())}
    return {n: jumps[n] for n in names} or jumps


@lru_cache(maxsize=None)
def tiny_student():
    """A tiny grey-to-sigmoid U-Net (segtutor.semi's convention), built once per session."""
    from segtutor.semi import build_student

    return build_student(depth=2, width=4)


def _stack3(make):
    return lambda: np.stack([make()] * 2)


def _grey_batch():
    return (np.stack([_image()] * 2) / 255).astype(np.float32)


@lru_cache(maxsize=None)
def _example_source() -> Path:
    """A small example data set (8 images of 32x32, as corrupt_copy needs), written once."""
    from segtutor.datasets.examples import write_example_dataset

    return write_example_dataset(_tmp(), "folder", n_images=8, size=32, seed=0)


@lru_cache(maxsize=None)
def _checked():
    """``(data, report)`` of one load_checked call: QualityBrowser needs both from the same call."""
    from segtutor.datasets.quality import load_checked

    return load_checked(_example_source())


def _semi_entries() -> dict:
    probs = _stack3(_prob)
    model = {"model": tiny_student, "images": _grey_batch}
    return {
        "segtutor.pseudo_labels.select_pseudo_labels": {"probabilities": _prob, "threshold": lambda: 0.9},
        "segtutor.pseudo_labels.pseudo_label_targets": {"probabilities": _prob, "threshold": lambda: 0.9},
        "segtutor.pseudo_labels.class_balanced_thresholds": {"probabilities": _prob, "share": lambda: 0.6},
        "segtutor.pseudo_labels.balanced_pseudo_label_targets": {"probabilities": _prob, "share": lambda: 0.6},
        "segtutor.pseudo_labels.pseudo_label_quality": {"probabilities": _prob, "truth": _mask,
                                                             "threshold": lambda: 0.9},
        "segtutor.pseudo_labels.pseudo_label_picture": {"probabilities": _prob, "truth": _mask,
                                                             "threshold": lambda: 0.9, "size": lambda: 64},
        "segtutor.semi.experiment.labelled_split": {"n_images": lambda: 4, "fraction": lambda: 0.5},
        "segtutor.semi.training.masked_bce_dice": {
            "y_true": lambda: np.where(_labels() == 2, 255, _labels()).astype(np.float32)[None, ..., None],
            "y_pred": lambda: _prob()[None, ..., None]},
        "segtutor.semi.mean_teacher.consistency_weight": {"step": lambda: 5, "rampup_steps": lambda: 10,
                                                          "maximum": lambda: 1.0},
        "segtutor.semi.mean_teacher.ema_update": {
            "teacher": lambda: [np.zeros((3, 3), np.float32), np.zeros(3, np.float32)],
            "student": lambda: [np.ones((3, 3), np.float32), np.ones(3, np.float32)], "decay": lambda: 0.99},
        "segtutor.semi.mean_teacher.photometric_jitter": {"images": _grey_batch},
        "segtutor.semi.mean_teacher.cutmix_boxes": {"n": lambda: 2, "height": lambda: 16, "width": lambda: 16},
        "segtutor.semi.mean_teacher.cutmix": {"images": _grey_batch,
                                              "targets": lambda: (_grey_batch() > 0.5).astype(np.float32)},
        "segtutor.semi.training.build_student": {"depth": lambda: 2, "width": lambda: 4},
        "segtutor.semi.training.copy_model": {"model": tiny_student},
        "segtutor.semi.training.predict_probabilities": model,
        "segtutor.semi.mean_teacher.MeanTeacher": {"student": tiny_student},
        "segtutor.semi.methods.held_out_dice": dict(model, masks=lambda: np.stack([_mask()] * 2).astype(np.uint8)),
        "segtutor.semi.experiment.efficiency_figure": {"rows": lambda: [
            {"method": "labelled only", "fraction": 0.1, "dice": 0.7},
            {"method": "full supervision", "fraction": 1.0, "dice": 0.9}]},
        "segtutor.semi.shift.make_shift_data": {"n_source": lambda: 1, "n_target": lambda: 1, "n_test": lambda: 1,
                                                "size": lambda: 32},
        "segtutor.semi.shift.shift_picture": {"source_image": lambda: _image() / 255, "target_image":
                                              lambda: _image() / 255, "before": _prob, "after": _prob,
                                              "truth": _mask},
        "segtutor.semi.adapt.adabn_normalise": {"features": lambda: _rng().random((2, 4, 4, 3)),
                                                "gamma": lambda: np.ones(3), "beta": lambda: np.zeros(3),
                                                "epsilon": lambda: 1e-3},
        "segtutor.semi.adapt.batch_norm_layers": {"model": tiny_student},
        "segtutor.semi.randomise.randomise_look": {"images": _grey_batch, "copies": lambda: 2, "seed": lambda: 0},
        "segtutor.semi.adapt.batch_norm_statistics": model,
        "segtutor.semi.adapt.adapt_batch_norm": {"model": tiny_student, "target_images": _grey_batch},
        "segtutor.semi.adapt.adapt_pretrained": {"images": lambda: _rng().random((32, 32)), "model": lambda: "unet",
                                                 "diameter": lambda: 28.0},
        "segtutor.widgets.pseudo_labels.PseudoLabels": {"images": _grey_batch, "probabilities": probs,
                                                        "truth": _stack3(_mask)},
    }


def _capstone_entries() -> dict:
    return {
        "segtutor.training.data.load_training_data": {"data": lambda: "shapes", "image_size": lambda: 32},
        "segtutor.training.data.batch_indices": {"step": lambda: 3},
        "segtutor.training.checkpoints.find_checkpoint": {"out": _tmp},
        "segtutor.training.progress.ProgressBar": {"metric": lambda: "dice"},
        "segtutor.training.data.split_items": {"n": lambda: 10, "val_fraction": lambda: 0.2, "seed": lambda: 0},
        "segtutor.training.recipes.get_recipe": {"model": lambda: "unet"},
        "segtutor.training.shipped.get_shipped": {"name": lambda: "shapes"},
        "segtutor.grading.commands.add_commands": {"sub": lambda: __import__("argparse").ArgumentParser().add_subparsers()},
        "segtutor.datasets.quality.load_checked": {"path": _example_source},
        "segtutor.datasets.quality.QualityReport": {"source": _tmp, "fmt": lambda: "folder"},
        "segtutor.datasets.quality.channel_count": {"mode": lambda: "RGB"},
        "segtutor.datasets.export.rle_decode": {"counts": lambda: np.array([3, 2, 4]), "shape": lambda: (3, 3)},
        "segtutor.datasets.export.semantic_to_instances": {"class_mask": _labels, "n_classes": lambda: 3},
        "segtutor.datasets.export.write_coco_predictions": {
            "path": lambda: _tmp() / "p.json", "categories": lambda: ["thing"],
            "predictions": lambda: [{"masks": np.stack([_labels() == 1, _labels() == 2]),
                                     "class_ids": np.array([1, 1])}]},
        "segtutor.datasets.export.write_png_masks": {"folder": _tmp, "masks": lambda: [_labels()],
                                                     "names": lambda: ["a"]},
        "segtutor.datasets.examples.write_example_dataset": {"folder": _tmp, "n_images": lambda: 2,
                                                             "size": lambda: 32, "seed": lambda: 0},
        "segtutor.datasets.examples.corrupt_copy": {"source": _example_source, "target": lambda: _tmp() / "copy"},
        "segtutor.datasets.examples.write_examples": {"out": _tmp},  # never the default: it is the repository's
        "segtutor.widgets.quality.QualityBrowser": {"data": lambda: _checked()[0], "report": lambda: _checked()[1]},
    }


@lru_cache(maxsize=None)
def shapes_maskrcnn():
    """The shipped shapes Mask R-CNN (128 x 128, 3 classes), loaded once per session (seconds).

    Its batch-1 inference is traced here, once, so that no fuzzed call pays the 10-20 s of the first trace.
    """
    from segtutor.maskrcnn.inference import detect
    from segtutor.maskrcnn.weights import load_shapes_model

    model = load_shapes_model()
    detect(model, np.zeros((1, 128, 128, 3), np.float32), batch_size=1)
    return model


@lru_cache(maxsize=None)
def _shapes_data():
    from segtutor.datasets import make_shapes

    return make_shapes(2, size=128, seed=0)


@lru_cache(maxsize=None)
def _inspection():
    """``MaskRCNN.inspect`` of one shapes image, for stage_picture."""
    return shapes_maskrcnn().inspect(_shapes_data().images[:1])


def _mr_config():
    from segtutor.maskrcnn.config import MaskRCNNConfig

    return MaskRCNNConfig()


def _mr_truths():
    return [{"masks": np.stack([_mask(), _labels() == 2]), "class_ids": np.array([1, 2])}]


def _mr_predictions():
    return [{"masks": np.stack([_mask(), _labels() == 2]), "class_ids": np.array([1, 2]),
             "scores": np.array([0.9, 0.6])}]


def _mr_batch():
    from segtutor.maskrcnn.data import prepare_instances_from

    return prepare_instances_from(_shapes_data(), num_classes=3, max_instances=4)


def _weights_file(suffix: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("segtutor.maskrcnn") / "weights" / f"shapes.{suffix}"))


def _maskrcnn_entries() -> dict:
    boxes_f = lambda: np.array([[2.0, 3.0, 10.0, 12.0], [5.0, 5.0, 20.0, 30.0]], np.float32)  # noqa: E731
    feature_maps = lambda: _rng().random((1, 8, 8, 2)).astype(np.float32)  # noqa: E731
    mr = "segtutor.maskrcnn."
    return {
        mr + "anchors.level_anchors": {"image_size": lambda: 32, "stride": lambda: 8, "size": lambda: 16.0},
        mr + "anchors.pyramid_anchors": {"image_size": lambda: 32},
        mr + "anchors.anchor_level_slices": {"image_size": lambda: 32},
        mr + "coordinates.bin_sample_coordinates": {"y1": lambda: 0.0, "y2": lambda: 20.0, "n_bins": lambda: 4,
                                                    "stride": lambda: 8, "n_cells": lambda: 4},
        mr + "backbone.build_backbone_fpn": {"config": _mr_config},
        mr + "heads.build_box_head": {"config": _mr_config},
        mr + "heads.build_mask_head": {"config": _mr_config},
        mr + "rpn.build_rpn_head": {"config": _mr_config},
        mr + "box_coding.clip_boxes": {"boxes": boxes_f, "image_shape": lambda: (16, 16)},
        mr + "box_coding.clip_boxes_tf": {"boxes": boxes_f, "height": lambda: 16.0, "width": lambda: 16.0},
        mr + "box_coding.encode_boxes": {"boxes": boxes_f, "reference": lambda: boxes_f() + 1},
        mr + "box_coding.encode_boxes_tf": {"boxes": boxes_f, "reference": lambda: boxes_f() + 1},
        mr + "box_coding.decode_boxes": {"deltas": lambda: boxes_f() / 100, "reference": boxes_f},
        mr + "box_coding.decode_boxes_tf": {"deltas": lambda: boxes_f() / 100, "reference": boxes_f},
        mr + "box_coding.iou_tf": {"boxes_a": boxes_f, "boxes_b": lambda: boxes_f()[:1]},
        mr + "data.prepare_instances": {
            "images": lambda: _rng().random((2, 32, 32, 3)), "masks": lambda: [np.stack([_mask()]), np.stack([_mask()])],
            "class_ids": lambda: [np.array([1]), np.array([2])], "num_classes": lambda: 3, "max_instances": lambda: 4},
        mr + "data.prepare_instances_from": {"data": lambda: __import__("segtutor.datasets", fromlist=["x"]).make_shapes(
            2, size=32, seed=0), "num_classes": lambda: 3, "max_instances": lambda: 4},
        mr + "data.training_dataset": {"batch": _mr_batch, "batch_size": lambda: 2},
        mr + "evaluate.coco_ap": {"predictions": _mr_predictions, "truths": _mr_truths},
        mr + "evaluate.precision_recall": {"predictions": _mr_predictions, "truths": _mr_truths},
        mr + "evaluate.error_cases": {"predictions": _mr_predictions, "truths": _mr_truths},
        mr + "evaluate.plot_precision_recall": {"pr": lambda: {
            "recall": np.linspace(0, 1, 101), "precision": np.linspace(1, 0, 101),
            "per_class": {1: np.linspace(1, 0, 101)}}, "class_names": lambda: ["background", "thing"]},
        mr + "evaluate.average_precision": {"scores": lambda: np.array([0.9, 0.8, 0.7]),
                                            "is_true_positive": lambda: np.array([True, False, True]),
                                            "n_truth": lambda: 2},
        mr + "inference.paste_masks": {"masks": lambda: _rng().random((2, 14, 14)).astype(np.float32),
                                       "boxes": boxes_f, "image_shape": lambda: (32, 32)},
        mr + "inference.detect": {"model": shapes_maskrcnn, "images": lambda: _shapes_data().images[:1],
                                  "batch_size": lambda: 1},
        mr + "inference.detect_tiled": {"model": shapes_maskrcnn,
                                        "image": lambda: np.tile(_shapes_data().images[0], (2, 1, 1))[:160],
                                        "stride": lambda: 128},
        mr + "model.MaskRCNN": {"config": _mr_config},
        mr + "model.compile_model": {"model": shapes_maskrcnn},
        mr + "nuclei.nuclei_crops": {"n_crops": lambda: 2},
        mr + "nuclei.to_rgb": {"images": lambda: _rng().random((2, 16, 16))},
        mr + "nuclei.prepare_nuclei": {"images": lambda: _rng().random((2, 32, 32)),
                                       "labels": lambda: np.stack([_labels()] * 2)},
        mr + "nuclei.labels_from_detections": {"detections": lambda: {"masks": np.stack([_mask(), _labels() == 2]),
                                                                      "scores": np.array([0.9, 0.6])}},
        mr + "nuclei.format_comparison": {"result": lambda: {"rows": [
            {"method": "m", "F1@0.5": 0.5, "AP50": 0.5, "AP": 0.4, "TP": 1, "FP": 1, "FN": 0}]}},
        mr + "nuclei.compare_with_unet": {"model": shapes_maskrcnn, "n_images": lambda: 1},
        mr + "ablation.format_table": {"result": lambda: {"rows": [
            {"variant": "v", "mask_AP": 0.5, "mask_AP50": 0.6, "mask_AP75": 0.5, "box_AP": 0.5,
             "train_seconds": 10.0}]}},
        mr + "pictures.anchor_match_counts": {"gt_boxes": boxes_f, "anchors": lambda: boxes_f() + 1,
                                              "pos_iou": lambda: 0.7, "neg_iou": lambda: 0.3},
        mr + "pictures.anchor_match_picture": {"image": lambda: _image() / 255, "gt_boxes": boxes_f,
                                               "size": lambda: 16.0, "ratios": lambda: (0.5, 1.0, 2.0),
                                               "stride": lambda: 8, "zoom": lambda: 1},
        mr + "pictures.stage_picture": {"inspection": _inspection, "index": lambda: 0,
                                        "image": lambda: _shapes_data().images[0], "stage": lambda: "proposals after NMS",
                                        "zoom": lambda: 1},
        mr + "proposals.nms": {"boxes": boxes_f, "scores": lambda: np.array([0.9, 0.8])},
        mr + "roi_align.bilinear_sample": {"feature": lambda: _rng().random((8, 8, 2)), "y": lambda: 2.5,
                                           "x": lambda: 3.25},
        mr + "roi_align.roi_align_numpy": {"feature": lambda: _rng().random((8, 8, 2)),
                                           "box": lambda: np.array([1.0, 1.5, 5.0, 6.0]), "output_size": lambda: 2},
        mr + "roi_align.crop_at_bin_centres": {"feature_maps": feature_maps, "boxes": lambda: boxes_f() / 4,
                                               "box_indices": lambda: np.zeros(2, np.int32), "n_samples": lambda: 2},
        mr + "train_shapes.evaluate_on_shapes": {"model": shapes_maskrcnn, "n_images": lambda: 2},
        mr + "train_shapes.shapes_config": {},
        mr + "weights.load_model_npz": {"weights_path": lambda: _weights_file("weights.npz"),
                                        "config_path": lambda: _weights_file("config.json")},
        mr + "weights.save_weights_npz": {"model": shapes_maskrcnn, "path": lambda: _tmp() / "w.npz"},
        "segtutor.widgets.stages.StageBrowser": {"model": shapes_maskrcnn, "images": lambda: _shapes_data().images,
                                                 "gt_boxes": lambda: None},
    }


_FRACTION_SOURCE = (
    "def my_fraction_above(image, threshold):\n"
    '    """Fraction of pixels above threshold."""\n'
    "    ### BEGIN SOLUTION\n"
    "    return float((image > threshold).mean())\n"
    "    ### END SOLUTION\n"
)


def _my_fraction_above(image, threshold):
    return float((image > threshold).mean())


def _exercises_entries() -> dict:
    ex = "segtutor.exercises."
    name = {"name": lambda: "fraction_above"}
    return {
        ex + "_engine.check": {**name, "func": lambda: _my_fraction_above, "n_random": lambda: 2,
                               "verbose": lambda: False, "seed": lambda: 0, "time_limit": lambda: 10.0},
        ex + "_engine.default_compare": {"expected": lambda: np.array([1.0, 2.0]), "got": lambda: np.array([1.0, 2.0]),
                                         "args": lambda: ()},
        ex + "_engine.get_exercise": name,
        ex + "_engine.register": {"spec": lambda: __import__("segtutor.exercises", fromlist=["x"]).get_exercise(
            "fraction_above")},
        ex + "_engine.to_plain": {"value": lambda: np.array([1.0, 2.0])},
        ex + "authoring.check_metadata": {**name, "points": lambda: 2},
        ex + "authoring.solution_metadata": {**name, "function": lambda: "my_fraction_above"},
        ex + "authoring.exercise_cells": {**name, "function_source": lambda: _FRACTION_SOURCE, "points": lambda: 2},
        ex + "results.describe_case": {"signature": lambda: "(image, threshold)", "case": lambda: __import__(
            "segtutor.exercises", fromlist=["x"]).Case((np.zeros((2, 2)), 0.5))},
        ex + "results.show_value": {"value": lambda: np.array([1.0, 2.0])},
        # Dataclasses, so discovery leaves them out; ISSUE24_CASES drives them by name.
        ex + "results.Case": {"args": lambda: (np.zeros((2, 2)), 0.5)},
        ex + "_engine.Exercise": {**name, "function": lambda: "my_fraction_above",
                                  "signature": lambda: "(image, threshold)",
                                  "reference": lambda: "segtutor.arrays.fraction_above"},
    }


_TINY_SOURCE = Path(__file__).resolve().parent / "submissions" / "source" / "tiny.ipynb"


@lru_cache(maxsize=None)
def _sources() -> dict:
    from segtutor.grading.grade import load_sources

    return load_sources([_TINY_SOURCE])


def _grade_options():
    from segtutor.grading.grade import GradeOptions

    # A short notebook limit: run_job's valid call is bounded to seconds. Where no sandbox can start
    # (no bubblewrap: macOS, Windows, a container), run_job grades in good faith, unsandboxed.
    return GradeOptions(notebook_timeout=3, cell_timeout=3, probe_timeout=3, sandbox=_sandbox_works())


def _unknown_submission():
    """A submission that is not UTF-8 text: graded at once as 'invalid notebook', without a kernel."""
    from segtutor.grading.grade import Submission

    path = _tmp() / "tiny.ipynb"
    path.write_bytes(b"\xff\xfe not a notebook")
    return Submission("alice", path, None)


def _job():
    from segtutor.grading.grade import Submission, build_job

    folder = _tmp() / "alice"
    folder.mkdir()
    path = folder / "tiny.ipynb"
    path.write_text(_TINY_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    return build_job(Submission("alice", path, folder), _sources(), _grade_options())


@lru_cache(maxsize=None)
def _submission_result():
    from segtutor.grading.grade import grade_submission

    return grade_submission(_unknown_submission(), _sources(), _grade_options())


def _notebook():
    import nbformat

    return nbformat.read(_TINY_SOURCE, as_version=4)


def _gradebook_file() -> Path:
    from segtutor.grading.gradebook import write_gradebook

    path = _tmp() / "gradebook.csv"
    write_gradebook(path, [{"student": "alice", "notebook": "tiny.ipynb", "total": 1.0}])
    return path


def _grading_entries() -> dict:
    g = "segtutor.grading."
    sources = {"sources": _sources}
    options = {"options": _grade_options}
    return {
        g + "release.find_sources": {"paths": lambda: [_TINY_SOURCE]},
        g + "assignment.read_assignment": {"path": lambda: _TINY_SOURCE},
        g + "flags.forbidden_uses": {"sources": lambda: ["x = 1\n"], "rules": lambda: {
            "fraction_above": ("my_fraction_above", ("segtutor.arrays.fraction_above",))}},
        g + "flags.reached_names": {"sources": lambda: ["x = 1\n"]},
        g + "flags.suspicious_code": {"sources": lambda: ["x = 1\n"]},
        g + "assignment.load_sources": {"paths": lambda: [_TINY_SOURCE]},
        g + "assignment.check_sources": sources,
        g + "submissions.student_id": {"path": lambda: Path("subs") / "alice.ipynb", **sources},
        g + "jobs.case_seed": {"batch_seed": lambda: 0, "student": lambda: "alice", "exercise": lambda: "iou"},
        g + "submissions.collect_submissions": {"args": lambda: [_unknown_submission().path], **sources},
        g + "jobs.build_job": {"sub": _unknown_submission, **sources, **options},
        g + "grade.grade_submission": {"sub": _unknown_submission, **sources, **options},
        g + "grade.grade_batch": {"subs": lambda: [_unknown_submission()], **sources, **options},
        g + "launch.run_job": {"job": _job, **options},
        g + "score.score_job": {"job": _job, "run": lambda: {"status": "timeout"}, **options},
        g + "gradebook.GradebookStore": {"csv_path": lambda: _tmp() / "gradebook.csv"},
        g + "gradebook.atomic_write": {"path": lambda: _tmp() / "a.txt", "text": lambda: "hello\n"},
        g + "gradebook.csv_safe": {"value": lambda: "=1+1"},
        g + "gradebook.read_gradebook": {"path": _gradebook_file},
        g + "gradebook.write_gradebook": {"path": lambda: _tmp() / "g.csv", "rows": lambda: [
            {"student": "alice", "notebook": "tiny.ipynb", "total": 1.0}]},
        g + "gradebook.write_feedback": {"folder": _tmp, "result": _submission_result},
        g + "gradebook.write_results_json": {"folder": _tmp, "result": _submission_result},
        g + "probe.decode_outcome": {"payload": lambda: {"value": [1.0, 2.0], "shape": [2], "kind": "f"}},
        g + "probe.encode_value": {"value": lambda: np.array([1.0, 2.0])},
        g + "probe.parse_probe_output": {"text": lambda: "", "nonce": lambda: "abc123"},
        g + "probe.probe_source": {"exercise": lambda: "fraction_above", "function": lambda: "my_fraction_above",
                                   "cases": lambda: [__import__("segtutor.exercises", fromlist=["x"]).Case(
                                       (np.zeros((2, 2)), 0.5))], "nonce": lambda: "abc123"},
        g + "release.content_hash": {"nb": _notebook},
        g + "release.release_notebook": {"nb": _notebook},
        g + "release.solution_lines": {"nb": _notebook},
        g + "release.release": {"sources": lambda: [_TINY_SOURCE], "to": lambda: _tmp() / "release",
                                "log": lambda: (lambda *a, **k: None)},
        g + "sandbox.GradingPackage": {"root": _tmp},
        g + "sandbox.bwrap_command": {"inner": lambda: ["python3", "-c", "1"], "package": _tmp},
        g + "sandbox.launch_kwargs": {"cmd": lambda: ["bwrap", "--ro-bind", "/usr", "/usr", "true"]},
        g + "sandbox.privilege_problem": {"cmd": lambda: ["bwrap", "--ro-bind", "/usr", "/usr", "true"]},
        g + "sandbox.reached_by": {"dotted": lambda: "segtutor.metrics.iou"},
        g + "sandbox.tmpfs_sizes": {"memory_mb": lambda: 1024},
        g + "gradebook.safe_name": {"text": lambda: "alice smith"},
        g + "submissions.identity": {"name": lambda: "alice", "where": lambda: "alice/"},
        g + "submissions.name_warnings": {"subs": lambda: [__import__("segtutor.grading.grade", fromlist=["x"]).Submission(
            "alice", _TINY_SOURCE)]},
        g + "cluster.local_cluster": {"jobs": lambda: 1},
        g + "peaks.suggested_memory": {"peak_mb": lambda: 600},
        g + "peaks.code_hash": {"notebook": lambda: _TINY_SOURCE},
        g + "peaks.stale_peaks": {"paths": lambda: [_TINY_SOURCE]},
        g + "peaks.memory_shortfalls": {"notebooks": lambda: ["02_classical_segmentation.ipynb"],
                                        "memory_mb": lambda: 256},
    }


BY_CALLABLE.update(_semi_entries())
BY_CALLABLE.update(_grading_entries())
BY_CALLABLE.update(_exercises_entries())
BY_CALLABLE.update(_maskrcnn_entries())
BY_CALLABLE.update(_capstone_entries())


def _home_folder() -> Path:
    folder = _tmp() / "home" / "alice" / "segtutor-work"
    folder.mkdir(parents=True)
    return folder


BY_CALLABLE["segtutor.grading.collect.collect_homes"] = {"folders": lambda: [_home_folder()],
                                                         "to": lambda: _tmp() / "submissions"}


@lru_cache(maxsize=None)
def _nuclei_unet():
    from segtutor.models.train_nuclei import build

    return build("unet")


_MISSING = object()


def valid_value(qualname: str, param: inspect.Parameter):
    """A valid example for ``param`` of ``qualname``; ``_MISSING`` if none is known."""
    override = BY_CALLABLE.get(qualname, {})
    if param.name in override:
        return override[param.name]()
    if param.default is not param.empty:
        return param.default
    if param.name in BY_NAME:
        return BY_NAME[param.name]()
    return _MISSING


def fuzzable_parameters(func) -> list[inspect.Parameter]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]


def missing_examples(qualname: str, func) -> list[str]:
    """Required parameters the registry cannot fill."""
    out = []
    for p in fuzzable_parameters(func):
        if p.default is p.empty and p.name not in BY_CALLABLE.get(qualname, {}) and p.name not in BY_NAME:
            out.append(p.name)
    return out


def valid_arguments(qualname: str, func) -> dict:
    return {p.name: valid_value(qualname, p) for p in fuzzable_parameters(func)}


# --------------------------------------------------------------------------
# bad values
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Bad:
    """One bad value for one parameter: ``kind`` names it in reports."""

    kind: str
    make: object  # valid value -> bad value
    numpy_scalar: bool = False  # a NumPy twin of a valid scalar: must behave like it
    non_finite: bool = False
    complex_: bool = False
    flag_string: bool = False
    missing_file: bool = False


def _nan_like(v):
    a = np.array(v, dtype=float, copy=True)
    a.flat[0] = np.nan
    return a


def _inf_like(v):
    a = np.array(v, dtype=float, copy=True)
    a.flat[-1] = np.inf
    return a


def _empty_like(v):
    a = np.asarray(v)
    return np.zeros((0,) + a.shape[1:], a.dtype)


def _crop(v):
    a = np.asarray(v)
    return a[: max(1, a.shape[0] // 2)]


def bad_values(valid) -> list[Bad]:
    """The bad values tried for a parameter whose valid example is ``valid``."""
    common = [Bad("None", lambda v: None), Bad("str 'False'", lambda v: "False", flag_string=isinstance(valid, bool)),
              Bad("object()", lambda v: object())]
    if isinstance(valid, (bool, np.bool_)):
        return common + [Bad("int 1", lambda v: 1), Bad("np.bool_", lambda v: np.bool_(v), numpy_scalar=True)]
    if isinstance(valid, numbers.Integral):
        return common + [
            Bad("-1", lambda v: -1), Bad("0", lambda v: 0), Bad("10**12", lambda v: 10**12),
            Bad("2.5", lambda v: 2.5), Bad("nan", lambda v: math.nan, non_finite=True),
            Bad("np.int64", lambda v: np.int64(v), numpy_scalar=True),
        ]
    if isinstance(valid, numbers.Real):
        return common + [
            Bad("nan", lambda v: math.nan, non_finite=True), Bad("inf", lambda v: math.inf, non_finite=True),
            Bad("-1e12", lambda v: -1e12), Bad("1e12", lambda v: 1e12), Bad("complex", lambda v: 1 + 1j, complex_=True),
            Bad("np.float32", lambda v: np.float32(v), numpy_scalar=True),
        ]
    if isinstance(valid, str):
        return common + [Bad("''", lambda v: ""), Bad("'no-such-choice'", lambda v: "no-such-choice"),
                         Bad("int 3", lambda v: 3)]
    if isinstance(valid, Path):
        return common + [Bad("missing file", lambda v: v.with_name("no-such-file" + v.suffix), missing_file=True),
                         Bad("int 3", lambda v: 3)]
    if isinstance(valid, np.ndarray) and valid.dtype != object:
        out = common + [
            Bad("empty", _empty_like), Bad("ndim+1", lambda v: np.asarray(v)[None]),
            Bad("ragged list", lambda v: [[1, 2], [3]]), Bad("str array", lambda v: np.full(np.shape(v), "a")),
            Bad("crop", _crop), Bad("0-d", lambda v: np.float64(1.5)),
        ]
        if valid.ndim >= 1:
            out.append(Bad("ndim-1", lambda v: np.asarray(v)[0]))
        if valid.dtype != bool or True:
            out += [Bad("nan array", _nan_like, non_finite=True), Bad("inf array", _inf_like, non_finite=True),
                    Bad("complex array", lambda v: np.asarray(v) + 1j, complex_=True)]
        if np.issubdtype(valid.dtype, np.integer):
            out.append(Bad("uint8 overflow", lambda v: (np.asarray(v) * 50).astype(np.uint8)))
        return out
    if isinstance(valid, (tuple, list)) and valid and all(isinstance(x, numbers.Number) for x in valid):
        return common + [
            Bad("empty", lambda v: type(v)()), Bad("nan item", lambda v: type(v)([math.nan] + list(v)[1:]),
                                                     non_finite=True),
            Bad("np items", lambda v: type(v)(np.asarray(v)[i] for i in range(len(v))), numpy_scalar=True),
            Bad("negative item", lambda v: type(v)([-5] + list(v)[1:])),
        ]
    if isinstance(valid, (tuple, list)):
        return common + [Bad("empty", lambda v: type(v)()), Bad("str 'abc'", lambda v: "abc")]
    return common + [Bad("ndarray", lambda v: np.zeros((4, 4))), Bad("int 3", lambda v: 3)]


def cases(qualname: str, func, limit: int | None = None) -> list[tuple[str, Bad]]:
    """The (parameter, bad value) pairs to try on ``func``: all of them, or ``limit`` spread evenly.

    Spreading (every k-th pair) keeps every parameter in a short run, and is
    deterministic, so a before/after comparison runs the same calls.
    """
    valid = valid_arguments(qualname, func)  # a broken registry entry fails here, loudly
    every = [(name, bad) for name, value in valid.items() if value is not _MISSING for bad in bad_values(value)]
    if limit is None or len(every) <= limit:
        return every
    step = len(every) / limit
    return [every[int(i * step)] for i in range(limit)]


# Issue 24: one targeted case (or a few) per group of faults that the generic
# bad values above do not reach: (group, callable, parameter, bad value). Each
# must end in an exception from segtutor that names the parameter.
def _ints(v):
    return np.asarray(v).astype(np.int64)


ISSUE24_CASES = [
    ("memory", "segtutor.classical.felzenszwalb_superpixels", "image",
     Bad("6000 x 6000 uint8", lambda v: np.zeros((6000, 6000), np.uint8))),
    ("memory", "segtutor.viz.as_rgb", "image", Bad("6000 x 6000 uint8", lambda v: np.zeros((6000, 6000), np.uint8))),
    ("memory", "segtutor.datasets.nuclei.make_nuclei", "n_images", Bad("10**12", lambda v: 10**12)),
    ("memory", "segtutor.dense.imbalance_example", "size", Bad("10**6", lambda v: 10**6)),
    ("shapes", "segtutor.arrays.fraction_above", "image", Bad("channels first", lambda v: np.zeros((3, 32, 32)))),
    ("shapes", "segtutor.interpret.normalise", "x", Bad("1-D", lambda v: np.arange(5.0))),
    ("negative labels", "segtutor.classical.clean_mask", "mask", Bad("-mask", lambda v: -_ints(v))),
    ("negative labels", "segtutor.boxes.masks_to_boxes", "masks", Bad("labels x 3", lambda v: _ints(v) * 3)),
    ("negative labels", "segtutor.metrics.semantic.pixel_accuracy", "pred", Bad("labels - 1", lambda v: _ints(v) - 1)),
    ("overflow", "segtutor.boxes.box_iou", "boxes_a", Bad("1e200 box", lambda v: [[0.0, 0.0, 1e200, 1e200]])),
    ("overflow", "segtutor.boxes.boxes_to_xywh", "boxes", Bad("inverted box", lambda v: [[5, 5, 1, 1]])),
    ("degenerate", "segtutor.viz.draw_boxes", "color", Bad("NaN colour", lambda v: (math.nan, 0.0, 0.0))),
    ("degenerate", "segtutor.viz.draw_boxes", "thickness", Bad("10**9", lambda v: 10**9)),
    ("unchecked", "segtutor.datasets.nuclei.make_nuclei", "seed", Bad("2**64", lambda v: 2**64)),
    ("unchecked", "segtutor.datasets.coco.write_coco", "categories", Bad("[None]", lambda v: [None])),
    ("unchecked", "segtutor.datasets.quality.channel_count", "mode", Bad("'rgb'", lambda v: "rgb")),
    ("unchecked", "segtutor.losses.categorical_cross_entropy", "prob", Bad("sums to 2", lambda v: np.asarray(v) * 2)),
    ("unchecked", "segtutor.exercises.results.Case", "args", Bad("None", lambda v: None)),
    ("unchecked", "segtutor.exercises.results.Case", "args", Bad("'abc'", lambda v: "abc")),
    ("unchecked", "segtutor.exercises.results.Case", "kwargs", Bad("None", lambda v: None)),
    ("unchecked", "segtutor.exercises._engine.Exercise", "n_random", Bad("-1", lambda v: -1)),
    ("unchecked", "segtutor.exercises._engine.Exercise", "n_hidden", Bad("-1", lambda v: -1)),
    ("unchecked", "segtutor.exercises._engine.Exercise", "fixed", Bad("one Case, not a list", lambda v: __import__(
        "segtutor.exercises", fromlist=["x"]).Case((np.zeros((2, 2)), 0.5)))),
    ("cryptic", "segtutor.classical.kmeans_clusters", "seed", Bad("2**64", lambda v: 2**64)),
    ("cryptic", "segtutor.convolution.kernel_preset", "name", Bad("['identity']", lambda v: ["identity"])),
    ("cryptic", "segtutor.interpret.saliency_map", "score_layer", Bad("'conv1'", lambda v: "conv1")),
    ("cryptic", "segtutor.semi.training.predict_probabilities", "images",
     Bad("15 x 15", lambda v: np.zeros((1, 15, 15), np.float32))),
]


# --------------------------------------------------------------------------
# running and classifying one call
# --------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that ``except Exception`` does not hide it."""


_LIBRARIES = ("numpy", "scipy", "skimage", "sklearn", "keras", "tensorflow", "pycocotools", "matplotlib", "PIL",
              "imageio", "tf_keras_vis", "pandas", "ipywidgets")


def raising_module(exc: BaseException) -> str:
    """Top-level package of the frame that raised ``exc`` ('segtutor', 'numpy', ...)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return "?"
    filename = Path(last.tb_frame.f_code.co_filename)
    try:
        filename.resolve().relative_to(PACKAGE_DIR)
        return "segtutor"
    except ValueError:
        pass
    module = last.tb_frame.f_globals.get("__name__", "?") or "?"
    return module.split(".")[0]


def documents_non_finite(func) -> bool:
    doc = (inspect.getdoc(func) or "").lower()
    return "nan" in doc or "non-finite" in doc or "finite" in doc


def documents_complex(func) -> bool:
    return "complex" in (inspect.getdoc(func) or "").lower()


def _non_finite_in(result, depth: int = 0) -> bool:
    if depth > 3:
        return False
    if isinstance(result, (float, np.floating)):
        return not math.isfinite(result)
    if isinstance(result, np.ndarray) and np.issubdtype(result.dtype, np.inexact):
        return result.size > 0 and not bool(np.isfinite(result).all())
    if isinstance(result, dict):
        return any(_non_finite_in(v, depth + 1) for v in list(result.values())[:50])
    if isinstance(result, (list, tuple)):
        return any(_non_finite_in(v, depth + 1) for v in list(result)[:50])
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(_non_finite_in(getattr(result, f.name), depth + 1) for f in dataclasses.fields(result))
    return False


@dataclass
class Outcome:
    qualname: str
    param: str
    bad: str
    outcome: str
    detail: str

    @property
    def module(self) -> str:
        return self.qualname.rsplit(".", 1)[0]


@contextlib.contextmanager
def watchdog(seconds: float):
    def _ring(signum, frame):
        raise Hang(f"ran past {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, _ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def memory_cap():
    """Cap the data segment a little above what the session uses now.

    A safety net for a shared machine: a runaway allocation fails as
    ``MemoryError`` (counted as a hang) instead of swapping. It is not the
    measurement: that is the tracemalloc peak.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    with open("/proc/self/status") as f:
        vm_data = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:"))
    cap = vm_data + DATA_LIMIT_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@lru_cache(maxsize=None)
def baseline_ok(qualname: str) -> bool:
    """Does the callable accept its valid example arguments?"""
    func = public_callables()[qualname]
    try:
        with watchdog(HANG_SECONDS), contextlib.chdir(_tmp()):
            _close(func(**valid_arguments(qualname, func)))
        return True
    except Exception:
        return False


def _close(result) -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def _import_callable(qualname: str):
    """A callable that discovery leaves out (a dataclass that checks its fields), found by its dotted name."""
    module, _, name = qualname.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_case(qualname: str, param: str, bad: Bad, *, hang_seconds: float = HANG_SECONDS) -> Outcome:
    """Call ``qualname`` with ``param`` replaced by ``bad`` and classify the outcome."""
    func = public_callables().get(qualname) or _import_callable(qualname)
    args = valid_arguments(qualname, func)
    try:
        args[param] = bad.make(args[param])
    except Exception as exc:  # the bad value itself could not be built: nothing to test
        return Outcome(qualname, param, bad.kind, "clear", f"skipped: {exc!r}")

    def out(kind: str, detail: str) -> Outcome:
        return Outcome(qualname, param, bad.kind, kind, detail[:300])

    tracemalloc.start()
    start = time.perf_counter()
    result = None
    try:
        # In a scratch folder: a bad path such as 'False' may be written to.
        with watchdog(hang_seconds), warnings.catch_warnings(), contextlib.chdir(_tmp()):
            warnings.simplefilter("ignore")
            result = func(**args)
    except Hang as exc:
        return out("hang", str(exc))
    except MemoryError as exc:
        return out("hang", f"MemoryError: {exc}")
    except (TypeError, ValueError, FileNotFoundError) as exc:
        where = raising_module(exc)
        message = str(exc)
        if bad.numpy_scalar and baseline_ok(qualname):
            return out("silent", f"refuses a NumPy scalar that the Python one passes: {type(exc).__name__}: {message}")
        if bad.missing_file and not isinstance(exc, FileNotFoundError):
            return out("cryptic", f"missing file gives {type(exc).__name__}, not FileNotFoundError: {message}")
        if where != "segtutor":
            return out("cryptic", f"{type(exc).__name__} from {where}: {message}")
        if param.lower() not in message.lower():
            return out("cryptic", f"{type(exc).__name__} does not name {param!r}: {message}")
        return out("clear", f"{type(exc).__name__}: {message}")
    except Exception as exc:
        return out("cryptic", f"{type(exc).__name__} from {raising_module(exc)}: {exc}")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        seconds = time.perf_counter() - start
    try:
        if peak > MEMORY_BUDGET:
            return out("hang", f"allocated {peak / 2**30:.1f} GiB")
        if bad.flag_string:
            return out("silent", "accepted the string 'False' as a flag")
        if bad.non_finite and not documents_non_finite(func):
            return out("silent", "accepted NaN/inf without documenting what happens")
        if bad.complex_ and not documents_complex(func):
            return out("silent", "accepted a complex value without documenting what happens")
        if _non_finite_in(result) and not documents_non_finite(func):
            return out("silent", "returned a non-finite float without documenting why")
        return out("clear", f"returned in {seconds:.2f} s")
    finally:
        _close(result)


def tally(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Counts per module per outcome."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = table.setdefault(o.module, dict.fromkeys(OUTCOMES, 0))
        row[o.outcome] += 1
    return table
