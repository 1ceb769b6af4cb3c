"""Feature-map explorer: pick an image, a layer and a channel of a trained CNN.

Activations come from an :class:`segtutor.interpret.ActivationCache`: the
network runs once per image (for all layers at once) and every later change
of layer or channel only redraws with
:func:`segtutor.interpret.feature_map_picture`.

The convolutional layers are re-applied to inputs of any size
(:func:`segtutor.models.cnn.feature_extractor` with ``any_size=True``), so a
net trained on 28×28 digits can also be shown a 128×128 photo.

Examples
--------
>>> from segtutor.widgets.feature_maps import FeatureMapExplorer
>>> explorer = FeatureMapExplorer(model)   # doctest: +SKIP
>>> explorer.layer.value = "conv2"         # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import interpret
from .._validate import check_image_dict, check_model, check_positive_int
from ._base import Visualiser

__all__ = ["FeatureMapExplorer", "explorer_images"]


def explorer_images(n_digits: int = 3, size: int = 128) -> dict[str, np.ndarray]:
    """Digits, a synthetic shapes image and photos, each (H, W) float32 in [0, 1].

    Digits are the first test digits at 28×28; the shapes image and photos
    are grayscale at ``size``×``size``.
    """
    from skimage import color, data, transform

    from ..datasets import load_digits, make_shapes

    n_digits = check_positive_int(n_digits, "n_digits")
    size = check_positive_int(size, "size", minimum=8)
    if n_digits > 64 or size > 2048:
        raise ValueError(f"n_digits should be at most 64 and size at most 2048, got {n_digits} and {size}.")
    images, labels = load_digits("test", n=n_digits)
    out = {f"digit {int(labels[i])} (test #{i})": images[i, ..., 0] for i in range(len(images))}
    shapes = make_shapes(1, size=size, seed=0).images[0]
    out["shapes (synthetic)"] = color.rgb2gray(shapes[..., :3]).astype(np.float32)
    for name, img in (("camera (photo)", data.camera()), ("coins (photo)", data.coins()),
                      ("astronaut (photo)", color.rgb2gray(data.astronaut()))):
        img = np.asarray(img, np.float32)
        img = img / 255.0 if img.max() > 1 else img
        out[name] = transform.resize(img, (size, size), anti_aliasing=True).astype(np.float32)
    return out


class FeatureMapExplorer(Visualiser):
    """See what each layer and channel of a CNN responds to.

    Parameters
    ----------
    model : keras.Model
        A trained CNN with a single-channel input (the course CNN).
    images : dict of str to ndarray, optional
        Images (H, W) in [0, 1]; defaults to :func:`explorer_images`.
    layers : sequence of str, optional
        Layers to offer; defaults to every conv and pooling layer.

    Attributes
    ----------
    image_name, layer : ipywidgets.Dropdown
    channel : ipywidgets.IntSlider
    show_all : ipywidgets.Checkbox
        Show every channel of the layer as a grid.
    cache : segtutor.interpret.ActivationCache
    """

    css_class = "segtutor-feature-maps"

    def __init__(self, model, images: dict | None = None, layers=None) -> None:
        super().__init__()
        import ipywidgets as w

        from ..models import cnn

        self.model = check_model(model)
        if layers is not None and (isinstance(layers, str) or not isinstance(layers, (list, tuple))
                                   or not all(isinstance(n, str) for n in layers)):
            raise TypeError(f"layers should be a list of layer names such as ['conv1', 'pool1'], got {layers!r:.80}.")
        self.layers = list(layers) if layers is not None else cnn.feature_layer_names(model)
        self.images = check_image_dict(images) if images is not None else explorer_images()
        if not self.images:
            raise ValueError("images is empty; pass a dict like {'camera': array} or leave it out.")
        self.cache = interpret.ActivationCache(cnn.feature_extractor(model, self.layers, any_size=True))
        self._hold = False
        self.image_name = w.Dropdown(options=list(self.images), description="image")
        self.layer = w.Dropdown(options=self.layers, description="layer")
        self.channel = w.IntSlider(value=0, min=0, max=0, description="channel")
        self.show_all = w.Checkbox(value=False, description="all channels")
        for name in ("image_name", "layer", "channel", "show_all"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self._update_channel_range()
        # Open on the channel that responds most to the first image: channel 0
        # of a ReLU layer can be dead (all zero), a flat square that teaches nothing.
        self._hold = True
        try:
            self.channel.value = int(interpret.strongest_channels(self.activation(), 1)[0])
        finally:
            self._hold = False
        self._finish_layout([w.VBox([self.image_name, self.layer]), w.VBox([self.channel, self.show_all])],
                            caption="<b>Left:</b> the input. <b>Right:</b> the activations of the chosen channel "
                                    "(or all of them), each channel scaled to its own range: dark = 0, yellow = its "
                                    "strongest response. The line below gives the real range.")

    def activation(self) -> np.ndarray:
        """Activation of the current image at the current layer, (H', W', C)."""
        name = self.image_name.value
        return self.cache.get(name, self.images[name], self.layer.value)

    def _update_channel_range(self) -> None:
        n = self.activation().shape[-1]
        self._hold = True
        try:
            self.channel.value = min(self.channel.value, n - 1)
            self.channel.max = n - 1
        finally:
            self._hold = False

    def _on_change(self, change=None) -> None:
        if self._hold:
            return
        owner = change["owner"] if change else None
        if owner is self.layer or owner is self.image_name:
            self._update_channel_range()
        self.channel.disabled = self.show_all.value
        self.refresh()

    def render(self) -> np.ndarray:
        channel = None if self.show_all.value else self.channel.value
        return interpret.feature_map_picture(self.activation(), channel,
                                             image=self.images[self.image_name.value])

    def alt_text(self) -> str:
        what = "all channels" if self.show_all.value else f"channel {self.channel.value}"
        return (f"The image '{self.image_name.value}' beside the activations of {what} of layer "
                f"{self.layer.value}, bright where the response is strong.")

    def status(self) -> str:
        a = self.activation()
        dead = int(np.sum(a.max(axis=(0, 1)) <= 0))
        where = "all channels, each scaled to its own range" if self.show_all.value else \
            f"channel {self.channel.value}: values {a[..., self.channel.value].min():.2f} to " \
            f"{a[..., self.channel.value].max():.2f}"
        return (f"{self.layer.value}: {a.shape[0]}×{a.shape[1]}×{a.shape[2]}; {where}; "
                f"{dead} of {a.shape[2]} channels are zero everywhere on this image (bright = strong response).")
