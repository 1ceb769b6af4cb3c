"""Notebook 09: bilinear sampling at index coordinates."""

import numpy as np


def _sample(feature, y, x, *, outside=">", clamp_to="last", neighbour="clamp", weights="ok"):
    f = np.asarray(feature, float)
    h, w = f.shape
    far = (y < -1 or y > h or x < -1 or x > w) if outside == ">" else (y <= -1 or y >= h or x <= -1 or x >= w)
    if far:
        return 0.0
    top = h - 1.0 if clamp_to == "last" else float(h)
    right = w - 1.0 if clamp_to == "last" else float(w)
    y, x = min(max(y, 0.0), top), min(max(x, 0.0), right)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    if neighbour == "clamp":
        y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    else:
        y1, x1 = y0 + 1, x0 + 1
    y0, x0 = min(y0, h - 1), min(x0, w - 1)
    ly, lx = y - np.floor(y), x - np.floor(x)
    if weights == "swapped":
        ly, lx = lx, ly
    return float((1 - ly) * (1 - lx) * f[y0, x0] + (1 - ly) * lx * f[y0, x1] + ly * (1 - lx) * f[y1, x0] + ly * lx * f[y1, x1])


def _nan_outside(feature, y, x):
    h, w = np.shape(feature)
    return float("nan") if y < -1 or y > h or x < -1 or x > w else _sample(feature, y, x)


MUTANTS = {"bilinear_sample": {
    "a point at y = H or x = -1 reads 0 (>= instead of >)": lambda f, y, x: _sample(f, y, x, outside=">="),
    "reads the neighbour past the last cell (IndexError)": lambda f, y, x: _sample(f, y, x, neighbour="raw"),
    "the row weight and column weight swapped": lambda f, y, x: _sample(f, y, x, weights="swapped"),
    "rounds the point to the nearest cell centre first": lambda f, y, x: _sample(f, float(np.round(y)), float(np.round(x))),
    "returns NaN outside the map": _nan_outside,
}}
