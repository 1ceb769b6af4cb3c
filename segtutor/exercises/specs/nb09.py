"""Notebook 09 (anatomy of Mask R-CNN): bilinear sampling, the heart of RoIAlign."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _reference(feature, y, x):
    from segtutor.maskrcnn.roi_align import bilinear_sample

    return bilinear_sample(feature, y, x)


def _case(rng):
    h, w = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    feature = rng.normal(size=(h, w)).round(2)
    # Mostly inside, sometimes in the clamped border band, rarely far outside.
    y = round(float(rng.uniform(-1.4, h + 0.4)), 3)
    x = round(float(rng.uniform(-1.4, w + 0.4)), 3)
    return Case((feature, y, x))


def _nearest(feature, y, x):
    f = np.asarray(feature, float)
    h, w = f.shape
    if y < -1 or y > h or x < -1 or x > w:
        return 0.0
    return float(f[int(np.clip(round(y), 0, h - 1)), int(np.clip(round(x), 0, w - 1))])


def _swapped(feature, y, x):
    f = np.asarray(feature, float)
    if f.shape[0] != f.shape[1]:
        raise IndexError("on a non-square map the swap usually indexes out of bounds")
    return _reference(f, x, y)


def _no_clamp(feature, y, x):
    f = np.asarray(feature, float)
    h, w = f.shape
    if y < 0 or y > h - 1 or x < 0 or x > w - 1:
        return 0.0
    return _reference(f, y, x)


def _edge_coordinates(feature, y, x):
    return _reference(feature, y - 0.5, x - 0.5)


F = np.array([[0.0, 1.0], [2.0, 3.0]])

register(Exercise(
    name="bilinear_sample",
    function="my_bilinear_sample",
    signature="(feature, y, x)",
    reference=_reference,
    fixed=[
        Case((F, 0.0, 0.0), "exactly on a cell centre: that cell's value"),
        Case((F, 0.5, 0.5), "half-way between four centres: their mean, 1.5"),
        Case((F, 0.0, 0.25), "a quarter of the way from 0 to 1 along a row: 0.25"),
        Case((F, 1.0, 0.75), "on the bottom row, three quarters from 2 to 3: 2.75"),
    ],
    random_case=_case,
    edge=[
        Case((F, -0.5, 1.0), "within one cell outside the map: clamp to the border (1.0)"),
        Case((F, 3.5, 0.0), "more than one cell outside: 0"),
        Case((F, 2.0, 0.0), "y = H is still inside the band (only y > H reads 0): clamp to the last row, 2"),
        Case((F, 1.0, -1.0), "x = -1 is still inside the band (only x < -1 reads 0): clamp to column 0, 2"),
        Case((F, 0.0, -1.25), "x < -1 is more than one cell outside: 0"),
        Case((np.array([[7.0]]), 0.3, -0.2), "a 1x1 map: every point near it reads 7"),
    ],
    mistakes={
        "that is the nearest cell, not a bilinear blend of the four around the point": _nearest,
        "y is the row (first index) and x the column: they look swapped": _swapped,
        "points within one cell outside the map should be clamped to the border, not set to 0": _no_clamp,
        "y and x are already cell-centre (index) coordinates: do not subtract 0.5": _edge_coordinates,
    },
    compare=lambda e, g, a: g.shape == e.shape and bool(np.allclose(g, e, rtol=1e-6, atol=1e-9)),
))
