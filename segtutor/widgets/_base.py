"""What every course widget shares: PNG encoding, error display, snapshots.

A visualiser is a pure compute function (in the module that owns the concept)
plus a thin :class:`Visualiser` subclass here in ``segtutor.widgets`` that
wires ipywidgets controls to it. The compute function returns an RGB array;
the widget encodes it to PNG bytes for an ``ipywidgets.Image`` (the fastest
path measured on this course's target laptops) and keeps the array so that
:meth:`Visualiser.snapshot` can return exactly what the student sees.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["Visualiser", "to_png_bytes", "to_rgb_uint8", "figure_to_rgb", "side_by_side"]


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as an (H, W, 3) uint8 array.

    Floats are taken to lie in [0, 1] and are clipped; grayscale is repeated
    into three channels. Empty, non-numeric, complex, ragged and non-finite
    input is refused (ValueError): a NaN pixel drawn black would hide a bug.
    """
    from .._validate import check_image

    arr = check_image(image, "image")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0)
    return (np.clip(arr, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def to_png_bytes(image: np.ndarray) -> bytes:
    """Encode an image as PNG bytes for ``ipywidgets.Image``."""
    from PIL import Image

    buffer = io.BytesIO()
    # compress_level=1: the widget re-encodes on every slider move, and level 1
    # is several times faster than the default for a few percent more bytes.
    Image.fromarray(to_rgb_uint8(image)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure_to_rgb(fig) -> np.ndarray:
    """Render a Matplotlib figure to an (H, W, 3) uint8 array and close it."""
    import matplotlib.pyplot as plt

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return np.ascontiguousarray(rgba[..., :3])


class Visualiser:
    """Base class for the course's interactive widgets.

    Subclasses build their controls in ``__init__``, call
    :meth:`_finish_layout` with them, and implement :meth:`render`, a method
    that reads the controls, calls pure compute functions and returns an RGB
    array. Rendering errors that come from the student's input (a kernel of
    NaNs, a stride larger than the image) are shown as a message in the widget
    instead of a traceback.

    Attributes
    ----------
    ui : ipywidgets.Widget
        The assembled widget; a notebook can display the visualiser itself.
    image : ipywidgets.Image
        The rendered picture.
    message : ipywidgets.HTML
        Status or error text shown under the picture.
    """

    css_class = "segtutor-widget"
    #: Width in CSS pixels to show the picture at; None shows it at its own size.
    #: Without a width, JupyterLab stretches an Image to the whole output area,
    #: which blurs small pictures and pushes the controls off a laptop screen.
    display_width: int | None = None
    #: Height in CSS pixels of the box the picture is shown in; None follows the
    #: picture. With a height, a picture whose shape changes with the controls
    #: (one panel, then three) is scaled to fit the box, keeping its aspect, so
    #: the widget keeps its height and the controls stay where they were.
    display_height: int | None = None

    def __init__(self) -> None:
        import ipywidgets as w

        width = f"{self.display_width}px" if self.display_width else "auto"
        layout = w.Layout(width=width, max_width="100%", align_self="flex-start")
        if self.display_height:
            layout.height = f"{self.display_height}px"
            layout.object_fit = "contain"
            layout.object_position = "left top"
        self.image = _titled_image_class()(format="png", layout=layout)
        self.image.add_class(f"{self.css_class}-image")
        self.message = w.HTML(value="")
        self.message.add_class(f"{self.css_class}-message")
        self._last = np.zeros((8, 8, 3), np.uint8)
        self.ui = None
        self.error: str | None = None

    # -- to be provided by subclasses -------------------------------------
    def render(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------
    def _finish_layout(self, controls, *, extra=None, caption: str | None = None,
                       side_by_side: bool = False) -> None:
        """Assemble controls, caption, picture and message into :attr:`ui`.

        ``side_by_side`` puts the controls left of the picture instead of
        above it, for pictures too tall to share a laptop screen's height
        with a row of controls; ``extra`` then goes under the controls and
        the caption above the picture.
        """
        import ipywidgets as w

        children = [w.HBox(list(controls)) if isinstance(controls, (list, tuple)) else controls]
        if extra is not None:
            children.append(extra)
        if caption:
            # Says what each panel of the picture is. Normal line height and
            # 90 % of the notebook's font: <small> made the lines tiny and far apart.
            self.caption = w.HTML(f"<div style='{CAPTION_STYLE}'>{caption}</div>")
            self.caption.add_class(f"{self.css_class}-caption")
            children.append(self.caption)
        if side_by_side:
            left = children[:2] if extra is not None else children[:1]
            right = children[len(left):]
            width = left[0].layout.width
            column = left[0] if len(left) == 1 else w.VBox(
                left, layout=w.Layout(width=width, flex=f"0 0 {width}" if width else None))
            children = [w.HBox([column, w.VBox([*right, self.image])])]
        else:
            children.append(self.image)
        children.append(self.message)
        # Invisible (display: none, no space taken): names the slider handles
        # for screen readers in the browser; see _aria.py.
        from ._aria import slider_names

        children.append(slider_names())
        self.ui = w.VBox(children)
        _label_controls(controls)
        self.ui.add_class("segtutor-widget")
        self.ui.add_class(self.css_class)
        for control in _walk(controls):
            if hasattr(control, "observe") and hasattr(control, "value"):
                control.observe(self._on_change, names="value")
        self.refresh()

    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute and redraw; show a message instead of raising."""
        try:
            rgb = self.render()
        except ValueError as exc:
            self.error = str(exc)
            self.message.value = f"<span style='color:#b00020'>&#9888; {_escape(self.error)}</span>"
            return
        self.error = None
        self._last = to_rgb_uint8(rgb)
        self.image.value = to_png_bytes(self._last)
        status = self.status()
        self.message.value = _escape(status) if status else ""
        # ipywidgets.Image has no alt attribute; its tooltip becomes the <img>'s
        # title, which browsers and screen readers use as the picture's name
        # when alt is missing (see _titled_image_class).
        alt = self.alt_text()
        self.image.tooltip = f"{alt} {status}".strip() if status else alt

    def status(self) -> str:
        """Text shown under the picture after a successful render."""
        return ""

    def alt_text(self) -> str:
        """A sentence saying what the picture shows, for screen readers (the image's title)."""
        doc = (type(self).__doc__ or "").strip().splitlines()
        return doc[0] if doc else type(self).__name__

    def snapshot(self) -> np.ndarray:
        """Return the picture currently shown, as an (H, W, 3) uint8 array."""
        return self._last.copy()

    def static_picture(self) -> tuple[np.ndarray, str, str]:
        """``(picture, alt text, status)`` for a page without a kernel (see ``_static``)."""
        from ._static import plain_text

        text = plain_text(self.message.value)
        return self.snapshot(), self.alt_text(), text

    def _ipython_display_(self):
        from IPython.display import display

        from ._static import note_displayed

        note_displayed(self)
        display(self.ui)


CAPTION_STYLE = "font-size: 0.9em; line-height: 1.35; margin: 2px 0 4px 0; max-width: 720px"


def _decimals(step) -> int:
    """Decimals needed to print every multiple of ``step`` exactly (0.05 -> 2)."""
    text = f"{float(step):.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _label_controls(controls) -> None:
    """Give every control a visible name and float sliders an exact readout.

    The description is the slider's label for a sighted user and the text a
    screen reader announces next to it; a float slider's readout format is
    set from its step, so 0.35 reads "0.35", not "0.35000000000000003".
    """
    import ipywidgets as w

    for control in _walk(controls):
        if isinstance(control, (w.FloatSlider, w.FloatRangeSlider)):
            control.readout_format = f".{_decimals(control.step)}f"
        if isinstance(control, w.widgets.widget_description.DescriptionWidget) and not control.tooltip:
            control.tooltip = control.description or None


_TITLED_IMAGE = None


def _titled_image_class():
    """``ipywidgets.Image`` whose ``tooltip`` works: it becomes the <img>'s title.

    ipywidgets 8.1's front end sets a widget's title from its tooltip only
    when the widget's ``description`` is empty, and Image has no description
    at all, so a tooltip on a plain Image raises a JavaScript error and the
    picture is not drawn. An empty synced ``description`` is all the front
    end needs; the view is the stock ImageView.
    """
    global _TITLED_IMAGE
    if _TITLED_IMAGE is None:
        import ipywidgets as w
        from traitlets import Unicode

        class TitledImage(w.Image):
            description = Unicode("", help="Always empty; lets the front end apply the tooltip.").tag(sync=True)

        _TITLED_IMAGE = TitledImage
    return _TITLED_IMAGE


def _walk(controls):
    if isinstance(controls, (list, tuple)):
        for c in controls:
            yield from _walk(c)
        return
    children = getattr(controls, "children", None)
    if children:
        for c in children:
            yield from _walk(c)
    else:
        yield controls


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def side_by_side(panels, *, gap: int = 8, background: int = 255) -> np.ndarray:
    """Place RGB or grayscale panels left to right, top-aligned, with white gaps.

    Parameters
    ----------
    panels : sequence of ndarray, each (H_i, W_i) or (H_i, W_i, 3)
        Floats in [0, 1] or uint8.
    gap : int
        Pixels between panels.

    Returns
    -------
    ndarray of uint8, shape (max H_i, sum W_i + gaps, 3)
    """
    tiles = [to_rgb_uint8(p) for p in panels]
    if not tiles:
        raise ValueError("panels is empty; give at least one image.")
    height = max(t.shape[0] for t in tiles)
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    out = np.full((height, width, 3), background, np.uint8)
    x = 0
    for t in tiles:
        out[: t.shape[0], x : x + t.shape[1]] = t
        x += t.shape[1] + gap
    return out
