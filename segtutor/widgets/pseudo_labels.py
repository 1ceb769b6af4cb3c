"""Pseudo-label threshold (notebook 11): which pixels become pseudo-labels, and how many are right.

A thin layer over :func:`segtutor.pseudo_labels.pseudo_label_picture` and
:func:`segtutor.pseudo_labels.pseudo_label_quality`: a slider picks the image, another
the confidence threshold; the picture shows the image with its true outline,
the model's probability, and the pseudo-labels (green = right nucleus, dark
blue = right background, vermillion = wrong, grey = ignored). The text gives
the coverage (fraction of pixels kept) and the precision (fraction of kept
pixels that are right), for this image and for all images.

Examples
--------
>>> from segtutor.widgets.pseudo_labels import PseudoLabels
>>> PseudoLabels(images, probabilities, truth)      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..pseudo_labels import pseudo_label_picture, pseudo_label_quality
from .._validate import as_array
from ._base import Visualiser

__all__ = ["PseudoLabels"]


def _stack(x, name: str) -> np.ndarray:
    arr = as_array(x, name)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.size == 0:
        raise ValueError(f"{name} should have shape (N, H, W) or (H, W), got {np.shape(x)}.")
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} should be numeric, got dtype {arr.dtype}.")
    return arr


class PseudoLabels(Visualiser):
    """Move the confidence threshold; see which pixels become pseudo-labels and how many are right.

    Parameters
    ----------
    images : array_like, shape (N, H, W)
        Unlabelled images (their truth is known here only to score the pseudo-labels).
    probabilities : array_like, shape (N, H, W)
        The model's foreground probabilities for ``images``.
    truth : array_like of bool, shape (N, H, W)

    Attributes
    ----------
    index, threshold : ipywidgets sliders
    quality : segtutor.pseudo_labels.PseudoLabelQuality
        Coverage and precision on the image shown.
    quality_all : segtutor.pseudo_labels.PseudoLabelQuality
        The same over all images.
    """

    css_class = "segtutor-pseudo-labels"
    display_width = 780

    def __init__(self, images, probabilities, truth) -> None:
        import ipywidgets as w

        super().__init__()
        self.images = _stack(images, "images").astype(np.float32)
        self.prob = _stack(probabilities, "probabilities").astype(np.float64)
        truth = _stack(truth, "truth")
        if not (self.images.shape == self.prob.shape == truth.shape):
            raise ValueError(f"images {self.images.shape}, probabilities {self.prob.shape} and truth {truth.shape} "
                             "should have one shape (N, H, W).")
        if not np.isfinite(self.images).all():
            raise ValueError("images contain NaN or infinite values.")
        # Validates the probabilities and the truth once, so a slider move cannot fail on them.
        pseudo_label_quality(self.prob, truth, 0.9)
        self.truth = truth.astype(bool)
        style = {"description_width": "initial"}
        self.index = w.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image", style=style)
        self.threshold = w.FloatSlider(value=0.9, min=0.5, max=0.99, step=0.01, description="confidence threshold",
                                       readout_format=".2f", style=style)
        self.index.add_class(f"{self.css_class}-index")
        self.threshold.add_class(f"{self.css_class}-threshold")
        self._finish_layout(
            [self.index, self.threshold],
            caption="<b>Left:</b> the image and its true outline (cyan). <b>Middle:</b> the model's probability "
                    "(dark 0, yellow 1). <b>Right:</b> pseudo-labels: green = nucleus, right; dark blue = "
                    "background, right; vermillion = wrong; grey = not confident, ignored by the loss.",
        )

    def render(self) -> np.ndarray:
        i, t = int(self.index.value), float(self.threshold.value)
        self.quality = pseudo_label_quality(self.prob[i], self.truth[i], t)
        self.quality_all = pseudo_label_quality(self.prob, self.truth, t)
        return pseudo_label_picture(self.images[i], self.prob[i], self.truth[i], t)

    def status(self) -> str:
        q, a = self.quality, self.quality_all
        # With nothing kept there is no precision to speak of (pseudo_label_quality reports 1.0: nothing wrong).
        this = (f"this image keeps {q.coverage:.1%} of its pixels, {q.precision:.2%} of them right ({q.wrong} wrong)"
                if q.kept else "this image keeps no pixel: the model is unsure everywhere")
        every = (f"{a.coverage:.1%} kept, {a.precision:.2%} right, {a.foreground_coverage:.1%} of the nucleus "
                 "pixels kept as nucleus" if a.kept else "no pixel kept")
        return f"threshold {self.threshold.value:.2f}: {this}; all {len(self.images)} images: {every}"
