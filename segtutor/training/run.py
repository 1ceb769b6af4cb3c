"""Training runs that survive a crash: the run loop behind ``segtutor train``.

A training run outside a notebook must survive being stopped. Every
``checkpoint_every`` steps :func:`run_training` writes a checkpoint
(:mod:`segtutor.training.checkpoints`) holding everything the next step
depends on: weights, optimiser state, random state, the metrics so far, and
the step, and with it the **data position**: batch ``s`` is a pure function
of ``(seed, s)`` (:func:`segtutor.datasets.segmentation_dataset` with
``start_step``, or :func:`segtutor.training.data.batch_indices` for Mask
R-CNN), so a resumed run reads exactly the batches the uninterrupted run
would have read.
``kill -9`` at any moment leaves the previous complete checkpoint in place,
and ``--resume`` continues from it and ends with the metrics an
uninterrupted run ends with (same machine, same seed; TensorFlow's op
determinism is switched on).

The loop is the same for every model: the recipe named by ``options.model``
(:mod:`segtutor.training.recipes`) builds, batches and evaluates it.

Examples
--------
>>> import tempfile
>>> options = TrainOptions(model="unet", out=tempfile.mkdtemp(), steps=2, batch_size=2, n_images=6,
...                        image_size=32, checkpoint_every=1, depth=2, width=4, progress=False)
>>> result = run_training("shapes", options)   # doctest: +SKIP
>>> sorted(result["evaluation"])               # doctest: +SKIP
['mean_iou', 'pixel_accuracy']
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

from .. import _backend
from .._files import atomic_write_text
from .checkpoints import CHECKPOINT_FORMAT, check_checkpoint, find_checkpoint, load_checkpoint, save_checkpoint
from .data import load_training_data, split_items
from .errors import TrainError
from .options import TrainOptions
from .progress import ProgressBar
from .recipes import get_recipe

__all__ = ["run_training", "distribution_strategy"]


def distribution_strategy():
    """``MirroredStrategy`` over every GPU when there are several, else TensorFlow's default strategy."""
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


