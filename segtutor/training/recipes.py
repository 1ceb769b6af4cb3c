"""One recipe object per model that ``segtutor train`` trains: how to build, batch and evaluate it.

The run loop (:func:`segtutor.training.run.run_training`) knows nothing about
any one architecture: it asks the recipe named by ``--model`` for the
architecture facts a checkpoint must match (:meth:`Recipe.spec`), a compiled
model (:meth:`Recipe.build`), the training data in the form its batches need
(:meth:`Recipe.prepare`), the batches of a chunk of steps
(:meth:`Recipe.batches`), the validation scores and predictions
(:meth:`Recipe.evaluate`) and the PNG masks of those predictions
(:meth:`Recipe.label_images`). A new model is one more recipe in
:data:`RECIPES`; nothing else tests a model's name.

Examples
--------
>>> sorted(RECIPES)
['deeplab', 'maskrcnn', 'unet']
>>> get_recipe("unet").metric_for(n_classes=2)
'dice'
>>> get_recipe("unte")
Traceback (most recent call last):
...
segtutor.training.errors.TrainError: model (--model) should be one of 'unet', 'deeplab', 'maskrcnn', got 'unte'.
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .data import instance_chunk
from .errors import TrainError

__all__ = ["Recipe", "UNetRecipe", "DeepLabRecipe", "MaskRCNNRecipe", "RECIPES", "DEFAULT_MODEL", "get_recipe",
           "SEMANTIC_AUGMENT"]

#: What ``segtutor train`` does to a U-Net's or DeepLabv3+'s batches: a left-right and an up-down flip, each with
#: probability 1/2, and 0 to 3 quarter turns, image and mask together (``segmentation_dataset``'s ``augment``).
SEMANTIC_AUGMENT = ("flip", "rotate")


def _three_channels(images: np.ndarray) -> np.ndarray:
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


class Recipe:
    """What the run loop needs of one model. Subclasses fill in each step.

    Attributes
    ----------
    name : str
        The value of ``--model``.
    summary : str
        One line for ``segtutor train --help``.
    """

    name = ""
    summary = ""

    def spec(self, image_size: int, channels: int, n_classes: int, dataset: dict, options) -> dict:
        """Architecture facts, JSON-able: saved in every checkpoint and compared on resume."""
        raise NotImplementedError

    def metric_for(self, n_classes: int) -> str:
        """The name of the metric shown beside the loss and written to ``metrics.csv``."""
        raise NotImplementedError

    def build(self, spec: dict, steps: int, learning_rate: float):
        """A compiled model (Adam with a cosine decay over ``steps``), built inside the strategy's scope."""
        raise NotImplementedError

    def prepare(self, dataset: dict, train_idx: np.ndarray, spec: dict):
        """The training items in the form :meth:`batches` reads."""
        raise NotImplementedError

    def batches(self, prepared, start: int, n_steps: int, batch_size: int, seed: int):
        """A ``tf.data.Dataset`` of batches ``start .. start + n_steps - 1`` (pure functions of the step)."""
        raise NotImplementedError

    def evaluate(self, model, dataset: dict, val_idx: np.ndarray) -> tuple[dict, list]:
        """Validation scores, and predictions (dicts with ``masks``, ``class_ids``, ``scores``) to export."""
        raise NotImplementedError

    def label_images(self, predictions: list, image_size: int) -> list:
        """One integer image per prediction, written as a PNG mask."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _SemanticRecipe(Recipe):
    """A fully convolutional network with one output per class (one sigmoid output for two classes).

    Its batches come from :func:`segtutor.datasets.segmentation_dataset`, the
    batch maker of the notebooks, in its resumable form (``start_step``):
    augmented by :data:`SEMANTIC_AUGMENT`, each batch a pure function of the
    seed and the step. Two classes train one sigmoid output on float32
    (B, H, W, 1) masks; more train a softmax on int32 (B, H, W) class ids.
    """

    def metric_for(self, n_classes: int) -> str:
        return "dice" if n_classes == 2 else "mean_iou"

    def network(self, shape: tuple, out_classes: int, spec: dict):
        raise NotImplementedError

    def build(self, spec: dict, steps: int, learning_rate: float):
        keras = _backend.keras()

        from ..learning import cosine_schedule
        from ..losses import keras_loss

        schedule = cosine_schedule(learning_rate, steps)
        shape = (spec["image_size"], spec["image_size"], spec["channels"])
        binary = spec["n_classes"] == 2
        model = self.network(shape, 1 if binary else spec["n_classes"], spec)
        if binary:
            from ..losses import dice_metric

            loss, metric = keras_loss("bce_dice"), dice_metric()
        else:
            loss = "sparse_categorical_crossentropy"
            metric = keras.metrics.MeanIoU(spec["n_classes"], name="mean_iou", sparse_y_pred=False)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=[metric], jit_compile=False)
        return model

    def prepare(self, dataset: dict, train_idx: np.ndarray, spec: dict):
        binary = spec["n_classes"] == 2
        masks = dataset["masks"][train_idx]
        return dataset["images"][train_idx], (masks[..., None] if binary else masks), binary

    def batches(self, prepared, start: int, n_steps: int, batch_size: int, seed: int):
        tf = _backend.tensorflow()

        from ..datasets import segmentation_dataset

        images, masks, binary = prepared
        batches = segmentation_dataset(images, masks, batch_size=batch_size, augment=SEMANTIC_AUGMENT, seed=seed,
                                       start_step=start, steps=n_steps)
        if binary:  # the sigmoid output's binary cross-entropy and Dice compare float masks
            batches = batches.map(lambda x, y: (x, tf.cast(y, tf.float32)))
        return batches

    def evaluate(self, model, dataset: dict, val_idx: np.ndarray) -> tuple[dict, list]:
        from .. import metrics
        from ..datasets.export import semantic_to_instances

        n_classes = len(dataset["classes"])
        prob = np.asarray(model.predict(dataset["images"][val_idx], verbose=0, batch_size=8))
        classes = (prob[..., 0] > 0.5).astype(np.int32) if prob.shape[-1] == 1 else prob.argmax(-1).astype(np.int32)
        truth = dataset["masks"][val_idx]
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

    def label_images(self, predictions: list, image_size: int) -> list:
        return [p["class_mask"] for p in predictions]


class UNetRecipe(_SemanticRecipe):
    """U-Net (Ronneberger et al. 2015), :func:`segtutor.models.unet.build_unet`; ``width`` and ``depth``."""

    name = "unet"
    summary = "U-Net (notebook 06): --width filters at the first of --depth levels"

    def spec(self, image_size, channels, n_classes, dataset, options) -> dict:
        return {"image_size": image_size, "channels": channels, "n_classes": n_classes, "width": options.width,
                "depth": options.depth}

    def network(self, shape, out_classes, spec):
        from ..models.unet import build_unet

        return build_unet(shape, out_classes, depth=spec["depth"], width=spec["width"])


class DeepLabRecipe(_SemanticRecipe):
    """DeepLabv3+ (Chen et al. 2018), :func:`segtutor.models.deeplab.build_deeplab`; ``width``."""

    name = "deeplab"
    summary = "DeepLabv3+ (notebook 07): --width filters at its first level"

    def spec(self, image_size, channels, n_classes, dataset, options) -> dict:
        return {"image_size": image_size, "channels": channels, "n_classes": n_classes, "width": options.width}

    def network(self, shape, out_classes, spec):
        from ..models.deeplab import build_deeplab

        return build_deeplab(shape, out_classes, width=spec["width"])


class MaskRCNNRecipe(Recipe):
    """Mask R-CNN (He et al. 2017), :class:`segtutor.maskrcnn.model.MaskRCNN`, trained from scratch.

    Anchors and RoIs are sampled inside the compiled training step from the
    global ``tf.random.Generator`` (``MaskRCNN.sampler``), whose state is a
    variable that the checkpoints save: TensorFlow's stateful
    ``tf.random.uniform`` would keep its state inside the traced graph, where
    no checkpoint reaches it.
    """

    name = "maskrcnn"
    summary = "Mask R-CNN (notebooks 08-10), instances of every class"

    def spec(self, image_size, channels, n_classes, dataset, options) -> dict:
        most = max((len(c) for c in dataset["class_ids"]), default=1)
        return {"image_size": image_size, "channels": channels, "n_classes": n_classes,
                "max_instances": int(min(max(most, 1), 64))}

    def metric_for(self, n_classes: int) -> str:
        return "mask_loss"

    def build(self, spec: dict, steps: int, learning_rate: float):
        keras = _backend.keras()
        tf = _backend.tensorflow()

        from ..learning import cosine_schedule
        from ..maskrcnn.config import MaskRCNNConfig
        from ..maskrcnn.model import MaskRCNN

        schedule = cosine_schedule(learning_rate, steps)
        config = MaskRCNNConfig(num_classes=spec["n_classes"] - 1, max_instances=spec["max_instances"],
                                image_size=spec["image_size"])
        model = MaskRCNN(config)
        model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=5.0), jit_compile=False)
        model.build_all()
        model.sampler = tf.random.get_global_generator()  # anchor and RoI sampling, checkpointed (see above)
        return model

    def prepare(self, dataset: dict, train_idx: np.ndarray, spec: dict):
        from ..maskrcnn.data import prepare_instances

        return prepare_instances(_three_channels(dataset["images"][train_idx]),
                                 [dataset["instances"][i] for i in train_idx],
                                 [dataset["class_ids"][i] for i in train_idx],
                                 num_classes=spec["n_classes"] - 1, max_instances=spec["max_instances"])

    def batches(self, prepared, start: int, n_steps: int, batch_size: int, seed: int):
        tf = _backend.tensorflow()

        chunk = instance_chunk(prepared, start, n_steps, batch_size, seed)
        return tf.data.Dataset.from_tensor_slices(chunk).batch(batch_size)

    def evaluate(self, model, dataset: dict, val_idx: np.ndarray) -> tuple[dict, list]:
        from ..maskrcnn.evaluate import coco_ap
        from ..maskrcnn.inference import detect

        detections = detect(model, _three_channels(dataset["images"][val_idx]), batch_size=4)
        truths = [{"masks": dataset["instances"][i], "class_ids": dataset["class_ids"][i]} for i in val_idx]
        ap = coco_ap(detections, truths, "segm")
        preds = [{"masks": d["masks"], "class_ids": d["class_ids"], "scores": d["scores"]} for d in detections]
        return {"mask_AP": round(ap["AP"], 6), "mask_AP50": round(ap["AP50"], 6)}, preds

    def label_images(self, predictions: list, image_size: int) -> list:
        pngs = []
        for p in predictions:  # instance ids, highest score on top
            ids = np.zeros((image_size, image_size), np.int32)
            for k in range(len(p["masks"]) - 1, -1, -1):
                ids[p["masks"][k] & (np.asarray(p["scores"])[k] >= 0.5)] = k + 1
            pngs.append(ids)
        return pngs


#: The models ``segtutor train --model`` trains, by name, in the order ``--help`` lists them.
RECIPES = {recipe.name: recipe for recipe in (UNetRecipe(), DeepLabRecipe(), MaskRCNNRecipe())}
#: The model trained when none is named: the course's first segmentation network.
DEFAULT_MODEL = UNetRecipe.name


def get_recipe(model) -> Recipe:
    """The recipe of the model named ``model`` (``--model``).

    Raises
    ------
    TrainError
        For a name that is not in :data:`RECIPES`.
    """
    if not isinstance(model, str) or model not in RECIPES:
        raise TrainError(f"model (--model) should be one of {', '.join(map(repr, RECIPES))}, got {model!r}.")
    return RECIPES[model]
