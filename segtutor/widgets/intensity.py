"""Window/level: see how a contrast stretch maps intensities (notebook 01).

:func:`window_view` is the pure picture: the windowed image beside the
image's histogram, with the window shaded and the mapping drawn over it.
:class:`IntensityWindow` wires two sliders to it.

Examples
--------
>>> from skimage.data import camera
>>> rgb = window_view(camera(), 50, 150)
>>> rgb.ndim, rgb.shape[-1], rgb.dtype
(3, 3, dtype('uint8'))
"""

from __future__ import annotations

import numpy as np

from ..arrays import histogram, intensity_window
from .._validate import check_image, check_in_range, check_positive_int
from ._base import Visualiser, figure_to_rgb

__all__ = ["IntensityWindow", "window_view", "slider_range"]


def slider_range(image) -> tuple[float, float, float]:
    """Return ``(minimum, maximum, step)`` that sliders over ``image`` should use.

    0..255 in steps of 1 for uint8 images; the data's range in 200 steps
    otherwise.
    """
    arr = check_image(image, allow_rgb=False)
    if arr.dtype == np.uint8:
        return 0.0, 255.0, 1.0
    lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        hi = lo + 1.0
    return lo, hi, (hi - lo) / 200.0


def window_view(image, low, high, bins: int = 64) -> np.ndarray:
    """Draw the windowed image and the histogram with the window on it.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image.
    low, high : float
        The window, in the image's units (see
        :func:`segtutor.arrays.intensity_window`).
    bins : int
        Histogram bins.

    Returns
    -------
    ndarray of uint8, shape (H_fig, W_fig, 3)
        The rendered figure.
    """
    # A bare Figure, not pyplot: nothing is shown twice in a notebook and no backend is touched.
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    arr = check_image(image, allow_rgb=False)
    bins = check_positive_int(bins, "bins")
    if bins > 4096:
        raise ValueError(f"bins should be at most 4096 (a drawn histogram), got {bins:,}.")
    windowed = intensity_window(arr, low, high)
    lo, hi, _ = slider_range(arr)
    counts, edges = histogram(arr, bins=bins, value_range=(lo, hi + (1.0 if arr.dtype == np.uint8 else 0.0)))

    # Constrained layout makes room for the twin axis's label on the right; tight_layout clipped it.
    fig = Figure(figsize=(8.0, 3.2), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
    left.imshow(windowed, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    left.set_title(f"window [{low:g}, {high:g}] -> [0, 1]", fontsize=10)
    left.axis("off")

    right.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="0.55")
    right.axvspan(low, high, color="tab:orange", alpha=0.25, lw=0)
    right.set_xlim(edges[0], edges[-1])
    right.set_xlabel("intensity", fontsize=9)
    right.set_ylabel("pixels", fontsize=9)
    right.tick_params(labelsize=8)
    # The mapping on a second axis: what each input intensity becomes on screen.
    mapping = right.twinx()
    xs = np.linspace(edges[0], edges[-1], 256)
    mapping.plot(xs, np.clip((xs - low) / (high - low), 0, 1), color="tab:red", lw=1.5)
    mapping.set_ylim(-0.02, 1.02)
    mapping.set_ylabel("shown as", fontsize=9, color="tab:red")
    mapping.tick_params(labelsize=8, colors="tab:red")
    right.set_title("histogram, window (orange), mapping (red)", fontsize=10)
    return figure_to_rgb(fig)


class IntensityWindow(Visualiser):
    """Two sliders, ``low`` and ``high``, for a window/level contrast stretch.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image.
    low, high : float, optional
        Start values; by default the whole range.

    Attributes
    ----------
    low, high : ipywidgets.FloatSlider

    Examples
    --------
    >>> from skimage.data import camera
    >>> w = IntensityWindow(camera())
    >>> w.low.value = 100
    >>> w.snapshot().shape[-1]
    3
    """

    css_class = "segtutor-intensity-window"

    def __init__(self, image, low=None, high=None) -> None:
        import ipywidgets as w

        super().__init__()
        self.data = check_image(image, allow_rgb=False)
        lo, hi, step = slider_range(self.data)
        # The sliders would silently clamp a value outside the image's range: say so instead.
        for arg, value in (("low", low), ("high", high)):
            if value is not None:
                check_in_range(value, arg, lo, hi)
        if low is not None and high is not None and not low < high:
            raise ValueError(f"low should be below high, got low={low} and high={high}.")
        # One render takes about 100 ms (Matplotlib), beyond the ~40 ms budget
        # for smooth dragging, so the picture updates when the slider is released.
        common = dict(min=lo, max=hi, step=step, continuous_update=False,
                      style={"description_width": "initial"}, layout=w.Layout(width="45%"))
        self.low = w.FloatSlider(value=lo if low is None else low, description="low (black)", **common)
        self.high = w.FloatSlider(value=hi if high is None else high, description="high (white)", **common)
        self.low.add_class(f"{self.css_class}-low")
        self.high.add_class(f"{self.css_class}-high")
        self._finish_layout([self.low, self.high])

    def render(self) -> np.ndarray:
        return window_view(self.data, self.low.value, self.high.value)

    def status(self) -> str:
        windowed = intensity_window(self.data, self.low.value, self.high.value)
        black = float(np.mean(windowed == 0.0))
        white = float(np.mean(windowed == 1.0))
        return (f"{black:.0%} of pixels clipped to black, {white:.0%} to white; "
                f"the rest spread over the full grey range.")
