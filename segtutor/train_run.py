"""Training runs that survive a crash: the machinery behind ``segtutor train``.

A training run outside a notebook must survive being stopped. Every
``checkpoint_every`` steps :func:`run_training` writes a checkpoint folder
holding everything the next step depends on:

- the model's weights and the optimiser's state (Adam's two moments and its
  step counter, which also drives the cosine learning-rate schedule);
- the step, and with it the **data position**: batch ``s`` is a pure
  function of ``(seed, s)`` (:func:`batch_indices`), so a resumed run reads
  exactly the batches the uninterrupted run would have read;
- the random state of Python, NumPy and Keras, of each layer's own seed
  generator (DeepLab's dropout: ``save_weights`` leaves it out), and of
  TensorFlow's global generator. Mask R-CNN samples anchors and RoIs inside
  its compiled training step; TensorFlow's stateful ``tf.random.uniform``
  would keep that state inside the traced graph, where no checkpoint reaches
  it, so the model draws from the global ``tf.random.Generator`` instead
  (``MaskRCNN.sampler``), whose state is a variable: it is saved and restored
  like the rest, and the training step is traced once per process, not once
  per checkpoint;
- the metrics so far, so that ``metrics.csv`` is rewritten whole from the
  checkpoint and never holds a row the weights do not.

A checkpoint is written into a temporary folder, flushed to disk, renamed
(atomic on one file system) and only then named in ``checkpoints/latest``
(itself replaced atomically). ``kill -9`` at any moment therefore leaves the
previous complete checkpoint in place, and ``--resume`` continues from it and
ends with the metrics an uninterrupted run ends with (same machine, same
seed; TensorFlow's op determinism is switched on).

Examples
--------
>>> import tempfile
>>> result = run_training("shapes", model="unet", out=tempfile.mkdtemp(), steps=2, batch_size=2,
...                       n_images=6, image_size=32, checkpoint_every=1, depth=2, width=4,
...                       progress=False)   # doctest: +SKIP
>>> sorted(result["evaluation"])          # doctest: +SKIP
['mean_iou', 'pixel_accuracy']
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import random
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._files import atomic_write_text
from . import _backend
from ._validate import check_bool, check_choice, check_in_range, check_positive_int, check_seed

__all__ = ["TrainError", "MODELS", "BUILTIN_DATA", "DEFAULTS", "load_training_data", "batch_indices",
           "run_training", "find_checkpoint", "ProgressBar"]

MODELS = ("unet", "deeplab", "maskrcnn")
BUILTIN_DATA = ("nuclei", "shapes")
CHECKPOINT_FORMAT = 1
#: Defaults of :func:`run_training` and of ``segtutor train``'s options.
DEFAULTS = {"model": "unet", "out": "runs/train", "steps": 200, "batch_size": 8, "checkpoint_every": 50,
            "learning_rate": 2e-3, "seed": 0, "image_size": 64, "n_images": 64, "val_fraction": 0.2,
            "width": 8, "depth": 3, "keep": 2}
_MAX_IMAGE_SIZE = 1024
_MAX_STEPS = 10_000_000


class TrainError(ValueError):
    """Bad input to a training run: the command prints its message on one line and exits with status 2."""


# --------------------------------------------------------------------------------------------------
# Data


def _resize(image, size: int, order: int):
    from skimage.transform import resize

    if image.shape[:2] == (size, size):
        return image
    out = resize(image, (size, size) + image.shape[2:], order=order, preserve_range=True,
                 anti_aliasing=order > 0, mode="edge")
    return out.astype(image.dtype)


def load_training_data(data, *, image_size: int = 64, n_images: int = 64, seed: int = 0) -> dict:
    """Images, class masks and instances for training, from a built-in name or a path.

    Parameters
    ----------
    data : str or Path
        ``"nuclei"`` (``make_nuclei(vary=True)``, one class), ``"shapes"``
        (``make_shapes``, three classes), a folder with ``images/`` and
        ``masks/``, or a COCO ``.json`` file (read with
        :func:`segtutor.datasets.quality.load_checked`: bad items are left
        out and reported).
    image_size : int
        Every image is resized to ``image_size`` x ``image_size`` (masks with
        nearest-neighbour), so batches have one shape.
    n_images : int
        Built-in data only: how many images to make.
    seed : int
        Built-in data only: the generator's seed.

    Returns
    -------
    dict
        ``images`` (N, S, S, C) float32, ``masks`` (N, S, S) int32,
        ``instances`` list of (K, S, S) bool, ``class_ids`` list of (K,) int32,
        ``classes`` tuple (background first), ``name`` str, ``report`` (a
        :class:`~segtutor.datasets.quality.QualityReport` or None) and
        ``fingerprint``, a hash of the arrays.

    Raises
    ------
    TrainError
        Missing path, unknown format, empty data set, or fewer than 2 clean images.
    """
    try:
        image_size = check_positive_int(image_size, "image_size", minimum=32)
        n_images = check_positive_int(n_images, "n_images", minimum=2)
        seed = check_seed(seed)
    except ValueError as exc:
        raise TrainError(str(exc)) from None
    if image_size > _MAX_IMAGE_SIZE or image_size % 16:
        raise TrainError(f"image_size (--image-size) should be a multiple of 16 from 32 to {_MAX_IMAGE_SIZE}, "
                         f"got {image_size}.")
    if n_images > 10_000:
        raise TrainError(f"n_images (--n-images) should be at most 10000, got {n_images}.")
    report = None
    if isinstance(data, str) and not data.strip():  # Path("") would silently mean the current folder
        raise TrainError(f"--data should be {' or '.join(BUILTIN_DATA)}, a folder or a COCO .json file, got {data!r}.")
    if isinstance(data, str) and data in BUILTIN_DATA:
        if data == "nuclei":
            from .datasets import make_nuclei
            from .models.pretrained import normalise_percentile

            made = make_nuclei(n_images, size=image_size, vary=True, seed=seed)
            images = np.stack([normalise_percentile(im) for im in made.images])[..., None].astype(np.float32)
            masks = np.asarray(made.masks, np.int32)
            instances, class_ids = [], []
            for lab in made.labels:
                ids = np.arange(1, int(lab.max()) + 1)
                instances.append(lab[None] == ids[:, None, None])
                class_ids.append(np.ones(len(ids), np.int32))
            classes = ("background", "nucleus")
        else:
            from .datasets import make_shapes

            made = make_shapes(n_images, size=image_size, seed=seed)
            images, masks = made.images.astype(np.float32), made.semantic_masks().astype(np.int32)
            instances, class_ids, classes = list(made.masks), list(made.class_ids), tuple(made.class_names)
        name = data
    else:
        from .datasets.quality import load_checked

        if not isinstance(data, (str, Path)):
            raise TrainError(f"--data should be {' or '.join(BUILTIN_DATA)}, a folder or a COCO .json file, "
                             f"got {data!r}.")
        try:
            checked, report = load_checked(data)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            raise TrainError(str(exc)) from None
        if len(checked) < 2:
            raise TrainError(f"{data} has {len(checked)} usable image(s) after the quality check "
                             f"({report.n_problems} problem(s): {', '.join(sorted(report.kinds())) or 'none'}); "
                             "training needs at least 2 (one for validation).")
        images = np.stack([_resize(im, image_size, 1) for im in checked.images]).astype(np.float32)
        masks = np.stack([_resize(m, image_size, 0) for m in checked.masks]).astype(np.int32)
        instances, class_ids = [], []
        for inst, ids in zip(checked.instances, checked.class_ids):
            resized = np.stack([_resize(m.astype(np.uint8), image_size, 0) > 0 for m in inst]) if len(inst) \
                else np.zeros((0, image_size, image_size), bool)
            keep = resized.any(axis=(1, 2))
            instances.append(resized[keep])
            class_ids.append(np.asarray(ids, np.int32)[keep])
        classes, name = tuple(checked.classes), str(data)
    digest = hashlib.sha256()
    for array in (images, masks):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"images": images, "masks": masks, "instances": instances, "class_ids": class_ids, "classes": classes,
            "name": name, "report": report, "fingerprint": digest.hexdigest()[:16]}


def _split(n: int, val_fraction: float, seed: int):
    order = np.random.default_rng([seed, 7]).permutation(n)
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """Which training items batch ``step`` holds: a pure function of its arguments.

    Items are visited in a fresh random order each epoch (every item once per
    epoch), and batches run on across epoch ends, so resuming at any step
    needs nothing but the step number.

    Examples
    --------
    >>> batch_indices(0, 5, 4, seed=0).tolist() == batch_indices(0, 5, 4, seed=0).tolist()
    True
    >>> sorted(np.concatenate([batch_indices(s, 6, 3, seed=1) for s in (0, 1)]).tolist())
    [0, 1, 2, 3, 4, 5]
    """
    step = check_positive_int(step, "step", minimum=0)
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    if n > 100_000_000 or batch_size > 100_000 or step > 10**12:
        raise ValueError(f"n, batch_size and step should be at most 1e8, 1e5 and 1e12, got {n}, {batch_size}, {step}.")
    flat = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, positions = flat // n, flat % n
    out = np.empty(batch_size, np.int64)
    for epoch in np.unique(epochs):
        order = np.random.default_rng([seed, 1, int(epoch)]).permutation(n)
        out[epochs == epoch] = order[positions[epochs == epoch]]
    return out


def _augment_plan(step: int, batch_size: int, seed: int) -> np.ndarray:
    """(B, 3) ints: flip left-right, flip up-down, quarter turns, per item of batch ``step``."""
    rng = np.random.default_rng([seed, 2, step])
    return np.stack([rng.integers(0, 2, batch_size), rng.integers(0, 2, batch_size),
                     rng.integers(0, 4, batch_size)], axis=1)


def _semantic_chunk(images, masks, start: int, n_steps: int, batch_size: int, seed: int, binary: bool):
    xs, ys = [], []
    for step in range(start, start + n_steps):
        idx = batch_indices(step, len(images), batch_size, seed)
        for i, (lr, ud, turns) in zip(idx, _augment_plan(step, batch_size, seed)):
            x, y = images[i], masks[i]
            if lr:
                x, y = x[:, ::-1], y[:, ::-1]
            if ud:
                x, y = x[::-1], y[::-1]
            x, y = np.rot90(x, turns), np.rot90(y, turns)
            xs.append(x)
            ys.append(y)
    x = np.ascontiguousarray(np.stack(xs), np.float32)
    y = np.stack(ys)
    return x, (y[..., None].astype(np.float32) if binary else y.astype(np.int32))


def _instance_chunk(prepared: dict, start: int, n_steps: int, batch_size: int, seed: int) -> dict:
    parts = {k: [] for k in ("images", "boxes", "class_ids", "masks")}
    width = prepared["images"].shape[2]
    for step in range(start, start + n_steps):
        idx = batch_indices(step, len(prepared["images"]), batch_size, seed)
        for i, (lr, _, _) in zip(idx, _augment_plan(step, batch_size, seed)):
            image, masks, boxes = prepared["images"][i], prepared["masks"][i], prepared["boxes"][i]
            if lr:  # horizontal flips only, as in the course's Mask R-CNN training (boxes follow)
                image, masks = image[:, ::-1], masks[:, :, ::-1]
                flipped = np.stack([boxes[:, 0], width - boxes[:, 3], boxes[:, 2], width - boxes[:, 1]], axis=1)
                boxes = np.where(prepared["class_ids"][i][:, None] > 0, flipped, 0.0)
            parts["images"].append(image)
            parts["masks"].append(masks)
            parts["boxes"].append(boxes)
            parts["class_ids"].append(prepared["class_ids"][i])
    return {"images": np.ascontiguousarray(np.stack(parts["images"]), np.float32),
            "boxes": np.stack(parts["boxes"]).astype(np.float32),
            "class_ids": np.stack(parts["class_ids"]).astype(np.int32),
            "masks": np.ascontiguousarray(np.stack(parts["masks"])).astype(np.uint8)}


# --------------------------------------------------------------------------------------------------
# Models


def _build(model_name: str, spec: dict, steps: int, learning_rate: float):
    """A compiled model and the name of the metric the progress bar shows."""
    keras = _backend.keras()

    from .learning import cosine_schedule

    schedule = cosine_schedule(learning_rate, steps)
    if model_name == "maskrcnn":
        from .maskrcnn.config import MaskRCNNConfig
        from .maskrcnn.model import MaskRCNN

        config = MaskRCNNConfig(num_classes=spec["n_classes"] - 1, max_instances=spec["max_instances"],
                                image_size=spec["image_size"])
        model = MaskRCNN(config)
        model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=5.0), jit_compile=False)
        return model, "mask_loss"
    from .losses import keras_loss

    shape = (spec["image_size"], spec["image_size"], spec["channels"])
    binary = spec["n_classes"] == 2
    out_classes = 1 if binary else spec["n_classes"]
    if model_name == "unet":
        from .models.unet import build_unet

        model = build_unet(shape, out_classes, depth=spec["depth"], width=spec["width"])
    else:
        from .models.deeplab import build_deeplab

        model = build_deeplab(shape, out_classes, width=spec["width"])
    if binary:
        from .losses import dice_metric

        loss, metric, name = keras_loss("bce_dice"), dice_metric(), "dice"
    else:
        loss = "sparse_categorical_crossentropy"
        metric = keras.metrics.MeanIoU(spec["n_classes"], name="mean_iou", sparse_y_pred=False)
        name = "mean_iou"
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=[metric], jit_compile=False)
    return model, name


def _evaluate(model_name: str, model, data: dict, val: np.ndarray, n_classes: int) -> tuple[dict, list]:
    """Scores on the validation items, and predictions (dicts with masks, class_ids, scores) to export."""
    from . import metrics
    from .datasets.export import semantic_to_instances

    images = data["images"][val]
    if model_name == "maskrcnn":
        from .maskrcnn.evaluate import coco_ap
        from .maskrcnn.inference import detect

        detections = detect(model, _three_channels(images), batch_size=4)
        truths = [{"masks": data["instances"][i], "class_ids": data["class_ids"][i]} for i in val]
        ap = coco_ap(detections, truths, "segm")
        preds = [{"masks": d["masks"], "class_ids": d["class_ids"], "scores": d["scores"]} for d in detections]
        return {"mask_AP": round(ap["AP"], 6), "mask_AP50": round(ap["AP50"], 6)}, preds
    prob = np.asarray(model.predict(images, verbose=0, batch_size=8))
    classes = (prob[..., 0] > 0.5).astype(np.int32) if prob.shape[-1] == 1 else prob.argmax(-1).astype(np.int32)
    truth = data["masks"][val]
    scores = {"pixel_accuracy": round(float(metrics.pixel_accuracy(classes, truth)), 6)}
    if n_classes == 2:
        scores["dice"] = round(float(metrics.dice(classes.astype(bool), truth.astype(bool))), 6)
    else:
        scores["mean_iou"] = round(float(metrics.mean_iou(classes, truth, n_classes)), 6)
    preds = []
    for c in classes:
        masks, ids = semantic_to_instances(c, n_classes)
        preds.append({"masks": masks, "class_ids": ids, "scores": np.ones(len(ids)), "class_mask": c})
    return scores, preds


def _three_channels(images: np.ndarray) -> np.ndarray:
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


# --------------------------------------------------------------------------------------------------
# Checkpoints


def find_checkpoint(out) -> Path | None:
    """The last complete checkpoint folder of a run, or None."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out should be a run folder (str or Path), got {type(out).__name__}.")
    ckdir = Path(out) / "checkpoints"
    latest = ckdir / "latest"
    if not latest.is_file():
        return None
    folder = ckdir / latest.read_text(encoding="utf-8").strip()
    return folder if (folder / "state.json").is_file() else None


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _keras_seed_state():
    """The variable behind Keras's global SeedGenerator (dropout, ``keras.random`` without a seed), or None."""
    try:
        from keras.src.random.seed_generator import global_seed_generator
    except ImportError:  # pragma: no cover - a Keras that moved it: nothing of ours draws from it
        return None
    return global_seed_generator().state


