"""Window/level: see how a contrast stretch maps intensities (notebook 01).

:func:`window_view` is the pure picture: the windowed image beside the
image's histogram, with the window shaded and the mapping drawn over it.
:class:`IntensityWindow` wires two sliders to it.

Drawing the whole figure with Matplotlib on every slider move took about
100 ms on a laptop core, beyond the ~40 ms kernel budget a key press can
afford (``bench/bench_widget_compute.py`` measures it). Nothing but the window changes
between two moves, so the axes, bars, labels and ticks are drawn once per
image (:func:`_window_background`, cached) and each move only composes the
windowed image, the shaded band and the mapping line into that background
with NumPy: a few milliseconds.

Examples
--------
>>> from skimage.data import camera
>>> rgb = window_view(camera(), 50, 150)
>>> rgb.ndim, rgb.shape[-1], rgb.dtype
(3, 3, dtype('uint8'))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..arrays import check_number, histogram, intensity_window
from .._validate import check_image, check_in_range, check_positive_int
from ._base import Visualiser, figure_to_rgb

__all__ = ["IntensityWindow", "window_view", "slider_range"]

# Okabe and Ito's colour-blind-safe palette: the window band and the mapping
# line differ in hue *and* lightness, so they stay apart for every common
# colour-vision deficiency (red against orange did not).
BAND_RGB = np.array([230, 159, 0], np.float32)      # orange
LINE_RGB = np.array([0, 114, 178], np.uint8)          # blue
BAND_ALPHA = 0.30
_MAX_BINS = 4096


def slider_range(image) -> tuple[float, float, float]:
    """Return ``(minimum, maximum, step)`` that sliders over ``image`` should use.

    0..255 in steps of 1 for uint8 images; otherwise the data's range in
    about 200 steps, the step rounded to one significant digit so that every
    slider position is a short decimal (a screen reader then reads "0.35",
    not "0.35000000000000003").

    Examples
    --------
    >>> slider_range(np.zeros((2, 2), np.uint8))
    (0.0, 255.0, 1.0)
    >>> slider_range(np.array([[0.0, 1.0]]))
    (0.0, 1.0, 0.005)
    """
    arr = check_image(image, allow_rgb=False)
    if arr.dtype == np.uint8:
        return 0.0, 255.0, 1.0
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("image contains NaN or infinity; replace them first, e.g. np.nan_to_num(image).")
    if lo == hi:
        hi = lo + 1.0
    raw = (hi - lo) / 200.0
    step = float(f"{raw:.0e}")
    lo = float(np.floor(lo / step) * step)
    hi = float(np.ceil(hi / step) * step)
    digits = max(0, -int(np.floor(np.log10(step))))
    return round(lo, digits), round(hi, digits), step


@dataclass
class _Background:
    """What stays the same between two slider moves, in figure pixels."""

    rgb: np.ndarray            # (H, W, 3) uint8: axes, bars, labels, an empty image box
    image_box: tuple           # (row0, row1, col0, col1) of the image inside rgb
    image_small: np.ndarray    # the image resampled (nearest) to that box
    hist_box: tuple            # (row0, row1, col0, col1) of the histogram axes
    x_range: tuple             # data x at col0 and col1 of the histogram axes
    y_range: tuple             # mapping-axis y at row1 (bottom) and row0 (top)
    bars: np.ndarray           # (rows, cols) bool: where the histogram bars are


_CACHE: dict = {}


def _box(extent, height: int) -> tuple[int, int, int, int]:
    """Matplotlib display extent (origin bottom-left) to array rows/cols."""
    x0, y0, x1, y1 = extent.x0, extent.y0, extent.x1, extent.y1
    return int(round(height - y1)), int(round(height - y0)), int(round(x0)), int(round(x1))


def _window_background(arr: np.ndarray, bins: int) -> _Background:
    key = (hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).ravel(), digest_size=16).hexdigest(),
           arr.shape, str(arr.dtype), bins)
    if key in _CACHE:
        return _CACHE[key]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lo, hi, _ = slider_range(arr)
    counts, edges = histogram(arr, bins=bins, value_range=(lo, hi + (1.0 if arr.dtype == np.uint8 else 0.0)))
    # 10-pt ticks and 11-pt labels at 80 dpi: readable on a laptop without zooming.
    fig = Figure(figsize=(8.0, 3.2), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
    left.imshow(np.ones(arr.shape[:2]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    left.set_title("windowed image: low → black, high → white", fontsize=11)
    left.axis("off")
    right.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="0.55")
    right.set_xlim(edges[0], edges[-1])
    right.set_xlabel("intensity", fontsize=11)
    right.set_ylabel("pixels", fontsize=11)
    right.tick_params(labelsize=10)
    mapping = right.twinx()
    mapping.set_ylim(-0.02, 1.02)
    mapping.set_ylabel("shown as (0 black, 1 white)", fontsize=11, color="#0072B2")
    mapping.tick_params(labelsize=10, colors="#0072B2")
    right.set_title("histogram, window (orange band), mapping (blue)", fontsize=11)
    fig.canvas.draw()
    height = int(fig.canvas.get_width_height()[1])
    image_box = _box(left.get_window_extent(), height)
    hist_box = _box(right.get_window_extent(), height)
    rgb = figure_to_rgb(fig)
    r0, r1, c0, c1 = image_box
    rows = np.minimum((np.arange(r1 - r0) + 0.5) * arr.shape[0] / (r1 - r0), arr.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(c1 - c0) + 0.5) * arr.shape[1] / (c1 - c0), arr.shape[1] - 1).astype(int)
    h0, h1, k0, k1 = hist_box
    # Bars are the grey pixels inside the histogram axes; the band tints only them and the white.
    region = rgb[h0:h1, k0:k1].astype(np.int16)
    bars = (np.abs(region - 140).max(axis=-1) < 4)
    bg = _Background(rgb=rgb, image_box=image_box, image_small=arr[np.ix_(rows, cols)],
                     hist_box=hist_box, x_range=(float(edges[0]), float(edges[-1])),
                     y_range=(-0.02, 1.02), bars=bars)
    if len(_CACHE) >= 8:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = bg
    return bg


def _to_col(x: float, bg: _Background) -> float:
    _, _, c0, c1 = bg.hist_box
    x0, x1 = bg.x_range
    return c0 + (x - x0) / (x1 - x0) * (c1 - c0)


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
        Histogram bins (at most 4096).

    Returns
    -------
    ndarray of uint8, shape (256, 640, 3)
        The rendered figure: the image shown through the window (left, scaled
        to fit), the histogram with the window as an orange band and the
        mapping from intensity to grey as a blue line (right).
    """
    arr = check_image(image, allow_rgb=False)
    low = check_number(low, "low")
    high = check_number(high, "high")
    bins = check_positive_int(bins, "bins")
    if bins > _MAX_BINS:
        raise ValueError(f"bins should be at most {_MAX_BINS}, got {bins}; 64 to 256 is plenty for a histogram.")
    bg = _window_background(arr, bins)
    windowed = intensity_window(bg.image_small, low, high)  # also checks low < high
    out = bg.rgb.copy()
    r0, r1, c0, c1 = bg.image_box
    out[r0:r1, c0:c1] = (windowed * 255 + 0.5).astype(np.uint8)[..., None]

    h0, h1, k0, k1 = bg.hist_box
    a = int(np.clip(round(_to_col(low, bg)), k0, k1))
    b = int(np.clip(round(_to_col(high, bg)), k0, k1))
    if b > a:
        band = out[h0 + 1:h1 - 1, a:b].astype(np.float32)
        out[h0 + 1:h1 - 1, a:b] = (band * (1 - BAND_ALPHA) + BAND_RGB * BAND_ALPHA + 0.5).astype(np.uint8)

    # The mapping, on the twin axis: 0 left of low, a ramp to 1 at high, 1 after.
    cols = np.arange(k0, k1)
    xs = bg.x_range[0] + (cols - k0 + 0.5) / (k1 - k0) * (bg.x_range[1] - bg.x_range[0])
    ys = np.clip((xs - low) / (high - low), 0.0, 1.0)
    y0, y1 = bg.y_range
    rows = (h1 - (ys - y0) / (y1 - y0) * (h1 - h0)).round().astype(int)
    rows = np.clip(rows, h0, h1 - 1)
    # Fill each column from one row to the next so a narrow window's steep ramp is a line, not dots.
    top = np.minimum(rows[:-1], rows[1:]) - 1
    bottom = np.maximum(rows[:-1], rows[1:]) + 1
    grid = np.arange(h0, h1)[:, None]
    on = (grid >= top[None, :]) & (grid <= bottom[None, :])
    sub = out[h0:h1, k0:k1 - 1]
    sub[on] = LINE_RGB
    return out


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
    low, high : ipywidgets.IntSlider or ipywidgets.FloatSlider
        Integer sliders for uint8 images (every grey level is an integer,
        and a screen reader reads "60", not "59.99999999999999").

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
        low = lo if low is None else check_in_range(low, "low", lo, hi)
        high = hi if high is None else check_in_range(high, "high", lo, hi)
        if not low < high:
            raise ValueError(f"low should be below high, got low={low:g} and high={high:g}.")
        # A redraw costs a few milliseconds (see the module docstring), so the
        # picture can follow the slider while it is dragged.
        common = dict(min=lo, max=hi, step=step, continuous_update=True,
                      style={"description_width": "initial"}, layout=w.Layout(width="45%"))
        if self.data.dtype == np.uint8:
            common = {**common, "min": 0, "max": 255, "step": 1}
            self.low = w.IntSlider(value=int(round(low)), description="low (black)", **common)
            self.high = w.IntSlider(value=int(round(high)), description="high (white)", **common)
        else:
            digits = max(0, -int(np.floor(np.log10(step))))
            fmt = f".{digits}f"
            self.low = w.FloatSlider(value=low, description="low (black)", readout_format=fmt, **common)
            self.high = w.FloatSlider(value=high, description="high (white)", readout_format=fmt, **common)
        self.low.add_class(f"{self.css_class}-low")
        self.high.add_class(f"{self.css_class}-high")
        self._finish_layout([self.low, self.high])

    def render(self) -> np.ndarray:
        return window_view(self.data, self.low.value, self.high.value)

    def alt_text(self) -> str:
        return (f"The image shown through the intensity window {self.low.value:g} to {self.high.value:g}, "
                "beside its histogram with the window shaded.")

    def status(self) -> str:
        black = float(np.mean(self.data <= self.low.value))
        white = float(np.mean(self.data >= self.high.value))
        return (f"window [{self.low.value:g}, {self.high.value:g}]: {black:.0%} of pixels clipped to black, "
                f"{white:.0%} to white; the rest spread over the full grey range.")
