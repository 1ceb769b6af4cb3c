r"""Nucleus size: estimate it from an image, and bring an image to the scale a model was trained at.

A segmentation network learns objects at the sizes it was shown. The
course's U-Net saw nuclei with a median radius of about 9-11 pixels
(``make_nuclei(size=256, vary=True)`` plus zoom crops), the DeepLabv3+ about
14 (:func:`nuclei_at_trained_scale`); a nucleus of radius
30 has flat, textured middles the network never saw, and the watershed
splits it into several pieces. Cellpose therefore asks for a diameter and
rescales the image so that nuclei come out at its training size, and when
none is given it *estimates* the diameter first (Stringer et al. 2021,
"size model"). StarDist documents the pixel size its models expect.

:func:`estimate_diameter` is a classical, measured estimate instead of a
trained size model (no second network to train, ship and trust, and every
step can be looked at):

1. smooth the image a little and threshold it with Otsu's method: nuclei
   brighter than the background is the one thing a global threshold gets
   right on almost every fluorescence image, whatever the size;
2. fill holes (dark nucleoli, chromatin) and take the **Euclidean distance
   transform** of the mask: at the centre of a nucleus it equals the radius
   of the largest disc that fits inside, and touching nuclei keep their own
   peaks;
3. cut clumps apart with a watershed from those peaks (seeds at least a
   third of a typical radius apart), drop slivers under a fifth of a typical
   piece, and take the median equivalent-disc radius
   :math:`\sqrt{A/\pi}` of the pieces;
4. repeat with smoothing proportional to that first estimate (noise cuts
   the mask of a large nucleus into ragged pieces), and return twice the
   radius. Fitted on generated images from seeds used for nothing else,
   the factor between the true median diameter and this radius came out
   at 2.00, so no correction is applied.

Classical estimates are biased where their assumptions break: many nuclei
dimmer than a bright cytoplasm or debris, or nuclei covering most of the
image, make the Otsu mask wrong. Pass ``diameter=`` when you know the size.

Examples
--------
>>> from segtutor.datasets import make_nuclei
>>> data = make_nuclei(1, size=480, mean_radius=20, density=0.8, seed=3)
>>> round(estimate_diameter(data.images[0]))      # the 14 nuclei's true median diameter is 36 px
33
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .._validate import as_array, check_bool, check_finite, check_scalar

__all__ = [
    "TRAINED_DIAMETER",
    "VALIDATED_DIAMETERS",
    "NucleusSizeWarning",
    "check_diameter",
    "estimate_diameter",
    "as_gray_image",
    "rescale_image",
    "warn_if_unusual",
    "resize_labels",
    "nuclei_at_trained_scale",
]

#: Nucleus diameter (pixels) each model segments best at; an image is rescaled so that its nuclei come out at
#: this size. The DeepLabv3+ was retrained (issue 22) on :func:`nuclei_at_trained_scale`, nuclei of radius 4-40 px
#: zoomed to 22 px times 0.8-1.25, then zoom crops of x1-1.67, so centred on 28 px; with the true diameter given,
#: rescaling the DSB image to 22, 28 or 34 px gave its 1,200-step version F1 0.904, 0.943 and 0.935, so it kept 28
#: (the shipped 2,400-step version was not swept). Before that, the
#: U-Net and DeepLabv3+ were trained on ``make_nuclei(size=256, vary=True)`` (per-image median
#: diameter 9-28 px, median 17) with zoom crops that enlarge it 1-1.67 times; with the true diameter given,
#: rescaling to 16, 20, 24, 28 or 32 px gave the DeepLabv3+ a mean F1 of 0.969, 0.970, 0.976, 0.979 and 0.963 on
#: ten generated calibration images (radius 4-40 px) and 0.817, 0.866, 0.901, 0.923 and 0.916 on the DSB 2018
#: image, so 28. The Mask R-CNN was trained on the same images without zoom (median 17 px); rescaling to 17, 21
#: or 25 px gave it 0.985, 0.984 and 0.966 on the calibration images and 0.828, 0.870 and 0.834 on the DSB image,
#: so 21; the shipped Mask R-CNN was then retrained at 21 px (issue 22, ``maskrcnn/weights/NUCLEI.md``). The U-Net, retrained on the same zoomed data as the DeepLabv3+ (2,400 steps), shares its value without a
#: sweep of its own.
TRAINED_DIAMETER = {"unet": 28.0, "deeplab": 28.0, "maskrcnn": 21.0}

#: Diameters for which estimating and rescaling were checked on generated images (radius 4 to 40 px).
VALIDATED_DIAMETERS = (8.0, 80.0)

_DIAMETER_LIMITS = (2.0, 2000.0)  # anything else is a typo (or not pixels)
_CALIBRATION = 2.0  # diameter = 2 x median piece radius; calibration images (seeds 500+) measured 2.002
_MAX_PIXELS = 64_000_000


class NucleusSizeWarning(UserWarning):
    """The nuclei are of a size the course's models and the size estimate were not checked at."""


