"""Notebook 12: COCO's uncompressed run-length encoding."""

import numpy as np


def _rle(mask, *, order="F", trailing_zero=False, first="zeros"):
    flat = np.asarray(mask, bool).ravel(order=order)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], change, [flat.size]]))
    if flat[0] and first == "zeros":
        counts = np.concatenate([[0], counts])
    if trailing_zero and flat[-1]:
        counts = np.concatenate([counts, [0]])
    return counts


MUTANTS = {"rle_counts": {
    "adds an empty run of 0s at the end when the last pixel is 1": lambda m: _rle(m, trailing_zero=True),
    "runs of 1s only": lambda m: _rle(m)[1::2],
    "(value, length) pairs": lambda m: np.array([[i % 2, c] for i, c in enumerate(_rle(m))]),
    "an empty mask gives no runs": lambda m: _rle(m) if np.asarray(m).any() else np.zeros(0, int),
    "transposes and then reads column by column (row order)": lambda m: _rle(np.asarray(m).T),
}}
