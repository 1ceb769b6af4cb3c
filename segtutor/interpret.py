"""Looking inside a CNN: activations, learned filters, Grad-CAM and saliency.

Compute lives here as plain functions returning NumPy arrays; the feature-map
explorer in :mod:`segtutor.widgets.feature_maps` only draws what they return.

* Feature maps: run a feature extractor (see
  :func:`segtutor.models.cnn.feature_extractor`) once per image and keep the
  result in an :class:`ActivationCache`, so that picking another channel only
  redraws (Zeiler & Fergus 2014 looked at networks this way).
* Saliency (Simonyan, Vedaldi & Zisserman 2014): how much each input pixel
  changes the class score, ``|d score / d pixel|``.
* Grad-CAM (Selvaraju et al. 2017): weight each channel of a late conv layer
  by the average gradient of the class score, sum, keep the positive part.

Both maps use the score *before* the softmax (the course CNN's ``"logits"``
layer), as the papers do: after the softmax, raising one class mostly means
lowering the others. The from-scratch versions here use ``tf.GradientTape``
and agree with tf-keras-vis (``grad_cam_tf_keras_vis``), which works with
Keras 3 in version 0.8.7.

Examples
--------
>>> import numpy as np
>>> mosaic = channel_mosaic(np.random.rand(7, 7, 6), columns=3)
>>> mosaic.shape
(15, 23)
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np

from . import _backend
from ._validate import (
    ArgumentTypeError,
    as_array,
    check_bool,
    check_cmap,
    check_finite,
    check_model,
    check_model_input,
    check_positive_int,
    check_scalar,
    check_seed,
    check_size_budget,
    check_str,
)

# Largest side of a picture these functions draw, in pixels.
_MAX_PICTURE = 4096

__all__ = [
    "as_batch",
    "activations",
    "ActivationCache",
    "normalise",
    "colourise",
    "channel_mosaic",
    "feature_map_picture",
    "first_layer_filters",
    "filters_picture",
    "show_filters",
    "strongest_channels",
    "grad_cam_from_gradients",
    "grad_cam",
    "saliency_map",
    "match_kernels",
    "random_match_baseline",
    "show_heatmaps",
    "shift_equivariance",
    "grad_cam_tf_keras_vis",
    "saliency_tf_keras_vis",
    "overlay_heatmap",
]


def as_batch(images, channels: int | None = None) -> np.ndarray:
    """Return a float32 batch ``(N, H, W, C)`` from one image or a batch.

    Parameters
    ----------
    images : array_like, shape (H, W), (H, W, C) or (N, H, W, C)
    channels : int, optional
        Channels the model expects; RGB is converted to gray when it expects 1.

    Examples
    --------
    >>> as_batch(np.zeros((28, 28))).shape
    (1, 28, 28, 1)
    """
    if channels is not None:
        channels = check_positive_int(channels, "channels")
    return _as_batch(images, channels, "images")


def _as_batch(images, channels: int | None, name: str) -> np.ndarray:
    x = check_finite(as_array(images, name), name).astype(np.float32)
    if x.ndim == 2:
        x = x[None, ..., None]
    elif x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"{name} should be (H, W), (H, W, C) or (N, H, W, C), got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}); expected at least one pixel.")
    if channels is not None and x.shape[-1] != channels:
        if channels == 1 and x.shape[-1] in (3, 4):
            x = (x[..., :3] @ np.array([0.2125, 0.7154, 0.0721], np.float32))[..., None]
        else:
            raise ValueError(f"{name}: the model expects {channels} channel(s) (channels={channels}), "
                             f"the image has {x.shape[-1]}.")
    return x


def _model_batch(model, images, name: str = "images", model_name: str = "model") -> np.ndarray:
    """``images`` as a batch the model accepts, or a clear error naming both."""
    check_model(model, model_name)
    x = _as_batch(images, _model_channels(model), name)
    return check_model_input(model, x, name, model_name=model_name)


def _model_channels(model) -> int:
    return int(model.input.shape[-1])


def activations(extractor, image) -> dict[str, np.ndarray]:
    """Activations of one image, one array per layer.

    Parameters
    ----------
    extractor : keras.Model
        Returns a dict of layer outputs (see
        :func:`segtutor.models.cnn.feature_extractor`).
    image : array_like, shape (H, W) or (H, W, C)

    Returns
    -------
    dict of str to ndarray, each (H', W', C')

    Notes
    -----
    The model is called directly, not through ``model.predict``, which costs
    about 40 ms more per call in Keras 3.
    """
    x = _model_batch(extractor, image, "image", "extractor")
    outputs = extractor(x, training=False)
    if not isinstance(outputs, dict):
        raise ValueError("the extractor should return a dict {layer name: tensor}; build it with feature_extractor().")
    return {name: np.asarray(value)[0] for name, value in outputs.items()}


class ActivationCache:
    """Activations computed once per image, then served from memory.

    Parameters
    ----------
    extractor : keras.Model
        Returns a dict of layer outputs.

    Attributes
    ----------
    n_computed : int
        How many times the extractor has actually run.

    Examples
    --------
    >>> from segtutor.models import cnn
    >>> cache = ActivationCache(cnn.feature_extractor(cnn.build_cnn(filters=(4,)), ["conv1"]))
    >>> a = cache.get("zeros", np.zeros((28, 28)), "conv1")
    >>> b = cache.get("zeros", np.zeros((28, 28)), "conv1")
    >>> cache.n_computed, a.shape
    (1, (28, 28, 4))
    """

    def __init__(self, extractor):
        self.extractor = check_model(extractor, "extractor")
        self.n_computed = 0
        self._store: dict[str, dict[str, np.ndarray]] = {}

    def get(self, key: str, image, layer: str) -> np.ndarray:
        """Activation of ``layer`` for the image named ``key``, shape (H', W', C')."""
        check_str(key, "key")
        check_str(layer, "layer")
        if key not in self._store:
            self._store[key] = activations(self.extractor, image)
            self.n_computed += 1
        layers = self._store[key]
        if layer not in layers:
            raise ValueError(f"layer {layer!r} is not computed by this extractor; choose one of {list(layers)}.")
        return layers[layer]


def normalise(x, *, robust: bool = False) -> np.ndarray:
    """Scale to [0, 1] by min and max (a constant array becomes zeros).

    With ``robust=True`` the 1st and 99th percentiles are used instead, so that
    a few extreme values do not flatten the rest. NaN or infinite values are
    refused (ValueError), and so is anything that is not a non-empty map of
    at least two dimensions, (H, W) or (H, W, C).

    Examples
    --------
    >>> normalise(np.array([[2.0, 4.0], [3.0, 2.0]])).tolist()
    [[0.0, 1.0], [0.5, 0.0]]
    """
    robust = check_bool(robust, "robust")
    x = _check_map(x, "x")
    # In float64 and halved: the span of values near +-1e308 would overflow to inf
    # (and float32 itself ends at 3.4e38). Halving is exact.
    half = x.astype(np.float64) * 0.5
    lo, hi = np.percentile(half, [1, 99]) if robust else (half.min(), half.max())
    if hi - lo <= 0:
        return np.zeros(x.shape, np.float32)
    return np.clip((half - lo) / (hi - lo), 0, 1).astype(np.float32)


def _check_map(x, name: str) -> np.ndarray:
    """A finite, non-empty array of at least two dimensions (a map, not a number or a list)."""
    arr = check_finite(as_array(x, name), name)
    if arr.ndim < 2 or arr.size == 0:
        raise ValueError(f"{name} should be a non-empty map of shape (H, W) or (H, W, C), got shape {arr.shape}.")
    return arr


def _check_cmap(cmap) -> str:
    return check_cmap(cmap, "cmap")


@lru_cache(maxsize=8)
def _lut(cmap: str) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3].astype(np.float32)


def colourise(x, cmap: str = "viridis") -> np.ndarray:
    """Map values in [0, 1] through a Matplotlib colormap: (H, W) -> (H, W, 3).

    A lookup table, not a figure, so that a widget redraw costs about a
    millisecond. NaN is drawn as 0 (the low end of the colormap), so that
    the NaN gaps of :func:`channel_mosaic` can be painted over afterwards;
    values outside [0, 1] are clipped.
    """
    _check_cmap(cmap)
    x = as_array(x, "x")
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"x should be a non-empty (H, W) map, got shape {x.shape}; colour one channel at a time.")
    x = x.astype(np.float32)
    index = (np.clip(np.nan_to_num(x), 0, 1) * 255 + 0.5).astype(np.intp)
    return _lut(cmap)[index]


