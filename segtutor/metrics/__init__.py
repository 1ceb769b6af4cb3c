"""Scores for segmentations: pixel accuracy, IoU, Dice, confusion matrix, instance matching.

Pure NumPy (SciPy for one optimal assignment); nothing here imports TensorFlow,
so scores can be computed on any saved prediction.

Conventions for the whole course
--------------------------------
* Masks are (H, W) or a batch (N, H, W) of booleans or 0/1 integers; label
  maps hold integers ``0 .. n_classes - 1``. Float masks are accepted only if
  they hold whole numbers: threshold probabilities first (``probs > 0.5``).
* **Empty masks**: IoU and Dice of two empty masks are 1.0 (perfect agreement
  that nothing is there); an empty truth with a non-empty prediction (or the
  reverse) scores 0.0. Per-class scores are NaN for a class absent from both,
  and :func:`mean_iou` skips those NaNs.
* **Batches** are pooled by default (all pixels counted together); pass
  ``reduction="per_image"`` to :func:`iou` / :func:`dice` for one score per
  image.
* **Confusion matrix**: rows are the truth, columns the prediction.
* **Instances**: 0 is background; ids need not be consecutive. A predicted
  and a true object match when their IoU is at least the threshold.

Modules
-------
semantic   pixel accuracy, IoU, Dice, per-class scores, confusion matrix
instance   IoU matrix of objects, matching, precision/recall/F1, DSB 2018 score

Examples
--------
>>> import numpy as np
>>> from segtutor import metrics
>>> truth = np.zeros((4, 4), bool); truth[1:3, 1:3] = True
>>> pred = np.zeros((4, 4), bool); pred[1:3, 1:4] = True
>>> metrics.iou(pred, truth), round(metrics.dice(pred, truth), 3)
(0.6666666666666666, 0.8)
"""

from .instance import (
    DSB_THRESHOLDS,
    InstanceMatch,
    InstanceScores,
    instance_iou_matrix,
    instance_scores,
    match_instances,
)
from .semantic import (
    confusion_matrix,
    dice,
    dice_per_class,
    iou,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
)

__all__ = [
    "pixel_accuracy",
    "iou",
    "dice",
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "mean_iou",
    "instance_iou_matrix",
    "match_instances",
    "instance_scores",
    "InstanceMatch",
    "InstanceScores",
    "DSB_THRESHOLDS",
]
