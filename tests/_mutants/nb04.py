"""Notebook 04: the Grad-CAM map."""

import numpy as np


def _cam(a, g, *, check=True, rescale=False, weights="mean", relu=True):
    a, g = np.asarray(a, float), np.asarray(g, float)
    if check and a.shape != g.shape:
        raise ValueError("shapes differ")
    if weights == "mean":
        w = g.mean(axis=(0, 1))
    elif weights == "max":
        w = g.max(axis=(0, 1))
    else:  # the mean over channels at each position, not over positions
        w = g.mean(axis=-1, keepdims=True)
    cam = (a * w).sum(axis=-1)
    if relu:
        cam = np.maximum(cam, 0)
    if rescale and cam.max() > 0:
        cam = cam / cam.max()
    return cam


def _relu_per_channel(a, g):
    a, g = np.asarray(a, float), np.asarray(g, float)
    if a.shape != g.shape:
        raise ValueError("shapes differ")
    return np.maximum(a * g.mean(axis=(0, 1)), 0).sum(axis=-1)


MUTANTS = {"grad_cam": {
    "no shape check ((1, 1, K) gradients broadcast)": lambda a, g: _cam(a, g, check=False),
    "rescales the map to [0, 1]": lambda a, g: _cam(a, g, rescale=True),
    "weights are the largest gradient, not the mean": lambda a, g: _cam(a, g, weights="max"),
    "averages the gradients over channels instead of positions": lambda a, g: _cam(a, g, weights="channels"),
    "ReLU on each channel before summing": _relu_per_channel,
    "absolute value instead of ReLU": lambda a, g: np.abs(_cam(a, g, relu=False)),
}}