def _layer_seed_states(model) -> dict:
    """The state variables of the layers' own seed generators (DeepLab's dropout), by variable path.

    ``Layer.variables`` holds them and ``Layer.weights``, which ``save_weights`` writes, does not: without
    them a resumed run would draw the dropout masks of step 0 again.
    """
    weights = {id(w) for w in model.weights}
    return {v.path: v for v in model.variables if id(v) not in weights}


def _rng_state(model) -> dict:
    tf = _backend.tensorflow()

    py = random.getstate()
    np_state = np.random.get_state()
    return {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "keras": None if _keras_seed_state() is None else np.asarray(_keras_seed_state().value).tolist(),
        "tensorflow": tf.random.get_global_generator().state.numpy().tolist(),
        "layers": {path: np.asarray(v.value).tolist() for path, v in _layer_seed_states(model).items()},
    }


def _set_rng_state(state: dict, model, folder: Path) -> None:
    tf = _backend.tensorflow()

    layers = _layer_seed_states(model)
    saved = state.get("layers", {})  # absent from checkpoints written before it was saved: fine without dropout
    if not isinstance(saved, dict) or sorted(saved) != sorted(layers):
        raise TrainError(f"the random state in {folder} does not fit this model (seed generators "
                         f"{sorted(saved) if isinstance(saved, dict) else saved!r}, the model has {sorted(layers)}).")
    for path, variable in layers.items():
        variable.assign(np.array(saved[path], dtype=variable.dtype))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], np.array(n[1], np.uint32), n[2], n[3], n[4]))
    variable = _keras_seed_state()
    if variable is not None and state["keras"] is not None:
        variable.assign(np.array(state["keras"], dtype=variable.dtype))
    tf.random.get_global_generator().reset(np.array(state["tensorflow"], dtype=np.int64))