def check_diameter(diameter) -> float:
    """Return ``diameter`` as a float, or raise one clear error.

    Examples
    --------
    >>> check_diameter(30)
    30.0
    >>> check_diameter("30")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    segtutor._validate.ArgumentTypeError: diameter should be a number, got str '30'. Give the typical nucleus ...
    """
    try:
        value = check_scalar(diameter, "diameter")
    except TypeError as exc:
        raise type(exc)(f"{exc} Give the typical nucleus diameter in pixels, e.g. diameter=30, "
                        "or None to estimate it.") from None
    low, high = _DIAMETER_LIMITS
    if not low <= value <= high:
        raise ValueError(f"diameter should be the typical nucleus diameter in pixels, between {low:g} and {high:g}; "
                         f"got {value:g}. If you know it in microns, divide by the pixel size in microns.")
    return value


def as_gray_image(image) -> np.ndarray:
    """Check that ``image`` is one 2-D grayscale image ((H, W) or (H, W, 1)) and return it as float32 (H, W)."""
    x = check_finite(as_array(image, "image"), "image")
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 2:
        raise ValueError(f"image should be one 2-D grayscale image (H, W), got shape {x.shape}; for RGB pick the "
                         "nuclear channel (image[..., 2] for a blue DAPI stain).")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise TypeError(f"image should hold real numbers, got dtype {x.dtype}.")
    if min(x.shape) < 8:
        raise ValueError(f"image is only {x.shape[0]}x{x.shape[1]} pixels; nuclei need at least 8x8.")
    if x.size > _MAX_PIXELS:
        raise ValueError(f"image has {x.size:,} pixels, above {_MAX_PIXELS:,}; estimate on a crop instead.")
    return x.astype(np.float32)


