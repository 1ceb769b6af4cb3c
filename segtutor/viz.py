"""Pictures of images, masks and errors, for notebooks and widgets.

Every function here is pure: it returns either an RGB array (float in
[0, 1], shape (H, W, 3)) or a Matplotlib ``Figure``; none calls ``plt.show``.
A returned figure is not registered with ``pyplot``, so a notebook shows it
exactly once when it is the last expression of a cell (or with
``display(fig)``), and it never piles up in pyplot's memory.

Images may be grayscale (H, W) or (H, W, 1), RGB (H, W, 3) or RGBA (the
alpha channel is dropped), ``uint8`` (0-255) or float. A float image whose
values leave [0, 1] is brought back by one of two named rules
(:data:`RANGE_RULES`, applied by :func:`to_unit_range`): ``"stretch"`` maps
its minimum to 0 and its maximum to 1 (:func:`as_rgb`, for pictures of data
such as a standardised image), ``"clip"`` cuts at 0 and 1 (:func:`to_rgb_uint8`,
for pictures a function has already scaled, where a stretch would change
their brightness from frame to frame).

The widget helpers live here too, so that every layer that draws can use
them: :func:`side_by_side` places panels in a row, :func:`to_png_bytes`
encodes a picture for ``ipywidgets.Image`` and :func:`figure_to_rgb`
renders a Matplotlib figure to an array.

Boxes follow the course convention of :mod:`segtutor.boxes`:
``(y1, x1, y2, x2)`` in pixels with ``y2`` and ``x2`` exclusive.

Colours
-------
:func:`instance_colors` gives a deterministic palette: label ``k`` always gets
the same colour, whatever else is in the image. The error colours are from
the colour-blind-safe palette of Okabe and Ito (2008): orange for false
positives, sky blue for false negatives.

Examples
--------
>>> import numpy as np
>>> from segtutor import viz
>>> image = np.zeros((8, 8))
>>> mask = np.zeros((8, 8), bool); mask[2:5, 2:5] = True
>>> viz.overlay_mask(image, mask).shape
(8, 8, 3)
"""

from __future__ import annotations

import functools
import io
import numbers

import numpy as np

from . import _validate

__all__ = [
    "MASK_COLOR",
    "TP_COLOR",
    "FP_COLOR",
    "FN_COLOR",
    "as_rgb",
    "instance_colors",
    "label_rgb",
    "LABELS_NOTE",
    "new_figure",
    "show_grid",
    "overlay_mask",
    "draw_contours",
    "error_overlay",
    "error_view",
    "draw_boxes",
    "COURSE_STEPS",
    "course_map",
    "RANGE_RULES",
    "to_unit_range",
    "to_rgb_uint8",
    "to_png_bytes",
    "figure_to_rgb",
    "side_by_side",
]

#: Default colour of a binary mask overlay (Okabe-Ito bluish green, kept apart
#: from the error colours so that an overlay is never mistaken for an error).
MASK_COLOR = (0.0, 0.620, 0.451)
#: Pixels both masks call foreground, in :func:`error_overlay`.
TP_COLOR = (0.92, 0.92, 0.92)
#: Predicted but not in the truth (Okabe-Ito orange).
FP_COLOR = (0.902, 0.624, 0.0)
#: In the truth but missed (Okabe-Ito sky blue).
FN_COLOR = (0.337, 0.706, 0.914)

# Background pixels of the error panel are dimmed so the coloured errors stand out.
_DIM = 0.45
_GOLDEN = 0.6180339887498949


# -- colours and conversions ----------------------------------------------

def _label_colors(ids) -> np.ndarray:
    """Colour of each positive id: hue steps by the golden ratio (any id, no table)."""
    k = np.asarray(ids, dtype=np.float64) - 1.0
    hue = (0.02 + k * _GOLDEN) % 1.0
    # Saturation and value cycle with periods 2 and 3 so that ids whose hues
    # come close again still differ in brightness or strength.
    saturation = np.where(np.mod(k, 2) == 0, 0.95, 0.6)
    value = np.array([1.0, 0.8, 0.9])[np.mod(k, 3).astype(int)]
    from matplotlib.colors import hsv_to_rgb

    return hsv_to_rgb(np.stack([hue, saturation, value], axis=-1).reshape(-1, 3))


def instance_colors(n: int) -> np.ndarray:
    """A deterministic palette of ``n`` distinct colours.

    Colour ``k - 1`` is the colour of label ``k`` in :func:`overlay_mask` and
    :func:`draw_contours`, so ``instance_colors(5)`` is the start of
    ``instance_colors(10)``. Hues step by the golden ratio, which keeps
    neighbouring labels far apart on the colour wheel.

    Parameters
    ----------
    n : int
        Number of colours (0 or more).

    Returns
    -------
    ndarray of float64, shape (n, 3)
        RGB values in [0, 1].

    Examples
    --------
    >>> instance_colors(3).shape
    (3, 3)
    """
    n = _validate.check_positive_int(n, "n", minimum=0)
    if n > 1 << 20:
        raise ValueError(f"n should be at most {1 << 20:,} colours, got {n:,}; is it a pixel count?")
    return _label_colors(np.arange(1, n + 1))


