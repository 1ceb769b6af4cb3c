"""From a semantic mask to instances: split touching objects (notebook 06).

A U-Net says, for every pixel, *whether* it is nucleus; it does not say
*which* nucleus. Touching nuclei form one connected blob. The classical fix,
also what Ronneberger et al. pair their U-Net with, is a **marker-controlled
watershed** (Beucher and Meyer 1993) on the **distance transform** of the
mask: each nucleus has one distance peak at its centre, two touching nuclei
two peaks joined by a saddle, and flooding from one marker per peak draws
the cut along the saddle.

Markers come from the *h-maxima* of the smoothed distance transform: peaks
that rise at least ``h`` pixels above their surroundings. Unlike a minimum
distance between peaks, ``h`` does not depend on how large the nuclei are,
so one setting works for small and large nuclei.

Examples
--------
>>> import numpy as np
>>> yy, xx = np.mgrid[:40, :70]
>>> two = ((yy - 20) ** 2 + (xx - 20) ** 2 < 225) | ((yy - 20) ** 2 + (xx - 46) ** 2 < 225)
>>> int(split_instances(two.astype(float)).max())
2
"""

from __future__ import annotations

import numpy as np

from ._validate import as_array, check_in_range, check_mask, check_positive_int

__all__ = ["split_instances", "distance_markers_h", "unet_weight_map"]


def _probability(prob) -> np.ndarray:
    p = as_array(prob, "prob")
    if p.ndim == 3 and p.shape[-1] == 1:
        p = p[..., 0]
    if p.ndim != 2 or p.size == 0:
        raise ValueError(f"prob should be a 2-D (H, W) map of probabilities, got shape {p.shape}.")
    if not (np.issubdtype(p.dtype, np.number) or p.dtype == bool) or np.iscomplexobj(p):
        raise TypeError(f"prob should hold real numbers in [0, 1], got dtype {p.dtype}.")
    p = p.astype(np.float32)
    if not np.isfinite(p).all():
        raise ValueError("prob contains NaN or infinite values; check the model's input (a NaN image?).")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"prob should lie in [0, 1], got {p.min():.3g} to {p.max():.3g}; is this a logit map?")
    return p


def distance_markers_h(mask, h: float = 0.5, smooth: float = 1.0) -> np.ndarray:
    """One marker per h-maximum of the (smoothed) distance transform of ``mask``.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
    h : float
        How far, in pixels, a peak must rise above the saddle to its
        neighbour to become a marker of its own. Larger: fewer splits.
    smooth : float
        Gaussian sigma applied to the distance transform first (0: none), so
        that ragged outlines do not create spurious peaks.

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 except for one labelled region per marker.
    """
    from scipy import ndimage as ndi
    from skimage.measure import label
    from skimage.morphology import h_maxima

    m = check_mask(mask, "mask", ndim=2).astype(bool)
    if m.size == 0:
        raise ValueError(f"mask is empty (shape {m.shape}); expected at least one pixel.")
    h = check_in_range(h, "h", 0.0, 1e4)
    smooth = check_in_range(smooth, "smooth", 0.0, 100.0)
    distance = ndi.distance_transform_edt(m)
    if smooth:
        distance = ndi.gaussian_filter(distance, smooth) * m
    peaks = (h_maxima(distance, h) > 0) & m
    markers = label(peaks).astype(np.int32)
    # A component too small to have a peak of height h still gets a marker.
    components = label(m)
    missing = np.setdiff1d(np.unique(components[m]), np.unique(components[peaks]))
    if missing.size:
        extra = np.isin(components, missing)
        markers[extra] = label(extra)[extra] + markers.max()
    return markers


