"""Notebook 00: fraction of pixels strictly above a threshold."""

import numpy as np


def wraps_around(image, threshold):
    # image - threshold on uint8 wraps around below 0 instead of going negative
    image = np.asarray(image)
    return float(np.mean((image - np.asarray(threshold).astype(image.dtype)) > 0))


MUTANTS = {"fraction_above": {
    "returns a percentage": lambda image, t: 100 * float(np.mean(np.asarray(image) > t)),
    "divides by the number of rows, not of pixels":
        lambda image, t: float(np.count_nonzero(np.asarray(image) > t) / np.asarray(image).shape[0]),
    "truncates the threshold to an integer": lambda image, t: float(np.mean(np.asarray(image) > int(t))),
    "subtracts in uint8, which wraps around": wraps_around,
    "returns one fraction per column": lambda image, t: np.mean(np.asarray(image) > t, axis=0),
    "counts only the first row": lambda image, t: float(np.mean(np.asarray(image)[0] > t)),
}}
