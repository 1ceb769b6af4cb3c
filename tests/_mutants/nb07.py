"""Notebook 07: atrous convolution and its receptive field."""

import numpy as np


def _atrous(image, kernel, rate, *, check="both", gap=None, flip=False):
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    gap = rate if gap is None else gap
    if flip:
        kernel = kernel[::-1, ::-1]
    kh, kw = kernel.shape
    h, w = image.shape[0] - gap * (kh - 1), image.shape[1] - gap * (kw - 1)
    if check == "both" and (h < 1 or w < 1) or check == "rows" and h < 1:
        raise ValueError("does not fit")
    out = np.zeros((max(h, 0), max(w, 0)))
    for u in range(kh):
        for v in range(kw):
            out += kernel[u, v] * image[gap * u:gap * u + out.shape[0], gap * v:gap * v + out.shape[1]]
    return out


def _field(layers, *, rule="sum"):
    f = 1
    for k, d in np.asarray(layers).reshape(-1, 2):
        k, d = int(k), int(d)
        f += {"sum": d * (k - 1), "rate + k": d + k - 2, "rate - 1": (d - 1) * (k - 1), "k only": k - 1}[rule]
    return f


def _largest_span(layers):
    return int(max(int(d) * (int(k) - 1) + 1 for k, d in np.asarray(layers).reshape(-1, 2)))


MUTANTS = {
    "atrous_conv2d": {
        "no ValueError when the dilated kernel does not fit": lambda im, k, r: _atrous(im, k, r, check="none"),
        "checks only the rows": lambda im, k, r: _atrous(im, k, r, check="rows"),
        "taps rate + 1 apart": lambda im, k, r: _atrous(im, k, r, gap=r + 1) if _fits(im, k, r + 1) else _atrous(im, k, r),
        "flips the kernel": lambda im, k, r: _atrous(im, k, r, flip=True),
    },
    "atrous_receptive_field": {
        "adds rate + k - 2": lambda layers: _field(layers, rule="rate + k"),
        "adds (rate - 1)(k - 1)": lambda layers: _field(layers, rule="rate - 1"),
        "ignores the rates": lambda layers: _field(layers, rule="k only"),
        "the largest single span, not the stack": _largest_span,
    },
}


def _fits(image, kernel, gap):
    image, kernel = np.asarray(image), np.asarray(kernel)
    return all(image.shape[a] - gap * (kernel.shape[a] - 1) >= 1 for a in (0, 1))
