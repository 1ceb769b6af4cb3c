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
