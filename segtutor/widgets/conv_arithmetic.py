"""Convolution arithmetic: which inputs feed which output, step by step.

Sliders set the input size, kernel size, padding, stride and dilation; a
step slider (with a play button) moves the kernel over the input in reading
order, like the hyperparameter view of CNN Explainer (Wang et al. 2020) and
the animations of Dumoulin & Visin (2016). The picture is
:func:`segtutor.convolution.conv_arithmetic_picture` and the text under it is
:func:`segtutor.convolution.describe_conv_arithmetic`.

Examples
--------
>>> from segtutor.widgets.conv_arithmetic import ConvArithmetic
>>> widget = ConvArithmetic(input_size=5, kernel_size=3, padding=1, stride=2)  # doctest: +SKIP
>>> widget.step.value = 4                                                      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import convolution
from .._validate import check_positive_int
from ._base import Visualiser

__all__ = ["ConvArithmetic"]

_HYPER = ("input_size", "kernel_size", "padding", "stride", "dilation")


class ConvArithmetic(Visualiser):
    """Step through a convolution and see which inputs each output reads.

    Parameters
    ----------
    input_size, kernel_size, padding, stride, dilation : int
        Starting values of the sliders.

    Attributes
    ----------
    input_size, kernel_size, padding, stride, dilation, step : ipywidgets.IntSlider
    play : ipywidgets.Play
        Animates ``step`` in the browser.
    """

    css_class = "segtutor-conv-arithmetic"

    def __init__(self, input_size: int = 5, kernel_size: int = 3, padding: int = 1, stride: int = 2,
                 dilation: int = 1) -> None:
        # The sliders would silently clamp a value outside their range: say so instead.
        for arg, value, (low, high) in (("input_size", input_size, (2, 12)), ("kernel_size", kernel_size, (1, 7)),
                                        ("padding", padding, (0, 4)), ("stride", stride, (1, 8)),
                                        ("dilation", dilation, (1, 3))):
            check_positive_int(value, arg, minimum=low)
            if value > high:
                raise ValueError(f"{arg} should be at most {high} (the slider's range), got {value}.")
        input_size, kernel_size, padding, stride, dilation = (
            int(v) for v in (input_size, kernel_size, padding, stride, dilation))
        super().__init__()
        import ipywidgets as w

        self._hold = False
        # Ranges reach silly values on purpose (stride 8 on a 3-pixel input,
        # a 7×7 kernel on a 2-pixel input) so the messages can be seen.
        self.input_size = w.IntSlider(value=input_size, min=2, max=12, description="input")
        self.kernel_size = w.IntSlider(value=kernel_size, min=1, max=7, description="kernel")
        self.padding = w.IntSlider(value=padding, min=0, max=4, description="padding")
        self.stride = w.IntSlider(value=stride, min=1, max=8, description="stride")
        self.dilation = w.IntSlider(value=dilation, min=1, max=3, description="dilation")
        self.step = w.IntSlider(value=0, min=0, max=0, description="output pixel")
        self.play = w.Play(value=0, min=0, max=0, interval=700, description="play")
        w.jslink((self.play, "value"), (self.step, "value"))
        for name in (*_HYPER, "step", "play"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self.step.observe(self._on_step, names="value")
        self._update_step_range()
        self._finish_layout(
            [w.VBox([self.input_size, self.kernel_size, self.padding]), w.VBox([self.stride, self.dilation])],
            extra=w.HBox([self.play, self.step]),
            caption="<b>Left:</b> the input with its zero padding (grey border); dark blue cells feed the current "
                    "output pixel, dark grey ones fall on padding. <b>Right:</b> the output; dark green pixels are "
                    "done, the red one is being computed, pale green ones are still to come.",
        )

    def hyperparameters(self) -> dict:
        """Current slider values, as keyword arguments of the compute functions."""
        return {name: getattr(self, name).value for name in _HYPER}

    def set(self, **values) -> None:
        """Set several sliders, then redraw once.

        Values outside a slider's range are accepted (the range grows), so a
        notebook can show a stride of 50.
        """
        unknown = set(values) - set(_HYPER) - {"step"}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; use {list(_HYPER) + ['step']}.")
        self._hold = True
        try:
            for name, value in values.items():
                if name == "step":
                    continue
                slider = getattr(self, name)
                slider.max = max(slider.max, value)
                slider.min = min(slider.min, value)
                slider.value = value
        finally:
            self._hold = False
        self._update_step_range()
        if "step" in values:
            self._hold = True
            try:
                self.step.value = values["step"]
            finally:
                self._hold = False
        self.refresh()

    def output_size(self) -> int:
        """Output side for the current sliders (raises ValueError if none)."""
        h = self.hyperparameters()
        return convolution.conv_output_size(h["input_size"], h["kernel_size"], stride=h["stride"],
                                            padding=h["padding"], dilation=h["dilation"])

    def _update_step_range(self) -> None:
        try:
            n = self.output_size()
        except ValueError:
            return  # render() shows the message; keep the old range
        self._hold = True
        try:
            self.step.value = min(self.step.value, n * n - 1)
            self.play.value = min(self.play.value, n * n - 1)
            self.step.max = self.play.max = n * n - 1
        finally:
            self._hold = False

    def _on_change(self, change=None) -> None:
        if self._hold:
            return
        self._update_step_range()
        self.refresh()

    def _on_step(self, _change=None) -> None:
        if not self._hold:
            self.refresh()

    def render(self) -> np.ndarray:
        return convolution.conv_arithmetic_picture(**self.hyperparameters(), step=self.step.value)

    def status(self) -> str:
        return convolution.describe_conv_arithmetic(**self.hyperparameters(), step=self.step.value)