#: The note :func:`show_grid` writes under a label-image panel.
LABELS_NOTE = "black: background (0); one colour per label"


def label_rgb(labels) -> np.ndarray:
    """Colour a label image: background (label 0) black, each label its own colour.

    A label image holds *names*, not amounts: label 7 is not "more" than
    label 3. So it is drawn with a qualitative palette (the colours of
    :func:`instance_colors`, the same as in :func:`overlay_mask` and
    :func:`draw_contours`), never with a ramp such as ``viridis`` that
    suggests an order, and label 0, the background, is black.

    Parameters
    ----------
    labels : array_like of int or bool, shape (H, W)
        0 for background, positive integers for regions or objects.

    Returns
    -------
    ndarray of float64, shape (H, W, 3)
        RGB in [0, 1].

    Examples
    --------
    >>> out = label_rgb(np.array([[0, 1, 2]]))
    >>> out[0, 0].tolist(), bool((out[0, 1] != out[0, 2]).any())
    ([0.0, 0.0, 0.0], True)
    """
    arr = _validate.as_array(labels, "labels")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    arr = _validate.check_mask(arr, "labels", ndim=2).astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels contains the negative label {int(arr.min())}; labels are 0 or positive.")
    out = np.zeros(arr.shape + (3,), np.float64)
    where = arr > 0
    out[where] = _colour_labels(arr, where, None)
    return out


def _color(value, name: str) -> np.ndarray:
    """A Matplotlib colour spec ('red', '#ff0000', (1, 0, 0)) as an RGB float array."""
    from matplotlib.colors import to_rgb

    try:
        rgb = np.asarray(to_rgb(value), dtype=np.float64)
        if not np.isfinite(rgb).all():  # Matplotlib lets NaN through, and it would paint NaN pixels
            raise ValueError
        return rgb
    except (ValueError, TypeError):
        raise ValueError(
            f"{name} should be a colour: a name like 'red', a hex string like '#ff8800' "
            f"or an (r, g, b) tuple of floats in [0, 1]; got {value!r}."
        ) from None


#: The two ways a picture helper brings float values back into [0, 1].
RANGE_RULES = ("stretch", "clip")


