"""Random inputs shared by the specs (small, so a check stays well under 1 s)."""

from __future__ import annotations

import numpy as np


def shape(rng: np.random.Generator, low: int = 1, high: int = 24) -> tuple[int, int]:
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def mask(rng: np.random.Generator, size: tuple[int, int], density: float | None = None) -> np.ndarray:
    """A boolean mask: random blobs (a rectangle) plus salt, at a random density."""
    density = float(rng.uniform(0.05, 0.6)) if density is None else density
    out = rng.random(size) < density
    h, w = size
    y1, x1 = int(rng.integers(0, h)), int(rng.integers(0, w))
    y2, x2 = int(rng.integers(y1, h)) + 1, int(rng.integers(x1, w)) + 1
    out[y1:y2, x1:x2] = rng.random() < 0.7
    return out


def overlapping_masks(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two masks of one shape that usually overlap in part."""
    size = shape(rng, 2, 24)
    truth = mask(rng, size)
    pred = truth.copy()
    flip = rng.random(size) < rng.uniform(0.0, 0.5)
    pred[flip] = ~pred[flip]
    return pred, truth
