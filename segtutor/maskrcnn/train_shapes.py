"""Train Mask R-CNN on ``shapes`` from scratch: the command behind the shipped weights.

The shipped weights come from :class:`segtutor.training.shipped.ShapesMaskRCNN`::

    segtutor weights shapes --out segtutor/maskrcnn/weights

trains for ``--steps`` steps (batch 8, Adam 2e-3 with cosine decay) on
``--n-train`` fresh ``shapes`` images (128 x 128, seed ``--seed``), scores
COCO mask and box AP on 500 held-out images (seed :data:`EVAL_SEED`), and
writes ``shapes.weights.npz`` (float16), ``shapes.config.json`` and ``CARD.md`` to
``--out``. The same functions serve notebook 10, the bench and the tests.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _backend

__all__ = ["train_shapes", "evaluate_on_shapes", "shapes_config", "EVAL_SEED"]

#: Seed of the held-out evaluation images; training seeds are small integers, so the sets differ.
EVAL_SEED = 2017


def shapes_config(**changes):
    """The configuration of the shipped shapes model (3 classes, up to 4 instances)."""
    from .config import MaskRCNNConfig

    # Half of the 32 RoI slots for positives: more positive examples per step for the class head, whose
    # confusions between shapes were the main loss of AP with a third. 32 pyramid channels instead of 64:
    # the step takes about 0.65 of the time (same process, same load, alternating steps), and 1800 steps
    # still reach the targets (mask AP 0.812 / AP50 0.972 against 0.823 / 0.971 with 64), so the whole
    # recipe fits the course's 3 minutes of training on 2 cores (bench/bench_maskrcnn.py).
    return MaskRCNNConfig(num_classes=3, max_instances=4, roi_positive_fraction=0.5, fpn_channels=32
                          ).replace(**changes)


def train_shapes(steps: int = 1800, *, seed: int = 0, n_train: int = 2000, batch_size: int = 8,
                 learning_rate: float = 2e-3, config=None, callbacks=None, verbose=2):
    """Build and train a model on fresh ``shapes`` images.

    Parameters
    ----------
    steps : int
        Optimiser steps. One Keras "epoch" (a point on the loss curves) is 100 steps, or 50 for runs under 500
        steps; the last epoch is cut short so the total is exactly ``steps``.
    seed : int
        Seeds the data, the weights and the sampling.
    n_train : int
        Training images, drawn with ``make_shapes(n_train, size=128, seed=seed)``.
    batch_size : int
    learning_rate : float
        Adam's initial rate, decayed to 0 on a cosine. With a 64-channel pyramid, 2e-3 reached mask AP 0.765
        where 1e-3 reached 0.703 after 1200 steps (same seed, 500 held-out images); 1800 steps reach the
        course's targets (weights/CARD.md).
    config : MaskRCNNConfig, optional
        Defaults to :func:`shapes_config`.
    callbacks : list of keras callbacks, optional
    verbose : int
        Passed to ``fit``.

    Returns
    -------
    model : MaskRCNN
    history : keras.callbacks.History
    seconds : float
        Wall time of ``fit``, first-step tracing included.
    """
    keras = _backend.keras()

    from ..datasets import make_shapes
    from .data import prepare_instances_from, training_dataset
    from .model import MaskRCNN

    for name, v in (("steps", steps), ("n_train", n_train), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} should be a positive integer, got {v!r}.")
    config = config if config is not None else shapes_config()
    keras.utils.set_random_seed(int(seed))
    data = make_shapes(int(n_train), size=config.image_size, seed=int(seed))
    batch = prepare_instances_from(data, num_classes=config.num_classes, max_instances=config.max_instances)
    dataset = training_dataset(batch, batch_size=int(batch_size), seed=int(seed))
    model = MaskRCNN(config)
    per_epoch = min(100 if steps >= 500 else 50, int(steps))
    history, seconds = fit_from_scratch(model, dataset, int(steps), learning_rate=learning_rate, per_epoch=per_epoch,
                                        callbacks=callbacks, verbose=verbose)
    return model, history, seconds


def fit_from_scratch(model, dataset, steps: int, *, learning_rate: float, per_epoch: int, callbacks=None, verbose=2):
    """The course's Mask R-CNN recipe: Adam with cosine decay to 0 over ``steps``, gradient norm clipped at 5.

    Shared by the shapes and the nuclei models. ``per_epoch`` steps make one Keras epoch (one point of the
    loss curves) and must divide ``steps``. Returns ``(history, seconds)``, the wall time of ``fit`` with the
    first step's tracing.
    """
    keras = _backend.keras()

    if steps % per_epoch:
        raise ValueError(f"steps should be a multiple of {per_epoch} (one point of the loss curves), got {steps}.")
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=int(steps))
    # jit_compile=False: NMS and top-k have no XLA kernel on the CPU.
    model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=5.0), jit_compile=False)
    start = time.perf_counter()
    history = model.fit(dataset, steps_per_epoch=per_epoch, epochs=steps // per_epoch, callbacks=callbacks or [],
                        verbose=verbose, shuffle=False)
    return history, time.perf_counter() - start


def evaluate_on_shapes(model, n_images: int = 500, *, seed: int = EVAL_SEED) -> dict:
    """COCO mask and box AP of ``model`` on held-out ``shapes`` images.

    Returns
    -------
    dict
        ``mask`` and ``box``: the dicts of :func:`segtutor.maskrcnn.evaluate.coco_ap`;
        ``seconds_per_image``: inference time, pasting included; ``data``, ``predictions``.
    """
    from .._validate import check_scalar, check_seed
    from ..datasets import make_shapes
    from .evaluate import coco_ap
    from .inference import detect
    from .model import check_maskrcnn

    model = check_maskrcnn(model)
    # 500 images take about a minute; ten times that is a typo, not an evaluation.
    n_images = check_scalar(n_images, "n_images", integer=True, low=1, high=5000)
    seed = check_seed(seed)
    data = make_shapes(n_images, size=model.config.image_size, seed=seed)
    detect(model, data.images[:8])  # trace once, outside the timing
    start = time.perf_counter()
    predictions = detect(model, data.images)
    seconds = (time.perf_counter() - start) / len(data)
    truths = [{"masks": m, "class_ids": c} for m, c in zip(data.masks, data.class_ids)]
    return {"mask": coco_ap(predictions, truths, "segm"), "box": coco_ap(predictions, truths, "bbox"),
            "seconds_per_image": seconds, "data": data, "predictions": predictions}
