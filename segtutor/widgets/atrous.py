"""Atrous explorer (notebook 07): the receptive field of stacked dilated convolutions, on an image.

The picture is :func:`segtutor.models.deeplab.atrous_picture`; the numbers
under it come from :func:`segtutor.models.deeplab.atrous_footprint`.

Examples
--------
>>> from segtutor.widgets.atrous import AtrousExplorer
>>> AtrousExplorer(image)        # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .._validate import check_image, check_positive_int
from ..models import deeplab
from ._base import Visualiser

__all__ = ["AtrousExplorer", "SCHEDULES", "layer_rates"]

#: How the rate changes from layer to layer.
SCHEDULES = ("same rate", "doubling (1, 2, 4, ...)")


def layer_rates(rate: int, layers: int, schedule: str) -> list[int]:
    """Dilation rate of each layer: ``rate`` repeated, or 1, 2, 4, ... capped by nothing.

    Examples
    --------
    >>> layer_rates(2, 3, "same rate"), layer_rates(2, 3, "doubling (1, 2, 4, ...)")
    ([2, 2, 2], [1, 2, 4])
    """
    rate = check_positive_int(rate, "rate")
    layers = check_positive_int(layers, "layers")
    if layers > 64 or rate > 1024:
        raise ValueError(f"layers should be at most 64 and rate at most 1024, got {layers} and {rate}.")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"schedule should be one of {SCHEDULES}, got {schedule!r}.")
    return [rate] * layers if schedule == SCHEDULES[0] else [2**i for i in range(layers)]


class AtrousExplorer(Visualiser):
    """Choose a dilation rate, a number of 3x3 layers and how rates grow; see the receptive field.

    Parameters
    ----------
    image : array_like, shape (H, W)
        For example a nuclei image, so the field can be compared with a nucleus.

    Attributes
    ----------
    rate, layers, schedule : ipywidgets controls
    """

    css_class = "segtutor-atrous"

    def __init__(self, image) -> None:
        import ipywidgets as w

        super().__init__()
        self.data = check_image(image, allow_rgb=False).astype(np.float32)
        style = {"description_width": "initial"}
        self.rate = w.IntSlider(value=2, min=1, max=8, description="rate", style=style)
        self.layers = w.IntSlider(value=1, min=1, max=4, description="layers", style=style)
        self.schedule = w.ToggleButtons(options=SCHEDULES, value=SCHEDULES[0], description="rates",
                                        style={"button_width": "170px"})
        for name in ("rate", "layers", "schedule"):
            getattr(self, name).add_class(f"{self.css_class}-{name}")
        self._finish_layout(
            w.VBox([w.HBox([self.rate, self.layers]), self.schedule]),
            caption="The receptive field of the centre pixel after the chosen 3×3 layers: coloured pixels feed it "
                    "(yellow = many paths, purple = few), dimmed ones do not; red dots are the last layer's 9 taps.",
        )

    def rates(self) -> list[int]:
        return layer_rates(int(self.rate.value), int(self.layers.value), self.schedule.value)

    def render(self) -> np.ndarray:
        return deeplab.atrous_picture(self.data, self.rates())

    def status(self) -> str:
        field = deeplab.atrous_footprint(self.rates())
        holes = int((field == 0).sum())
        return (f"rates {self.rates()}: field {field.shape[0]}×{field.shape[1]} px from "
                f"{9 * len(self.rates())} weights; {holes} pixels inside it are never seen"
                + (" (gridding)" if holes else ""))
