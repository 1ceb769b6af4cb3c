"""A browser over a data set's items with their quality flags (notebook 12).

Every item of a data set read by :func:`segtutor.datasets.quality.load_checked`
is listed, kept or excluded. A kept item shows the image and its mask as
coloured classes over the image (:func:`item_picture`); an excluded one shows
an empty red-framed panel, and the text under it gives each problem found.

Examples
--------
>>> from segtutor.datasets.quality import load_checked
>>> from segtutor.widgets.quality import QualityBrowser
>>> QualityBrowser(*load_checked("datasets/capstone_folder"))     # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import viz
from .._validate import check_image, check_mask, check_positive_int
from ._base import Visualiser, side_by_side

__all__ = ["QualityBrowser", "item_picture", "excluded_picture"]


def _scaled(panel: np.ndarray, size: int, order: int) -> np.ndarray:
    from skimage.transform import resize

    h, w = panel.shape[:2]
    scale = size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale))) + panel.shape[2:]
    return resize(panel.astype(np.float32), shape, order=order, preserve_range=True, anti_aliasing=False)


def item_picture(image, mask, *, size: int = 192) -> np.ndarray:
    """The image, and its class mask coloured over it, side by side.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3), floats in [0, 1]
    mask : array_like of int, shape (H, W)
        Class ids, 0 for background.
    size : int
        Longer side of each panel in pixels (nearest-neighbour zoom, so pixels stay visible).

    Returns
    -------
    ndarray of uint8, shape (size', 2 * size' + 8, 3)
    """
    img = check_image(image, "image")
    m = check_mask(mask, "mask", ndim=2)
    if img.shape[:2] != m.shape:
        raise ValueError(f"image {img.shape[:2]} and mask {m.shape} should have the same height and width.")
    if m.size and m.min() < 0:
        raise ValueError("mask should hold class ids 0 or more.")
    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size}.")
    rgb = viz.as_rgb(np.clip(np.asarray(img, np.float32), 0, 1))
    colours = viz.label_rgb(m)
    tinted = np.where(m[..., None] > 0, 0.45 * rgb + 0.55 * colours, rgb)
    return side_by_side([_scaled(rgb, size, 0), _scaled(tinted, size, 0)])


def excluded_picture(name: str = "", problems=(), *, size: int = 192) -> np.ndarray:
    """A light grey panel framed in red, naming an item left out of the data set and why.

    Parameters
    ----------
    name : str
        The item's name, written at the top of the panel.
    problems : sequence of (kind, detail) pairs
        What :func:`segtutor.datasets.quality.load_checked` found; each kind is
        written on its own line, so two excluded items look different.
    size : int
        Side of the square panel in pixels.

    Returns
    -------
    ndarray of uint8, shape (size, size, 3)
    """
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    size = check_positive_int(size, "size", minimum=16)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size}.")
    if not isinstance(name, str):
        raise TypeError(f"name should be a string, got {type(name).__name__}.")
    if isinstance(problems, (str, bytes)) or not isinstance(problems, (list, tuple)):
        raise TypeError(f"problems should be a list of (kind, detail) pairs, got {type(problems).__name__}.")
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in problems):
        raise ValueError("problems should hold (kind, detail) pairs, as the QualityReport's problems give them.")
    lines = [str(kind) for kind, _detail in problems]
    fig = Figure(figsize=(size / 96, size / 96), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor="0.9", edgecolor=(0.8, 0.1, 0.1),
                           linewidth=6))
    text = "\n".join(["excluded", textwrap.shorten(name, 24)] + [textwrap.shorten(k, 24) for k in lines[:4]])
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=max(6, size // 18), color="0.15", wrap=True)
    fig.canvas.draw()
    rgb = np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    return side_by_side([rgb.astype(np.float32) / 255.0])


class QualityBrowser(Visualiser):
    """Step through every item of a data set, kept or excluded, with its quality flags.

    Parameters
    ----------
    data : CheckedData
    report : QualityReport
        Both as returned by :func:`segtutor.datasets.quality.load_checked`.

    Attributes
    ----------
    index : ipywidgets.IntSlider
        Which item.
    only_flagged : ipywidgets.Checkbox
        Step through the items with problems only.
    """

    css_class = "segtutor-quality-browser"
    display_width = 400

    def __init__(self, data, report) -> None:
        import ipywidgets as w

        from ..datasets.quality import QualityReport

        if not isinstance(report, QualityReport):
            raise TypeError(f"report should be the QualityReport of load_checked, got {type(report).__name__}.")
        names = getattr(data, "names", None)
        if names is None or not hasattr(data, "images") or not hasattr(data, "masks"):
            raise TypeError(f"data should be the CheckedData of load_checked, got {type(data).__name__}.")
        if list(names) != list(report.kept):
            raise ValueError("data and report should come from the same load_checked call (their items differ).")
        super().__init__()
        self.data, self.report = data, report
        self._position = {name: i for i, name in enumerate(names)}
        self.all_items = sorted(set(report.kept) | set(report.excluded) | {p.item for p in report.problems})
        if not self.all_items:
            raise ValueError("the data set has no items to browse.")
        self.flagged = [n for n in self.all_items if report.flags(n)]
        self.only_flagged = w.Checkbox(value=False, description="only items with problems", indent=False,
                                       disabled=not self.flagged)
        self.index = w.IntSlider(value=0, min=0, max=len(self.all_items) - 1, description="item")
        self.index.add_class(f"{self.css_class}-index")
        self.only_flagged.observe(self._switch_list, names="value")
        self._finish_layout([self.index, self.only_flagged],
                            caption="<b>Left:</b> the image. <b>Right:</b> its mask, one colour per class. "
                                    "An excluded item shows a red frame; the text says why.")

    def _items(self) -> list:
        return self.flagged if self.only_flagged.value else self.all_items

    def _switch_list(self, _change=None) -> None:
        self.index.max = len(self._items()) - 1
        self.index.value = min(self.index.value, self.index.max)

    @property
    def item(self) -> str:
        items = self._items()
        return items[min(int(self.index.value), len(items) - 1)]

    def render(self) -> np.ndarray:
        name = self.item
        if name in self._position:
            i = self._position[name]
            return item_picture(self.data.images[i], self.data.masks[i])
        return excluded_picture(name, [(p.kind, p.detail) for p in self.report.problems if p.item == name])

    def status(self) -> str:
        name = self.item
        problems = [p for p in self.report.problems if p.item == name]
        if name in self._position:
            i = self._position[name]
            counts = np.bincount(np.asarray(self.data.masks[i]).ravel(), minlength=len(self.report.classes))
            shares = ", ".join(f"{c} {n / counts.sum():.0%}" for c, n in zip(self.report.classes, counts) if n)
            head = f"{name}: kept; {len(self.data.class_ids[i])} object(s); pixels {shares}"
        else:
            head = f"{name}: excluded"
        return head + "".join(f" | {p.kind}: {p.detail}" for p in problems)
