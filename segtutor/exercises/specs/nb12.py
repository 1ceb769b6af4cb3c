"""Notebook 12 (capstone): COCO's run-length encoding of a mask, the heart of the COCO export."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register

REFERENCE = "segtutor.datasets.export.rle_counts"


def _reference(mask):
    from segtutor.datasets.export import rle_counts

    return rle_counts(mask)


def _runs(flat: np.ndarray, leading_zero: bool = True, last: bool = True) -> np.ndarray:
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]] if last else [[0], change])
    counts = np.diff(edges)
    if leading_zero and flat[0]:
        counts = np.concatenate([[0], counts])
    return counts


def _row_major(mask):
    return _runs(np.asarray(mask, bool).ravel(order="C"))


def _no_leading_zero(mask):
    return _runs(np.asarray(mask, bool).ravel(order="F"), leading_zero=False)


def _last_run_dropped(mask):
    return _runs(np.asarray(mask, bool).ravel(order="F"), last=False)


def _same_counts(expected, got, args):
    # The instructions ask for integers; float counts would also break pycocotools' encoder.
    return (got.shape == expected.shape and np.issubdtype(got.dtype, np.integer)
            and bool(np.array_equal(got, expected)))


def _case(rng):
    h, w = (int(v) for v in rng.integers(1, 11, size=2))
    kind = rng.integers(0, 3)
    if kind == 0:  # a filled rectangle, like most objects
        mask = np.zeros((h, w), bool)
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        mask[y0:int(rng.integers(y0 + 1, h + 1)), x0:int(rng.integers(x0 + 1, w + 1))] = True
    else:
        mask = rng.random((h, w)) < rng.uniform(0.2, 0.8)
    return Case((mask,))


register(Exercise(
    name="rle_counts",
    function="my_rle_counts",
    signature="(mask)",
    reference=REFERENCE,
    forbids=("pycocotools.mask.encode",),
    fixed=[
        Case((np.array([[0, 0, 1], [0, 1, 1]], bool),),
             "column by column: (0, 0), (0, 1), (1, 1) gives 3 zeros then 3 ones: [3, 3]"),
        Case((np.array([[0, 1], [0, 0]], bool),),
             "Fortran order: the first column is 0, 0, the second 1, 0, so the runs are 2 zeros, 1 one, 1 zero"),
        Case((np.array([[1, 1], [1, 0]], bool),),
             "the first pixel is foreground, so the counts start with an empty run of zeros: [0, 3, 1]"),
        Case((np.array([[0, 1, 0, 1]], bool),), "one row: every pixel starts a new run"),
    ],
    random_case=_case,
    edge=[
        Case((np.zeros((3, 4), bool),), "no foreground: a single run of 12 zeros"),
        Case((np.ones((2, 2), bool),), "all foreground: [0, 4]"),
        Case((np.ones((1, 1), bool),), "one pixel, foreground: [0, 1]"),
    ],
    mistakes={
        "COCO walks the mask column by column (Fortran order: mask.ravel(order='F')), not row by row":
            _row_major,
        "the counts always start with a run of 0s; when the first pixel is 1 that run is empty, so start with 0":
            _no_leading_zero,
        "the last run is missing: the run lengths must add up to H * W":
            _last_run_dropped,
        "return the counts as integers (an integer dtype), not floats": lambda mask: _reference(mask).astype(float),
    },
    compare=_same_counts,
))
