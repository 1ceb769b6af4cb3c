"""Upsampling explorer (notebook 05): nearest, bilinear and transposed convolutions, and the checkerboard.

The picture is :func:`segtutor.dense.upsampling_picture`: a small input, its
upsampling by the chosen method, and how many kernel stamps a transposed
convolution puts on each output pixel (uneven counts are the checkerboard
artefact of Odena et al. 2016).

Examples
--------
>>> from segtutor.widgets.upsampling import UpsamplingExplorer
>>> UpsamplingExplorer()            # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import dense
from .._validate import check_image, check_positive_int
from ._base import Visualiser

__all__ = ["UpsamplingExplorer", "default_small_image"]


def default_small_image(size: int = 12) -> np.ndarray:
    """scikit-image's camera photograph shrunk to size x size, floats in [0, 1]."""
    from skimage import data, transform

    size = check_positive_int(size, "size", minimum=2)
    if size > 512:
        raise ValueError(f"size should be at most 512 (the camera photo's side), got {size:,}.")
    return transform.resize(data.camera() / 255.0, (size, size), anti_aliasing=True).astype(np.float32)


class UpsamplingExplorer(Visualiser):
    """Choose an upsampling method and factor; set a transposed convolution's kernel and stride.

    Parameters
    ----------
    image : array_like, shape (h, w), optional
        A small grayscale image (at most 64 x 64); defaults to a 12 x 12 photo.

    Attributes
    ----------
    method, factor, kernel_size, stride : ipywidgets controls
    """

    css_class = "segtutor-upsampling"

    def __init__(self, image=None) -> None:
        import ipywidgets as w

        super().__init__()
        self.data = default_small_image() if image is None else check_image(image, allow_rgb=False)
        if max(self.data.shape) > 64:
            raise ValueError(f"image should be small (at most 64 x 64) so its pixels stay visible; got {self.data.shape}.")
        style = {"description_width": "initial"}
        self.method = w.Dropdown(options=dense.UPSAMPLING_METHODS, value="bilinear", description="method", style=style)
        self.factor = w.IntSlider(value=2, min=2, max=4, description="factor", style=style)
        self.kernel_size = w.IntSlider(value=3, min=1, max=6, description="kernel size", style=style)
        self.stride = w.IntSlider(value=2, min=1, max=4, description="stride", style=style)
        for name in ("method", "factor", "kernel_size", "stride"):
            getattr(self, name).add_class(f"{self.css_class}-{name.replace('_', '-')}")
        self._finish_layout(
            [w.VBox([self.method, self.factor]), w.VBox([self.kernel_size, self.stride])],
            caption="<b>Left:</b> the small input. <b>Middle:</b> upsampled by the chosen method. "
                    "<b>Right:</b> how many kernel stamps a transposed convolution (kernel size, stride) puts on "
                    "each output pixel of a 6×6 input: lighter = more. Uneven stripes are the checkerboard artefact.",
        )

    def render(self) -> np.ndarray:
        return dense.upsampling_picture(self.data, self.method.value, int(self.factor.value),
                                        kernel_size=int(self.kernel_size.value), stride=int(self.stride.value))

    def status(self) -> str:
        counts = dense.overlap_counts(6, int(self.kernel_size.value), int(self.stride.value))
        k, s = int(self.kernel_size.value), int(self.stride.value)
        inner = counts[k:-k, k:-k] if counts.shape[0] > 2 * k else counts
        even = inner.size > 0 and np.ptp(inner) == 0
        verdict = ("even overlap inside the border: no checkerboard" if even else
                   f"uneven overlap ({int(inner.min())} to {int(inner.max())} stamps per pixel): checkerboard")
        rule = "kernel divisible by stride" if k % s == 0 else "kernel not divisible by stride"
        return f"kernel {k}, stride {s} ({rule}): {verdict}"
