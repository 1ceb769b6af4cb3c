"""One recipe object per semi-supervised method of notebook 11: build, batch, train and evaluate.

:func:`~segtutor.semi.experiment.label_efficiency` runs each method it is
given through its recipe here, and :func:`~segtutor.semi.experiment.efficiency_figure`
draws each with the recipe's marker and colour; no other code tests a
method's name. :data:`segtutor.training.SEMI_RECIPES` lists these beside the
recipes of ``segtutor train``.

Every recipe trains the same small U-Net (:meth:`SemiRecipe.build`) on the
same augmented patches (:meth:`SemiRecipe.batches`) for ``steps + semi_steps``
steps in all, and is scored by :func:`held_out_dice`.

Examples
--------
>>> list(METHOD_RECIPES)
['labelled only', 'self-training', 'mean teacher']
>>> METHOD_RECIPES["mean teacher"].needs_unlabelled
True
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (the examples use it)

from ._checks import IGNORE, check_images, check_student, check_targets
from .mean_teacher import train_mean_teacher
from .self_training import self_training
from .training import build_student, train_supervised, training_batches

__all__ = ["SemiRecipe", "LabelledOnly", "SelfTraining", "MeanTeacherRecipe", "METHOD_RECIPES", "held_out_dice"]


def held_out_dice(model, images, masks) -> float:
    """Dice of ``prediction > 0.5`` against ``masks``, pooled over all held-out pixels.

    Examples
    --------
    >>> from segtutor.semi import build_student
    >>> round(held_out_dice(build_student(depth=2, width=4), np.zeros((1, 16, 16)), np.ones((1, 16, 16))), 3) >= 0
    True
    """
    from .. import metrics

    model = check_student(model)
    x = check_images(images)
    y = check_targets(masks, x, "masks")
    if (y == IGNORE).any():
        raise ValueError("masks of a held-out set should hold only 0 and 1.")
    prob = model.predict(x, batch_size=8, verbose=0)[..., 0]
    return float(metrics.dice(prob > 0.5, y > 0))


class SemiRecipe:
    """A semi-supervised method: its name, whether it needs unlabelled images, and how it trains.

    ``fit(xl, yl, xu, steps=, semi_steps=, batch_size=, patch_size=, seed=, settings=)``
    returns the trained model; ``settings`` holds the methods' own options
    (``threshold``, ``share``, ``consistency``, ``strength``, ``decay``, ``cutmix``),
    each recipe reading its own.
    """

    name = ""
    needs_unlabelled = False
    marker, colour = "o", "#000000"

    def build(self, seed: int = 0):
        """A fresh student U-Net (:func:`~segtutor.semi.training.build_student`)."""
        return build_student(seed=seed)

    def batches(self, images, targets, *, batch_size: int, patch_size: int, seed: int):
        """Endless augmented patches (:func:`~segtutor.semi.training.training_batches`)."""
        return training_batches(images, targets, batch_size=batch_size, patch_size=patch_size, seed=seed)

    def fit(self, xl, yl, xu, *, steps: int, semi_steps: int, batch_size: int, patch_size: int, seed: int,
            settings: dict):
        raise NotImplementedError

    def evaluate(self, model, images, masks) -> float:
        """Held-out Dice (:func:`held_out_dice`)."""
        return held_out_dice(model, images, masks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LabelledOnly(SemiRecipe):
    """Supervised training on the labelled images alone, ``steps + semi_steps`` steps: the baseline."""

    name = "labelled only"
    marker, colour = "o", "#0072B2"

    def fit(self, xl, yl, xu, *, steps, semi_steps, batch_size, patch_size, seed, settings):
        return train_supervised(xl, yl, steps=steps + semi_steps, batch_size=batch_size, patch_size=patch_size,
                                seed=seed)[0]


class SelfTraining(SemiRecipe):
    """Self-training (Lee 2013): ``steps`` on the labels, then ``semi_steps`` on labels plus pseudo-labels."""

    name = "self-training"
    needs_unlabelled = True
    marker, colour = "s", "#D55E00"

    def fit(self, xl, yl, xu, *, steps, semi_steps, batch_size, patch_size, seed, settings):
        common = dict(batch_size=batch_size, patch_size=patch_size, seed=seed)
        base = train_supervised(xl, yl, steps=steps, **common)[0]
        return self_training(base, xl, yl, xu, threshold=settings["threshold"], share=settings["share"],
                             steps=semi_steps, **common)[0]


class MeanTeacherRecipe(SemiRecipe):
    """Mean teacher (Tarvainen and Valpola 2017) with CutMix (French et al. 2020), ``steps + semi_steps`` steps."""

    name = "mean teacher"
    needs_unlabelled = True
    marker, colour = "^", "#009E73"

    def fit(self, xl, yl, xu, *, steps, semi_steps, batch_size, patch_size, seed, settings):
        return train_mean_teacher(xl, yl, xu, steps=steps + semi_steps, student=self.build(seed=seed),
                                  consistency=settings["consistency"], strength=settings["strength"],
                                  decay=settings["decay"], cutmix=settings["cutmix"], batch_size=batch_size,
                                  patch_size=patch_size, seed=seed)[0]


#: The methods of notebook 11, by name, in the order the experiment runs them.
METHOD_RECIPES = {recipe.name: recipe for recipe in (LabelledOnly(), SelfTraining(), MeanTeacherRecipe())}
