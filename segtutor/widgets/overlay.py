"""Threshold and overlay (notebook 06): a probability map, a threshold, and what it gets wrong.

The picture is :func:`threshold_picture`: the image with the predicted
outline, the probability map, and an error view in which false positives and
false negatives have two colours that stay distinct for colour-blind
readers (orange and blue, from the Okabe-Ito palette; :func:`segtutor.viz.error_overlay`).
The text under it gives the Dice score of this image and of all images at the
current threshold.

Examples
--------
>>> from segtutor.widgets.overlay import MaskThreshold
>>> MaskThreshold(images, truth, prob)      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import viz
from .._validate import as_array, check_finite, check_in_range, check_mask, check_positive_int, check_same_shape
from ._base import Visualiser, side_by_side

__all__ = ["MaskThreshold", "threshold_picture", "dice_at"]


def _stack(x, name: str, ndim: int = 3) -> np.ndarray:
    arr = as_array(x, name)
    if arr.ndim == ndim + 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == ndim - 1:
        arr = arr[None]
    if arr.ndim != ndim or arr.size == 0:
        raise ValueError(f"{name} should have shape (N, H, W) or (H, W), got {np.shape(x)}.")
    return arr


def _probabilities(prob) -> np.ndarray:
    p = check_finite(as_array(prob, "prob"), "prob").astype(np.float32)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"prob should hold probabilities in [0, 1], got {p.min():.3g} to {p.max():.3g}; "
                         "apply the sigmoid first.")
    return p


def dice_at(prob, truth, threshold: float) -> float:
    """Dice of ``prob > threshold`` against ``truth``, pooled over all pixels given (1.0 if both are empty)."""
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    p = _probabilities(prob)
    t = check_mask(truth, "truth").astype(bool)
    check_same_shape(p, t, ("prob", "truth"))
    pred = p > threshold
    denominator = pred.sum() + t.sum()
    return 1.0 if denominator == 0 else float(2 * (pred & t).sum() / denominator)


def threshold_picture(image, prob, truth, threshold: float = 0.5, *, size: int = 256) -> np.ndarray:
    """Image with predicted (yellow) and true (cyan) outlines | probability | errors.

    Parameters
    ----------
    image : array_like, shape (H, W)
    prob : array_like, shape (H, W)
        Foreground probabilities in [0, 1].
    truth : array_like of bool, shape (H, W)
    threshold : float

    Returns
    -------
    ndarray of uint8, shape (H', 3 W' + gaps, 3)
    """
    from skimage.segmentation import find_boundaries
    from skimage.transform import resize

    img = check_finite(as_array(image, "image"), "image").astype(np.float32)
    p = _probabilities(prob)
    t = check_mask(truth, "truth").astype(bool)
    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size:,}.")
    if not (img.shape == p.shape == t.shape) or img.ndim != 2:
        raise ValueError(f"image, prob and truth should be three (H, W) arrays of one shape; got "
                         f"{img.shape}, {p.shape}, {t.shape}.")
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    pred = p > threshold
    lo, hi = np.percentile(img, [1, 99.8])
    grey = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1)
    outlined = np.repeat(grey[..., None], 3, axis=-1)
    outlined[find_boundaries(t, mode="inner")] = (0.0, 0.9, 0.9)
    outlined[find_boundaries(pred, mode="inner")] = (1.0, 0.85, 0.0)
    errors = viz.error_overlay(grey, t, pred)
    from matplotlib import colormaps

    probability = colormaps["viridis"](p)[..., :3]
    panels = [outlined, probability, errors]
    if max(img.shape) != size:
        scale = size / max(img.shape)
        shape = (round(img.shape[0] * scale), round(img.shape[1] * scale))
        panels = [resize(np.asarray(q, np.float32) / (255.0 if np.asarray(q).dtype == np.uint8 else 1.0), shape,
                         order=0) for q in panels]
    return side_by_side(panels)


class MaskThreshold(Visualiser):
    """Move the threshold on a model's probabilities; see outlines, errors and Dice change.

    Parameters
    ----------
    images : array_like, shape (N, H, W)
    truth : array_like of bool, shape (N, H, W)
    prob : array_like, shape (N, H, W)
        The model's foreground probabilities for ``images``.

    Attributes
    ----------
    index, threshold : ipywidgets sliders
    scores : dict
        ``dice`` of the image shown and ``dice_all`` over every image.
    """

    css_class = "segtutor-mask-threshold"
    display_width = 780

    def __init__(self, images, truth, prob) -> None:
        import ipywidgets as w

        super().__init__()
        self.images = check_finite(_stack(images, "images"), "images").astype(np.float32)
        self.truth = check_mask(_stack(truth, "truth"), "truth").astype(bool)
        self.prob = _stack(prob, "prob").astype(np.float32)
        if not (self.images.shape == self.truth.shape == self.prob.shape):
            raise ValueError(f"images {self.images.shape}, truth {self.truth.shape} and prob {self.prob.shape} "
                             "should have one shape (N, H, W).")
        if not np.isfinite(self.prob).all() or self.prob.min() < 0 or self.prob.max() > 1:
            raise ValueError("prob should hold probabilities in [0, 1] (the model's sigmoid output), without NaN.")
        style = {"description_width": "initial"}
        self.index = w.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image", style=style)
        self.threshold = w.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold",
                                       readout_format=".2f", style=style)
        self.index.add_class(f"{self.css_class}-index")
        self.threshold.add_class(f"{self.css_class}-threshold")
        self.scores: dict = {}
        self._finish_layout(
            [self.index, self.threshold],
            caption="<b>Left:</b> the image with the true outline (cyan) and the predicted one (yellow). "
                    "<b>Middle:</b> the model's probability (dark 0, yellow 1). <b>Right:</b> errors: orange = false "
                    "positive (predicted, not true), blue = false negative (true, missed), light grey = right.",
        )

    def render(self) -> np.ndarray:
        i, t = int(self.index.value), float(self.threshold.value)
        self.scores = {"dice": dice_at(self.prob[i], self.truth[i], t),
                       "dice_all": dice_at(self.prob, self.truth, t)}
        return threshold_picture(self.images[i], self.prob[i], self.truth[i], t)

    def status(self) -> str:
        return (f"threshold {self.threshold.value:.2f}: Dice {self.scores['dice']:.3f} on this image, "
                f"{self.scores['dice_all']:.3f} over all {len(self.images)} images")
