"""Notebook 04 (inside a CNN): the Grad-CAM map from activations and gradients."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _cam(activations, gradients):
    from segtutor.interpret import grad_cam_from_gradients

    return grad_cam_from_gradients(activations, gradients)


def _case(rng):
    h, w, k = (int(v) for v in rng.integers(1, 8, size=3))
    acts = np.maximum(rng.normal(size=(h, w, k)), 0).round(3)  # ReLU activations are >= 0
    return Case((acts, rng.normal(size=(h, w, k)).round(3)))


A = np.stack([np.eye(3), np.ones((3, 3))], axis=-1)
G = np.stack([np.full((3, 3), 2.0), np.full((3, 3), -1.0)], axis=-1)

register(
    Exercise(
        name="grad_cam",
        function="my_grad_cam",
        signature="(activations, gradients)",
        reference=_cam,
        hides=("segtutor.interpret.grad_cam_from_gradients",),
        fixed=[
            Case((A, G), "weights (2, -1): 2·eye - ones is 1 on the diagonal, -1 elsewhere, then ReLU"),
            Case((A, -G), "weights (-2, 1): the diagonal goes negative and ReLU removes it"),
            Case((A, 3 * G), "weights (6, -3): the diagonal is 3 and the rest 0; the map is not rescaled"),
            Case((np.ones((2, 2, 1)), np.array([[[1.0], [0.0]], [[0.0], [3.0]]])),
                 "one channel: its weight is the *mean* gradient, (1 + 0 + 0 + 3) / 4 = 1"),
        ],
        random_case=_case,
        edge=[
            Case((np.ones((1, 1, 1)), np.ones((1, 1, 1))), "a 1×1 map with one channel"),
            Case((np.ones((2, 2, 3)), np.ones((2, 2, 2))), "activations and gradients of different shapes should raise"),
            Case((np.ones((2, 2, 3)), np.ones((1, 1, 3))),
                 "gradients (1, 1, 3) for activations (2, 2, 3): NumPy would broadcast them, but the shapes differ: raise"),
        ],
        mistakes={
            "you forgot the ReLU: Grad-CAM keeps only the positive evidence, np.maximum(map, 0)":
                lambda a, g: (np.asarray(a) * np.asarray(g).mean(axis=(0, 1))).sum(-1),
            "you summed the gradients; the channel weight is their mean over the H × W positions":
                lambda a, g: np.maximum((np.asarray(a) * np.asarray(g).sum(axis=(0, 1))).sum(-1), 0),
            "you multiplied activations by gradients pixel by pixel; first average each channel's gradient":
                lambda a, g: np.maximum((np.asarray(a) * np.asarray(g)).sum(-1), 0),
        },
    )
)
