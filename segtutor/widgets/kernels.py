"""Kernel playground: edit a 3×3 or 5×5 kernel and watch it filter a photo.

The picture is :func:`segtutor.convolution.kernel_playground_picture`: the
input, the kernel (red positive, blue negative) and the output. Everything
the widget shows comes from that pure function, so the notebook and the
tests can call it directly.

Examples
--------
>>> from segtutor.widgets.kernels import KernelPlayground
>>> playground = KernelPlayground()              # doctest: +SKIP
>>> playground.preset.value = "Sobel x (vertical edges)"  # doctest: +SKIP
>>> playground                                   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import convolution
from .._validate import check_image_dict, check_positive_int
from ._base import Visualiser

__all__ = ["KernelPlayground", "playground_images"]

CUSTOM = "custom"


def playground_images(size: int = 256) -> dict[str, np.ndarray]:
    """Grayscale photos from scikit-image's bundled data, at most ``size`` pixels a side.

    Returns
    -------
    dict of str to ndarray, each (H, W) float32 in [0, 1]
    """
    size = check_positive_int(size, "size", minimum=8)
    if size > 2048:
        raise ValueError(f"size should be at most 2048 pixels, got {size:,}.")
    from skimage import color, data, transform

    raw = {
        "camera": data.camera(),
        "coins": data.coins(),
        "astronaut": color.rgb2gray(data.astronaut()),
        "checkerboard": data.checkerboard(),
    }
    out = {}
    for name, img in raw.items():
        img = np.asarray(img, np.float32)
        img = img / 255.0 if img.max() > 1 else img
        scale = size / max(img.shape)
        if scale < 1:
            shape = (round(img.shape[0] * scale), round(img.shape[1] * scale))
            img = transform.resize(img, shape, anti_aliasing=True).astype(np.float32)
        out[name] = img
    return out


class KernelPlayground(Visualiser):
    """Edit a kernel, or pick a preset, and see the filtered image live.

    Parameters
    ----------
    images : dict of str to ndarray, optional
        Grayscale images (H, W) in [0, 1] to choose from; defaults to
        :func:`playground_images`.
    preset : str
        Starting kernel, a key of :data:`segtutor.convolution.KERNEL_PRESETS`.

    Attributes
    ----------
    preset, size, stride, padding, image_name : ipywidgets controls
    cells : list of list of ipywidgets.FloatText
        The 5×5 grid of weights; with size 3 only the centre 3×3 is shown.

    Notes
    -----
    :meth:`set_kernel` accepts any array, including ones the grid cannot hold
    (non-square, NaN), so that a notebook can show what goes wrong with them.
    """

    css_class = "segtutor-kernel-playground"

    def __init__(self, images: dict | None = None, preset: str = "sharpen") -> None:
        super().__init__()
        import ipywidgets as w

        self.images = check_image_dict(images) if images is not None else playground_images()
        if not self.images:
            raise ValueError("images is empty; pass a dict like {'camera': array} or leave it out.")
        self._hold = False
        self._override: np.ndarray | None = None
        names = [CUSTOM, *convolution.KERNEL_PRESETS]
        convolution.kernel_preset(preset)  # fails early, with the list of names
        self.preset = w.Dropdown(options=names, value=preset, description="preset")
        self.size = w.ToggleButtons(options=[3, 5], value=3, description="size",
                                    style={"button_width": "40px"})
        self.stride = w.IntSlider(value=1, min=1, max=4, description="stride")
        self.padding = w.Dropdown(options=["same", "valid"], value="same", description="padding")
        self.image_name = w.Dropdown(options=list(self.images), description="image")
        self.cells = [[w.FloatText(value=0.0, step=0.1, layout=w.Layout(width="64px")) for _ in range(5)]
                      for _ in range(5)]
        self.grid = w.GridBox([c for row in self.cells for c in row],
                              layout=w.Layout(grid_template_columns="repeat(5, 68px)"))
        for name in ("preset", "size", "stride", "padding", "image_name", "grid"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self._fill(convolution.kernel_preset(preset))
        # Three short columns, not one tall one: controls, caption and picture
        # fit a 1366 x 768 laptop's notebook area (about 530 px) together.
        narrow = w.Layout(width="230px")
        for control in (self.preset, self.padding, self.image_name):
            control.layout = narrow
            control.style = {"description_width": "60px"}
        self._finish_layout([w.VBox([self.preset, self.image_name, self.padding]),
                             w.VBox([self.size, self.stride]), self.grid],
                            caption="<b>Left:</b> input. <b>Middle:</b> kernel (red positive, blue negative). "
                                    "<b>Right:</b> output; for kernels summing to 0, white is 0, red positive, "
                                    "blue negative. <i>same</i> padding adds zeros, so edge detectors also fire "
                                    "along the image's border.")

    def alt_text(self) -> str:
        return (f"The image '{self.image_name.value}', the {self.kernel.shape[0]}×{self.kernel.shape[-1]} kernel "
                "and the filtered output, side by side.")

    # -- kernel <-> cells ---------------------------------------------------
    def _fill(self, kernel: np.ndarray) -> None:
        """Write a 3×3 or 5×5 kernel into the grid without redrawing per cell."""
        k = kernel.shape[0]
        offset = (5 - k) // 2
        self._hold = True
        try:
            self.size.value = k
            for i in range(5):
                for j in range(5):
                    inside = offset <= i < offset + k and offset <= j < offset + k
                    cell = self.cells[i][j]
                    cell.value = float(kernel[i - offset, j - offset]) if inside else 0.0
                    cell.layout.visibility = "visible" if inside else "hidden"
                    # Out of the flow too, or a 3×3 kernel keeps the 5×5 grid's height.
                    cell.layout.display = None if inside else "none"
            self.grid.layout.grid_template_columns = f"repeat({k}, 68px)"
        finally:
            self._hold = False

    @property
    def kernel(self) -> np.ndarray:
        """The current kernel, (k, k) float64 (or whatever :meth:`set_kernel` was given)."""
        if self._override is not None:
            return self._override
        k = self.size.value
        offset = (5 - k) // 2
        return np.array([[self.cells[i][j].value for j in range(offset, offset + k)]
                         for i in range(offset, offset + k)], dtype=np.float64)

    def set_kernel(self, kernel) -> None:
        """Show ``kernel``; a 3×3 or 5×5 finite kernel also fills the grid.

        Anything else (non-square, NaN, 7×7) is kept as given, so that the
        widget shows why it cannot be used.
        """
        arr = np.asarray(kernel, dtype=float) if np.asarray(kernel).dtype != object else np.asarray(kernel)
        fits = arr.ndim == 2 and arr.shape in ((3, 3), (5, 5)) and np.all(np.isfinite(arr))
        self._hold = True
        try:
            self.preset.value = CUSTOM
        finally:
            self._hold = False
        if fits:
            self._override = None
            self._fill(arr)
        else:
            self._override = arr
        self.refresh()

    # -- events -------------------------------------------------------------
    def _on_change(self, change=None) -> None:
        if self._hold:
            return
        owner = change["owner"] if change else None
        if owner is self.preset:
            if self.preset.value == CUSTOM:
                return
            self._override = None
            self._fill(convolution.kernel_preset(self.preset.value))
        elif owner is self.size:
            self._override = None
            self._fill(self._resized_kernel(self.size.value))
            self._set_custom()
        elif any(owner is c for row in self.cells for c in row):
            self._override = None
            self._set_custom()
        self.refresh()

    def _resized_kernel(self, k: int) -> np.ndarray:
        """The centre k×k of the 5×5 grid, as it stands."""
        offset = (5 - k) // 2
        return np.array([[self.cells[i][j].value for j in range(offset, offset + k)]
                         for i in range(offset, offset + k)], dtype=np.float64)

    def _set_custom(self) -> None:
        self._hold = True
        try:
            self.preset.value = CUSTOM
        finally:
            self._hold = False

    # -- drawing --------------------------------------------------------------
    def current_image(self) -> np.ndarray:
        return self.images[self.image_name.value]

    def render(self) -> np.ndarray:
        return convolution.kernel_playground_picture(
            self.current_image(), self.kernel, stride=self.stride.value, padding=self.padding.value
        )

    def status(self) -> str:
        img, k = self.current_image(), self.kernel.shape[0]
        h, w = (convolution.conv_output_size(n, k, stride=self.stride.value, padding=self.padding.value)
                for n in img.shape)
        return (f"input {img.shape[0]}×{img.shape[1]} → output {h}×{w}; "
                f"{convolution.describe_kernel(self.kernel)}")
