"""Classical and unsupervised segmentation: the methods of notebook 02.

None of these methods learns from labelled pixels. Each one turns an image
into a foreground mask by a rule (a threshold, a clustering, a grouping of
pixels), cleans it, and splits it into objects. Every pipeline here returns
an **instance label image**: an (H, W) int32 array where 0 is background
and 1, 2, ... number the objects.

Building blocks (one idea each)

- thresholds: :func:`threshold_mask`, :func:`otsu_threshold` (Otsu 1979),
  :func:`local_threshold_mask` (adaptive threshold);
- morphology clean-up: :func:`clean_mask` (opening, hole filling, removal
  of small objects);
- instances: :func:`label_components` (connected components) and
  :func:`watershed_split` (marker-controlled watershed on the distance
  transform, Beucher & Meyer 1993);
- region growing on a gradient: :func:`gradient_markers` and
  :func:`marker_watershed_mask` (the classical marker watershed on a Sobel
  gradient image, Beucher & Meyer 1993);
- edges: :func:`canny_fill_mask` (Canny 1986 edges, then hole filling);
- superpixels: :func:`slic_superpixels` (Achanta et al. 2012) and
  :func:`felzenszwalb_superpixels` (Felzenszwalb & Huttenlocher 2004),
  turned into a foreground by :func:`superpixel_foreground`;
- clustering: :func:`kmeans_clusters` (k-means, Lloyd 1982, via
  scikit-learn).

Whole pipelines are named in :data:`METHODS` and run by :func:`segment`;
:func:`score_methods` scores them all against a ground truth for one table.

All thresholds are in the image's own units (0..255 for uint8).

Examples
--------
>>> from skimage.data import coins
>>> from segtutor import classical
>>> labels = classical.segment(coins(), "otsu_clean")
>>> labels.shape, labels.dtype
((303, 384), dtype('int32'))
>>> int(labels.max())   # number of coins found
25
"""

from __future__ import annotations

import inspect
import time

import numpy as np

from ._validate import (check_bool, check_choice, check_image, check_in_range, check_mask, check_pixel_budget,
                        check_positive_int, check_same_shape, check_seed)

__all__ = [
    "METHODS",
    "threshold_mask",
    "otsu_threshold",
    "local_threshold_mask",
    "clean_mask",
    "label_components",
    "distance_markers",
    "watershed_split",
    "threshold_watershed",
    "gradient_markers",
    "marker_watershed_mask",
    "canny_fill_mask",
    "slic_superpixels",
    "felzenszwalb_superpixels",
    "superpixel_foreground",
    "kmeans_clusters",
    "segment",
    "score_methods",
    "format_table",
    "instance_overlay",
    "match_labels",
]


# -- argument checks ------------------------------------------------------
# Pixel limits of the superpixel methods, whose working memory is many times
# the image (a student's laptop has 8 GB): 2048 x 2048 and 4096 x 4096.
_MAX_FELZENSZWALB_PIXELS = 1 << 22
_MAX_SLIC_PIXELS = 1 << 24


def _gray(image, name: str = "image") -> np.ndarray:
    arr = check_image(image, name, allow_rgb=False)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    return arr


def _bool_mask(mask, name: str = "mask") -> np.ndarray:
    arr = check_mask(mask, name, ndim=2, nonnegative=True)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one pixel.")
    return arr.astype(bool)


def _number(value, name: str) -> float:
    return check_in_range(value, name, -np.inf, np.inf) if value is not None else None


def _finite_number(value, name: str) -> float:
    """A number that must be given (None is not a default here)."""
    return check_in_range(value, name, -np.inf, np.inf)


def _nonneg_int(value, name: str) -> int:
    return check_positive_int(value, name, minimum=0)


def _as_float01(image: np.ndarray) -> np.ndarray:
    from .arrays import to_float

    return to_float(image)


# -- thresholds -----------------------------------------------------------
def threshold_mask(image, threshold) -> np.ndarray:
    """Global threshold: the pixels strictly brighter than ``threshold``.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image.
    threshold : float
        In the image's units (0..255 for uint8).

    Returns
    -------
    ndarray of bool, shape (H, W)

    Examples
    --------
    >>> threshold_mask(np.array([[10, 200]], np.uint8), 100)
    array([[False,  True]])
    """
    arr = _gray(image)
    threshold = _finite_number(threshold, "threshold")
    return arr > threshold