def split_instances(prob, threshold: float = 0.5, *, h: float = 0.5, smooth: float = 1.0,
                    min_size: int = 15) -> np.ndarray:
    """Instance labels from a foreground probability map.

    Threshold the map, find one marker per nucleus with
    :func:`distance_markers_h`, flood the negated distance transform from
    the markers inside the mask (watershed), and drop objects smaller than
    ``min_size`` pixels.

    Parameters
    ----------
    prob : array_like, shape (H, W) or (H, W, 1)
        Foreground probabilities in [0, 1] (a 0/1 mask works too).
    threshold : float in (0, 1)
    h, smooth : float
        See :func:`distance_markers_h`.
    min_size : int
        Objects with fewer pixels are removed (specks, slivers).

    Returns
    -------
    ndarray of int32, shape (H, W)
        0 for background, 1..K for the objects.
    """
    from scipy import ndimage as ndi
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential, watershed

    p = _probability(prob)
    threshold = check_in_range(threshold, "threshold", 1e-6, 1 - 1e-6)
    h = check_in_range(h, "h", 0.0, 1e4)
    smooth = check_in_range(smooth, "smooth", 0.0, 100.0)
    min_size = check_positive_int(min_size, "min_size", minimum=0)
    mask = _drop_small(label(p > threshold), min_size) > 0
    if not mask.any():
        return np.zeros(mask.shape, np.int32)
    markers = distance_markers_h(mask, h, smooth)
    distance = ndi.distance_transform_edt(mask)
    labels = _drop_small(watershed(-distance, markers, mask=mask), min_size)
    return relabel_sequential(labels)[0].astype(np.int32)


def _drop_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Set objects with fewer than ``min_size`` pixels to 0."""
    sizes = np.bincount(labels.ravel())
    small = sizes < min_size
    small[0] = False
    return np.where(small[labels], 0, labels)


def unet_weight_map(labels, *, w0: float = 10.0, sigma: float = 5.0) -> np.ndarray:
    """The loss weight map of the U-Net paper, which makes the gaps between touching cells count.

    :math:`w(x) = w_c(x) + w_0 \\exp\\big(-(d_1(x) + d_2(x))^2 / 2\\sigma^2\\big)`, where
    :math:`d_1` and :math:`d_2` are the distances to the nearest and the
    second-nearest object and :math:`w_c` balances the class frequencies
    (Ronneberger et al. 2015, eq. 2). Background pixels squeezed between two
    objects get weights up to :math:`1 + w_0`, so the network is pushed to
    keep them background and the objects apart.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
        Instance labels, 0 for background.
    w0, sigma : float
        The paper's 10 and about 5 pixels.

    Returns
    -------
    ndarray of float32, shape (H, W)

    Examples
    --------
    >>> lab = np.zeros((9, 20), int); lab[2:7, 2:9] = 1; lab[2:7, 11:18] = 2
    >>> w = unet_weight_map(lab)
    >>> bool(w[4, 10] > w[4, 0] > 0)      # the gap between the two objects weighs most
    True
    """
    from scipy import ndimage as ndi

    lab = as_array(labels, "labels")
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels should be a 2-D integer array of instance ids, got shape {lab.shape}, dtype {lab.dtype}.")
    w0 = check_in_range(w0, "w0", 0.0, 1e4)
    sigma = check_in_range(sigma, "sigma", 1e-3, 1e4)
    ids = np.unique(lab[lab > 0])
    foreground = lab > 0
    frac = foreground.mean()
    # Class balance: each class gets total weight 1/2 of the image.
    wc = np.where(foreground, 0.5 / max(frac, 1e-9), 0.5 / max(1 - frac, 1e-9)).astype(np.float32)
    wc /= wc.mean()
    if ids.size < 2:
        return wc
    if ids.size > 500:
        raise ValueError(f"labels has {ids.size} objects; this teaching function stops at 500 (one distance map each).")
    distances = np.stack([ndi.distance_transform_edt(lab != i) for i in ids])
    distances.sort(axis=0)
    border = w0 * np.exp(-((distances[0] + distances[1]) ** 2) / (2 * sigma**2))
    return (wc + np.where(foreground, 0.0, border)).astype(np.float32)