def to_unit_range(values, rule: str = "stretch", *, name: str = "values") -> np.ndarray:
    """Bring finite float values into [0, 1] by one of :data:`RANGE_RULES`.

    ``"stretch"`` leaves values already inside [0, 1] as they are and maps
    any other array's minimum to 0 and maximum to 1 (a constant array becomes
    0). ``"clip"`` sets values below 0 to 0 and above 1 to 1.

    Parameters
    ----------
    values : array_like of finite numbers, any shape
    rule : {"stretch", "clip"}
    name : str
        Used in error messages.

    Returns
    -------
    ndarray of float, same shape as ``values``
        float32 and float64 input keep their dtype; other input becomes float64.

    Examples
    --------
    >>> to_unit_range([0.0, 2.0, 4.0]).tolist()
    [0.0, 0.5, 1.0]
    >>> to_unit_range([-1.0, 0.5, 4.0], "clip").tolist()
    [0.0, 0.5, 1.0]
    """
    name = _validate.check_str(name, "name")
    rule = _validate.check_choice(rule, "rule", RANGE_RULES)
    out = _validate.as_array(values, name)
    out = out.astype(out.dtype if out.dtype in (np.float32, np.float64) else np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite pixel values.")
    if out.size == 0:
        return out
    if rule == "clip":
        return np.clip(out, 0.0, 1.0)
    low, high = out.min(), out.max()
    if low < 0.0 or high > 1.0:
        out = (out - low) / (high - low) if high > low else np.zeros_like(out)
    return out


def signed_rgb(x: np.ndarray, scale: float) -> np.ndarray:
    """Map signed values to blue (negative), white (0) and red (positive), saturating at ``+-scale``.

    Parameters
    ----------
    x : ndarray of float, any shape
        Finite values, such as a kernel's weights or a convolution's output.
    scale : float
        The magnitude shown as full red or full blue; 0 shows everything white.

    Returns
    -------
    ndarray of float32, shape ``x.shape + (3,)``

    Examples
    --------
    >>> signed_rgb(np.array([-1.0, 0.0, 1.0]), 1.0)[1].tolist()
    [1.0, 1.0, 1.0]
    """
    t = np.clip(x / scale, -1, 1)[..., None] if scale > 0 else np.zeros(x.shape + (1,))
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    red = np.array([0.80, 0.10, 0.15], np.float32)
    blue = np.array([0.13, 0.30, 0.80], np.float32)
    white = np.ones(3, np.float32)
    return (white + pos * (red - white) + neg * (blue - white)).astype(np.float32)


# Largest picture drawn in float64 RGB (4096 x 4096, 400 MB; with the
# intermediates about 1 GB): a larger image is more than a screen shows.
_MAX_PICTURE_PIXELS = 1 << 24


def as_rgb(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as an (H, W, 3) float64 array in [0, 1].

    ``uint8`` is divided by 255 and booleans become 0 and 1. Any other image
    already inside [0, 1] is kept as it is; one outside [0, 1] (a float image
    in 0-255, a standardised image) is stretched so its minimum is 0 and its
    maximum 1 (the ``"stretch"`` rule of :func:`to_unit_range`). Grayscale is
    repeated into three channels; alpha is dropped.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)

    Returns
    -------
    ndarray of float64, shape (H, W, 3)

    Examples
    --------
    >>> as_rgb(np.array([[0, 255]], np.uint8))[0, 1]
    array([1., 1., 1.])
    """
    arr = _validate.check_pixel_budget(_validate.check_image(image, name), name, limit=_MAX_PICTURE_PIXELS,
                                       what="a picture in float64 RGB")
    if arr.ndim == 3:
        arr = arr[..., :3] if arr.shape[-1] != 1 else arr[..., 0]
    if arr.dtype == np.uint8:
        out = arr / 255.0
    else:
        out = to_unit_range(arr.astype(np.float64), "stretch", name=name)
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=-1)
    return out


def _mask_for(image: np.ndarray, mask, name: str) -> np.ndarray:
    """Check a mask or label map of the image's height and width; return int64 (H, W)."""
    arr = _validate.as_array(mask, name)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    arr = _validate.check_mask(arr, name, ndim=2).astype(np.int64, copy=False)
    if arr.shape != image.shape[:2]:
        raise ValueError(
            f"{name} has shape {arr.shape} but the image is {image.shape[:2]} (height, width); "
            "they must cover the same pixels. Resize the mask with nearest-neighbour interpolation, "
            "or check that neither still has a batch axis."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} contains the negative label {int(arr.min())}; labels are 0 or positive.")
    return arr


def _is_binary(labels: np.ndarray) -> bool:
    return labels.size == 0 or int(labels.max()) <= 1


def _colour_labels(labels: np.ndarray, where: np.ndarray, color) -> np.ndarray:
    """RGB colour of each pixel in ``where``: a fixed colour, or the palette colour of its label."""
    values = labels[where]
    if color is not None:
        return np.broadcast_to(_color(color, "color"), (values.size, 3))
    ids, inverse = np.unique(values, return_inverse=True)
    return _label_colors(ids)[inverse.ravel()]


# -- figures ---------------------------------------------------------------

@functools.cache
def _figure_class():
    from matplotlib.figure import Figure

    class CourseFigure(Figure):
        """A Figure that shows itself as a PNG when a notebook displays it.

        Jupyter's inline backend only hooks into figures made through pyplot;
        this one displays in any kernel, under any backend, exactly once.
        """

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=self.dpi, bbox_inches="tight", facecolor="white")
            return buffer.getvalue()

    CourseFigure.__module__ = __name__
    CourseFigure.__qualname__ = "CourseFigure"
    return CourseFigure