def otsu_threshold(image) -> float:
    """Otsu's threshold (Otsu 1979): the cut that best separates two classes.

    Among all cuts of the histogram, Otsu's method picks the one that
    maximises the between-class variance of the two resulting classes, which
    is the same as minimising the pixel-weighted within-class variance. It
    assumes a roughly bimodal histogram: dark background, bright objects (or
    the reverse). This is ``skimage.filters.threshold_otsu``.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image with at least two distinct values.

    Returns
    -------
    float
        The threshold, in the image's units; foreground is ``image > t``.

    Examples
    --------
    >>> otsu_threshold(np.array([[10, 10, 200, 200]], np.uint8)) < 200
    True
    """
    from skimage.filters import threshold_otsu

    arr = _gray(image)
    if arr.min() == arr.max():
        raise ValueError(
            f"image has a single value ({arr.min()}); Otsu's method needs at least two "
            "intensities to separate. Check that you passed the image, not a blank mask."
        )
    return float(threshold_otsu(arr))


def local_threshold_mask(image, block_size: int = 101, offset: float = -10.0) -> np.ndarray:
    """Adaptive threshold: compare each pixel with its neighbourhood's mean.

    Uneven lighting defeats a global threshold: the same coin is darker in a
    dim corner. A local threshold compares each pixel with a Gaussian-
    weighted mean of its surroundings (``skimage.filters.threshold_local``
    with its default ``method="gaussian"``), so it follows slow changes of
    brightness. The Gaussian has ``sigma = (block_size - 1) / 6``, so that
    plus or minus three sigmas (99.7 % of the weight) span the block; the
    filter is not cut at the block's edge.

    Parameters
    ----------
    image : array_like, shape (H, W)
    block_size : int
        Odd window side in pixels. Make it larger than the objects, or their
        centres are compared with themselves and vanish.
    offset : float
        As in scikit-image: the threshold is ``local mean - offset``. A
        negative offset asks for pixels clearly brighter than their
        surroundings, which keeps background noise out.

    Returns
    -------
    ndarray of bool, shape (H, W)

    Examples
    --------
    >>> from skimage.data import coins
    >>> round(float(local_threshold_mask(coins(), 101, -10).mean()), 2)
    0.31
    """
    from skimage.filters import threshold_local

    arr = _gray(image)
    block_size = check_positive_int(block_size, "block_size", minimum=3)
    if block_size % 2 == 0:
        raise ValueError(f"block_size should be odd, got {block_size}. Use {block_size + 1}.")
    offset = _finite_number(offset, "offset")
    return arr > threshold_local(arr, block_size, offset=offset)


# -- morphology -------------------------------------------------------------
def clean_mask(mask, opening_radius: int = 2, fill_holes: bool = True, min_size: int = 100) -> np.ndarray:
    """Clean a binary mask with mathematical morphology.

    Three steps, in this order:

    1. an *opening* with a disk of ``opening_radius`` (erosion then
       dilation) removes specks and thin bridges narrower than the disk;
    2. *hole filling* (``scipy.ndimage.binary_fill_holes``) fills
       background regions that do not touch the border, such as the dark
       details inside a coin;
    3. *small-object removal* drops components of fewer than ``min_size``
       pixels.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
    opening_radius : int
        0 skips the opening.
    fill_holes : bool
    min_size : int
        Smallest object kept, in pixels; 0 keeps everything.

    Returns
    -------
    ndarray of bool, shape (H, W)

    Examples
    --------
    >>> m = np.zeros((9, 9), bool); m[1:8, 1:8] = True; m[4, 4] = False
    >>> int(clean_mask(m, opening_radius=0, min_size=0).sum())
    49
    """
    from scipy import ndimage as ndi
    from skimage import morphology

    m = _bool_mask(mask)
    opening_radius = _nonneg_int(opening_radius, "opening_radius")
    min_size = _nonneg_int(min_size, "min_size")
    fill_holes = check_bool(fill_holes, "fill_holes")
    if opening_radius > max(m.shape):
        raise ValueError(f"opening_radius {opening_radius:,} is larger than the {m.shape[0]}x{m.shape[1]} mask, so the "
                         "opening would remove everything; use a few pixels (2-5).")
    if opening_radius:
        m = morphology.opening(m, morphology.disk(opening_radius))
    if fill_holes:
        m = ndi.binary_fill_holes(m)
    if min_size > 1:
        # scikit-image >= 0.26 removes objects of at most max_size pixels.
        m = morphology.remove_small_objects(m, max_size=min_size - 1)
    return m.astype(bool)


# -- instances ----------------------------------------------------------------
def label_components(mask, connectivity: int = 2) -> np.ndarray:
    """Number the connected components of a mask: one label per object.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
    connectivity : {1, 2}
        1: pixels touch through edges (4-neighbours); 2: also through
        corners (8-neighbours).

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 for background, 1..N for the N components.

    Examples
    --------
    >>> label_components(np.array([[1, 0, 1]], bool))
    array([[1, 0, 2]], dtype=int32)
    """
    from skimage.measure import label

    m = _bool_mask(mask)
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity should be 1 or 2 for a 2-D mask, got {connectivity!r}.")
    return label(m, connectivity=connectivity).astype(np.int32)


