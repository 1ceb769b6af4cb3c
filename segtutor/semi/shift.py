"""A domain shift from the course's generator: labels from one microscope, unlabelled images from another.

The source look is what a public, labelled data set shows; the target look is
a student's own microscope: dimmer (fewer photons, so more shot noise), more
blurred, with a brighter background and out-of-focus glow, larger nuclei and
more condensed (bright, small) ones. Both are parameters of
:func:`segtutor.datasets.make_nuclei`.

How the images are scaled decides how much of the shift a network meets.
``normalise="fixed"`` keeps the generator's intensities, one scale for every
image as a camera's bit depth gives it (a network trained on a public data set
with its mean and spread sees new images so): then brightness and contrast are
part of the shift. ``normalise="percentile"`` scales each image by its own
percentiles (:func:`segtutor.models.pretrained.normalise_percentile`, as the
course's pretrained nuclei model does), which removes brightness and contrast
before the network sees them; what is left is noise, blur, glow and size.

The looks are issue 28's, written for 256 x 256 images; :func:`make_shift_data`
scales the nucleus radius and the blur with the image size, so a smaller image
is the same scene at a lower resolution.

Examples
--------
>>> data = make_shift_data(2, 2, 1, size=64, seed=0)
>>> data.source.images.shape, data.target.images.shape, data.test.masks.shape
((2, 64, 64, 1), (2, 64, 64, 1), (1, 64, 64, 1))
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from .._validate import check_positive_int
from ._checks import check_images, check_seed

__all__ = ["SOURCE_LOOK", "TARGET_LOOK", "LOOK_SIZE", "NORMALISATIONS", "ShiftData", "make_shift_data",
           "shift_picture", "shift_benchmark"]

#: How :func:`make_shift_data` can scale the images' intensities.
NORMALISATIONS = ("percentile", "fixed")

#: Image side (pixels) the looks' radii and blurs are written for.
LOOK_SIZE = 256

#: The labelled microscope: ``make_nuclei``'s defaults at 256 x 256 (radius 0.035 * 256 = 9 px), written out.
SOURCE_LOOK = MappingProxyType({"photons": 150.0, "read_noise": 3.0, "blur": 1.2, "background": 0.05,
                                "out_of_focus": 0.0, "mean_radius": 8.96, "condensed": 0.0, "debris": 3.0,
                                "density": 4.0})

#: The student's microscope (issue 28's strong probe): dim and noisy (20 photons), blurred (PSF sigma 3 px),
#: glowing background (0.5) with out-of-focus nuclei (6 per 100 x 100 px), larger nuclei (radius 14 px) and 30 %
#: condensed ones.
TARGET_LOOK = MappingProxyType({"photons": 20.0, "read_noise": 3.0, "blur": 3.0, "background": 0.5,
                                "out_of_focus": 6.0, "mean_radius": 14.0, "condensed": 0.3, "debris": 3.0,
                                "density": 4.0})


class ShiftData(NamedTuple):
    """The three sets of a domain-shift experiment, each a ``NucleiSplit`` (images, masks, labels).

    ``source``: labelled training images of the source look. ``target``: training images of the target look;
    a method may use their masks only if it is the oracle. ``test``: held-out target images, for scoring.
    """

    source: object
    target: object
    test: object


def _look(look, size):
    params = dict(look)
    # The same scene at another resolution: lengths in pixels scale with the size (radius at least 2 px,
    # make_nuclei's smallest), densities per 100 x 100 px with its inverse square (at most make_nuclei's 40, so
    # below about 100 px the glow thins out); photons are per pixel and stay.
    scale = size / LOOK_SIZE
    params["mean_radius"] = max(2.0, look["mean_radius"] * scale)
    params["blur"] = look["blur"] * scale
    params["density"] = min(40.0, look["density"] / scale**2)
    params["out_of_focus"] = min(40.0, look["out_of_focus"] / scale**2)
    return params


def _split(data, normalise):
    from ..models.pretrained import normalise_percentile
    from ..models.train_nuclei import NucleiSplit

    if normalise == "percentile":
        images = np.stack([normalise_percentile(im) for im in data.images])[..., None]
    else:  # make_nuclei's intensities are already on one [0, 1] scale, saturation clipped as a camera clips it
        images = np.asarray(data.images, np.float32)[..., None]
    return NucleiSplit(images, data.masks[..., None].astype(np.float32), data.labels)


def make_shift_data(n_source: int = 40, n_target: int = 40, n_test: int = 16, *, size: int = LOOK_SIZE,
                    normalise: str = "percentile", seed: int = 0) -> ShiftData:
    """Labelled source images, target training images and held-out target images, normalised.

    Parameters
    ----------
    n_source, n_target, n_test : int
        Images of each set (at least 1 each).
    size : int
        Side of the square images, a multiple of 8 from 32 to 512: the same scene at another resolution,
        radii and blurs scaled by ``size / 256`` (radii at least 2 pixels), densities of nuclei and glow by
        its inverse square (at most 40 per 100 x 100 pixels).
    normalise : {"percentile", "fixed"}
        ``"percentile"``: each image scaled by its 1st and 99.8th percentiles
        (brightness and contrast removed); ``"fixed"``: the generator's
        intensities in [0, 1], one scale for all images (brightness and
        contrast stay part of the shift). See the module's docstring.
    seed : int
        Seeds the three sets (three different generator seeds, so no image is shared).

    Returns
    -------
    ShiftData
        ``source``, ``target`` and ``test``, each ``NucleiSplit(images (N, H, W, 1) float32, masks (N, H, W, 1)
        float32 in {0, 1}, labels (N, H, W) int32)``.

    Examples
    --------
    >>> d = make_shift_data(1, 1, 1, size=64, seed=3)
    >>> float(d.source.masks.max()), d.test.labels.dtype.kind
    (1.0, 'i')
    """
    from ..datasets import make_nuclei

    n_source = check_positive_int(n_source, "n_source")
    n_target = check_positive_int(n_target, "n_target")
    n_test = check_positive_int(n_test, "n_test")
    if n_source + n_target + n_test > 2000:
        raise ValueError(f"n_source + n_target + n_test should be at most 2000 images, got "
                         f"{n_source + n_target + n_test}.")
    size = check_positive_int(size, "size", minimum=32)
    if size > 512 or size % 8:
        raise ValueError(f"size should be a multiple of 8 from 32 to 512 (the U-Net halves it three times), got "
                         f"{size}.")
    if not isinstance(normalise, str) or normalise not in NORMALISATIONS:
        raise ValueError(f"normalise should be one of {NORMALISATIONS}, got {normalise!r}.")
    seed = check_seed(seed)
    if seed >= 2**31 // 3 - 1:
        raise ValueError(f"seed should be below {2**31 // 3 - 1}, got {seed}.")
    source = make_nuclei(n_source, size=size, seed=3 * seed + 1, **_look(SOURCE_LOOK, size))
    target = make_nuclei(n_target, size=size, seed=3 * seed + 2, **_look(TARGET_LOOK, size))
    test = make_nuclei(n_test, size=size, seed=3 * seed + 3, **_look(TARGET_LOOK, size))
    return ShiftData(*(_split(d, normalise) for d in (source, target, test)))


def shift_picture(source_image, target_image, before, after, truth=None, *, titles=None):
    """The picture of a domain shift: a source image, a target image, and a model's prediction before and after
    adaptation.

    Parameters
    ----------
    source_image, target_image : array_like, shape (H, W) or (H, W, 1)
        Normalised images.
    before, after : array_like, shape (H, W)
        Foreground probabilities (or masks) of the target image, before and after adaptation.
    truth : array_like of bool, shape (H, W), optional
        The target image's true mask, outlined on both predictions.
    titles : sequence of 4 str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One row of four panels.

    Examples
    --------
    >>> z = np.zeros((16, 16))
    >>> len(shift_picture(z, z, z, z).axes)
    4
    """
    from ..viz import new_figure

    from .._validate import as_array

    panels = []
    for a, name in ((source_image, "source_image"), (target_image, "target_image"), (before, "before"),
                    (after, "after")):
        arr = as_array(a, name)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 2:
            raise ValueError(f"{name} should be one image (H, W) or (H, W, 1), got shape {arr.shape}.")
        panels.append(check_images(arr[None], name)[0, ..., 0])
    if panels[2].shape != panels[1].shape or panels[3].shape != panels[1].shape:
        raise ValueError(f"before {panels[2].shape} and after {panels[3].shape} should have the target image's "
                         f"shape {panels[1].shape}.")
    for name, p in (("before", panels[2]), ("after", panels[3])):
        if p.min() < 0 or p.max() > 1:
            raise ValueError(f"{name} should hold probabilities in [0, 1], got {p.min():.3g} to {p.max():.3g}.")
    if truth is not None:
        truth = as_array(truth, "truth")
        if truth.ndim == 3 and truth.shape[-1] == 1:
            truth = truth[..., 0]
        if truth.shape != panels[1].shape:
            raise ValueError(f"truth should have the target image's shape {panels[1].shape}, got {truth.shape}.")
        if not (truth.dtype == bool or np.issubdtype(truth.dtype, np.number)) or not np.isin(truth, (0, 1)).all():
            raise ValueError("truth should be a mask of 0 and 1 (or False and True) values.")
        truth = truth > 0.5
    if titles is None:
        titles = ("source image (labelled)", "target image (unlabelled)", "source-only model", "after adaptation")
    if isinstance(titles, (str, bytes)) or not isinstance(titles, (list, tuple)):
        raise TypeError(f"titles should be a list of four strings, one per panel, got {type(titles).__name__}.")
    if len(titles) != 4 or not all(isinstance(t, str) for t in titles):
        raise ValueError("titles should be four strings, one per panel.")
    fig = new_figure(12.0, 3.4)
    for i, (panel, title) in enumerate(zip(panels, titles)):
        ax = fig.add_subplot(1, 4, i + 1)
        if i < 2:
            ax.imshow(panel, cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(panel, cmap="magma", vmin=0, vmax=1)
            if truth is not None and truth.any():
                ax.contour(truth, levels=[0.5], colors="#56B4E9", linewidths=0.8)
        ax.set_title(title, fontsize="medium")
        ax.set_axis_off()
    if truth is not None:
        fig.text(0.5, 0.01, "blue outline: true nuclei of the target image", ha="center", fontsize="small")
    return fig


def shift_benchmark() -> dict:
    """The stored result of ``bench/bench_semi_shift.py``: every method over fresh seeds, and the real image.

    Notebook 11 shows it instead of training five models on ten seeds in
    class. The record holds the protocol (``settings``, ``dev_seeds``), every
    row (``seed``, ``method``, held-out target ``dice``, ``seconds``,
    ``cpu_seconds``), the ``summary`` (means, 95 % intervals, the gap, the
    paired gains), its printed ``table``, the ``machine``; under ``earlier``
    the first stored run (seeds 10-19, with self-training and mean teacher,
    the same keys); and under ``real`` the shipped models on the DSB 2018
    image before and after AdaBN.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        If this install lacks ``segtutor/data/semi_shift.json``.

    Examples
    --------
    >>> record = shift_benchmark()
    >>> len(record["summary"]["seeds"]) >= 10
    True
    """
    import importlib.resources
    import json

    path = importlib.resources.files("segtutor") / "data" / "semi_shift.json"
    if not path.is_file():
        raise FileNotFoundError("the stored domain-shift benchmark (segtutor/data/semi_shift.json) is missing; "
                                "reinstall segtutor, or make it with bench/bench_semi_shift.py.")
    return json.loads(path.read_text())