def unregistered_figure(width: float, height: float):
    """A Figure with an Agg canvas that is not registered with pyplot, of any size.

    :func:`new_figure` checks its sizes and calls this; course functions that
    computed their size from checked arguments call it directly.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def new_figure(width=6.4, height=4.0):
    """A new Matplotlib figure that shows itself once as a PNG in a notebook, outside pyplot.

    Course functions return figures made here: a notebook displays one when
    it is a cell's value, and it never piles up in pyplot's list of open
    figures (no memory growth when a widget redraws, no double display).

    Parameters
    ----------
    width, height : float
        Size in inches, each between 0.5 and 50.

    Returns
    -------
    matplotlib.figure.Figure
        With a constrained layout and an Agg canvas; add axes with
        ``fig.add_subplot()`` or ``fig.subplots(...)``.

    Examples
    --------
    >>> fig = new_figure(4, 3)
    >>> ax = fig.add_subplot()
    >>> [round(float(v), 1) for v in fig.get_size_inches()]
    [4.0, 3.0]
    """
    width = _validate.check_in_range(width, "width", 0.5, 50.0)
    height = _validate.check_in_range(height, "height", 0.5, 50.0)
    return unregistered_figure(width, height)


def bare_axes(ax) -> None:
    """Remove an axes' ticks and frame, for a picture in pixel coordinates."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_grid(images, titles=None, *, ncols: int = 4, cmap="gray", panel_size: float = 2.5, suptitle=None,
              colorbar=False):
    """Show images side by side in a grid.

    Parameters
    ----------
    images : sequence of arrays, or array of shape (N, H, W) or (N, H, W, C)
        Each image grayscale (H, W) / (H, W, 1) or colour (H, W, 3). A 3-D
        array is read as a batch of grayscale images: to show one RGB image,
        pass ``[rgb]``.
    titles : sequence of str, optional
        One title per image.
    ncols : int
        Number of columns; the grid gets as many rows as needed.
    cmap : str or sequence of str
        Colormap for grayscale images (ignored for RGB); one name for all, or
        one per image (e.g. ``["gray", "magma"]``). ``"labels"`` draws a label
        image with :func:`label_rgb` (background black, one qualitative colour
        per label) and writes :data:`LABELS_NOTE` under it.
    panel_size : float
        Width and height of each panel in inches.
    suptitle : str, optional
        Title above the whole grid.
    colorbar : bool or sequence of bool
        Draw a colour bar next to grayscale panels (all, or one flag per
        image), so that the colours can be read as numbers.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_grid([np.eye(4), np.ones((4, 4))], titles=["eye", "ones"])
    >>> len(fig.axes)
    2
    >>> len(show_grid([np.eye(4)], colorbar=True).axes)   # the panel and its colour bar
    2
    """
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images as one array should be a batch (N, H, W) or (N, H, W, C), got shape {images.shape}. "
                "For a single image pass [image]."
            )
        images = list(images)
    elif not isinstance(images, (list, tuple)):
        raise ValueError(f"images should be a list of arrays or a batch array, got {type(images).__name__}.")
    if len(images) == 0:
        raise ValueError("images is empty; expected at least one image.")
    arrays = [_validate.check_image(im, f"images[{i}]") for i, im in enumerate(images)]
    n = len(arrays)
    if len(images) > 256:
        raise ValueError(f"images holds {len(images)} images; show at most 256 at once (slice them: images[:16]).")
    if titles is not None:
        if not isinstance(titles, (str, list, tuple)):
            raise TypeError(f"titles should be a str or a list of str, one per image, got {titles!r:.80}.")
        titles = [titles] if isinstance(titles, str) else list(titles)
        if len(titles) != n:
            raise ValueError(f"got {len(titles)} titles for {n} images; give one title per image.")
    if not (isinstance(cmap, (str, list, tuple)) or cmap is None):
        raise TypeError(f"cmap should be a colormap name or a list of them, got {cmap!r:.80}.")
    cmaps = [cmap] * n if isinstance(cmap, str) or cmap is None else list(cmap)
    if len(cmaps) != n:
        raise ValueError(f"got {len(cmaps)} colormaps for {n} images; give one name, or one per image.")
    for c in cmaps:
        if c is not None:
            _validate.check_cmap(c, "cmap", extra=("labels",))
    panel_size = _validate.check_in_range(panel_size, "panel_size", 0.1, 20.0)
    if isinstance(colorbar, (bool, np.bool_)):
        bars = [bool(colorbar)] * n
    elif isinstance(colorbar, (list, tuple)):
        bars = [_validate.check_bool(b, "colorbar") for b in colorbar]
    else:
        raise TypeError(f"colorbar should be True/False or one per image, got {colorbar!r:.80}.")
    if len(bars) != n:
        raise ValueError(f"got {len(bars)} colorbar flags for {n} images; give one bool, or one per image.")
    ncols = min(_validate.check_positive_int(ncols, "ncols"), n)
    nrows = -(-n // ncols)
    fig = unregistered_figure(panel_size * ncols, panel_size * nrows + (0.3 if suptitle else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        bare_axes(ax)
        if i >= n:
            ax.set_visible(False)
            continue
        arr = arrays[i]
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim == 3:
            ax.imshow(as_rgb(arr, f"images[{i}]"), interpolation="nearest")
        elif cmaps[i] == "labels":
            ax.imshow(label_rgb(arr), interpolation="nearest")
            ax.set_xlabel(LABELS_NOTE, fontsize=8)
        else:
            shown = arr.astype(np.uint8) if arr.dtype == bool else arr
            im = ax.imshow(shown, cmap=cmaps[i], interpolation="nearest")
            if bars[i]:
                fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=10)
    if suptitle:
        fig.suptitle(str(suptitle))
    return fig


# -- overlays --------------------------------------------------------------

def overlay_mask(image, mask, color=None, alpha: float = 0.4) -> np.ndarray:
    """Tint the pixels of a mask (or of each label of a label map) on an image.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
    mask : array_like of bool or int, shape (H, W)
        A binary mask, or a label map whose labels 1, 2, ... each get their
        own colour (0 stays untouched).
    color : colour, optional
        Colour of a binary mask (default :data:`MASK_COLOR`); given for a
        label map, every label gets this one colour.
    alpha : float in [0, 1]
        Opacity of the tint: 0 shows only the image, 1 only the colour.

    Returns
    -------
    ndarray of float64, shape (H, W, 3)
        Values in [0, 1].

    Examples
    --------
    >>> out = overlay_mask(np.zeros((2, 2)), [[1, 0], [0, 0]], color=(1, 0, 0), alpha=0.5)
    >>> out[0, 0], out[1, 1]
    (array([0.5, 0. , 0. ]), array([0., 0., 0.]))
    """
    # Shapes first: as_rgb makes a float64 copy, 0.9 GB for a 6000x6000 image.
    labels = _mask_for(_validate.as_array(image, "image"), mask, "mask")
    alpha = _validate.check_in_range(alpha, "alpha", 0.0, 1.0)
    rgb = as_rgb(image)
    if color is None and _is_binary(labels):
        color = MASK_COLOR
    where = labels > 0
    tint = _colour_labels(labels, where, color)
    rgb[where] = (1.0 - alpha) * rgb[where] + alpha * tint
    return rgb


def draw_contours(image, labels, color=None) -> np.ndarray:
    """Draw the boundary of every labelled object on an image.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
    labels : array_like of int, shape (H, W)
        Instance label image (0 = background) or a binary mask.
    color : colour, optional
        One colour for every boundary; by default each label gets its colour
        from :func:`instance_colors`.

    Returns
    -------
    ndarray of float64, shape (H, W, 3)
        The image with boundary pixels replaced by colour. Boundaries are the
        objects' own outermost pixels (``find_boundaries(mode="inner")``), so
        two touching objects each keep their own outline.

    Examples
    --------
    >>> labels = np.zeros((5, 5), int); labels[1:4, 1:4] = 1
    >>> out = draw_contours(np.zeros((5, 5)), labels, color=(0, 1, 0))
    >>> out[1, 1], out[2, 2]          # border pixel, centre pixel
    (array([0., 1., 0.]), array([0., 0., 0.]))
    """
    from skimage.segmentation import find_boundaries

    labels = _mask_for(_validate.as_array(image, "image"), labels, "labels")
    rgb = as_rgb(image)
    where = find_boundaries(labels, mode="inner") & (labels > 0)
    rgb[where] = _colour_labels(labels, where, color)
    return rgb


def _binary_for(image: np.ndarray, mask, name: str) -> np.ndarray:
    labels = _mask_for(image, mask, name)
    if not _is_binary(labels):
        raise ValueError(
            f"{name} should be a binary mask, got labels up to {int(labels.max())}. "
            "For one class k pass (labels == k); for all objects of an instance image pass (labels > 0)."
        )
    return labels.astype(bool)


def error_overlay(image, truth, pred) -> np.ndarray:
    """Colour each pixel by whether a binary prediction got it right.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
    truth, pred : array_like of bool or {0, 1}, shape (H, W)

    Returns
    -------
    ndarray of float64, shape (H, W, 3)
        False positives are :data:`FP_COLOR`, false negatives
        :data:`FN_COLOR`, true positives :data:`TP_COLOR`; true negatives show
        the image, dimmed.

    Examples
    --------
    >>> out = error_overlay(np.zeros((1, 3)), [[1, 1, 0]], [[1, 0, 1]])
    >>> out[0, 1].tolist() == list(FN_COLOR), out[0, 2].tolist() == list(FP_COLOR)
    (True, True)
    """
    truth = _binary_for(_validate.as_array(image, "image"), truth, "truth")
    pred = _binary_for(_validate.as_array(image, "image"), pred, "pred")
    rgb = as_rgb(image)
    out = rgb * _DIM
    out[truth & pred] = TP_COLOR
    out[pred & ~truth] = FP_COLOR
    out[truth & ~pred] = FN_COLOR
    return out


def error_view(image, truth, pred, *, title=None, panel_size: float = 3.0):
    """Four panels: image | truth | prediction | errors, with IoU and a legend.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
    truth, pred : array_like of bool or {0, 1}, shape (H, W)
        Binary masks. For a label map pass ``labels == k`` (one class) or
        ``labels > 0`` (all objects).
    title : str, optional
        Title above the four panels.
    panel_size : float
        Width and height of each panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The errors panel uses the colours of :func:`error_overlay`; its title
        gives the IoU and Dice of ``pred`` against ``truth``.

    Examples
    --------
    >>> truth = np.zeros((8, 8), bool); truth[2:6, 2:6] = True
    >>> fig = error_view(np.zeros((8, 8)), truth, np.roll(truth, 1, axis=1))
    >>> fig.axes[3].get_title()
    'errors: IoU 0.600, Dice 0.750'
    """
    from matplotlib.patches import Patch

    from .metrics import dice, iou

    panel_size = _validate.check_in_range(panel_size, "panel_size", 0.1, 20.0)
    rgb = as_rgb(image)
    truth_mask = _binary_for(rgb, truth, "truth")
    pred_mask = _binary_for(rgb, pred, "pred")
    errors = error_overlay(rgb, truth_mask, pred_mask)
    iou_value, dice_value = iou(pred_mask, truth_mask), dice(pred_mask, truth_mask)

    height, width = rgb.shape[:2]
    # Size the figure to the image's aspect ratio so the legend sits right under it.
    fig = unregistered_figure(4 * panel_size, panel_size * height / width + 0.7 + (0.3 if title else 0.0))
    axes = fig.subplots(1, 4)
    panels = [
        (rgb, "image"),
        (overlay_mask(rgb, truth_mask, alpha=0.5), f"truth ({int(truth_mask.sum())} px)"),
        (overlay_mask(rgb, pred_mask, alpha=0.5), f"prediction ({int(pred_mask.sum())} px)"),
        (errors, f"errors: IoU {iou_value:.3f}, Dice {dice_value:.3f}"),
    ]
    for ax, (picture, name) in zip(axes, panels):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        bare_axes(ax)
    n_fp = int((pred_mask & ~truth_mask).sum())
    n_fn = int((truth_mask & ~pred_mask).sum())
    handles = [
        Patch(facecolor=TP_COLOR, edgecolor="0.3", label=f"correct: in both ({int((pred_mask & truth_mask).sum())} px)"),
        Patch(facecolor=FP_COLOR, edgecolor="0.3", label=f"false positive: predicted, not in truth ({n_fp} px)"),
        Patch(facecolor=FN_COLOR, edgecolor="0.3", label=f"false negative: in truth, missed ({n_fn} px)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=9)
    if title:
        fig.suptitle(str(title))
    return fig


# -- boxes -----------------------------------------------------------------

def _check_boxes(boxes) -> np.ndarray:
    arr = _validate.as_array(boxes, "boxes")
    if arr.size == 0:
        return np.zeros((0, 4), np.int64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f"boxes should have shape (N, 4), rows (y1, x1, y2, x2); got shape {arr.shape}. "
            "For a single box pass [box]."
        )
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise ValueError(f"boxes should hold finite numbers, got {arr.dtype} values {arr[:2].tolist()}...")
    if np.abs(arr).max() > 2**31:
        raise ValueError(f"boxes has a coordinate of {np.abs(arr).max():g}, far outside any image; "
                         "boxes are (y1, x1, y2, x2) in pixels.")
    arr = np.round(arr).astype(np.int64)
    bad = np.flatnonzero((arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1]))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"box {i} is {arr[i].tolist()}: it needs y2 > y1 and x2 > x1. Boxes are (y1, x1, y2, x2) "
            "with exclusive ends (rows 3..5 give y1=3, y2=6); a box in (x1, y1, x2, y2) order needs "
            "boxes[:, [1, 0, 3, 2]]."
        )
    return arr


def label_font(size: int):
    """Pillow's default font at about ``size`` pixels, for the tags :func:`draw_boxes` writes."""
    from PIL import ImageFont

    # Below about 14 px anti-aliased outlines blur once thresholded into a
    # mask; Pillow's bitmap font stays crisp at that size.
    if size < 14 and hasattr(ImageFont, "load_default_imagefont"):
        return ImageFont.load_default_imagefont()
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # old Pillow or no FreeType
        return ImageFont.load_default()


def _text_tags(shape, boxes, texts):
    """Masks of label tags (a filled box with the text cut out) above each box's top-left corner."""
    from PIL import Image, ImageDraw

    height, width = shape
    size = int(np.clip(round(min(height, width) / 16), 8, 20))
    font = label_font(size)
    tags, letters = [], []
    for (y1, x1, _, _), text in zip(boxes, texts):
        tag = Image.new("L", (width, height), 0)
        ink = Image.new("L", (width, height), 0)
        left, top, right, bottom = ImageDraw.Draw(tag).textbbox((0, 0), text, font=font)
        w, h = right - left + 2, bottom - top + 2
        # Above the box when there is room, otherwise just inside its top edge.
        y = y1 - h if y1 - h >= 0 else max(y1, 0)
        x = int(np.clip(x1, 0, max(width - w, 0)))
        ImageDraw.Draw(tag).rectangle((x, y, x + w - 1, y + h - 1), fill=255)
        ImageDraw.Draw(ink).text((x + 1 - left, y + 1 - top), text, font=font, fill=255)
        tags.append(np.asarray(tag) > 0)
        letters.append(np.asarray(ink) > 127)
    return tags, letters


def draw_boxes(image, boxes, labels=None, *, color=None, thickness: int = 1) -> np.ndarray:
    """Draw rectangles (and optional label tags) on an image.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 1) or (H, W, 3)
    boxes : array_like, shape (N, 4)
        Rows ``(y1, x1, y2, x2)`` in pixels, ``y2``/``x2`` exclusive (the
        course convention, :mod:`segtutor.boxes`). Fractional coordinates are
        rounded. Parts outside the image are not drawn.
    labels : sequence of length N, optional
        Class ids or names. Each box gets a tag with its label, and boxes with
        the same label share a colour (integer label ``k`` gets
        ``instance_colors`` colour ``k - 1``). Without labels every box gets
        its own colour and no tag.
    color : colour, optional
        One colour for every box, e.g. to tell predictions from the truth.
    thickness : int
        Line width in pixels, drawn inside the box.

    Returns
    -------
    ndarray of float64, shape (H, W, 3)
        Values in [0, 1]. The outline of box ``(y1, x1, y2, x2)`` lies on rows
        ``y1`` and ``y2 - 1`` and columns ``x1`` and ``x2 - 1``.

    Examples
    --------
    >>> out = draw_boxes(np.zeros((6, 6)), [[1, 1, 4, 5]], color=(1, 0, 0))
    >>> out[1, 1], out[3, 4], out[2, 2]
    (array([1., 0., 0.]), array([1., 0., 0.]), array([0., 0., 0.]))
    """
    boxes = _check_boxes(boxes)
    thickness = _validate.check_positive_int(thickness, "thickness")
    rgb = as_rgb(image)
    if thickness > max(rgb.shape[:2]):
        raise ValueError(f"thickness should be at most the image's size ({max(rgb.shape[:2])} pixels), "
                         f"got {thickness}; lines 1-3 pixels wide read best.")
    n = len(boxes)
    if labels is not None:
        labels = list(labels) if not isinstance(labels, str) else [labels]
        if len(labels) != n:
            raise ValueError(f"got {len(labels)} labels for {n} boxes; give one label per box.")
    if color is not None:
        colors = np.broadcast_to(_color(color, "color"), (n, 3))
    elif labels is None:
        colors = _label_colors(np.arange(1, n + 1))
    elif all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in labels):
        colors = _label_colors(np.asarray(labels, dtype=np.int64))
    else:
        order = {v: i + 1 for i, v in enumerate(dict.fromkeys(map(str, labels)))}
        colors = _label_colors([order[str(v)] for v in labels])

    height, width = rgb.shape[:2]
    for (y1, x1, y2, x2), c in zip(boxes, colors):
        cols = slice(max(x1, 0), min(x2, width))
        rows = slice(max(y1, 0), min(y2, height))
        # A line thicker than half the box fills it; more would redraw the same pixels.
        for t in range(min(thickness, (max(y2 - y1, x2 - x1) + 1) // 2)):
            for y in (y1 + t, y2 - 1 - t):
                if 0 <= y < height and y1 <= y < y2:
                    rgb[y, cols] = c
            for x in (x1 + t, x2 - 1 - t):
                if 0 <= x < width and x1 <= x < x2:
                    rgb[rows, x] = c
    if labels is not None and n:
        tags, letters = _text_tags((height, width), boxes, [str(v) for v in labels])
        for tag, ink, c in zip(tags, letters, colors):
            rgb[tag] = c
            # Dark text on light colours, white on dark ones.
            rgb[tag & ink] = 0.0 if float(np.dot(c, (0.299, 0.587, 0.114))) > 0.5 else 1.0
    return rgb


# -- the map of the course -------------------------------------------------

#: The steps of :func:`course_map`, in order: (name, what it adds, notebooks).
COURSE_STEPS = (
    ("sliding window", "classify a crop\nat every position", "05"),
    ("FCN", "dense layers become\nconvolutions", "05"),
    ("upsampling", "coarse map back to\nfull resolution", "05"),
    ("U-Net / DeepLab", "a class for every\npixel (semantic)", "06, 07"),
    ("two-stage detection", "propose boxes,\nthen classify them", "08, 09"),
    ("Mask R-CNN", "a mask for every\nobject (instance)", "09, 10"),
)


def course_map(highlight=None):
    """The course's road from a classifier to instance segmentation, as one figure.

    Six boxes joined by arrows: sliding window, FCN, upsampling,
    U-Net / DeepLab, two-stage detection and Mask R-CNN (the order of
    CS231n's segmentation lecture), each with what it adds and the notebooks
    that teach it. The steps named in ``highlight`` are filled and outlined,
    so each notebook can show where it stands.

    Parameters
    ----------
    highlight : str or sequence of str, optional
        Names from :data:`COURSE_STEPS`, for example ``"FCN"`` or
        ``("U-Net / DeepLab",)``; None highlights nothing.

    Returns
    -------
    matplotlib.figure.Figure
        One axes without ticks; its ``FancyBboxPatch`` patches are the boxes,
        in the order of :data:`COURSE_STEPS`.

    Examples
    --------
    >>> fig = course_map("FCN")
    >>> fig.axes[0].texts[0].get_text(), fig.axes[0].get_title()
    ('sliding window', 'Map of the course (highlighted: FCN)')
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    names = [name for name, _, _ in COURSE_STEPS]
    if highlight is None:
        chosen = set()
    elif isinstance(highlight, str):
        chosen = {_check_step(highlight, names)}
    elif isinstance(highlight, (tuple, list)):
        chosen = {_check_step(h, names) for h in highlight}
    else:
        raise TypeError(f"highlight should be a step name, a list of them or None, got {highlight!r:.80}; "
                        f"the steps are {names}.")
    fig = new_figure(12.0, 2.5)
    ax = fig.add_subplot()
    width, gap, height = 1.8, 0.5, 1.25
    for i, (name, adds, notebooks) in enumerate(COURSE_STEPS):
        x = i * (width + gap)
        on = name in chosen
        ax.add_patch(FancyBboxPatch((x, 0), width, height, boxstyle="round,pad=0.04,rounding_size=0.12",
                                    facecolor=FP_COLOR if on else (0.93, 0.93, 0.93),
                                    edgecolor="black" if on else (0.55, 0.55, 0.55), linewidth=2.5 if on else 1.0))
        ax.text(x + width / 2, height - 0.22, name, ha="center", va="center", fontsize=10.5,
                fontweight="bold" if on else "normal")
        ax.text(x + width / 2, height / 2 - 0.1, adds, ha="center", va="center", fontsize=8.5)
        ax.text(x + width / 2, -0.2, f"notebook {notebooks}" if "," not in notebooks else f"notebooks {notebooks}",
                ha="center", va="center", fontsize=8.5, color=(0.25, 0.25, 0.25))
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.06, height / 2), (x - 0.06, height / 2),
                                         arrowstyle="-|>", mutation_scale=14, color=(0.3, 0.3, 0.3)))
    ax.set_xlim(-0.1, len(COURSE_STEPS) * (width + gap) - gap + 0.1)
    ax.set_ylim(-0.4, height + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    here = ", ".join(n for n in names if n in chosen)
    ax.set_title("Map of the course" + (f" (highlighted: {here})" if here else ""), fontsize=11)
    return fig


def _check_step(name, names) -> str:
    """``name`` if it is one of the course map's step ``names``, else a ValueError listing them."""
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"highlight should name steps of the course map, one of {names}, got {name!r:.80}.")
    return name


# -- pictures for widgets ----------------------------------------------------

def to_rgb_uint8(image) -> np.ndarray:
    """Return ``image`` as an (H, W, 3) uint8 array, by the ``"clip"`` rule.

    Floats are taken to lie in [0, 1] and are clipped (:func:`to_unit_range`);
    booleans become 0 and 255; uint8 is kept. Grayscale is repeated into three
    channels and alpha is dropped. Widgets use it for pictures their compute
    function has already scaled, which a stretch would brighten or darken from
    one frame to the next. Empty, non-numeric, complex, ragged and non-finite
    input is refused (ValueError): a NaN pixel drawn black would hide a bug.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 3) or (H, W, 4)

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Examples
    --------
    >>> to_rgb_uint8(np.array([[0.0, 0.5, 2.0]]))[0, :, 0].tolist()
    [0, 128, 255]
    """
    arr = _validate.check_image(image, "image")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"image should have shape (H, W), (H, W, 3) or (H, W, 4), got shape {arr.shape}.")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    return (to_unit_range(arr.astype(np.float32), "clip", name="image") * 255 + 0.5).astype(np.uint8)


def to_png_bytes(image) -> bytes:
    """Encode a picture as PNG bytes, for ``ipywidgets.Image`` or an HTML page.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 3) or (H, W, 4)
        Converted by :func:`to_rgb_uint8`.

    Returns
    -------
    bytes

    Examples
    --------
    >>> to_png_bytes(np.zeros((4, 4)))[:4]
    b'\\x89PNG'
    """
    from PIL import Image

    buffer = io.BytesIO()
    # compress_level=1: a widget re-encodes on every slider move, and level 1
    # is several times faster than the default for a few percent more bytes.
    Image.fromarray(to_rgb_uint8(image)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure_to_rgb(fig) -> np.ndarray:
    """Render a Matplotlib figure to an (H, W, 3) uint8 array and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        From :func:`new_figure` or pyplot; it is closed in pyplot afterwards.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Examples
    --------
    >>> figure_to_rgb(new_figure(1, 1)).shape
    (100, 100, 3)
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig should be a matplotlib Figure, got {type(fig).__name__}.")
    if fig.canvas is None or not hasattr(fig.canvas, "buffer_rgba"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return np.ascontiguousarray(rgba[..., :3])


def side_by_side(panels, *, gap: int = 8, background: int = 255) -> np.ndarray:
    """Place RGB or grayscale panels left to right, top-aligned, with gaps.

    Parameters
    ----------
    panels : sequence of ndarray, each (H_i, W_i) or (H_i, W_i, 3)
        Floats in [0, 1] (clipped, see :func:`to_rgb_uint8`) or uint8.
    gap : int
        Pixels between panels.
    background : int
        Grey level (0-255) of the gaps and of the space below shorter panels.

    Returns
    -------
    ndarray of uint8, shape (max H_i, sum W_i + gaps, 3)

    Examples
    --------
    >>> side_by_side([np.zeros((2, 3)), np.ones((4, 2))], gap=1).shape
    (4, 6, 3)
    """
    gap = _validate.check_scalar(gap, "gap", integer=True, low=0, high=4096)
    background = _validate.check_scalar(background, "background", integer=True, low=0, high=255)
    if panels is None or isinstance(panels, (str, bytes)) or not hasattr(panels, "__iter__"):
        raise TypeError(f"panels should be a list of images, got {type(panels).__name__}.")
    tiles = [to_rgb_uint8(p) for p in panels]
    if not tiles:
        raise ValueError("panels is empty; give at least one image.")
    height = max(t.shape[0] for t in tiles)
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    _validate.check_size_budget(height * width * 3, "panels", what="the row of panels")
    out = np.full((height, width, 3), background, np.uint8)
    x = 0
    for t in tiles:
        out[: t.shape[0], x : x + t.shape[1]] = t
        x += t.shape[1] + gap
    return out