def _save_checkpoint(out: Path, model, state: dict, keep: int) -> Path:
    ckdir = out / "checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:08d}"
    tmp = ckdir / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    model.save_weights(tmp / "model.weights.h5")
    np.savez(tmp / "optimizer.npz", *[np.asarray(v.value if hasattr(v, "value") else v)
                                     for v in model.optimizer.variables])
    (tmp / "state.json").write_text(json.dumps({**state, "rng": _rng_state(model)}), encoding="utf-8")
    _fsync_tree(tmp)
    final = ckdir / name
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)  # atomic: the folder appears complete or not at all
    atomic_write_text(ckdir / "latest", name + "\n")  # only now does a resume look at it
    done = sorted(p for p in ckdir.glob("step-*") if p.is_dir())
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _check_state(folder: Path, expected: dict) -> dict:
    """The checkpoint's state, after checking that it belongs to this run (before any model is built)."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainError(f"{folder / 'state.json'} cannot be read ({type(exc).__name__}); it is not a "
                         "segtutor train checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{folder} is not a segtutor train checkpoint (format "
                         f"{state.get('format') if isinstance(state, dict) else None!r}).")
    run = folder.parent.parent
    if state.get("model") != expected["model"]:
        raise TrainError(f"the checkpoint in {run} is from a {state.get('model')} run, not "
                         f"{expected['model']}; pass --model {state.get('model')} or another --out.")
    old_steps = state.get("steps")
    if not isinstance(old_steps, int) or isinstance(old_steps, bool) or expected["steps"] < old_steps:
        # Growing --steps extends a run, as Keras' initial_epoch does; shrinking it would end before the checkpoint.
        raise TrainError(f"the checkpoint in {run} was made with --steps {old_steps!r}; a resumed run can be longer "
                         f"(a larger --steps), not shorter than that, got {expected['steps']}.")
    for key in ("spec", "seed", "data_fingerprint", "batch_size", "learning_rate", "checkpoint_every",
                "val_fraction"):
        if state.get(key) != expected[key]:
            what = "data" if key == "data_fingerprint" else key
            raise TrainError(f"the checkpoint in {run} was made with other {what} ({state.get(key)!r}, this run "
                             f"has {expected[key]!r}); resume with the same options and data, or use another --out.")
    return state


def _load_checkpoint(folder: Path, model, state: dict) -> None:
    try:
        with warnings.catch_warnings():
            # Keras warns once per variable that does not fit (dozens of lines)
            # before it raises; the one line below says it.
            warnings.simplefilter("ignore")
            model.load_weights(folder / "model.weights.h5")
    except Exception as exc:  # Keras raises ValueError, KeyError or h5py errors for a foreign file
        raise TrainError(f"the weights in {folder} do not fit this model ({type(exc).__name__}).") from None
    with np.load(folder / "optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    variables = model.optimizer.variables
    if len(values) != len(variables) or any(v.shape != tuple(s.shape) for v, s in zip(values, variables)):
        raise TrainError(f"the optimiser state in {folder} does not fit this model.")
    for var, value in zip(variables, values):
        var.assign(value)
    if not isinstance(state.get("rng"), dict):
        raise TrainError(f"{folder / 'state.json'} holds no random state; it is not a complete segtutor train "
                         "checkpoint.")
    _set_rng_state(state["rng"], model, folder)


# --------------------------------------------------------------------------------------------------
# Progress


def _callback_base():
    keras = _backend.keras()

    return keras.callbacks.Callback


class ProgressBar:
    """A text progress bar: step, loss, metric, elapsed time and time left.

    On a terminal it redraws one line; elsewhere (logs, tests) it prints a
    line about every 10 % of the run.

    Parameters
    ----------
    total_steps : int
    metric : str
        The metric shown next to the loss.
    stream : file, optional
        Default ``sys.stderr``.
    """

    def __init__(self, total_steps: int, metric: str, *, stream=None, first_step: int = 0):
        self.total = check_positive_int(total_steps, "total_steps")
        self.metric = str(metric)
        self.stream = stream if stream is not None else sys.stderr
        self.first = check_positive_int(first_step, "first_step", minimum=0)
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_printed = -1

    def line(self, step: int, loss: float, metric: float | None) -> str:
        """The text shown after ``step`` steps."""
        elapsed = time.perf_counter() - self.start
        done = step - self.first
        left = elapsed / done * (self.total - step) if done > 0 else float("nan")
        width = 24
        filled = int(width * step / self.total)
        bar = "#" * filled + "." * (width - filled)
        shown = f"  {self.metric} {metric:.4f}" if metric is not None else ""
        left_text = "?" if math.isnan(left) else f"{left:.0f} s"
        return f"[{bar}] step {step}/{self.total}  loss {loss:.4f}{shown}  {elapsed:.0f} s, about {left_text} left"

    def update(self, step: int, loss: float, metric: float | None) -> None:
        text = self.line(step, loss, metric)
        if self.tty:
            self.stream.write("\r" + text)
            if step >= self.total:
                self.stream.write("\n")
        else:
            tenth = (10 * step) // self.total
            if tenth == self._last_printed and step < self.total:
                return
            self._last_printed = tenth
            self.stream.write(text + "\n")
        self.stream.flush()

    def callback(self, chunk_start: int):
        """A Keras callback that feeds this bar during one ``fit`` call."""
        bar, metric = self, self.metric

        class _Feed(_callback_base()):
            def on_train_batch_end(self, batch, logs=None):
                logs = logs or {}
                value = logs.get(metric)
                bar.update(chunk_start + batch + 1, float(logs.get("loss", float("nan"))),
                           None if value is None else float(value))

        return _Feed()


# --------------------------------------------------------------------------------------------------
# The run


def _strategy():
    tf = _backend.tensorflow()

    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()  # the default strategy: plain single-device training


def _summaries(writer, values: dict, step: int) -> None:
    """Scalars for TensorBoard's scalar dashboard, written with TensorFlow's own ``tf.summary.write``.

    ``tf.summary.scalar`` lives in the ``tensorboard`` package, which the course does not install; the
    event files are the same, and ``tensorboard --logdir OUT/tensorboard`` shows them wherever it runs.
    """
    tf = _backend.tensorflow()
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    with writer.as_default(step=step):
        for tag, value in values.items():
            tf.summary.write(tag, tf.constant(float(value), tf.float32), metadata=metadata)
    writer.flush()


def _write_csv(path: Path, rows: list, columns: list) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    atomic_write_text(path, buffer.getvalue(), newline="")


def _check_options(model, steps, batch_size, checkpoint_every, learning_rate, seed, val_fraction, width, depth, keep,
                   tensorboard, resume, progress, export, out) -> tuple:
    model_name = check_choice(model, "model", MODELS)
    steps = check_positive_int(steps, "steps")
    if steps > _MAX_STEPS:
        raise TrainError(f"--steps should be at most {_MAX_STEPS:,}, got {steps}.")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > 1024:
        raise TrainError(f"--batch-size should be at most 1024, got {batch_size}.")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    learning_rate = check_in_range(learning_rate, "learning_rate", 1e-8, 10.0)
    seed = check_seed(seed)
    if seed >= 2**31:
        raise TrainError(f"--seed should be below 2**31, got {seed}.")
    val_fraction = check_in_range(val_fraction, "val_fraction", 0.01, 0.9)
    width = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    if width > 256 or depth > 6:
        raise TrainError(f"--width should be at most 256 and --depth at most 6, got {width} and {depth}.")
    keep = check_positive_int(keep, "keep")
    tensorboard, resume = check_bool(tensorboard, "tensorboard"), check_bool(resume, "resume")
    progress, export = check_bool(progress, "progress"), check_bool(export, "export")
    if not isinstance(out, (str, Path)) or not str(out).strip():
        # Path('') is the current folder: checkpoints and weights would land among the student's files.
        raise TrainError(f"--out should be a folder path such as runs/capstone, got {out!r}.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {str(out)!r} is a file; pass a folder.")
    return (model_name, steps, batch_size, checkpoint_every, learning_rate, seed, val_fraction, width, depth, keep,
            tensorboard, resume, progress, export, out)


def run_training(data, *, model: str = "unet", out="runs/train", steps: int = 200, batch_size: int = 8,
                 checkpoint_every: int = 50, learning_rate: float = 2e-3, seed: int = 0, image_size: int = 64,
                 n_images: int = 64, val_fraction: float = 0.2, width: int = 8, depth: int = 3,
                 tensorboard: bool = False, resume: bool = False, keep: int = 2, progress: bool = True,
                 export: bool = True, log=None) -> dict:
    """Train a course model with checkpoints, resume, metrics CSV and optional TensorBoard logs.

    Parameters
    ----------
    data : str or Path
        ``"nuclei"``, ``"shapes"``, a folder (``images/`` + ``masks/``) or a COCO
        ``.json`` file (see :func:`load_training_data`).
    model : {"unet", "deeplab", "maskrcnn"}
    out : str or Path
        The run's folder: ``checkpoints/``, ``metrics.csv``, ``evaluation.json``,
        ``model.weights.h5``, ``predictions/`` (COCO JSON and PNG masks of the
        validation images) and, with ``tensorboard``, ``tensorboard/``.
    steps, batch_size, checkpoint_every : int
        Optimiser steps in all, images per step, steps between checkpoints
        (also between rows of ``metrics.csv``).
    learning_rate : float
        Adam's initial rate, decayed to 0 on a cosine over ``steps``.
    seed : int
        Seeds the weights, the data order, the augmentation and the split.
    image_size, n_images, val_fraction : see :func:`load_training_data`; a fraction of the items is held out.
    width, depth : int
        U-Net's first-level filters and levels (DeepLab uses ``width``).
    tensorboard : bool
        Also write TensorBoard logs.
    resume : bool
        Continue from the last checkpoint in ``out``, with the same options
        and data. ``steps`` may be larger than the checkpoint's, which
        extends the run (as Keras' ``initial_epoch`` does); the cosine
        schedule is then laid over the new total, so the learning rate at the
        resumed step is higher than where the shorter run had brought it.
    keep : int
        Checkpoints kept (older ones are deleted).
    progress : bool
        Show the progress bar on stderr.
    export : bool
        Write the predictions on the validation images.
    log : callable, optional
        Receives one-line messages (default: print to stderr).

    Returns
    -------
    dict
        ``rows`` (the metrics CSV rows), ``evaluation`` (validation scores),
        ``out`` (Path), ``resumed_from`` (step or None), ``strategy`` (its class name).

    Raises
    ------
    TrainError
        For bad input: the message says what to change.
    """
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        checked = _check_options(model, steps, batch_size, checkpoint_every, learning_rate, seed, val_fraction, width,
                                 depth, keep, tensorboard, resume, progress, export, out)
    except (TypeError, ValueError) as exc:  # the command prints these as one line: they are the user's to fix
        raise TrainError(str(exc)) from None
    (model_name, steps, batch_size, checkpoint_every, learning_rate, seed, val_fraction, width, depth, keep,
     tensorboard, resume, progress, export, out) = checked
    checkpoint = find_checkpoint(out)
    if resume and checkpoint is None:
        raise TrainError(f"--resume: no checkpoint in {str(out)!r} to resume from; drop --resume to start a run.")
    if not resume and checkpoint is not None:
        raise TrainError(f"{str(out)!r} already holds a run (checkpoint {checkpoint.name}); pass --resume to "
                         "continue it, or choose another --out.")

    dataset = load_training_data(data, image_size=image_size, n_images=n_images, seed=seed)
    if dataset["report"] is not None and dataset["report"].n_problems:
        log(f"data-quality report: {dataset['report'].n_problems} problem(s), excluded "
            f"{', '.join(dataset['report'].excluded)}; see {out / 'quality_report.txt'}")
    n_classes = len(dataset["classes"])
    train_idx, val_idx = _split(len(dataset["images"]), val_fraction, seed)
    channels = int(dataset["images"].shape[-1])
    spec = {"image_size": image_size, "channels": channels, "n_classes": n_classes}
    if model_name == "maskrcnn":
        spec["max_instances"] = int(min(max(max((len(c) for c in dataset["class_ids"]), default=1), 1), 64))
    else:
        spec["width"] = width
        if model_name == "unet":
            spec["depth"] = depth
    expected = {"format": CHECKPOINT_FORMAT, "model": model_name, "spec": spec,
                "data_fingerprint": dataset["fingerprint"], "data": dataset["name"], "seed": seed,
                "batch_size": batch_size, "steps": steps, "learning_rate": learning_rate,
                "checkpoint_every": checkpoint_every, "val_fraction": val_fraction, "classes": list(dataset["classes"])}

    state = _check_state(checkpoint, expected) if checkpoint is not None else None

    tf = _backend.tensorflow()
    keras = _backend.keras()

    if tf.config.list_physical_devices("GPU") == []:
        tf.config.experimental.enable_op_determinism()  # same seed and data -> same metrics (CPU kernels)
    keras.utils.set_random_seed(seed)
    strategy = _strategy()
    with strategy.scope():
        # Made in the scope, so that each replica draws its own stream; saved and restored with checkpoints.
        tf.random.set_global_generator(tf.random.Generator.from_seed(seed))
        net, metric = _build(model_name, spec, steps, learning_rate)
        if model_name == "maskrcnn":
            net.build_all()
            net.sampler = tf.random.get_global_generator()  # anchor and RoI sampling, checkpointed (see above)
        net.optimizer.build(net.trainable_variables)

    rows, step, resumed_from = [], 0, None
    if checkpoint is not None:
        _load_checkpoint(checkpoint, net, state)
        step, rows, resumed_from = int(state["step"]), list(state["rows"]), int(state["step"])
        log(f"resuming {out} from step {step} of {steps}")
    out.mkdir(parents=True, exist_ok=True)
    if dataset["report"] is not None:
        atomic_write_text(out / "quality_report.txt", str(dataset["report"]) + "\n")

    if model_name == "maskrcnn":
        from .maskrcnn.data import prepare_instances

        train_data = prepare_instances(_three_channels(dataset["images"][train_idx]),
                                       [dataset["instances"][i] for i in train_idx],
                                       [dataset["class_ids"][i] for i in train_idx],
                                       num_classes=n_classes - 1, max_instances=spec["max_instances"])
    writer = tf.summary.create_file_writer(str(out / "tensorboard")) if tensorboard else None
    bar = ProgressBar(steps, metric, first_step=step) if progress else None
    columns = ["step", "loss", metric, "learning_rate", "seconds"]
    started = time.perf_counter() - (rows[-1]["seconds"] if rows else 0.0)
    try:
        while step < steps:
            n = min(checkpoint_every, steps - step)
            if model_name == "maskrcnn":
                chunk = _instance_chunk(train_data, step, n, batch_size, seed)
                ds = tf.data.Dataset.from_tensor_slices(chunk).batch(batch_size)
            else:
                x, y = _semantic_chunk(dataset["images"][train_idx], dataset["masks"][train_idx], step, n,
                                       batch_size, seed, binary=n_classes == 2)
                ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
            callbacks = [bar.callback(step)] if bar else []
            history = net.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, callbacks=callbacks, shuffle=False)
            step += n
            logs = {k: float(v[-1]) for k, v in history.history.items()}
            lr = float(keras.ops.convert_to_numpy(net.optimizer.learning_rate))
            rows.append({"step": step, "loss": round(logs["loss"], 7), metric: round(logs.get(metric, float("nan")), 7),
                         "learning_rate": round(lr, 9), "seconds": round(time.perf_counter() - started, 2)})
            if writer is not None:
                _summaries(writer, {k: rows[-1][k] for k in ("loss", metric, "learning_rate")}, step)
            _save_checkpoint(out, net, {**expected, "step": step, "rows": rows}, keep)
            _write_csv(out / "metrics.csv", rows, columns)
    except KeyboardInterrupt:
        last = find_checkpoint(out)
        raise KeyboardInterrupt(f"stopped at step {step}; the last checkpoint is "
                                f"{last.name if last else 'none'}: rerun with --resume to continue") from None
    evaluation, predictions = _evaluate(model_name, net, dataset, val_idx, n_classes)
    atomic_write_text(out / "evaluation.json", json.dumps({"steps": steps, "validation_images": len(val_idx),
                                                           **evaluation}, indent=1) + "\n")
    net.save_weights(out / "model.weights.h5")
    if export:
        from .datasets.export import write_coco_predictions, write_png_masks

        names = [f"val_{i:04d}" for i in val_idx]
        write_coco_predictions(out / "predictions" / "coco.json", predictions, dataset["classes"],
                               names=[f"{n}.png" for n in names])
        if model_name == "maskrcnn":  # instance ids, highest score on top
            pngs = []
            for p in predictions:
                ids = np.zeros((image_size, image_size), np.int32)
                for k in range(len(p["masks"]) - 1, -1, -1):
                    ids[p["masks"][k] & (np.asarray(p["scores"])[k] >= 0.5)] = k + 1
                pngs.append(ids)
        else:
            pngs = [p["class_mask"] for p in predictions]
        write_png_masks(out / "predictions" / "masks", pngs, names)
    if writer is not None:
        _summaries(writer, {f"validation/{k}": v for k, v in evaluation.items()}, steps)
    return {"rows": rows, "evaluation": evaluation, "out": out, "resumed_from": resumed_from,
            "strategy": type(strategy).__name__, "classes": dataset["classes"], "model": net}
