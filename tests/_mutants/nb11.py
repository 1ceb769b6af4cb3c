"""Notebook 11: selecting confident pixels as pseudo-labels."""

import numpy as np


def _select(p, t, *, check_t="range", check_p="both"):
    p = np.asarray(p, float)
    if check_t == "range" and not 0.5 <= t <= 1 or check_t == "low only" and t < 0.5:
        raise ValueError("bad threshold")
    if p.size and (check_p == "both" and (p.min() < 0 or p.max() > 1) or check_p == "high only" and p.max() > 1):
        raise ValueError("bad probabilities")
    fg = p >= t
    return fg.astype(np.uint8), fg | (p <= 1 - t)


def _keep_inverted(p, t):
    labels, keep = _select(p, t)
    return labels, ~keep


def _foreground_255(p, t):
    labels, keep = _select(p, t)
    return labels * 255, keep


MUTANTS = {"pseudo_labels": {
    "no check on the threshold": lambda p, t: _select(p, t, check_t="none"),
    "accepts a threshold above 1": lambda p, t: _select(p, t, check_t="low only"),
    "no check on the probabilities": lambda p, t: _select(p, t, check_p="none"),
    "checks only probabilities above 1": lambda p, t: _select(p, t, check_p="high only"),
    "keep is True where the pixel is ignored": _keep_inverted,
    "confident foreground gets label 255, not 1": _foreground_255,
}}


def _adabn(x, g, b, e, *, check_shapes=True, check_eps=True, check_ndim=True):
    x = np.asarray(x, float)
    if check_ndim and x.ndim < 2:
        raise ValueError("need (..., C)")
    if check_shapes and (np.shape(g) != x.shape[-1:] or np.shape(b) != x.shape[-1:]):
        raise ValueError("one gamma and beta per channel")
    if check_eps and not e > 0:
        raise ValueError("epsilon above 0")
    axes = tuple(range(x.ndim - 1)) or (0,)
    return g * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + e) + b


def _adabn_source_statistics(x, g, b, e):
    # Normalises with fixed statistics (mean 0, variance 1), as the layer did before AdaBN: no swap at all.
    _adabn(x, g, b, e)
    return g * np.asarray(x, float) / np.sqrt(1.0 + e) + b


MUTANTS["adabn"] = {
    "no check that gamma and beta have one value per channel": lambda x, g, b, e: _adabn(x, g, b, e,
                                                                                          check_shapes=False),
    "accepts epsilon 0": lambda x, g, b, e: _adabn(x, g, b, e, check_eps=False) if e > 0 else
    np.nan_to_num(_adabn(x, g, b, 1e-300, check_eps=False)),
    "keeps the old statistics (mean 0, variance 1) instead of the features'": _adabn_source_statistics,
}