def _object_radius(x: np.ndarray, sigma: float) -> float | None:
    """Median equivalent-disc radius of the nuclei in an Otsu mask of ``x`` smoothed by ``sigma`` (None: none)."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_otsu
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(x, sigma) if sigma > 0 else x
    if smooth.max() <= smooth.min():
        return None
    mask = ndi.binary_fill_holes(smooth > threshold_otsu(smooth))
    objects, n = ndi.label(mask)
    if n == 0:
        return None
    distance = ndi.distance_transform_edt(mask)
    index = np.arange(1, n + 1)
    peak = np.asarray(ndi.maximum(distance, objects, index), float)
    area = np.asarray(ndi.sum_labels(mask, objects, index), float)
    keep = (peak >= 1.5) & (area >= 9)  # specks and one-pixel slivers say nothing about nuclei
    if not keep.any():
        return None
    # The pixel-weighted median peak is a first guess of the inscribed radius of a nucleus; touching nuclei are
    # then cut apart at the saddles of the distance transform, one seed per peak at least 0.35 radius apart.
    guess = _weighted_median(peak[keep], area[keep])
    seeds = peak_local_max(ndi.gaussian_filter(distance, max(1.0, guess / 6)), min_distance=max(2, int(0.35 * guess)),
                           labels=objects, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(seeds.T)] = np.arange(1, len(seeds) + 1)
    sizes = np.bincount(watershed(-distance, markers, mask=mask).ravel())[1:].astype(float)
    sizes = sizes[sizes >= 9]
    if sizes.size == 0:
        return None
    # Slivers cut off a nucleus by the split are not nuclei: drop pieces under a fifth of a typical one.
    sizes = sizes[sizes >= 0.2 * _weighted_median(sizes, sizes)]
    return float(np.median(np.sqrt(sizes / np.pi)))


def _weighted_median(values, weights) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, float)[order])
    return float(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def estimate_diameter(image) -> float:
    """Estimate the median nucleus diameter of a fluorescence image, in pixels.

    A classical estimate (Otsu mask, a watershed of its distance transform,
    the median size of the pieces; see the module docstring), checked on
    generated nuclei. On 31 held-out ``make_nuclei`` images (domain-
    randomised and default look) with median radii from 4 to 40 pixels its
    error was at most 18.5 %, median 6.5 % (``bench/bench_nuclei_size.py``).
    It assumes that nuclei are brighter than everything else in the image
    and cover less than about half of it.

    Parameters
    ----------
    image : array_like, shape (H, W)
        One DNA-stained fluorescence image, any dtype.

    Returns
    -------
    float
        The estimated equivalent-disc diameter :math:`2\\sqrt{A/\\pi}` of a
        typical nucleus, in pixels; NaN when no object stands out of the
        background (an empty or flat image).

    Examples
    --------
    >>> yy, xx = np.mgrid[:200, :200]
    >>> discs = sum(((yy - cy) ** 2 + (xx - cx) ** 2 < 15**2) for cy in (50, 150) for cx in (50, 150))
    >>> round(estimate_diameter(discs.astype(float)) / 30, 1)
    1.0
    """
    x = as_gray_image(image)
    first = _object_radius(x, 1.0)
    if first is None:
        return float("nan")
    # Noise cuts the mask of a large nucleus into a ragged shape whose peak is too low: smooth in proportion.
    second = _object_radius(x, max(1.0, first / 4)) if first > 6 else first
    radius = second if second is not None else first
    return float(_CALIBRATION * radius)


def warn_if_unusual(diameter: float, *, estimated: bool) -> bool:
    """Warn once (a :class:`NucleusSizeWarning`) when ``diameter`` is outside :data:`VALIDATED_DIAMETERS`.

    The warning points at the first caller outside the ``segtutor``
    package (the student's or biologist's own line, however many course
    functions lie between). Returns whether it warned.

    Examples
    --------
    >>> warn_if_unusual(30.0, estimated=True)
    False
    """
    diameter = check_diameter(diameter)
    estimated = check_bool(estimated, "estimated")
    low, high = VALIDATED_DIAMETERS
    if low <= diameter <= high:
        return False
    how = "estimated" if estimated else "given"
    warnings.warn(
        f"the {how} nucleus diameter, {diameter:.1f} px, is outside the {low:g}-{high:g} px for which the course "
        "checked its size handling; the image is rescaled anyway, but check the result by eye"
        + ("" if not estimated else ", or pass diameter= if you know the size") + ".",
        NucleusSizeWarning, stacklevel=_outside_caller_level())
    return True


def rescale_image(image, factor: float) -> np.ndarray:
    """Zoom a 2-D image by ``factor`` with linear interpolation (anti-aliased when shrinking).

    Examples
    --------
    >>> rescale_image(np.zeros((30, 40)), 0.5).shape
    (15, 20)
    """
    from skimage.transform import rescale

    x = as_gray_image(image)
    factor = check_scalar(factor, "factor", low=0.01, high=100.0)
    if abs(factor - 1.0) < 1e-3:
        return x
    if x.size * factor**2 > _MAX_PIXELS:
        raise ValueError(f"zooming a {x.shape[0]}x{x.shape[1]} image by {factor:.2f} makes more than "
                         f"{_MAX_PIXELS:,} pixels; crop the image into tiles first.")
    return rescale(x, factor, order=1, anti_aliasing=factor < 1, preserve_range=True).astype(np.float32)


def resize_labels(labels, shape) -> np.ndarray:
    """Resize an integer label image to ``shape`` by nearest neighbour, keeping the instance ids.

    Nearest neighbour never invents ids between two nuclei (interpolation
    would); an object that becomes smaller than a pixel disappears.

    Examples
    --------
    >>> lab = np.array([[0, 7], [3, 0]], np.int32)
    >>> resize_labels(lab, (4, 4))[:, :2].tolist()
    [[0, 0], [0, 0], [3, 3], [3, 3]]
    """
    lab = as_array(labels, "labels")
    if lab.ndim != 2 or not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == bool):
        raise ValueError(f"labels should be a 2-D integer label image, got shape {lab.shape} and dtype {lab.dtype}.")
    if not (isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(s, (int, np.integer)) and s > 0
                                                                 for s in shape)):
        raise ValueError(f"shape should be a (height, width) tuple of positive integers, got {shape!r}.")
    rows = np.minimum((np.arange(shape[0]) + 0.5) * lab.shape[0] / shape[0], lab.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * lab.shape[1] / shape[1], lab.shape[1] - 1).astype(int)
    return lab[rows[:, None], cols[None, :]]


def nuclei_at_trained_scale(n_images: int, *, size: int = 256, radius_range=(4.0, 40.0), diameter: float = 22.0,
                            jitter=(0.8, 1.25), vary="wide", seed: int = 0):
    """Generated nuclei of radius 4-40 px, brought to the models' scale the way :func:`segment_nuclei` brings them.

    Scale augmentation matched to the call that uses the model: every image
    is drawn with its own typical radius (log-uniform in ``radius_range``),
    at a side large enough, then zoomed with :func:`rescale_image` so that
    its true median nucleus diameter becomes ``diameter`` times a random
    ``jitter`` (the size estimate's error), and cropped to ``size``. A
    network trained on these has seen what ``segment_nuclei`` shows it:
    small nuclei enlarged (soft edges, coarse noise) and large ones shrunk
    (sharp, smoothed noise), at about the same size, not only nuclei born
    at that size. The default ``diameter`` of 22 px, enlarged 1-1.67 times by
    the training's zoom crops, centres the training sizes on
    :data:`TRAINED_DIAMETER` (28 px).

    Parameters
    ----------
    n_images : int
        Number of images.
    size : int
        Side of the returned images, at least 32.
    radius_range : (float, float)
        Typical nucleus radius of the generated images before zooming, in pixels.
    diameter : float
        Median nucleus diameter after zooming, before ``jitter``, in pixels.
    jitter : (float, float)
        Range of the random factor on ``diameter`` (log-uniform).
    vary : True or "wide"
        Passed to :func:`segtutor.datasets.make_nuclei`.
    seed : int
        The same seed gives the same images.

    Returns
    -------
    NucleiData
        ``images`` (N, size, size) float32, ``masks`` bool and ``labels`` int32.

    Examples
    --------
    >>> data = nuclei_at_trained_scale(2, size=64, radius_range=(4, 8), seed=0)
    >>> data.images.shape, data.labels.dtype
    ((2, 64, 64), dtype('int32'))
    """
    from ..datasets import NucleiData, make_nuclei
    from .._validate import check_positive_int, check_seed

    n_images = check_positive_int(n_images, "n_images")
    size = check_positive_int(size, "size")
    if size < 32:
        raise ValueError(f"size={size} is too small; expected at least 32 pixels.")
    if n_images * size * size > _MAX_PIXELS:
        raise ValueError(f"{n_images} images of {size}x{size} are more than {_MAX_PIXELS:,} pixels; make fewer.")
    pairs = {"radius_range": radius_range, "jitter": jitter}
    for name, pair in pairs.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{name} should be a (low, high) pair, got {pair!r}.")
    low_r = check_scalar(radius_range[0], "radius_range[0]", low=2.0, high=500.0)
    high_r = check_scalar(radius_range[1], "radius_range[1]", low=low_r, high=500.0)
    low_j = check_scalar(jitter[0], "jitter[0]", low=0.2, high=5.0)
    high_j = check_scalar(jitter[1], "jitter[1]", low=low_j, high=5.0)
    diameter = check_scalar(diameter, "diameter", low=4.0, high=size / 2)
    if vary is not True and vary != "wide":
        raise ValueError(f"vary should be True or 'wide', got {vary!r}.")
    seed = check_seed(seed)

    rng = np.random.default_rng(seed)
    images = np.empty((n_images, size, size), np.float32)
    labels = np.empty((n_images, size, size), np.int32)
    for i in range(n_images):
        radius = float(np.exp(rng.uniform(np.log(low_r), np.log(high_r))))
        target = diameter * float(np.exp(rng.uniform(np.log(low_j), np.log(high_j))))
        # Large enough that the zoomed image still fills size x size (nuclei come out a little under 2 radii).
        side = max(int(np.ceil(size * 2.3 * radius / target)), int(np.ceil(4 * radius)), 32)
        data = make_nuclei(1, size=side, vary=vary, radius_range=(radius, radius),
                           seed=int(rng.integers(2**31)))
        image, lab = data.images[0], data.labels[0]
        areas = np.bincount(lab.ravel())[1:]
        areas = areas[areas > 0]
        true = 2 * float(np.median(np.sqrt(areas / np.pi))) if areas.size else 2 * radius
        small = rescale_image(image, target / true)
        small_lab = resize_labels(lab, small.shape)
        short = [max(size - n, 0) for n in small.shape]
        if any(short):  # rare: nuclei much smaller than drawn; pad with the image's own edge, no nuclei there
            small = np.pad(small, [(0, short[0]), (0, short[1])], mode="edge")
            small_lab = np.pad(small_lab, [(0, short[0]), (0, short[1])])
        top = int(rng.integers(0, small.shape[0] - size + 1))
        left = int(rng.integers(0, small.shape[1] - size + 1))
        images[i] = small[top:top + size, left:left + size]
        labels[i] = small_lab[top:top + size, left:left + size]
    return NucleiData(images, labels > 0, labels)


def _outside_caller_level() -> int:
    """The ``stacklevel`` of the first frame outside the package, seen from the function that calls this one."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