def distance_markers(mask, min_distance: int = 20) -> np.ndarray:
    """Seeds for the watershed: the peaks of the distance transform.

    The Euclidean distance transform gives each foreground pixel its
    distance to the background, so a round object has one peak at its
    centre, and two touching objects have two peaks joined by a saddle.
    Of two peaks closer than ``min_distance``, only the higher is kept
    (``skimage.feature.peak_local_max`` suppresses the lower one; it does not
    merge them or move the seed between them).

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
    min_distance : int
        Smallest distance between two seeds, in pixels. Too small: an
        irregular object gets several seeds and is over-split. Too large:
        neighbouring objects share one seed and are under-split.

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 everywhere except one labelled pixel per seed.
    """
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max

    m = _bool_mask(mask)
    # Peaks further apart than the image is large cannot exist, so a larger
    # min_distance means the same as the image size (and costs no more).
    min_distance = min(check_positive_int(min_distance, "min_distance"), max(m.shape))
    distance = ndi.distance_transform_edt(m)
    components = label_components(m)
    # labels= makes every component get at least one seed, even a small one.
    peaks = peak_local_max(distance, min_distance=min_distance, labels=components, exclude_border=False)
    markers = np.zeros(m.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    return markers


def watershed_split(mask, min_distance: int = 20, compactness: float = 0.0) -> np.ndarray:
    """Split a mask into objects with a marker-controlled watershed.

    The watershed (Beucher & Meyer 1993) floods the negated distance
    transform from the seeds of :func:`distance_markers`; where two floods
    meet, a boundary is drawn. It separates touching round objects that
    connected components would merge.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
    min_distance : int
        See :func:`distance_markers`.
    compactness : float
        0 gives the classic watershed; larger values give the *compact
        watershed* (Neubert & Protzel 2014), whose regions are rounder and
        more even in size.

    Returns
    -------
    ndarray of int32, shape (H, W)

    Examples
    --------
    >>> yy, xx = np.mgrid[:40, :70]
    >>> two = ((yy - 20) ** 2 + (xx - 20) ** 2 < 225) | ((yy - 20) ** 2 + (xx - 46) ** 2 < 225)
    >>> int(label_components(two).max()), int(watershed_split(two, 10).max())
    (1, 2)
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    m = _bool_mask(mask)
    compactness = check_in_range(compactness, "compactness", 0.0, np.inf)
    markers = distance_markers(m, min_distance)
    distance = ndi.distance_transform_edt(m)
    return watershed(-distance, markers, mask=m, compactness=compactness).astype(np.int32)


def threshold_watershed(
    image,
    threshold=None,
    min_distance: int = 20,
    opening_radius: int = 2,
    compactness: float = 0.0,
    min_size: int = 100,
) -> np.ndarray:
    """Threshold, clean and split: the pipeline behind the ThresholdWatershed widget.

    Parameters
    ----------
    image : array_like, shape (H, W)
    threshold : float or None
        None uses :func:`otsu_threshold`.
    min_distance, compactness
        See :func:`watershed_split`.
    opening_radius, min_size
        See :func:`clean_mask`.

    Returns
    -------
    ndarray of int32, shape (H, W)
        Instance labels.
    """
    arr = _gray(image)
    if threshold is None:
        threshold = otsu_threshold(arr)
    mask = clean_mask(threshold_mask(arr, threshold), opening_radius, True, min_size)
    return watershed_split(mask, min_distance, compactness)


# -- region growing on a gradient, and edges --------------------------------
def gradient_markers(image, low: float = 30, high: float = 150) -> np.ndarray:
    """Markers for the gradient watershed: sure background and sure objects.

    Pixels darker than ``low`` are marked 1 (surely background), pixels
    brighter than ``high`` are marked 2 (surely inside an object), and the
    uncertain pixels in between stay 0 for the watershed to decide.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image, in its own units (0..255 for uint8).
    low, high : float
        Thresholds with ``low < high``. Choose them from the histogram: well
        inside the background peak and well inside the objects.

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 (undecided), 1 (background) or 2 (object).

    Examples
    --------
    >>> gradient_markers(np.array([[10, 100, 200]], np.uint8))
    array([[1, 0, 2]], dtype=int32)
    """
    arr = _gray(image)
    low, high = _finite_number(low, "low"), _finite_number(high, "high")
    if not low < high:
        raise ValueError(f"low should be below high, got low={low} and high={high}; for coins try low=30, high=150.")
    markers = np.zeros(arr.shape, np.int32)
    markers[arr < low] = 1
    markers[arr > high] = 2
    if not (markers == 1).any() or not (markers == 2).any():
        raise ValueError(
            f"with low={low} and high={high} the image (values {arr.min()}..{arr.max()}) has no "
            f"{'background' if not (markers == 1).any() else 'object'} marker; move the thresholds into the "
            "histogram's two peaks."
        )
    return markers


def marker_watershed_mask(image, low: float = 30, high: float = 150) -> np.ndarray:
    """Foreground by the classical marker watershed on a gradient image.

    The watershed of Beucher & Meyer (1993) floods a *landscape* from
    markers. Here the landscape is the Sobel gradient magnitude, high on
    edges and low inside flat regions, and the markers come from
    :func:`gradient_markers`. The background flood and the object flood meet
    on the ridges of the gradient, that is on the objects' edges, so the
    boundary follows the strongest edge between the two markers instead of a
    fixed intensity.

    Parameters
    ----------
    image : array_like, shape (H, W)
    low, high : float
        See :func:`gradient_markers`.

    Returns
    -------
    ndarray of bool, shape (H, W)
        The pixels flooded from the object markers.

    Examples
    --------
    >>> from skimage.data import coins
    >>> round(float(marker_watershed_mask(coins()).mean()), 2)
    0.33
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    arr = _gray(image)
    markers = gradient_markers(arr, low, high)
    landscape = sobel(arr.astype(np.float64))
    return watershed(landscape, markers) == 2


def canny_fill_mask(image, sigma: float = 1.0) -> np.ndarray:
    """Foreground from edges: Canny's edge map (Canny 1986), then hole filling.

    Canny smooths with a Gaussian of width ``sigma``, keeps the local maxima
    of the gradient along its direction and links them with two thresholds
    (scikit-image's defaults: 10 % and 20 % of the dtype's range). An object
    whose outline is a *closed* curve of edge pixels is then filled; an
    object with a gap in its outline stays an empty ring, which the caller's
    small-object removal usually drops. That is the method's weakness.

    Parameters
    ----------
    image : array_like, shape (H, W)
    sigma : float
        Smoothing before edge detection, in pixels. Larger values close
        small gaps but round off corners.

    Returns
    -------
    ndarray of bool, shape (H, W)

    Examples
    --------
    >>> m = np.zeros((20, 20), np.uint8); m[5:15, 5:15] = 200
    >>> int(canny_fill_mask(m).sum()) >= 80
    True
    """
    from scipy import ndimage as ndi
    from skimage.feature import canny

    arr = _gray(image)
    sigma = check_in_range(sigma, "sigma", 0.0, np.inf)
    edges = canny(_as_float01(arr), sigma=sigma)
    return ndi.binary_fill_holes(edges)


# -- superpixels ------------------------------------------------------------
def slic_superpixels(image, n_segments: int = 400, compactness: float = 0.3) -> np.ndarray:
    """SLIC superpixels (Achanta et al. 2012): k-means in space and intensity.

    SLIC places about ``n_segments`` seeds on a grid and clusters pixels by
    a distance that mixes intensity (or colour) difference and spatial
    distance, which gives compact tiles that follow strong edges.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
        Integer images are scaled to [0, 1] first.
    n_segments : int
        Approximate number of superpixels.
    compactness : float
        Weight of space against intensity. For grayscale in [0, 1], values
        around 0.05-0.5 (smaller follows edges more closely, larger gives
        squarer tiles). RGB images are converted to CIELAB, whose values run
        to 100, so use about 10 for them.

    Returns
    -------
    ndarray of int32, shape (H, W)
        Superpixel labels starting at 1.
    """
    from skimage.segmentation import slic

    # ~50 bytes of working memory per pixel in skimage's slic.
    arr = check_pixel_budget(check_image(image), "image", limit=_MAX_SLIC_PIXELS, what="slic_superpixels")
    n_segments = check_positive_int(n_segments, "n_segments", minimum=2)
    compactness = check_in_range(compactness, "compactness", 1e-9, np.inf)
    f = _as_float01(arr)
    channel_axis = -1 if f.ndim == 3 else None
    if f.ndim == 3:
        f = f[..., :3]
    return slic(f, n_segments=n_segments, compactness=compactness, channel_axis=channel_axis,
                start_label=1).astype(np.int32)


def felzenszwalb_superpixels(image, scale: float = 100.0, sigma: float = 0.8, min_size: int = 50) -> np.ndarray:
    """Graph-based superpixels (Felzenszwalb & Huttenlocher 2004).

    Pixels are nodes of a graph whose edges weigh intensity differences;
    regions merge greedily while the edge between them is weaker than the
    variation inside them (plus ``scale`` / region size). Unlike SLIC, the
    regions have any shape and size.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
    scale : float
        Larger values give larger regions.
    sigma : float
        Gaussian smoothing before segmenting.
    min_size : int
        Smallest region, in pixels.

    Returns
    -------
    ndarray of int32, shape (H, W)
        Region labels starting at 1.
    """
    from skimage.segmentation import felzenszwalb

    # skimage's graph holds ~300 bytes per pixel: 10.8 GB for a 6000 x 6000 photograph.
    arr = check_pixel_budget(check_image(image), "image", limit=_MAX_FELZENSZWALB_PIXELS,
                             what="felzenszwalb_superpixels")
    # Bounded by the image: a larger blur or smallest region means nothing, and overflows skimage's integers.
    scale = check_in_range(scale, "scale", 1e-9, 1e12)
    sigma = check_in_range(sigma, "sigma", 0.0, float(max(arr.shape[:2])))
    min_size = _nonneg_int(min_size, "min_size")
    if min_size > arr.shape[0] * arr.shape[1]:
        raise ValueError(f"min_size should be at most the image's {arr.shape[0] * arr.shape[1]:,} pixels, "
                         f"got {min_size}.")
    f = _as_float01(arr)
    channel_axis = -1 if f.ndim == 3 else None
    if f.ndim == 3:
        f = f[..., :3]
    return (felzenszwalb(f, scale=scale, sigma=sigma, min_size=min_size, channel_axis=channel_axis) + 1).astype(np.int32)


def superpixel_foreground(image, superpixels, threshold=None) -> np.ndarray:
    """Foreground made of whole superpixels: those whose mean is above a threshold.

    The rule: a superpixel is foreground when its mean intensity is above
    ``threshold`` (Otsu's threshold of the image by default). Averaging over
    a superpixel removes the dark details inside bright objects that a
    pixel-wise threshold cuts out.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grayscale, in its own units.
    superpixels : array_like of int, shape (H, W)
        From :func:`slic_superpixels` or :func:`felzenszwalb_superpixels`.
    threshold : float or None

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    arr = _gray(image)
    sp = check_mask(superpixels, "superpixels", ndim=2)
    check_same_shape(arr, sp, ("image", "superpixels"))
    if sp.size == 0:
        raise ValueError("superpixels is empty; expected one label per pixel of image.")
    if sp.min() < 0:
        raise ValueError(f"superpixels should hold non-negative labels, got {sp.min()}.")
    if threshold is None:
        threshold = otsu_threshold(arr)
    threshold = _number(threshold, "threshold")
    # Only the ids matter, not their values: numbering them 0..n-1 keeps the
    # work proportional to the image even for ids near 1e12 or 2**63.
    _, flat = np.unique(sp.ravel(), return_inverse=True)
    sums = np.bincount(flat, weights=arr.ravel().astype(np.float64))
    counts = np.bincount(flat)
    return (sums / counts)[flat].reshape(sp.shape) > threshold


# -- clustering -------------------------------------------------------------
def kmeans_clusters(image, n_clusters: int = 2, seed: int = 0, sample_size: int = 20000) -> np.ndarray:
    """Cluster pixels by intensity (or colour) with k-means.

    Each pixel is a point: its intensity for a grayscale image, its (R, G,
    B) values for a colour one. ``sklearn.cluster.KMeans`` (Lloyd's
    algorithm with k-means++ seeding, Arthur & Vassilvitskii 2007) is fitted
    on a random sample of ``sample_size`` pixels, which gives the same
    centres as the full image to within a grey level at a fraction of the
    cost, then every pixel is assigned to its nearest centre.

    For a grayscale image and two clusters, Lloyd's algorithm stops where
    each centre is the mean of its cluster and the boundary lies halfway
    between the centres, ``t = (mu0 + mu1) / 2``: the fixed point of the
    Ridler & Calvard (1978) "ISODATA" threshold. It reaches *a* fixed point,
    not necessarily the best split. Otsu's method instead tries every
    threshold and returns the global optimum of the between-class variance.
    On the coins' histogram, two groups (dark table, bright coins) without a
    deep valley between them, the two agree.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
    n_clusters : int
    seed : int
        Fixes the sample and k-means++ seeding, so results repeat.
    sample_size : int

    Returns
    -------
    ndarray of int32, shape (H, W)
        Cluster index 0..n_clusters-1, **ordered by brightness** (0 is the
        darkest centre), so the numbering does not depend on the seed.

    Examples
    --------
    >>> img = np.array([[0, 0, 255, 255]], np.uint8)
    >>> kmeans_clusters(img, 2)
    array([[0, 0, 1, 1]], dtype=int32)
    """
    from sklearn.cluster import KMeans

    arr = check_image(image)
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    seed = check_seed(seed)
    sample_size = check_positive_int(sample_size, "sample_size", minimum=n_clusters)  # k-means needs a point per centre
    f = _as_float01(arr)
    points = f.reshape(-1, 1) if f.ndim == 2 else f[..., :3].reshape(-1, min(f.shape[-1], 3))
    n_distinct = len(np.unique(points, axis=0)) if len(points) <= 100000 else n_clusters
    if n_distinct < n_clusters:
        raise ValueError(
            f"the image has {n_distinct} distinct values, fewer than n_clusters={n_clusters}. "
            "Lower n_clusters."
        )
    rng = np.random.default_rng(seed)
    fit_points = points if len(points) <= sample_size else points[rng.choice(len(points), sample_size, replace=False)]
    model = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(fit_points)
    raw = model.predict(points)
    order = np.argsort(model.cluster_centers_.sum(axis=1))
    rank = np.empty(n_clusters, np.int32)
    rank[order] = np.arange(n_clusters, dtype=np.int32)
    return rank[raw].reshape(f.shape[:2])


# -- whole pipelines --------------------------------------------------------
def _global(image, threshold: float = 100.0, clean: bool = False):
    mask = threshold_mask(image, threshold)
    return label_components(clean_mask(mask) if clean else mask)


def _otsu(image, clean: bool = False):
    mask = threshold_mask(image, otsu_threshold(image))
    return label_components(clean_mask(mask) if clean else mask)


def _otsu_clean(image, opening_radius: int = 2, min_size: int = 100):
    mask = threshold_mask(image, otsu_threshold(image))
    return label_components(clean_mask(mask, opening_radius, True, min_size))


def _local_clean(image, block_size: int = 101, offset: float = -10.0, opening_radius: int = 2, min_size: int = 100):
    mask = local_threshold_mask(image, block_size, offset)
    return label_components(clean_mask(mask, opening_radius, True, min_size))


def _watershed(image, threshold=None, min_distance: int = 20, opening_radius: int = 2,
               compactness: float = 0.0, min_size: int = 100):
    return threshold_watershed(image, threshold, min_distance, opening_radius, compactness, min_size)


def _marker_watershed(image, low: float = 30, high: float = 150, min_size: int = 100):
    mask = marker_watershed_mask(image, low, high)
    return label_components(clean_mask(mask, 0, True, min_size))


def _canny_fill(image, sigma: float = 1.0, min_size: int = 100):
    mask = canny_fill_mask(image, sigma)
    return label_components(clean_mask(mask, 0, False, min_size))


def _slic(image, n_segments: int = 400, compactness: float = 0.3, min_size: int = 100):
    mask = superpixel_foreground(image, slic_superpixels(image, n_segments, compactness))
    return label_components(clean_mask(mask, 0, True, min_size))


def _felzenszwalb(image, scale: float = 100.0, sigma: float = 0.8, min_size: int = 100):
    mask = superpixel_foreground(image, felzenszwalb_superpixels(image, scale, sigma, 50))
    return label_components(clean_mask(mask, 0, True, min_size))


def _kmeans(image, n_clusters: int = 2, seed: int = 0, min_size: int = 100):
    clusters = kmeans_clusters(image, n_clusters, seed)
    # Rule: the brightest cluster is foreground (coins are brighter than the table).
    return label_components(clean_mask(clusters == n_clusters - 1, 2, True, min_size))


#: Every pipeline of notebook 02: name -> (function, one-line description).
#: Defaults were tuned by hand on scikit-image's coins photograph.
METHODS = {
    "global": (_global, "global threshold at 100, raw"),
    "otsu": (_otsu, "Otsu threshold, raw"),
    "otsu_clean": (_otsu_clean, "Otsu + opening, hole filling, small-object removal"),
    "local_clean": (_local_clean, "local (adaptive) threshold + clean-up"),
    "watershed": (_watershed, "Otsu + clean-up + watershed on the distance transform"),
    "marker_watershed": (_marker_watershed, "watershed on the Sobel gradient, markers < 30 and > 150, + fill, objects < 100 px removed"),
    "canny_fill": (_canny_fill, "Canny edges (sigma 1) + hole filling + small-object removal"),
    "slic": (_slic, "SLIC superpixels with mean above Otsu + hole filling"),
    "felzenszwalb": (_felzenszwalb, "Felzenszwalb superpixels with mean above Otsu + hole filling"),
    "kmeans": (_kmeans, "k-means on intensity, brightest cluster + clean-up"),
}


def segment(image, method: str = "otsu_clean", **params) -> np.ndarray:
    """Run one of the pipelines in :data:`METHODS` and return instance labels.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A grayscale image.
    method : str
        A key of :data:`METHODS`.
    **params
        Overrides of that pipeline's defaults, e.g. ``threshold=90`` for
        ``"global"`` or ``min_distance=20`` for ``"watershed"``.

    Returns
    -------
    ndarray of int32, shape (H, W)

    Examples
    --------
    >>> from skimage.data import coins
    >>> int(segment(coins(), "global", threshold=100, clean=True).max())
    23
    """
    from ._validate import check_choice

    check_choice(method, "method", METHODS)
    function = METHODS[method][0]
    allowed = [p for p in inspect.signature(function).parameters if p != "image"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"method {method!r} has no parameter(s) {unknown}; it accepts {allowed}."
        )
    _gray(image)
    return function(image, **params)


def score_methods(image, truth_labels, methods=None, thresholds=None) -> list[dict]:
    """Score every pipeline against a ground truth, for one comparison table.

    Parameters
    ----------
    image : array_like, shape (H, W)
    truth_labels : array_like of int, shape (H, W)
        Ground-truth instance labels (0 = background).
    methods : list of str or dict, optional
        Keys of :data:`METHODS` (defaults), or a dict ``{row name: (method,
        params)}``. Default: every method with its defaults.
    thresholds : sequence of float, optional
        IoU thresholds for the mean instance score, passed to
        :func:`segtutor.metrics.instance_scores` (its default if None).

    Returns
    -------
    list of dict
        One row per method with keys ``method``, ``objects`` (instances
        found), ``iou`` and ``dice`` (foreground, pixel level), ``f1@0.5``
        (instance F1 at IoU 0.5), ``mean_score`` (mean Data Science Bowl
        2018 score over the thresholds) and ``seconds``.
    """
    from . import metrics

    arr = _gray(image)
    truth = check_mask(truth_labels, "truth_labels", ndim=2)
    check_same_shape(arr, truth, ("image", "truth_labels"))
    if methods is None:
        methods = list(METHODS)
    if isinstance(methods, str) or not isinstance(methods, (list, tuple, dict)):
        raise TypeError(f"methods should be a list of method names such as ['otsu', 'watershed'], or a dict "
                        f"{{row name: (method, params)}}, got {methods!r:.80}.")
    if not isinstance(methods, dict):
        for name in methods:
            check_choice(name, "methods", METHODS)
        methods = {name: (name, {}) for name in methods}
    for row_name, spec in methods.items():
        # Each value is a pair; a bare method name would be unpacked letter by letter.
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)):
            raise TypeError(f"methods[{row_name!r}] should be a pair (method, params) such as ('otsu', {{}}), "
                            f"got {spec!r:.80}.")
        check_choice(spec[0], f"methods[{row_name!r}]", METHODS)
    kwargs = {} if thresholds is None else {"thresholds": thresholds}
    rows = []
    for row_name, (method, params) in methods.items():
        start = time.perf_counter()
        labels = segment(arr, method, **params)
        seconds = time.perf_counter() - start
        scores = metrics.instance_scores(labels, truth, **kwargs)
        at_half = metrics.instance_scores(labels, truth, thresholds=0.5)
        rows.append(
            {
                "method": row_name,
                "objects": int(labels.max()),
                "iou": float(metrics.iou(labels > 0, truth > 0)),
                "dice": float(metrics.dice(labels > 0, truth > 0)),
                "f1@0.5": float(at_half.f1[0]),
                "mean_score": float(scores.mean_dsb_score),
                "seconds": seconds,
            }
        )
    return rows


def format_table(rows, digits: int = 3, columns=("method", "objects", "iou", "dice", "f1@0.5", "mean_score")) -> str:
    """Format :func:`score_methods` rows as a plain-text table.

    Numbers are rounded to ``digits``; the ``seconds`` column is left out by
    default because timings differ between machines.
    """
    digits = check_positive_int(digits, "digits", minimum=0)
    if digits > 15:
        raise ValueError(f"digits should be at most 15 (float64 precision), got {digits}.")
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"columns should be a tuple of column names such as ('method', 'iou'), got {columns!r:.80}.")
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows should be the list of dicts score_methods returns, got {type(rows).__name__}.")
    if not rows:
        raise ValueError("rows is empty; pass the list returned by score_methods.")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise ValueError(f"columns {missing} are not in the rows; available: {list(rows[0])}.")

    def cell(v):
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    table = [list(columns)] + [[cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = []
    for k, line in enumerate(table):
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- drawing ----------------------------------------------------------------
def instance_overlay(image, labels, thickness: int = 2, fill: float = 0.0) -> np.ndarray:
    """Draw each instance's contour in its own colour over the image.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
    labels : array_like of int, shape (H, W)
    thickness : int
        Contour width in pixels (drawn inside each object).
    fill : float
        Opacity in [0, 1] of a tint of each object's colour over its inside.
        Outline plus a light fill reads for colour-blind viewers too: the
        outline carries the shape, the fill says which pixels belong.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Notes
    -----
    Object ``i`` gets colour ``(i - 1) % 7`` of Okabe and Ito's colour-blind
    safe palette, so the same label always has the same colour; see
    :func:`match_labels` to keep colours steady while a parameter changes.

    Examples
    --------
    >>> labels = np.zeros((8, 8), int); labels[2:6, 2:6] = 1
    >>> instance_overlay(np.zeros((8, 8)), labels, thickness=1, fill=0.5).shape
    (8, 8, 3)
    """
    from skimage.morphology import disk, erosion

    arr = check_image(image)
    lab = check_mask(labels, "labels", ndim=2, nonnegative=True).astype(np.int64)
    check_same_shape(arr[..., 0] if arr.ndim == 3 else arr, lab, ("image", "labels"))
    thickness = check_positive_int(thickness, "thickness")
    if thickness > max(lab.shape):
        raise ValueError(f"thickness should be at most the image's size ({max(lab.shape)} pixels), got {thickness}; "
                         "a contour 1-5 pixels wide reads best.")
    fill = check_in_range(fill, "fill", 0.0, 1.0)
    f = _as_float01(arr) if arr.dtype != np.float64 else np.clip(arr, 0, 1)
    rgb = np.repeat(f[..., None], 3, axis=-1) if f.ndim == 2 else f[..., :3].copy()
    rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    inside = lab > 0
    if fill > 0 and inside.any():
        colours = _PALETTE[(lab[inside] - 1) % len(_PALETTE)].astype(np.float32)
        rgb[inside] = (rgb[inside] * (1.0 - fill) + colours * fill + 0.5).astype(np.uint8)
    # Inner contour: an object's pixels that its eroded self no longer covers.
    eroded = erosion(lab, disk(thickness)) if thickness > 1 else erosion(lab)
    contour = inside & (eroded != lab)
    rgb[contour] = _PALETTE[(lab[contour] - 1) % len(_PALETTE)]
    return rgb


def match_labels(labels, reference) -> np.ndarray:
    """Renumber ``labels`` so each object keeps the id of the ``reference`` object it overlaps most.

    A widget that recomputes instances on every slider move numbers them
    afresh each time, so with colours by label every object would change
    colour on each step, which looks like a much bigger change than it is.
    Matching to the previous step keeps an object's colour while it stays
    the same object: pairs are taken greedily by overlap (largest first),
    one to one; objects with no partner get ids the reference does not use.

    Parameters
    ----------
    labels, reference : array_like of int, shape (H, W)
        Instance labels, 0 = background.

    Returns
    -------
    ndarray of int32, shape (H, W)
        ``labels`` renumbered; the partition into objects is unchanged.

    Examples
    --------
    >>> a = np.array([[1, 1, 0, 2, 2]]); b = np.array([[2, 2, 0, 1, 1]])
    >>> match_labels(a, b)
    array([[2, 2, 0, 1, 1]], dtype=int32)
    """
    lab = check_mask(labels, "labels", ndim=2).astype(np.int64)
    ref = check_mask(reference, "reference", ndim=2).astype(np.int64)
    check_same_shape(lab, ref, ("labels", "reference"))
    if lab.min(initial=0) < 0 or ref.min(initial=0) < 0:
        raise ValueError("labels and reference should be non-negative instance labels (0 = background).")
    ids, inverse = _compact_ids(lab)
    # Overlap counts of every (new object, reference object) pair in one
    # bincount over a joint index: milliseconds, where np.unique over pairs took tens.
    ref_ids, ref_inverse = _compact_ids(ref)
    both = (lab > 0) & (ref > 0)
    joint = inverse[both].astype(np.int64) * len(ref_ids) + ref_inverse[both]
    overlap = np.bincount(joint, minlength=len(ids) * len(ref_ids))
    pairs = np.flatnonzero(overlap)
    mapping = {}
    used = set()
    for k in pairs[np.argsort(-overlap[pairs], kind="stable")]:
        new, old = divmod(int(k), len(ref_ids))
        if new not in mapping and old not in used:
            mapping[new] = int(ref_ids[old])
            used.add(old)
    next_id = int(ref.max(initial=0)) + 1
    table = np.zeros(len(ids), np.int64)
    for i, value in enumerate(ids):
        if value == 0:
            continue
        if i in mapping:
            table[i] = mapping[i]
        else:
            table[i] = next_id
            next_id += 1
    return table[inverse].astype(np.int32)


def _compact_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(labels, return_inverse=True)`` for non-negative ints, without sorting."""
    top = int(labels.max(initial=0))
    if top > 4 * labels.size:  # sparse huge ids: a lookup table would be wasteful
        ids, inverse = np.unique(labels, return_inverse=True)
        return ids, inverse.reshape(labels.shape)
    ids = np.flatnonzero(np.bincount(labels.ravel(), minlength=1))
    lookup = np.zeros(top + 1, np.int64)
    lookup[ids] = np.arange(len(ids))
    return ids, lookup[labels]


# Okabe and Ito's colour-blind-safe palette (2008), without its black: every
# pair stays distinguishable under protanopia, deuteranopia and tritanopia.
_PALETTE = np.array(
    [[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66], [0, 114, 178],
     [213, 94, 0], [204, 121, 167]],
    dtype=np.uint8,
)
