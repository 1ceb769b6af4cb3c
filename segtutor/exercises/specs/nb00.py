"""Notebook 00 (welcome): a first exercise."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register
from . import _random


def _random_case(rng):
    image = rng.integers(0, 256, size=_random.shape(rng), dtype=np.uint8)
    # Draw the threshold from the image's own values half the time, so that
    # "strictly above" is actually tested.
    threshold = int(rng.choice(image.ravel())) if rng.random() < 0.5 else int(rng.integers(0, 256))
    return Case((image, threshold))


register(
    Exercise(
        name="fraction_above",
        function="my_fraction_above",
        signature="(image, threshold)",
        reference="segtutor.arrays.fraction_above",
        fixed=[
            Case((np.array([[1, 2], [3, 4]]), 2), "two of four pixels are above 2 (the 2 itself does not count)"),
            Case((np.array([[10, 20, 30, 40]], np.uint8), 5), "every pixel is above 5"),
            Case((np.array([[0.1, 0.5], [0.9, 0.7]]), 0.6), "float images work the same way"),
            Case((np.array([[9, 1, 1, 1], [1, 1, 1, 1]]), 5), "one pixel of eight is above 5: 1/8 = 0.125"),
        ],
        random_case=_random_case,
        edge=[
            Case((np.array([[7]], np.uint8), 7), "one pixel equal to the threshold: not above"),
            Case((np.zeros((3, 4), np.uint8), 255), "nothing is above the maximum"),
            Case((np.array([[0, 200, 50, 150]], np.uint8), 100),
                 "uint8 pixels below the threshold: compare them, do not subtract (0 - 100 wraps around to 156)"),
        ],
        mistakes={
            "pixels equal to the threshold were counted: use > (strictly above), not >=":
                lambda image, t: float(np.mean(np.asarray(image) >= t)),
            "this is the number of pixels above; divide by the number of pixels for a fraction":
                lambda image, t: float(np.count_nonzero(np.asarray(image) > t)),
            "this is the fraction at or below the threshold: flip the comparison":
                lambda image, t: float(np.mean(np.asarray(image) <= t)),
            "integer division gives 0 or 1: use / rather than //":
                lambda image, t: float(np.count_nonzero(np.asarray(image) > t) // np.asarray(image).size),
        },
    )
)
