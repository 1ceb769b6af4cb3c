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
    threshold : ipywidgets.IntSlider or ipywidgets.FloatSlider
        The threshold; moving it switches ``use_otsu`` off. An integer slider
        for uint8 images, where every grey level is an integer.
    use_otsu : ipywidgets.Checkbox
        When on, the threshold is Otsu's and the slider shows it.
    min_distance : ipywidgets.IntSlider
        Smallest distance between two watershed seeds, in pixels.
    opening_radius : ipywidgets.IntSlider
        Radius of the disk footprint of the morphological opening.
    compactness : ipywidgets.FloatSlider
        0 = classic watershed; larger = compact watershed.

    Notes
    -----
    Objects keep their colour from one step to the next
    (:func:`segtutor.classical.match_labels`), so only what really changed
    changes colour.
    """

    css_class = "segtutor-threshold-watershed"
    # 1.25 x the 384-px photograph, beside the controls: picture, controls and
    # scores fit a 1366 x 768 laptop's notebook area (about 530 px tall) at once.
    display_width = 480

    def __init__(self, image, truth_labels) -> None:
        import ipywidgets as w

        super().__init__()
        self.data = check_image(image, allow_rgb=False)
        self.truth = check_mask(truth_labels, "truth_labels", ndim=2)
        check_same_shape(self.data, self.truth, ("image", "truth_labels"))
        self.otsu = classical.otsu_threshold(self.data)
        self._previous: np.ndarray | None = None
        self._hold = False
        # A recompute takes about 50-100 ms on a laptop core, more than the
        # ~40 ms budget for smooth dragging, so update on release (a key press
        # is a release).
        common = dict(continuous_update=False, style={"description_width": "120px"},
                      layout=w.Layout(width="350px"))
        if self.data.dtype == np.uint8:
            self.threshold = w.IntSlider(value=int(round(self.otsu)), min=0, max=255, step=1,
                                         description="threshold", **common)
        else:
            lo, hi = float(self.data.min()), float(self.data.max())
            self.threshold = w.FloatSlider(value=self.otsu, min=lo, max=hi, step=(hi - lo) / 200.0,
                                           description="threshold", **common)
        self.use_otsu = w.Checkbox(value=True, description="use Otsu's threshold", indent=False)
        self.min_distance = w.IntSlider(value=20, min=1, max=60, description="min seed distance", **common)
        self.opening_radius = w.IntSlider(value=2, min=0, max=8, description="opening radius", **common)
        self.compactness = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05,
                                         description="compactness", **common)
        for name in ("threshold", "use_otsu", "min_distance", "opening_radius", "compactness"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self.scores: dict = {}
        # The threshold comes first: it is the control a key press visibly changes.
        controls = w.VBox([self.threshold, self.use_otsu, self.min_distance, self.opening_radius,
                           self.compactness], layout=w.Layout(width="370px", flex="0 0 370px"))
        self._finish_layout(controls, side_by_side=True,
                            caption="Each object found is outlined and lightly filled in its own colour; an "
                                    "object keeps its colour while you change the controls.")

    def _on_change(self, change=None) -> None:
        if self._hold:
            return
        owner = change["owner"] if change else None
        self._hold = True
        try:
            if owner is self.threshold:
                self.use_otsu.value = False
            elif owner is self.use_otsu and self.use_otsu.value:
                self.threshold.value = (int(round(self.otsu)) if isinstance(self.threshold.value, int)
                                        else self.otsu)
        finally:
            self._hold = False
        self.refresh()

    def current_threshold(self) -> float:
        """The threshold in use: Otsu's when the checkbox is on, else the slider's."""
        return self.otsu if self.use_otsu.value else float(self.threshold.value)

    def labels(self) -> np.ndarray:
        """Instance labels for the current controls, numbered as in the previous step."""
        labels = classical.threshold_watershed(
            self.data,
            threshold=self.current_threshold(),
            min_distance=int(self.min_distance.value),
            opening_radius=int(self.opening_radius.value),
            compactness=float(self.compactness.value),
        )
        if self._previous is not None:
            labels = classical.match_labels(labels, self._previous)
        return labels

    def render(self) -> np.ndarray:
        labels = self.labels()
        self.scores = watershed_scores(labels, self.truth)
        self._previous = labels
        return classical.instance_overlay(self.data, labels, fill=0.25)

    def alt_text(self) -> str:
        return ("The coins photograph with each segmented object outlined and tinted in its own colour "
                f"({self.scores.get('objects', 0)} objects).")

    def status(self) -> str:
        s = self.scores
        source = "Otsu" if self.use_otsu.value else "slider"
        return (f"threshold {self.current_threshold():.1f} ({source}) | {s['objects']} objects found, "
                f"{s['truth_objects']} true | foreground IoU {s['iou']:.3f} | instance F1 (IoU ≥ 0.5) = {s['f1']:.3f}")
