"""The course's nuclei recipe: data, augmentation, training, and the command that makes the shipped weights.

Notebook 06 trains with these functions in class; the shipped weights in
``segtutor/models/weights/`` come from the same functions, run longer, by the
recipe :class:`segtutor.training.shipped.NucleiWeights`::

    segtutor weights nuclei --out segtutor/models/weights

The recipe, and why:

* **Data**: :func:`segtutor.datasets.make_nuclei` with ``vary=True``, so every
  image has its own density, nucleus size, brightness spread, background,
  out-of-focus glow and noise (domain randomisation). A network trained on
  one fixed look fails on a real microscope.
* **Normalisation**: each image by its own 1st and 99th percentiles
  (:func:`segtutor.models.pretrained.normalise_percentile`), in training and
  at prediction time alike.
* **Augmentation**: flips, quarter turns, random zoom crops (scale) and
  random gain, gamma and offset (intensity), on 128 x 128 patches.
* **Loss**: binary cross-entropy plus soft Dice; **optimiser**: Adam with a
  cosine learning-rate decay.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import _backend
from .._validate import check_model, check_path, check_positive_int, check_scalar, check_seed, check_size_budget
# dice_metric lives in losses, beside the Dice loss; notebooks 06, 07 and 12 import it from here.
from ..losses import dice_metric

__all__ = ["NucleiSplit", "nuclei_splits", "scaled_splits", "training_batches", "RECIPES", "compile_for_nuclei", "dice_metric",
           "build", "train", "evaluate", "save"]

#: Architecture arguments of the shipped models (also written to their JSON cards).
RECIPES = {
    "unet": {"depth": 4, "width": 8},
    "deeplab": {"width": 16, "output_stride": 8},
}

PATCH = 128
EVAL_EVERY = 150  # steps between two validation checks while making the shipped weights


class NucleiSplit(NamedTuple):
    """Normalised images (N, H, W, 1) float32, masks (N, H, W, 1) float32 and instance labels (N, H, W) int32."""

    images: np.ndarray
    masks: np.ndarray
    labels: np.ndarray


def _normalised(data) -> NucleiSplit:
    from .pretrained import normalise_percentile

    images = np.stack([normalise_percentile(im) for im in data.images])[..., None]
    return NucleiSplit(images, data.masks[..., None].astype(np.float32), data.labels)


def nuclei_splits(n_train: int, n_val: int, *, size: int = 256, seed: int = 0) -> tuple[NucleiSplit, NucleiSplit]:
    """Training and validation images from ``make_nuclei(vary=True)``, normalised, from disjoint seeds.

    Returns
    -------
    train, val : NucleiSplit
    """
    from ..datasets import make_nuclei

    n_train = check_positive_int(n_train, "n_train")
    n_val = check_positive_int(n_val, "n_val")
    seed = check_seed(seed)
    size = check_positive_int(size, "size")
    check_size_budget((n_train + n_val) * size * size, "n_train and n_val", what="the splits")
    train = make_nuclei(n_train, size=size, vary=True, seed=2 * seed + 1)
    val = make_nuclei(n_val, size=size, vary=True, seed=2 * seed + 2)
    return _normalised(train), _normalised(val)


def scaled_splits(n_train: int, n_val: int, *, seed: int = 0) -> tuple[NucleiSplit, NucleiSplit]:
    """The shipped models' data: :func:`segtutor.models.scale.nuclei_at_trained_scale`, normalised.

    Nuclei of radius 4-40 px with ``make_nuclei(vary="wide")``'s variety,
    zoomed as ``segment_nuclei`` zooms them (scale augmentation; issue 22).
    """
    from .scale import nuclei_at_trained_scale

    n_train = check_positive_int(n_train, "n_train")
    n_val = check_positive_int(n_val, "n_val")
    seed = check_seed(seed)
    return (_normalised(nuclei_at_trained_scale(n_train, seed=2 * seed + 1)),
            _normalised(nuclei_at_trained_scale(n_val, seed=2 * seed + 2)))


def training_batches(split: NucleiSplit, *, batch_size: int = 8, patch_size: int = PATCH, seed: int = 0):
    """An endless, augmented ``tf.data.Dataset`` of (patches, masks) batches for ``model.fit``."""
    from ..datasets import segmentation_dataset

    if not isinstance(split, NucleiSplit):
        raise TypeError(f"split should be a NucleiSplit from nuclei_splits(), got {type(split).__name__}.")
    masks = np.asarray(split.masks)
    if not np.isin(masks, (0, 1)).all():
        raise ValueError(
            f"masks should hold only 0 and 1 (nucleus or not), got values {np.unique(masks)[:8].tolist()}; "
            "for instance labels pass labels > 0."
        )
    return segmentation_dataset(split.images, masks.astype(bool), batch_size=batch_size,
                                augment=("flip", "rotate", "crop", "intensity"), seed=seed,
                                patch_size=patch_size, repeat=True)


def compile_for_nuclei(model, *, total_steps: int, learning_rate: float = 2e-3):
    """Adam with cosine decay, BCE + soft Dice loss, and a Dice metric (at threshold 0.5)."""
    keras = _backend.keras()

    from ..learning import cosine_schedule
    from ..losses import keras_loss

    check_model(model)
    total_steps = check_positive_int(total_steps, "total_steps")
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    model.compile(optimizer=keras.optimizers.Adam(cosine_schedule(learning_rate, total_steps)),
                  loss=keras_loss("bce_dice"), metrics=[dice_metric()], jit_compile=False)
    return model


def build(name: str):
    """A fresh, untrained shipped architecture: ``"unet"`` or ``"deeplab"``."""
    from . import deeplab, unet

    if name not in RECIPES:
        raise ValueError(f"name should be one of {sorted(RECIPES)}, got {name!r}.")
    builder = unet.build_unet if name == "unet" else deeplab.build_deeplab
    return builder((None, None, 1), **RECIPES[name])


def train(name: str, *, steps: int, n_train: int = 300, seed: int = 0, batch_size: int = 8,
          learning_rate: float = 2e-3, data: str = "scaled", log=print):
    """Train one shipped architecture from scratch with the course recipe.

    Returns
    -------
    model : keras.Model
    record : dict
        Steps, seconds, data and validation scores, for the model card.
    """
    keras = _backend.keras()

    steps = check_positive_int(steps, "steps")
    keras.utils.set_random_seed(seed)
    if data not in ("scaled", "vary"):
        raise ValueError(f"data should be 'scaled' (scaled_splits, the shipped models') or 'vary' (nuclei_splits), "
                         f"got {data!r}.")
    splits = scaled_splits if data == "scaled" else nuclei_splits
    train_split, val = splits(n_train, 24, seed=seed)
    model = build(name)
    compile_for_nuclei(model, total_steps=steps, learning_rate=learning_rate)
    batches = training_batches(train_split, batch_size=batch_size, seed=seed)
    # Keep the weights with the best Dice on held-out *synthetic* images
    # (early stopping's rule); no real image is looked at.
    best_dice, best_step, best_weights = -1.0, 0, None
    start, evaluating, done = time.perf_counter(), 0.0, 0
    while done < steps:
        chunk = min(EVAL_EVERY, steps - done)
        history = model.fit(batches, epochs=1, steps_per_epoch=chunk, verbose=0)
        done += chunk
        tick = time.perf_counter()
        _, dice = model.evaluate(val.images, val.masks, verbose=0, batch_size=8)
        evaluating += time.perf_counter() - tick
        if dice > best_dice:
            best_dice, best_step, best_weights = float(dice), done, model.get_weights()
        log(f"{name}: step {done}/{steps}, loss {history.history['loss'][-1]:.4f}, validation Dice {dice:.4f}, "
            f"{time.perf_counter() - start - evaluating:.0f} s training")
    model.set_weights(best_weights)
    seconds = time.perf_counter() - start - evaluating
    record = {
        "steps": steps, "kept_step": best_step, "validation_dice": round(best_dice, 4),
        "batch_size": batch_size, "patch": PATCH, "learning_rate": learning_rate, "seed": seed,
        "n_train": n_train, "train_seconds": round(seconds, 1), "data_flag": data,
        "data": (f"nuclei_at_trained_scale({n_train}, seed={2 * seed + 1}); "
                 f"validation nuclei_at_trained_scale(24, seed={2 * seed + 2})") if data == "scaled" else
                (f"make_nuclei({n_train}, size=256, vary=True, seed={2 * seed + 1}); "
                 f"validation make_nuclei(24, size=256, vary=True, seed={2 * seed + 2})"),
        "scores": evaluate(model),
    }
    return model, record


def evaluate(model) -> dict:
    """Dice and instance F1 at IoU 0.5 on held-out course data (seed 99, never used in training)."""
    from .. import metrics
    from ..datasets import make_nuclei
    from ..instances import split_instances

    out = {}
    from .scale import nuclei_at_trained_scale

    for label, data in (("nuclei_vary", make_nuclei(24, size=256, vary=True, seed=99)),
                        ("nuclei_default", make_nuclei(24, size=256, seed=99)),
                        ("nuclei_scaled_wide", nuclei_at_trained_scale(24, seed=99))):
        split = _normalised(data)
        prob = model.predict(split.images, verbose=0)[..., 0]
        f1 = np.mean([metrics.instance_scores(split_instances(p), lab, thresholds=0.5).f1[0]
                      for p, lab in zip(prob, split.labels)])
        out[label] = {"dice": round(float(metrics.dice(prob > 0.5, split.masks[..., 0] > 0.5)), 4),
                      "f1_at_0.5": round(float(f1), 4)}
    return out


def _remake_command(name: str, record: dict) -> str:
    # Every option that shapes the weights, spelled out, so the card's command remakes them whatever the CLI's
    # defaults become.
    command = (f"segtutor weights nuclei --out segtutor/models/weights --models {name} "
               f"--data {record.get('data_flag', 'vary')}")
    for option, key in (("--steps", "steps"), ("--n-train", "n_train"), ("--seed", "seed")):
        if key in record:
            command += f" {option} {record[key]}"
    return command


def save(model, record: dict, name: str, folder) -> None:
    """Write ``{name}_nuclei.weights.h5`` and its JSON card into ``folder``, each atomically."""
    import os
    import tempfile

    from .._files import atomic_write_text

    check_model(model)
    if not isinstance(record, dict):
        raise TypeError(f"record should be a dict of training facts (steps, seconds, ...), got {type(record).__name__}.")
    if name not in RECIPES:
        raise ValueError(f"name should be one of {sorted(RECIPES)}, got {name!r}.")
    folder = check_path(folder, "folder")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} is a file; pass a folder for the weights.")
    clean = build(name)
    if len(clean.weights) != len(model.weights) or clean.count_params() != model.count_params():
        raise ValueError(f"model does not have the {name!r} recipe's architecture ({clean.count_params():,} "
                         f"parameters, the model has {model.count_params():,}); save it under its own name.")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}_nuclei.weights.h5"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".weights.h5")
    os.close(fd)
    # A fresh copy carries the weights only: save_weights on a compiled model
    # also stores the optimizer's moments, tripling the file.
    clean.set_weights(model.get_weights())
    try:
        clean.save_weights(tmp, overwrite=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    card = {"architecture": RECIPES[name], "normalisation": "normalise_percentile(image, 1, 99)",
            "training": record,
            "command": _remake_command(name, record)}
    atomic_write_text(folder / f"{name}_nuclei.json", json.dumps(card, indent=2) + "\n")
    os.chmod(folder / f"{name}_nuclei.json", 0o644)  # package data: readable by every user of a shared install