def run_training(data, options: TrainOptions | None = None, *, log=None, **changes) -> dict:
    """Train a course model with checkpoints, resume, metrics CSV and optional TensorBoard logs.

    Parameters
    ----------
    data : str or Path
        ``"nuclei"``, ``"shapes"``, a folder (``images/`` + ``masks/``) or a COCO
        ``.json`` file (see :func:`segtutor.training.data.load_training_data`).
    options : TrainOptions, optional
        Every option of the run (default ``TrainOptions()``).
    log : callable, optional
        Receives one-line messages (default: print to stderr).
    **changes
        Options to change, as keyword arguments: ``run_training("shapes", steps=20)``
        is ``run_training("shapes", TrainOptions(steps=20))``.

    Returns
    -------
    dict
        ``rows`` (the metrics CSV rows), ``evaluation`` (validation scores),
        ``out`` (Path), ``resumed_from`` (step or None), ``strategy`` (its class name),
        ``classes`` and ``model`` (the trained Keras model).

    Raises
    ------
    TrainError
        For bad input: the message says what to change. When ``resume`` is
        set, ``steps`` may be larger than the checkpoint's, which extends the
        run (as Keras' ``initial_epoch`` does); the cosine schedule is then
        laid over the new total.
    """
    if log is not None and not callable(log):
        raise TrainError(f"log should be a function such as print, got {type(log).__name__}.")
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    if options is None:
        unknown = sorted(set(changes) - set(TrainOptions.__dataclass_fields__))
        if unknown:
            raise TrainError(f"run_training has no option(s) {unknown}; see TrainOptions for the options.")
        options = TrainOptions(**changes)
    elif not isinstance(options, TrainOptions):
        raise TrainError(f"options should be a TrainOptions, got {type(options).__name__}.")
    elif changes:
        options = options.replace(**changes)
    o = options
    recipe = get_recipe(o.model)
    out = o.out
    checkpoint = find_checkpoint(out)
    if o.resume and checkpoint is None:
        raise TrainError(f"--resume: no checkpoint in {str(out)!r} to resume from; drop --resume to start a run.")
    if not o.resume and checkpoint is not None:
        raise TrainError(f"{str(out)!r} already holds a run (checkpoint {checkpoint.name}); pass --resume to "
                         "continue it, or choose another --out.")

    dataset = load_training_data(data, image_size=o.image_size, n_images=o.n_images, seed=o.seed)
    if dataset["report"] is not None and dataset["report"].n_problems:
        log(f"data-quality report: {dataset['report'].n_problems} problem(s), excluded "
            f"{', '.join(dataset['report'].excluded)}; see {out / 'quality_report.txt'}")
    n_classes = len(dataset["classes"])
    train_idx, val_idx = split_items(len(dataset["images"]), o.val_fraction, o.seed)
    channels = int(dataset["images"].shape[-1])
    spec = recipe.spec(o.image_size, channels, n_classes, dataset, o)
    expected = {"format": CHECKPOINT_FORMAT, "model": recipe.name, "spec": spec,
                "data_fingerprint": dataset["fingerprint"], "data": dataset["name"], "seed": o.seed,
                "batch_size": o.batch_size, "steps": o.steps, "learning_rate": o.learning_rate,
                "checkpoint_every": o.checkpoint_every, "val_fraction": o.val_fraction,
                "classes": list(dataset["classes"])}

    state = check_checkpoint(checkpoint, expected) if checkpoint is not None else None

    tf = _backend.tensorflow()
    keras = _backend.keras()

    if tf.config.list_physical_devices("GPU") == []:
        tf.config.experimental.enable_op_determinism()  # same seed and data -> same metrics (CPU kernels)
    keras.utils.set_random_seed(o.seed)
    strategy = distribution_strategy()
    with strategy.scope():
        # Made in the scope, so that each replica draws its own stream; saved and restored with checkpoints.
        tf.random.set_global_generator(tf.random.Generator.from_seed(o.seed))
        net = recipe.build(spec, o.steps, o.learning_rate)
        net.optimizer.build(net.trainable_variables)
    metric = recipe.metric_for(n_classes)

    rows, step, resumed_from = [], 0, None
    if checkpoint is not None:
        load_checkpoint(checkpoint, net, state)
        step, rows, resumed_from = int(state["step"]), list(state["rows"]), int(state["step"])
        log(f"resuming {out} from step {step} of {o.steps}")
    out.mkdir(parents=True, exist_ok=True)
    if dataset["report"] is not None:
        atomic_write_text(out / "quality_report.txt", str(dataset["report"]) + "\n")

    prepared = recipe.prepare(dataset, train_idx, spec)
    writer = tf.summary.create_file_writer(str(out / "tensorboard")) if o.tensorboard else None
    bar = ProgressBar(o.steps, metric, first_step=step) if o.progress else None
    columns = ["step", "loss", metric, "learning_rate", "seconds"]
    started = time.perf_counter() - (rows[-1]["seconds"] if rows else 0.0)
    try:
        while step < o.steps:
            n = min(o.checkpoint_every, o.steps - step)
            ds = recipe.batches(prepared, step, n, o.batch_size, o.seed)
            callbacks = [bar.callback(step)] if bar else []
            history = net.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, callbacks=callbacks, shuffle=False)
            step += n
            logs = {k: float(v[-1]) for k, v in history.history.items()}
            lr = float(keras.ops.convert_to_numpy(net.optimizer.learning_rate))
            rows.append({"step": step, "loss": round(logs["loss"], 7), metric: round(logs.get(metric, float("nan")), 7),
                         "learning_rate": round(lr, 9), "seconds": round(time.perf_counter() - started, 2)})
            if writer is not None:
                _summaries(writer, {k: rows[-1][k] for k in ("loss", metric, "learning_rate")}, step)
            save_checkpoint(out, net, {**expected, "step": step, "rows": rows}, o.keep)
            _write_csv(out / "metrics.csv", rows, columns)
    except KeyboardInterrupt:
        last = find_checkpoint(out)
        raise KeyboardInterrupt(f"stopped at step {step}; the last checkpoint is "
                                f"{last.name if last else 'none'}: rerun with --resume to continue") from None
    evaluation, predictions = recipe.evaluate(net, dataset, val_idx)
    atomic_write_text(out / "evaluation.json", json.dumps({"steps": o.steps, "validation_images": len(val_idx),
                                                           **evaluation}, indent=1) + "\n")
    net.save_weights(out / "model.weights.h5")
    if o.export:
        from ..datasets.export import write_coco_predictions, write_png_masks

        names = [f"val_{i:04d}" for i in val_idx]
        write_coco_predictions(out / "predictions" / "coco.json", predictions, dataset["classes"],
                               names=[f"{n}.png" for n in names])
        write_png_masks(out / "predictions" / "masks", recipe.label_images(predictions, o.image_size), names)
    if writer is not None:
        _summaries(writer, {f"validation/{k}": v for k, v in evaluation.items()}, o.steps)
    return {"rows": rows, "evaluation": evaluation, "out": out, "resumed_from": resumed_from,
            "strategy": type(strategy).__name__, "classes": dataset["classes"], "model": net}
