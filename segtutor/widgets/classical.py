"""Threshold + watershed, live (notebook 02).

The picture is :func:`segtutor.classical.instance_overlay` of
:func:`segtutor.classical.threshold_watershed`; the text under it scores the
result against a ground truth with :mod:`segtutor.metrics`.

Examples
--------
>>> from segtutor.datasets import load_coins          # doctest: +SKIP
>>> coins = load_coins()                              # doctest: +SKIP
>>> ThresholdWatershed(coins.image, coins.labels)     # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import classical
from .._validate import check_image, check_mask, check_same_shape
from ._base import Visualiser

__all__ = ["ThresholdWatershed", "watershed_scores"]


def watershed_scores(labels, truth_labels) -> dict:
    """Scores shown under the widget: objects found, foreground IoU, instance F1 at IoU 0.5.

    Parameters
    ----------
    labels, truth_labels : array_like of int, shape (H, W)

    Returns
    -------
    dict
        ``objects``, ``truth_objects``, ``iou``, ``f1`` (floats and ints).
    """
    from .. import metrics

    pred = check_mask(labels, "labels", ndim=2)
    truth = check_mask(truth_labels, "truth_labels", ndim=2)
    check_same_shape(pred, truth, ("labels", "truth_labels"))
    scores = metrics.instance_scores(pred, truth, thresholds=0.5)
    return {
        "objects": int(len(np.unique(pred[pred > 0]))),
        "truth_objects": int(len(np.unique(truth[truth > 0]))),
        "iou": float(metrics.iou(pred > 0, truth > 0)),
        "f1": float(scores.f1[0]),
    }


class ThresholdWatershed(Visualiser):
    """Tune threshold, clean-up and watershed, and watch the scores change.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image (uint8: thresholds 0..255).
    truth_labels : array_like of int, shape (H, W)
        Ground-truth instances for the live scores.

    Attributes
    ----------
    threshold : ipywidgets.FloatSlider
        Used when ``use_otsu`` is off.
    use_otsu : ipywidgets.Checkbox
        When on, the threshold is Otsu's and the slider shows it.
    min_distance : ipywidgets.IntSlider
        Smallest distance between two watershed seeds, in pixels.
    opening_radius : ipywidgets.IntSlider
        Radius of the disk footprint of the morphological opening.
    compactness : ipywidgets.FloatSlider
        0 = classic watershed; larger = compact watershed.
    """

    css_class = "segtutor-threshold-watershed"
    display_width = 576  # 1.5 x the 384-px photograph: the coins' outlines stay readable on a laptop

    def __init__(self, image, truth_labels) -> None:
        import ipywidgets as w

        super().__init__()
        self.data = check_image(image, allow_rgb=False)
        self.truth = check_mask(truth_labels, "truth_labels", ndim=2)
        check_same_shape(self.data, self.truth, ("image", "truth_labels"))
        self.otsu = classical.otsu_threshold(self.data)
        lo, hi = (0.0, 255.0) if self.data.dtype == np.uint8 else (float(self.data.min()), float(self.data.max()))
        step = 1.0 if self.data.dtype == np.uint8 else (hi - lo) / 200.0
        # One recompute takes about 50-100 ms on a laptop core, more than the
        # ~40 ms budget for smooth dragging, so update on release.
        common = dict(continuous_update=False, style={"description_width": "initial"})
        self.threshold = w.FloatSlider(value=round(self.otsu), min=lo, max=hi, step=step,
                                       description="threshold", disabled=True, **common)
        self.use_otsu = w.Checkbox(value=True, description="Otsu", indent=False, layout=w.Layout(width="80px"))
        self.min_distance = w.IntSlider(value=20, min=1, max=60, description="min seed distance", **common)
        self.opening_radius = w.IntSlider(value=2, min=0, max=8, description="opening radius (footprint)", **common)
        self.compactness = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01,
                                         description="compactness", **common)
        for name in ("threshold", "use_otsu", "min_distance", "opening_radius", "compactness"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self.use_otsu.observe(self._toggle_otsu, names="value")
        self.scores: dict = {}
        # Two sliders a row at most: three squeezed the radius slider's track to ~30 px.
        for slider in (self.threshold, self.min_distance, self.opening_radius, self.compactness):
            slider.layout = w.Layout(width="340px")
        controls = w.VBox([
            w.HBox([self.use_otsu, self.threshold]),
            w.HBox([self.min_distance, self.opening_radius]),
            w.HBox([self.compactness]),
        ])
        self._finish_layout(controls)

    def _toggle_otsu(self, change) -> None:
        self.threshold.disabled = bool(change["new"])

    def current_threshold(self) -> float:
        """The threshold in use: Otsu's when the checkbox is on, else the slider's."""
        return self.otsu if self.use_otsu.value else float(self.threshold.value)

    def labels(self) -> np.ndarray:
        """Instance labels for the current controls."""
        return classical.threshold_watershed(
            self.data,
            threshold=self.current_threshold(),
            min_distance=int(self.min_distance.value),
            opening_radius=int(self.opening_radius.value),
            compactness=float(self.compactness.value),
        )

    def render(self) -> np.ndarray:
        labels = self.labels()
        self.scores = watershed_scores(labels, self.truth)
        return classical.instance_overlay(self.data, labels)

    def status(self) -> str:
        s = self.scores
        source = "Otsu" if self.use_otsu.value else "slider"
        return (f"threshold {self.current_threshold():.1f} ({source}) | {s['objects']} objects found, "
                f"{s['truth_objects']} true | foreground IoU {s['iou']:.3f} | instance F1 (IoU ≥ 0.5) = {s['f1']:.3f}")
