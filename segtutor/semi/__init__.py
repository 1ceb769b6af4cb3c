"""Semi-supervised segmentation: pseudo-labels and mean teacher (notebook 11).

Labels are the expensive part of segmentation: outlining every nucleus in one
256 x 256 image takes an expert minutes, while unlabelled images cost nothing.
Semi-supervised learning uses a few labelled images *and* many unlabelled ones.
This package holds the two classic methods for a binary (sigmoid) U-Net:

* **Self-training with pseudo-labels** (Lee 2013): train on the labelled
  images, predict the unlabelled ones, keep only the pixels the model is sure
  about (:func:`select_pseudo_labels`), and train again on labelled plus
  pseudo-labelled images with a loss that ignores the other pixels
  (:func:`masked_bce_dice`). Cost: one prediction pass over the unlabelled
  images per round and one more training run. Failure mode: *confirmation
  bias*, a wrong but confident pseudo-label is learned as truth and
  reinforced in the next round (Arazo et al. 2020).
* **Mean teacher** (Tarvainen and Valpola 2017): a *student* learns from the
  labels and, on unlabelled images, to agree with a *teacher* whose weights
  are an exponential moving average (EMA) of the student's
  (:func:`ema_update`); the two see differently perturbed copies of each
  image (the student's strongly: :func:`cutmix` pastes a box of another
  image in, French et al. 2020, and :func:`photometric_jitter` changes its
  looks), and the weight of the consistency term ramps up
  (:func:`consistency_weight`). Cost per step: two more forward passes (the
  student and the teacher on the unlabelled batch) and a second copy of the
  weights. Failure mode: the perturbations must preserve the label (a
  perturbation that changes what is a nucleus teaches the wrong invariance).

Both need unlabelled images from the same distribution as the test images.

Conventions: probabilities are (..., H, W) or (..., H, W, 1) arrays in [0, 1];
training targets are integers 0 (background), 1 (nucleus) or :data:`IGNORE`
(a pixel that does not count, as ``ignore_index`` in other libraries).

Modules, one concept each: :mod:`~segtutor.semi.pseudo_labels` (which
pixels become targets), :mod:`~segtutor.semi.training` (the U-Net, the
masked loss, supervised training), :mod:`~segtutor.semi.self_training`,
:mod:`~segtutor.semi.mean_teacher` and :mod:`~segtutor.semi.experiment`
(the label-efficiency curve); for a domain shift, :mod:`~segtutor.semi.shift`
(two microscope looks), :mod:`~segtutor.semi.adapt` (AdaBN and adaptation on
unlabelled target images) and :mod:`~segtutor.semi.randomise` (labelled
images under random cameras). Every public name is re-exported here, so
``from segtutor import semi; semi.select_pseudo_labels(...)`` works.

Examples
--------
>>> import numpy as np
>>> p = np.array([[0.97, 0.6], [0.1, 0.02]])
>>> labels, keep = select_pseudo_labels(p, 0.9)
>>> labels.tolist(), keep.tolist()
([[1, 0], [0, 0]], [[True, False], [False, True]])
>>> pseudo_label_targets(p, 0.9).tolist()
[[1, 255], [255, 0]]
"""

from __future__ import annotations

from .adapt import (FRENCH_CONFIDENCE, SHIFT_METHODS, adabn_normalise, adapt_batch_norm, adapt_pretrained,
                    batch_norm_layers, batch_norm_statistics, domain_adaptation, mean_teacher_on_target, oracle, self_train_on_target, source_only)
from .experiment import METHODS, efficiency_figure, held_out_dice, label_efficiency, labelled_split
from .mean_teacher import (CUTMIX_AREA, JITTER, MeanTeacher, consistency_weight, cutmix, cutmix_boxes, ema_update,
                           photometric_jitter, train_mean_teacher)
from .randomise import LOOK_RANGES, randomise_look, randomised_source
from .pseudo_labels import (IGNORE, PseudoLabelQuality, balanced_pseudo_label_targets, class_balanced_thresholds,
                            pseudo_label_picture, pseudo_label_quality, pseudo_label_targets, select_pseudo_labels)
from .self_training import self_training
from .shift import LOOK_SIZE, SOURCE_LOOK, TARGET_LOOK, ShiftData, make_shift_data, shift_benchmark, shift_picture
from .training import AUGMENT, build_student, copy_model, masked_bce_dice, predict_probabilities, train_supervised

__all__ = [
    "IGNORE",
    "METHODS",
    "AUGMENT",
    "select_pseudo_labels",
    "pseudo_label_targets",
    "class_balanced_thresholds",
    "balanced_pseudo_label_targets",
    "pseudo_label_quality",
    "PseudoLabelQuality",
    "pseudo_label_picture",
    "labelled_split",
    "masked_bce_dice",
    "consistency_weight",
    "ema_update",
    "JITTER",
    "photometric_jitter",
    "CUTMIX_AREA",
    "cutmix_boxes",
    "cutmix",
    "build_student",
    "copy_model",
    "train_supervised",
    "predict_probabilities",
    "self_training",
    "MeanTeacher",
    "train_mean_teacher",
    "held_out_dice",
    "label_efficiency",
    "efficiency_figure",
    "SOURCE_LOOK",
    "LOOK_RANGES",
    "randomise_look",
    "randomised_source",
    "TARGET_LOOK",
    "LOOK_SIZE",
    "ShiftData",
    "make_shift_data",
    "shift_benchmark",
    "shift_picture",
    "SHIFT_METHODS",
    "FRENCH_CONFIDENCE",
    "adabn_normalise",
    "batch_norm_layers",
    "batch_norm_statistics",
    "adapt_batch_norm",
    "adapt_pretrained",
    "source_only",
    "oracle",
    "self_train_on_target",
    "mean_teacher_on_target",
    "domain_adaptation",
]
