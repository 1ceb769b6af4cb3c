"""Self-training with confidence-filtered pseudo-labels (Lee 2013), notebook 11 section 2."""

from __future__ import annotations

import time

import numpy as np

from .._validate import check_positive_int
from ..pseudo_labels import balanced_pseudo_label_targets, check_share, pseudo_label_targets
from ._checks import (IGNORE, check_callbacks, check_images, check_student, check_targets, check_threshold,
                      check_training_args)
from .training import predict_probabilities, train_supervised

__all__ = ["self_training"]


def self_training(model, labelled_images, labelled_masks, unlabelled_images, *, threshold: float = 0.9,
                  share: float | None = None, rounds: int = 1, steps: int, batch_size: int = 8, patch_size: int = 64,
                  learning_rate: float = 1e-3, seed: int = 0, callbacks=()):
    """Self-training with confidence-filtered pseudo-labels (Lee 2013), starting from a trained model.

    Each round: predict the unlabelled images (averaged over flips), keep the
    confident pixels (:func:`pseudo_label_targets`), and continue training the
    model on the labelled images plus the pseudo-labelled ones, with the
    ignored pixels weighing 0. The labelled images are repeated so that they
    make up about a third of the training set: they anchor the model against
    its own mistakes.

    Parameters
    ----------
    model : keras.Model
        The model trained on the labelled images only (the first teacher).
    labelled_images, labelled_masks : array_like, (N_l, H, W[, 1])
    unlabelled_images : array_like, (N_u, H, W[, 1])
    threshold : float in [0.5, 1]
        Confidence needed to keep a pixel (one threshold for both classes).
    share : float in (0, 1], optional
        If given, select class-balanced instead: keep this share of the most
        confident pixels of each predicted class
        (:func:`~segtutor.semi.pseudo_labels.class_balanced_thresholds`, Zou et
        al. 2018), and ``threshold`` is not used. Against the background bias
        of one threshold.
    rounds : int
        Predict-select-train rounds.
    steps : int
        Training steps per round.
    learning_rate : float
        Adam's starting rate in each round (lower than from scratch: the model
        is fine-tuned).

    Returns
    -------
    model : keras.Model
        The same model object, trained further.
    record : list of dict
        Per round: ``coverage`` of the pseudo-labels, the share of foreground
        among them (``foreground``), and the training ``seconds``.

    Notes
    -----
    Lee (2013) trained one network on labelled and pseudo-labelled data at
    once, re-labelling every batch with the most probable class and ramping up
    the pseudo-label weight. Here the rounds are offline (predict, then
    train), as in most later self-training work (for example Xie et al. 2020,
    "noisy student"), and a confidence filter replaces the ramp-up. With
    ``share``, the filter is class-balanced as in CBST (Zou et al. 2018),
    who also found a single threshold to favour the easy, frequent classes.
    """
    model = check_student(model)
    xl = check_images(labelled_images, "labelled_images")
    yl = check_targets(labelled_masks, xl, "labelled_masks")
    xu = check_images(unlabelled_images, "unlabelled_images")
    if xu.shape[1:] != xl.shape[1:]:
        raise ValueError(f"unlabelled_images {xu.shape[1:]} and labelled_images {xl.shape[1:]} should have one "
                         "size.")
    threshold = check_threshold(threshold)
    share = None if share is None else check_share(share)
    rounds = check_positive_int(rounds, "rounds")
    if rounds > 20:
        raise ValueError(f"rounds should be at most 20, got {rounds}.")
    steps, batch_size, patch_size, learning_rate, seed = check_training_args(steps, batch_size, patch_size, learning_rate, seed)
    callbacks = check_callbacks(callbacks)
    record = []
    repeats = max(1, round(len(xu) / (2 * len(xl))))
    for r in range(rounds):
        prob = predict_probabilities(model, xu)
        targets = pseudo_label_targets(prob, threshold) if share is None else balanced_pseudo_label_targets(prob, share)
        images = np.concatenate([np.repeat(xl, repeats, axis=0), xu])
        masks = np.concatenate([np.repeat(yl, repeats, axis=0), targets])
        start = time.perf_counter()
        train_supervised(images, masks, steps=steps, model=model, batch_size=batch_size, patch_size=patch_size,
                         learning_rate=learning_rate, seed=seed + 1 + r, callbacks=callbacks)
        kept = targets != IGNORE
        record.append({"round": r + 1, "coverage": float(kept.mean()),
                       "foreground": float((targets == 1).sum() / max(int(kept.sum()), 1)),
                       "seconds": time.perf_counter() - start})
    return model, record


