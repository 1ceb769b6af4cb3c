"""Anchor explorer: choose anchor sizes, ratios and a pyramid level; see what matches.

The picture is :func:`segtutor.maskrcnn.pictures.anchor_match_picture`:
left, the image with its objects (white), the anchors the RPN would train as
positives (green) and ignores (orange), and the anchor shapes at the centre
cell (cyan); right, the best IoU any anchor of each cell reaches with an
object. The compute is NumPy only (no model), a few milliseconds a change.

Examples
--------
>>> from segtutor.widgets.anchors import AnchorExplorer   # doctest: +SKIP
>>> AnchorExplorer(images, boxes)                          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .._validate import as_array, check_finite

from ..maskrcnn.pictures import anchor_match_picture
from ._base import Visualiser

__all__ = ["AnchorExplorer"]

LEVELS = {"P2 (stride 4)": 4, "P3 (stride 8)": 8, "P4 (stride 16)": 16}
DEFAULT_SIZE = {4: 16, 8: 32, 16: 64}
RATIO_CHOICES = (0.25, 0.5, 1.0, 2.0, 4.0)


class AnchorExplorer(Visualiser):
    """Interactive anchors on a few images with ground-truth boxes.

    Parameters
    ----------
    images : array, shape (N, H, W, 3)
    boxes : sequence of N arrays, shape (K_i, 4)
        Ground-truth boxes ``(y1, x1, y2, x2)`` of each image.

    Attributes
    ----------
    image_index, level, size, ratios, pos_iou, neg_iou : ipywidgets controls
    counts : dict
        The last :func:`anchor_match_counts` result.
    """

    css_class = "segtutor-anchor-explorer"
    # Beside a 300-px column of controls, the two 128-px panels at about 2.3x:
    # controls, caption and picture fit a 1366 x 768 laptop's notebook area
    # (about 530 px tall) at once.
    display_width = 600

    def __init__(self, images, boxes) -> None:
        super().__init__()
        import ipywidgets as w

        imgs = check_finite(as_array(images, "images"), "images")
        if imgs.ndim != 4 or imgs.shape[-1] != 3 or imgs.size == 0:
            raise ValueError(f"images should have shape (N, H, W, 3), got {imgs.shape}.")
        if not isinstance(boxes, (list, tuple)):
            raise TypeError(f"boxes should be a list with one (K, 4) array per image, got {type(boxes).__name__}.")
        if len(boxes) != imgs.shape[0]:
            raise ValueError(f"boxes: give one boxes array per image: {imgs.shape[0]} images, {len(boxes)} box arrays.")
        checked = []
        for i, b in enumerate(boxes):
            arr = check_finite(as_array(b, f"boxes[{i}]"), f"boxes[{i}]").astype(float)
            if arr.size % 4:
                raise ValueError(f"boxes[{i}] should have shape (K, 4) as (y1, x1, y2, x2), got {arr.shape}.")
            checked.append(arr.reshape(-1, 4))
        self.images, self.boxes = imgs, checked
        self._hold = False
        self.counts: dict = {}
        common = dict(style={"description_width": "100px"}, layout=w.Layout(width="290px"))
        self.image_index = w.IntSlider(value=0, min=0, max=len(imgs) - 1, description="image", **common)
        self.level = w.Dropdown(options=list(LEVELS), value="P3 (stride 8)", description="level", **common)
        self.size = w.IntSlider(value=32, min=4, max=128, step=4, description="anchor size", **common)
        self.pos_iou = w.FloatSlider(value=0.7, min=0.05, max=1.0, step=0.05, description="positive IoU ≥",
                                     **common)
        self.neg_iou = w.FloatSlider(value=0.3, min=0.0, max=0.95, step=0.05, description="negative IoU <",
                                     **common)
        self.ratios = w.SelectMultiple(options=RATIO_CHOICES, value=(0.5, 1.0, 2.0), description="ratios w/h",
                                       rows=5, **common)
        controls = w.VBox([self.image_index, self.level, self.size, self.pos_iou, self.neg_iou, self.ratios],
                          layout=w.Layout(width="300px", flex="0 0 300px"))
        self._finish_layout(
            controls, side_by_side=True,
            caption="<b>Left:</b> objects (white), positive anchors (green), ignored anchors (orange), the anchor "
                    "shapes of the centre cell (cyan). <b>Right:</b> for each cell of the level, the best IoU of "
                    "its anchors with any object (dark 0, yellow 1).")

    def _on_change(self, change=None) -> None:
        if self._hold:
            return
        if change is not None and change.get("owner") is self.level:
            self._hold = True  # a new level starts from its usual anchor size
            try:
                self.size.value = DEFAULT_SIZE[LEVELS[self.level.value]]
            finally:
                self._hold = False
        self.refresh()

    def render(self) -> np.ndarray:
        if not self.ratios.value:
            raise ValueError("pick at least one ratio (ctrl-click to select several).")
        if self.neg_iou.value > self.pos_iou.value:
            raise ValueError("the negative threshold should not be above the positive one.")
        i = self.image_index.value
        picture, self.counts = anchor_match_picture(
            self.images[i], self.boxes[i], size=self.size.value, ratios=self.ratios.value,
            stride=LEVELS[self.level.value], pos_iou=self.pos_iou.value, neg_iou=self.neg_iou.value)
        return picture

    def status(self) -> str:
        c = self.counts
        text = (f"{c['n_anchors']} anchors on this level: {int(c['positive'].sum())} positive, "
                f"{int(c['ignored'].sum())} ignored, {int(c['negative'].sum())} negative")
        if c["rescued"]:
            text += (f"; {c['rescued']} object(s) have no anchor at the positive threshold, so their best "
                     "anchors (all those tied at the best IoU) are made positive")
        return text + "."
