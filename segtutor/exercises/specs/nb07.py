"""Notebook 07 (DeepLabv3+): atrous convolution and the receptive field of a stack of them."""

from __future__ import annotations

import numpy as np

from .. import Case, Exercise, register


def _atrous(image, kernel, rate):
    from segtutor.convolution import conv2d

    return conv2d(image, kernel, dilation=rate)


def _atrous_case(rng):
    k = int(rng.choice([1, 2, 3]))
    rate = int(rng.integers(1, 4))
    span = rate * (k - 1) + 1
    h, w = (int(v) for v in rng.integers(span, span + 8, 2))
    return Case((rng.normal(size=(h, w)).round(2), rng.normal(size=(k, k)).round(2), rate))


def _no_gaps(image, kernel, rate):
    from segtutor.convolution import conv2d

    return conv2d(image, kernel)


register(
    Exercise(
        name="atrous_conv2d",
        function="my_atrous_conv2d",
        signature="(image, kernel, rate)",
        reference=_atrous,
        fixed=[
            Case((np.arange(25.0).reshape(5, 5), np.ones((3, 3)), 2),
                 "rate 2: the 3x3 taps land on rows and columns 0, 2, 4; one output, the sum of 9 pixels"),
            Case((np.arange(16.0).reshape(4, 4), np.array([[1.0, -1.0]]), 3), "a 1x2 kernel with rate 3 spans 4 columns"),
            Case((np.arange(9.0).reshape(3, 3), np.ones((2, 2)), 1), "rate 1 is an ordinary convolution"),
        ],
        random_case=_atrous_case,
        edge=[
            Case((np.ones((4, 4)), np.ones((3, 3)), 2), "the dilated kernel spans 5 pixels: it does not fit, raise"),
            Case((np.ones((6, 3)), np.ones((1, 2)), 3),
                 "a 1x2 kernel at rate 3 spans 4 columns, more than 3: raise (the rows fit, the columns do not)"),
        ],
        mistakes={"the rate spreads the taps apart: read image[i + rate * u, j + rate * v]": _no_gaps},
    )
)


def _field(layers):
    arr = np.asarray(layers).reshape(-1, 2)
    return int(1 + sum(int(d) * (int(k) - 1) for k, d in arr))


def _field_case(rng):
    n = int(rng.integers(1, 6))
    return Case((np.stack([rng.choice([1, 3, 5], n), rng.integers(1, 9, n)], axis=1),))


register(
    Exercise(
        name="atrous_receptive_field",
        function="my_atrous_receptive_field",
        signature="(layers)",
        reference=_field,
        fixed=[
            Case((np.array([[3, 1]]),), "one 3x3 convolution sees 3 pixels"),
            Case((np.array([[3, 1], [3, 2], [3, 4]]),), "rates 1, 2, 4: 1 + 2 + 4 + 8 = 15 pixels"),
            Case((np.array([[3, 2], [3, 2]]),), "two rate-2 layers: 1 + 4 + 4 = 9"),
        ],
        random_case=_field_case,
        edge=[Case((np.array([[1, 8]]),), "a 1x1 kernel sees one pixel whatever its rate")],
        mistakes={
            "each layer adds rate * (k - 1) pixels; it looks like you multiplied the spans":
                lambda layers: int(np.prod([int(d) * (int(k) - 1) + 1 for k, d in np.asarray(layers).reshape(-1, 2)])),
            "each layer adds rate * (k - 1), not rate * k":
                lambda layers: int(1 + sum(int(d) * int(k) for k, d in np.asarray(layers).reshape(-1, 2))),
        },
    )
)