def strongest_channels(activation, n: int) -> np.ndarray:
    """Indices of the ``n`` channels with the largest peak activation, strongest first.

    Examples
    --------
    >>> a = np.zeros((2, 2, 4)); a[0, 0] = [1, 5, 0, 3]
    >>> strongest_channels(a, 2).tolist()
    [1, 3]
    """
    a = check_finite(as_array(activation, "activation"), "activation")
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"activation should be a non-empty (H, W, C), got shape {a.shape}. "
                         "Pass one image, not a batch.")
    n = min(check_positive_int(n, "n"), a.shape[-1])
    return np.argsort(-a.max(axis=(0, 1)), kind="stable")[:n]


def channel_mosaic(activation, *, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """All channels of an activation side by side, each scaled to [0, 1].

    Every channel is normalised on its own, so a weak but structured channel
    is still visible; a channel that is zero everywhere (a "dead" ReLU for
    this image) stays black.

    Parameters
    ----------
    activation : array_like, shape (H, W, C)
    columns : int, optional
        Tiles per row; defaults to about ``sqrt(C)``.
    gap : int
        Pixels between tiles, filled with NaN (drawn white by
        :func:`feature_map_picture`).

    Returns
    -------
    ndarray, shape (rows * (H + gap) - gap, columns * (W + gap) - gap), float32
    """
    a = check_finite(as_array(activation, "activation"), "activation").astype(np.float32)
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"activation should be a non-empty (H, W, C), got shape {a.shape}. "
                         "Pass one image, not a batch.")
    h, w, c = a.shape
    gap = check_positive_int(gap, "gap", minimum=0)
    columns = check_positive_int(columns, "columns") if columns is not None else math.ceil(math.sqrt(c))
    columns = min(columns, c)
    rows = math.ceil(c / columns)
    check_size_budget((rows * (h + gap)) * (columns * (w + gap)), "gap", what="the mosaic")
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, np.float32)
    lo = a.min(axis=(0, 1))
    span = a.max(axis=(0, 1)) - lo
    scaled = np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0)
    for i in range(c):
        r, q = divmod(i, columns)
        out[r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = scaled[..., i]
    return out


def _fit(x: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor so the longer side is about ``size``."""
    factor = max(1, size // max(x.shape[:2]))
    return np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)


def feature_map_picture(activation, channel: int | None = None, *, size: int = 320, cmap: str = "viridis",
                        image=None) -> np.ndarray:
    """Draw one channel, or all channels as a grid, of an activation.

    Parameters
    ----------
    activation : array_like, shape (H, W, C)
    channel : int, sequence of int, or None
        A channel index, a list of channels for a grid of just those (for
        example from :func:`strongest_channels`), or None for the grid of
        all channels.
    size : int
        Rough side of the picture in pixels; maps are enlarged by whole
        factors (nearest neighbour) so each activation cell stays a square.
    cmap : str
        Matplotlib colormap.
    image : array_like, shape (H0, W0) or (H0, W0, C), optional
        The input, drawn to the left at the same height, for comparison.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8

    Examples
    --------
    >>> feature_map_picture(np.random.rand(14, 14, 8), channel=3, size=140).shape
    (140, 140, 3)
    """
    a = check_finite(as_array(activation, "activation"), "activation")
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"activation should be a non-empty (H, W, C), got shape {a.shape}.")
    size = check_positive_int(size, "size", minimum=16)
    if size > _MAX_PICTURE:
        raise ValueError(f"size should be at most {_MAX_PICTURE} pixels, got {size}.")
    _check_cmap(cmap)
    if channel is None:
        tile = channel_mosaic(a)
    elif isinstance(channel, (list, tuple, np.ndarray)):
        picked = np.asarray(channel)
        if picked.ndim != 1 or picked.size == 0 or not np.issubdtype(picked.dtype, np.integer) \
                or picked.min() < 0 or picked.max() >= a.shape[-1]:
            raise ValueError(f"channel should list integers in 0..{a.shape[-1] - 1}, got {channel!r}.")
        tile = channel_mosaic(a[..., picked])
    else:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < a.shape[-1]:
            raise ValueError(f"channel should be an integer in 0..{a.shape[-1] - 1}, got {channel!r}.")
        tile = normalise(a[..., channel])
    rgb = colourise(tile, cmap)
    rgb[np.isnan(tile)] = 1.0
    rgb = _fit(rgb, size)
    if image is not None:
        img = _as_batch(image, None, "image")
        if len(img) != 1:
            raise ValueError(f"image should be one image (H, W) or (H, W, C), got a batch of {len(img)}; "
                             "pass images[i].")
        img = img[0]
        img = normalise(img[..., 0] if img.shape[-1] == 1 else img[..., :3])
        img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img
        # Nearest-neighbour resize to the picture's height, keeping the aspect ratio.
        height = rgb.shape[0]
        width = max(1, round(img.shape[1] * height / img.shape[0]))
        rows = np.minimum((np.arange(height) * img.shape[0]) // height, img.shape[0] - 1)
        cols = np.minimum((np.arange(width) * img.shape[1]) // width, img.shape[1] - 1)
        img = np.pad(img[rows][:, cols], ((0, 0), (0, 8), (0, 0)), constant_values=1.0)
        rgb = np.concatenate([img, rgb], axis=1)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def first_layer_filters(model, layer_name: str = "conv1") -> np.ndarray:
    """The kernels of a conv layer as a NumPy array (kh, kw, C_in, C_out)."""
    check_model(model)
    check_str(layer_name, "layer_name")
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(f"layer_name: the model has no layer {layer_name!r}; "
                         f"its layers are {[la.name for la in model.layers]}.") from None
    if not hasattr(layer, "kernel") or len(layer.kernel.shape) != 4:
        raise ValueError(f"layer {layer_name!r} is not a 2-D convolution.")
    return np.asarray(layer.kernel)


def filters_picture(kernels, *, cell: int = 14, columns: int = 8) -> np.ndarray:
    """Draw 2-D kernels as a grid, red for positive and blue for negative weights.

    Each kernel is scaled by its own largest absolute weight, and white is 0.

    Parameters
    ----------
    kernels : array_like, shape (kh, kw, 1, C_out) or (kh, kw, C_out)
    cell, columns : int

    Returns
    -------
    ndarray, (H, W, 3), uint8
    """
    from .viz import signed_rgb

    k = check_finite(as_array(kernels, "kernels"), "kernels").astype(np.float32)
    cell = check_positive_int(cell, "cell")
    if cell > 256:
        raise ValueError(f"cell should be at most 256 pixels per weight, got {cell}.")
    if k.ndim == 4:
        if k.shape[2] != 1:
            k = k.mean(axis=2)  # several input channels: show their average
        else:
            k = k[:, :, 0]
    if k.ndim != 3:
        raise ValueError(f"kernels should be (kh, kw, C_out) or (kh, kw, C_in, C_out), got {k.shape}.")
    if k.size == 0:
        raise ValueError(f"kernels is empty (shape {k.shape}).")
    kh, kw, c = k.shape
    if kh != kw:
        # A batch of images (N, H, W, C) also has four axes; its first two are not a square kernel.
        raise ValueError(f"kernels should be square (kh, kw, ...) with kh == kw, got shape {k.shape}. "
                         "Pass a layer's kernel (first_layer_filters(model)), not a batch of images.")
    check_size_budget(kh * kw * c * cell * cell * 3, "kernels", what="the picture")
    columns = min(check_positive_int(columns, "columns"), c)
    rows = math.ceil(c / columns)
    gap = max(2, cell // 3)
    out = np.ones((rows * (kh * cell + gap) + gap, columns * (kw * cell + gap) + gap, 3), np.float32)
    for i in range(c):
        r, q = divmod(i, columns)
        scale = float(np.abs(k[..., i]).max()) or 1.0
        tile = np.repeat(np.repeat(signed_rgb(k[..., i], scale), cell, 0), cell, 1)
        y, x = gap + r * (kh * cell + gap), gap + q * (kw * cell + gap)
        out[y : y + kh * cell, x : x + kw * cell] = tile
    return (out * 255 + 0.5).astype(np.uint8)


def show_filters(kernels, *, columns: int = 8, panel_size: float = 0.95, names=None):
    """Draw 2-D kernels as a numbered grid with a colour bar: red positive, blue negative.

    Each kernel is divided by its own largest absolute weight, so the colour
    bar runs from -1 to 1 and says how strong a weight is *relative to the
    other weights of its filter*.

    Parameters
    ----------
    kernels : array_like, shape (kh, kw, 1, C_out) or (kh, kw, C_out)
        Several input channels are averaged.
    columns : int
    panel_size : float
        Inches per kernel.
    names : sequence of str, optional
        Panel titles; ``"0"``, ``"1"``, ... (the filter numbers) by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_filters(np.random.default_rng(0).normal(size=(3, 3, 1, 4)), columns=4)
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['0', '1', '2', '3']
    """
    from .viz import bare_axes, unregistered_figure

    k = check_finite(as_array(kernels, "kernels"), "kernels").astype(np.float32)
    if k.ndim == 4:
        k = k.mean(axis=2)
    if k.ndim != 3 or k.size == 0:
        raise ValueError(f"kernels should be a non-empty (kh, kw, C_out) or (kh, kw, C_in, C_out), got {k.shape}.")
    c = k.shape[-1]
    if c > 1024:
        raise ValueError(f"kernels has {c} filters; show at most 1024 at once (slice them: kernels[..., :64]).")
    panel_size = check_scalar(panel_size, "panel_size", low=0.1, high=10.0)
    if names is not None and (isinstance(names, str) or not isinstance(names, (list, tuple))):
        raise TypeError(f"names should be a list of str, one per kernel, got {names!r:.80}.")
    names = [str(i) for i in range(c)] if names is None else [str(n) for n in names]
    if len(names) != c:
        raise ValueError(f"names: got {len(names)} names for {c} kernels; give one per kernel.")
    columns = min(check_positive_int(columns, "columns"), c)
    rows = math.ceil(c / columns)
    fig = unregistered_figure(panel_size * columns + 0.9, (panel_size + 0.2) * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        bare_axes(ax)
        if i >= c:
            ax.set_visible(False)
            continue
        scale = float(np.abs(k[..., i]).max()) or 1.0
        image = ax.imshow(k[..., i] / scale, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(names[i], fontsize=9)
    bar = fig.colorbar(image, ax=axes, shrink=0.9, pad=0.02)
    bar.set_label("weight / largest |weight|")
    return fig


# ---------------------------------------------------------------------------
# Gradients: Grad-CAM and saliency
# ---------------------------------------------------------------------------
def _score_model(model, layer_name: str | None, score_layer: str):
    """A model returning (layer activation, class scores); cached on the model."""
    keras = _backend.keras()

    key = (layer_name, score_layer)
    cache = model.__dict__.setdefault("_segtutor_score_models", {})
    if key not in cache:
        try:
            scores = model.get_layer(score_layer).output
        except ValueError:
            scores = model.output  # no separate logits layer: use the model's output
        outputs = [model.get_layer(layer_name).output, scores] if layer_name else [scores]
        cache[key] = keras.Model(model.input, outputs)
    return cache[key]


def _check_layer(model, layer_name, name: str, *, fallback_ok: bool = False) -> str:
    """Check a layer name against the model; ``fallback_ok`` allows a missing one (the output is used)."""
    check_str(layer_name, name)
    known = [layer.name for layer in model.layers]
    if layer_name not in known and not fallback_ok:
        raise ValueError(f"{name}: the model has no layer {layer_name!r}; its layers are {known}.")
    return layer_name


def _check_class_index(class_index) -> None:
    if class_index is None:
        return
    idx = as_array(class_index, "class_index")
    if idx.ndim > 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ArgumentTypeError(
            f"class_index should be an integer class or one per image, got {class_index!r:.80}."
        )


def _check_score_layer(model, score_layer) -> None:
    """The scores to differentiate must be one (N, classes) tensor: the named layer's, else the model's output."""
    check_str(score_layer, "score_layer")
    if score_layer in [layer.name for layer in model.layers]:
        shape, what = tuple(model.get_layer(score_layer).output.shape), f"score_layer {score_layer!r}"
    elif len(model.outputs) != 1:
        raise ValueError(f"model has {len(model.outputs)} outputs (a feature extractor?); expected the classifier, "
                         "whose one output is the class scores (N, classes).")
    else:
        shape, what = tuple(model.outputs[0].shape), "model's output (no layer named score_layer)"
    if len(shape) != 2:
        raise ValueError(f"{what} has shape {shape}, not class scores (N, classes); score_layer should name the "
                         "pre-softmax Dense layer, e.g. 'logits'. A convolution's feature map is layer_name's job.")


def _class_indices(class_index, scores: np.ndarray) -> np.ndarray:
    n = scores.shape[0]
    if class_index is None:
        return scores.argmax(axis=-1)
    idx = np.asarray(class_index)
    if idx.ndim == 1 and len(idx) != n:
        raise ValueError(f"class_index has {len(idx)} entries for {n} images; give one class or one per image.")
    idx = np.broadcast_to(idx, (n,)).astype(int)
    if np.any(idx < 0) or np.any(idx >= scores.shape[-1]):
        raise ValueError(f"class_index should be in 0..{scores.shape[-1] - 1}, got {class_index!r}.")
    return idx


def _last_conv(model) -> str:
    names = [layer.name for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    if not names:
        raise ValueError("the model has no Conv2D layer; pass layer_name explicitly.")
    return names[-1]


def grad_cam_from_gradients(activations, gradients) -> np.ndarray:
    """The Grad-CAM map from a layer's activations and the gradients of a class score.

    ``alpha_k = mean_ij gradients[i, j, k]`` and
    ``map = ReLU(sum_k alpha_k activations[:, :, k])`` (Selvaraju et al.
    2017, eqs. 1-2), not rescaled.

    Parameters
    ----------
    activations : array_like, shape (H, W, K)
    gradients : array_like, shape (H, W, K)
        ``d score / d activations``.

    Returns
    -------
    ndarray, shape (H, W), float64, >= 0

    Examples
    --------
    >>> a = np.stack([np.eye(2), np.ones((2, 2))], axis=-1)
    >>> g = np.stack([np.ones((2, 2)), -np.ones((2, 2))], axis=-1)
    >>> grad_cam_from_gradients(a, g)
    array([[0., 0.],
           [0., 0.]])
    >>> grad_cam_from_gradients(a, -g)
    array([[0., 1.],
           [1., 0.]])
    """
    a = check_finite(as_array(activations, "activations"), "activations").astype(np.float64)
    g = check_finite(as_array(gradients, "gradients"), "gradients").astype(np.float64)
    if a.ndim != 3 or a.shape != g.shape:
        raise ValueError(
            f"activations and gradients should both be (H, W, K) of one shape, got {a.shape} and {g.shape}. "
            "Pass one image at a time (drop the batch axis)."
        )
    weights = g.mean(axis=(0, 1))
    return np.maximum((a * weights).sum(axis=-1), 0.0)


def match_kernels(kernels, candidates=None) -> list[tuple[str, float]]:
    """Name the hand-made kernel each learned kernel looks most like.

    Similarity is the absolute cosine between the zero-mean kernels, so a
    kernel and its negative match equally (a learned filter's sign is
    arbitrary: the next layer can flip it).

    Removing the mean has two consequences to keep in mind. A kernel's mean
    (how much it keeps of the local brightness) is ignored, so report it
    separately. And a blur cannot be found: a box blur minus its mean is
    zero everywhere, and a Gaussian blur minus its mean is a central bump,
    like the identity or a Laplacian. Random kernels also score about 0.5
    (see :func:`random_match_baseline`), so a similarity means something
    only well above that.

    Parameters
    ----------
    kernels : array_like, shape (k, k, 1, C) or (k, k, C)
    candidates : dict of str to (k, k) arrays, optional
        Defaults to every preset of :data:`segtutor.convolution.KERNEL_PRESETS`
        of the kernels' size. For 3×3 kernels these are identity, box blur
        3×3, sharpen, edge (Laplacian), Sobel x, Sobel y and emboss; the box
        blur is flat once its mean is removed and never matches, so six
        presets can win: identity, sharpen, Laplacian, Sobel x, Sobel y and
        emboss.

    Returns
    -------
    list of (name, similarity) per kernel, similarity in [0, 1]

    Examples
    --------
    >>> from segtutor.convolution import kernel_preset
    >>> match_kernels(-kernel_preset("Sobel x (vertical edges)")[..., None])
    [('Sobel x (vertical edges)', 1.0)]
    """
    from .convolution import KERNEL_PRESETS

    k = check_finite(as_array(kernels, "kernels"), "kernels").astype(np.float64)
    if k.ndim == 4:
        k = k.mean(axis=2)
    if k.ndim != 3 or k.size == 0:
        raise ValueError(f"kernels should be a non-empty (k, k, C) or (k, k, C_in, C), got shape {k.shape}.")
    if candidates is not None and not isinstance(candidates, dict):
        raise TypeError(f"candidates should be a dict {{name: (k, k) array}}, got {type(candidates).__name__}.")
    if candidates is None:
        candidates = {n: np.array(v) for n, v in KERNEL_PRESETS.items() if np.shape(v) == k.shape[:2]}
    if not candidates:
        raise ValueError(f"no candidate kernels of size {k.shape[:2]}; pass candidates={{'name': array}}.")
    out = []
    for i in range(k.shape[-1]):
        a = k[..., i] - k[..., i].mean()
        best, score = "flat", 0.0
        for name, cand in candidates.items():
            b = check_finite(as_array(cand, f"candidates[{name!r}]"), f"candidates[{name!r}]").astype(np.float64)
            if b.shape != a.shape:
                raise ValueError(f"candidates[{name!r}] has shape {b.shape}, the kernels {a.shape}.")
            b = b - b.mean()
            denom = np.linalg.norm(a) * np.linalg.norm(b)
            sim = abs(float((a * b).sum() / denom)) if denom > 0 else 0.0
            if sim > score:
                best, score = name, sim
        out.append((best, round(score, 3)))
    return out


def random_match_baseline(n_kernels: int = 2000, *, size: int = 3, seed: int = 0, candidates=None) -> np.ndarray:
    """Similarities :func:`match_kernels` gives to random kernels: the chance level.

    Parameters
    ----------
    n_kernels : int
        How many random kernels to draw (independent standard normal
        weights).
    size : int
        Kernel side.
    seed : int
    candidates : dict, optional
        As in :func:`match_kernels`.

    Returns
    -------
    ndarray of float, shape (n_kernels,)
        The best similarity of each random kernel.

    Examples
    --------
    >>> baseline = random_match_baseline(500)
    >>> 0.4 < float(baseline.mean()) < 0.6
    True
    """
    n_kernels = check_positive_int(n_kernels, "n_kernels")
    size = check_positive_int(size, "size")
    seed = check_seed(seed)
    check_size_budget(n_kernels * size * size, "n_kernels", limit=1 << 24, what="the random kernels")
    kernels = np.random.default_rng(seed).normal(size=(size, size, n_kernels))
    return np.array([similarity for _, similarity in match_kernels(kernels, candidates)])


def grad_cam(model, images, class_index=None, *, layer_name: str | None = None, score_layer: str = "logits",
             upsample: bool = True, scale: bool = True) -> np.ndarray:
    """Grad-CAM heatmaps (Selvaraju et al. 2017), computed with ``tf.GradientTape``.

    For class ``c`` and conv activations ``A`` (H', W', K)::

        alpha_k = mean over (i, j) of d y_c / d A_ijk
        cam     = ReLU(sum_k alpha_k A_k)

    then, with ``scale=True``, each map is scaled to [0, 1] by its own min
    and max. Scaled maps show *where* the evidence is, not how much: a map
    whose raw peak is 0.1 and one whose peak is 10 look equally bright. Use
    ``scale=False`` to compare strengths. The ReLU keeps only evidence *for*
    the class; evidence against it is set to 0.

    Parameters
    ----------
    model : keras.Model
    images : array_like, (H, W), (H, W, C) or (N, H, W, C)
    class_index : int or array of int, optional
        Class to explain; defaults to the predicted class.
    layer_name : str, optional
        Conv layer to use; defaults to the last ``Conv2D``.
    score_layer : str
        Layer giving pre-softmax class scores; falls back to the model
        output if there is no such layer.
    upsample : bool
        Resize (bilinear) to the input size; otherwise keep (H', W').
    scale : bool
        Scale each map to [0, 1] on its own (the default, for display), or
        return the raw ``ReLU(sum_k alpha_k A_k)`` in units of the class score.

    Returns
    -------
    ndarray, shape (N, H, W) (or (N, H', W')), float32, in [0, 1] if ``scale``
    """
    tf = _backend.tensorflow()
    x = tf.convert_to_tensor(_model_batch(model, images))
    upsample = check_bool(upsample, "upsample")
    scale = check_bool(scale, "scale")
    layer_name = _check_layer(model, layer_name, "layer_name") if layer_name is not None else _last_conv(model)
    _check_score_layer(model, score_layer)
    _check_class_index(class_index)
    score_model = _score_model(model, layer_name, score_layer)
    with tf.GradientTape() as tape:
        feature, scores = score_model(x, training=False)
        idx = _class_indices(class_index, np.asarray(scores))
        chosen = tf.gather(scores, idx, axis=1, batch_dims=1)
    grads = tape.gradient(chosen, feature).numpy()
    feature = feature.numpy()
    cam = np.stack([grad_cam_from_gradients(a, g) for a, g in zip(feature, grads)])
    if scale:
        cam = np.stack([normalise(c) for c in cam])
    if upsample:
        cam = tf.image.resize(cam[..., None], x.shape[1:3], method="bilinear").numpy()[..., 0]
    return cam.astype(np.float32)


def saliency_map(model, images, class_index=None, *, score_layer: str = "logits") -> np.ndarray:
    """Vanilla gradient saliency (Simonyan, Vedaldi & Zisserman 2014).

    ``|d y_c / d x|``, the largest over colour channels, scaled to [0, 1] per
    image.

    Parameters
    ----------
    model : keras.Model
    images : array_like, (H, W), (H, W, C) or (N, H, W, C)
    class_index : int or array of int, optional
        Defaults to the predicted class.
    score_layer : str
        Pre-softmax scores, as in :func:`grad_cam`.

    Returns
    -------
    ndarray, shape (N, H, W), float32 in [0, 1]
    """
    tf = _backend.tensorflow()
    x = tf.convert_to_tensor(_model_batch(model, images))
    _check_score_layer(model, score_layer)
    _check_class_index(class_index)
    score_model = _score_model(model, None, score_layer)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = score_model(x, training=False)
        scores = out[0] if isinstance(out, (list, tuple)) else out
        idx = _class_indices(class_index, np.asarray(scores))
        chosen = tf.gather(scores, idx, axis=1, batch_dims=1)
    grads = tf.reduce_max(tf.abs(tape.gradient(chosen, x)), axis=-1).numpy()
    return np.stack([normalise(g) for g in grads]).astype(np.float32)


def _tf_keras_vis_score(model, images, class_index):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf-keras-vis imports a deprecated scipy namespace
        from tf_keras_vis.utils.scores import CategoricalScore

    x = _model_batch(model, images)
    _check_class_index(class_index)
    scores = np.asarray(model(x, training=False))
    idx = _class_indices(class_index, scores).tolist()
    return x, CategoricalScore(idx)


def grad_cam_tf_keras_vis(model, images, class_index=None, *, layer_name: str | None = None,
                          upsample: bool = True) -> np.ndarray:
    """Grad-CAM by tf-keras-vis (Kubota), for comparison with :func:`grad_cam`.

    tf-keras-vis 0.8.7 works with Keras 3. ``ReplaceToLinear`` turns the last
    layer's softmax into a linear activation on a clone of the model, so the
    gradient is of the pre-softmax score, as in :func:`grad_cam`. With
    ``upsample=True`` it enlarges with ``scipy.ndimage.zoom`` rather than
    bilinear resizing, so edges differ slightly.

    Returns
    -------
    ndarray, shape (N, H, W) (or (N, H', W')), float32 in [0, 1]
    """
    x, score = _tf_keras_vis_score(model, images, class_index)
    upsample = check_bool(upsample, "upsample")
    if layer_name is not None:
        _check_layer(model, layer_name, "layer_name")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy.ndimage.interpolation deprecation, Keras input-structure notice
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

        cam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)(
            score, x, penultimate_layer=layer_name or _last_conv(model), expand_cam=upsample
        )
    return np.asarray(cam, np.float32)


def saliency_tf_keras_vis(model, images, class_index=None) -> np.ndarray:
    """Vanilla saliency by tf-keras-vis, for comparison with :func:`saliency_map`."""
    x, score = _tf_keras_vis_score(model, images, class_index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

        sal = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)(score, x)
    return np.asarray(sal, np.float32)


def overlay_heatmap(image, heatmap, *, alpha: float = 0.5, cmap: str = "inferno") -> np.ndarray:
    """Blend a [0, 1] heatmap over a grayscale or RGB image: (H, W, 3) float in [0, 1].

    The default colour map, ``inferno``, is perceptually uniform: equal steps
    of the heatmap look like equal steps of brightness. ``jet``, common in
    older papers, is not; its bright yellow and cyan bands invent edges.

    Examples
    --------
    >>> [round(float(v), 2) for v in overlay_heatmap(np.zeros((4, 4)), np.ones((4, 4)), alpha=1.0)[0, 0]]
    [0.99, 1.0, 0.64]
    """
    img = check_finite(as_array(image, "image"), "image").astype(np.float32)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[-1] in (3, 4))) or img.size == 0:
        raise ValueError(f"image should be a non-empty (H, W) or (H, W, 3), got shape {img.shape}.")
    heat = check_finite(as_array(heatmap, "heatmap"), "heatmap").astype(np.float32)
    if heat.shape != img.shape[:2]:
        raise ValueError(f"heatmap {heat.shape} and image {img.shape[:2]} should have the same height and width.")
    alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)
    _check_cmap(cmap)
    img = normalise(img)
    rgb = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
    return (1 - alpha) * rgb + alpha * colourise(heat, cmap)


def show_heatmaps(images, heatmaps, titles=None, *, label: str = "heatmap", ncols: int = 4,
                  panel_size: float = 2.2, cmap: str = "inferno", alpha: float = 0.6):
    """Heatmaps over their images, with one colour bar for the whole grid.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1)
        Grayscale images.
    heatmaps : array_like, shape (N, H, W)
        Values in [0, 1] (for example Grad-CAM maps scaled per map).
    titles : sequence of str, optional
    label : str
        Text of the colour bar: say what the colours measure.
    ncols : int
    panel_size : float
        Inches per panel.
    cmap : str
        A perceptually uniform Matplotlib colour map.
    alpha : float
        Opacity of the heatmap over the image.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_heatmaps(np.zeros((2, 8, 8)), np.ones((2, 8, 8)))
    >>> len(fig.axes)   # two panels and the colour bar
    3
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from .viz import bare_axes, unregistered_figure

    imgs = check_finite(as_array(images, "images"), "images").astype(np.float32)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    heat = check_finite(as_array(heatmaps, "heatmaps"), "heatmaps").astype(np.float32)
    if imgs.ndim != 3 or heat.shape != imgs.shape:
        raise ValueError(
            f"images and heatmaps should both be (N, H, W) of one shape, got {imgs.shape} and {heat.shape}. "
            "Enlarge the maps to the image size first (grad_cam(..., upsample=True))."
        )
    n = len(imgs)
    if n == 0 or imgs.size == 0:
        raise ValueError(f"images is empty (shape {imgs.shape}); pass at least one image.")
    if n > 64:
        raise ValueError(f"images holds {n} images; show at most 64 at once (slice them: images[:16]).")
    if titles is not None and (isinstance(titles, str) or not isinstance(titles, (list, tuple))):
        raise TypeError(f"titles should be a list of str, one per image, got {titles!r:.80}.")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: got {len(titles)} titles for {n} images; give one per image.")
    check_str(label, "label")
    ncols = min(check_positive_int(ncols, "ncols"), n)
    panel_size = check_scalar(panel_size, "panel_size", low=0.1, high=20.0)
    alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)
    _check_cmap(cmap)
    nrows = -(-n // ncols)
    fig = unregistered_figure(panel_size * ncols + 0.8, panel_size * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        bare_axes(ax)
        if i >= n:
            ax.set_visible(False)
            continue
        ax.imshow(overlay_heatmap(imgs[i], heat[i], alpha=alpha, cmap=cmap), interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap=cmap), ax=axes, shrink=0.85, pad=0.02)
    bar.set_label(label)
    return fig


def shift_equivariance(extractor, image, shift, jumps, *, canvas: int = 96, corner: int = 24,
                       margin: int = 16, atol: float = 1e-4) -> list[dict]:
    """Does moving the input move each layer's feature map? Test one shift.

    The image is pasted on a black ``canvas`` × ``canvas`` square at
    ``(corner, corner)`` and again moved by ``shift``. A layer whose cells
    are ``jump`` input pixels apart can only follow a shift that is a
    multiple of its jump: then its map moves by ``shift / jump`` cells and
    the values are the same. For any other shift the layer sees the input
    on a different grid and the map *changes* (Azulay & Weiss 2019; Zhang
    2019). Cells within ``margin`` input pixels of the canvas border, where
    zero padding differs, are left out.

    Parameters
    ----------
    extractor : keras.Model
        From :func:`segtutor.models.cnn.feature_extractor` with
        ``any_size=True``.
    image : array_like, shape (H, W)
        The object to move, smaller than the canvas.
    shift : (int, int)
        Down and right, in input pixels, non-negative.
    jumps : dict of str to int
        Each layer's jump (:func:`segtutor.models.cnn.receptive_fields`).
    canvas, corner, margin : int
        Canvas side, where the unmoved image goes, border left out.
    atol : float
        Tolerance for "the same values".

    Returns
    -------
    list of dict
        Per layer: ``layer``, ``jump``, ``cells`` (the shift in cells,
        rounded when not whole), ``whole`` (shift a multiple of the jump),
        ``same`` (maps equal after moving by ``cells``) and
        ``difference`` (largest change, relative to the map's largest value).
    """
    check_model(extractor, "extractor")
    img = check_finite(as_array(image, "image"), "image").astype(np.float32)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image should be a non-empty (H, W), got shape {img.shape}.")
    if not isinstance(shift, (tuple, list)) or len(shift) != 2:
        raise TypeError(f"shift should be (down, right) in pixels, e.g. (2, 0), got {shift!r:.80}.")
    dy, dx = (check_positive_int(v, "shift", minimum=0) for v in shift)
    if not isinstance(jumps, dict):
        raise TypeError(f"jumps should be a dict {{layer name: jump}} (see receptive_fields), got {jumps!r:.80}.")
    canvas = check_positive_int(canvas, "canvas")
    if canvas > _MAX_PICTURE:
        raise ValueError(f"canvas should be at most {_MAX_PICTURE} pixels, got {canvas}.")
    corner = check_positive_int(corner, "corner", minimum=0)
    margin = check_positive_int(margin, "margin", minimum=0)
    atol = check_scalar(atol, "atol", low=0.0)
    h, w = img.shape
    if corner + max(h + dy, w + dx) + margin > canvas:
        raise ValueError(f"a {h}x{w} image at corner {corner} moved by shift {(dy, dx)} with margin {margin} does "
                         f"not fit the {canvas}-px canvas; "
                         "use a larger canvas or a smaller shift.")
    a = np.zeros((canvas, canvas), np.float32)
    b = np.zeros((canvas, canvas), np.float32)
    a[corner:corner + h, corner:corner + w] = img
    b[corner + dy:corner + dy + h, corner + dx:corner + dx + w] = img
    maps_a, maps_b = activations(extractor, a), activations(extractor, b)
    rows = []
    for name in maps_a:
        if name not in jumps:
            raise ValueError(f"jumps has no entry for layer {name!r}; pass the jumps of every extracted layer.")
        j = check_positive_int(jumps[name], f"jumps[{name!r}]")
        cy, cx = round(dy / j), round(dx / j)
        lo, hi = margin // j, (corner + max(h, w) + margin) // j
        ra = maps_a[name][lo:hi, lo:hi]
        rb = maps_b[name][lo + cy:hi + cy, lo + cx:hi + cx]
        scale = float(np.abs(ra).max()) or 1.0
        rows.append({
            "layer": name, "jump": j, "cells": (cy, cx), "whole": dy % j == 0 and dx % j == 0,
            "same": bool(np.allclose(ra, rb, atol=atol)), "difference": float(np.abs(ra - rb).max() / scale),
        })
    return rows
