"""Synthetic fluorescence-microscopy nuclei with instance labels.

A stand-in for DNA-stained (DAPI or Hoechst) nuclei seen through a
widefield microscope, made by a small image-formation model:

1. **Where**: nuclei sit where a clustered point process puts them (a
   Thomas process: Poisson parents with Gaussian-scattered children; Thomas
   1949), mixed with nuclei scattered uniformly. Centres closer than 0.8 of
   the sum of two radii are rejected, so nuclei touch and press against each
   other but never stack.
2. **Shape**: ellipses with a lognormal size, random elongation and
   orientation, and outlines perturbed by low-frequency harmonics (modes
   2-5) of the polar radius. Where two nuclei touch, each pixel goes to the
   nucleus it is deeper inside, which gives the flattened contact line of
   real touching nuclei; touching nuclei keep separate labels.
3. **Brightness**: per-nucleus lognormal brightness (DNA content and stain
   uptake vary), a domed profile (thicker in the middle), and chromatin-like
   texture from band-pass filtered noise.
   A fraction of nuclei can be *condensed* (mitotic or apoptotic): smaller,
   several times brighter, often saturated, and labelled like the others.
4. **Out of focus**: nuclei above or below the focal plane show as dim,
   strongly blurred glow. They are *not* labelled, as in expert annotations
   of widefield images, which outline only the in-focus nuclei.
5. **Debris**: a few small bright specks that are *not* labelled.
6. **Optics**: uneven illumination (vignette times a linear ramp), then
   blur by a Gaussian approximation of the point-spread function
   (Zhang, Zerubia and Olivo-Marin 2007).
7. **Camera**: Poisson shot noise at a chosen photon count plus Gaussian
   read noise, then scaling to [0, 1] with mild saturation.

``vary=True`` draws the density, size, brightness spread, background,
glow, blur and noise of every image from wide ranges instead (domain
randomisation; Tobin et al. 2017). A network trained on such images has seen
many microscopes, so it transfers better to a real one; see notebook 06.

See ``datasets/README.md`` for what is *not* modelled.

Examples
--------
>>> from segtutor.datasets import make_nuclei
>>> images, masks, labels = make_nuclei(2, size=128, seed=0)
>>> images.shape, masks.dtype, labels.dtype
((2, 128, 128), dtype('bool'), dtype('int32'))
>>> bool((masks == (labels > 0)).all())
True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from .._validate import check_bool, check_in_range, check_positive_int, check_seed, check_size_budget

__all__ = ["make_nuclei", "NucleiData", "FULL_SCALE"]

_MIN_SIZE = 32
# Pixels over all images (1,000 images of 256 x 256): about 600 MB of images, masks and labels.
_MAX_PIXELS = 1 << 26
_MIN_GAP = 0.8  # centres closer than this fraction of r_i + r_j are rejected
_CLUSTER_MEAN = 4.0  # mean nuclei per cluster
_BACKGROUND = 0.05  # autofluorescence, relative to a typical nucleus
#: Intensity scale of the images: a typical nucleus sits at 1 / FULL_SCALE of the [0, 1] output range.
FULL_SCALE = 1.6
_CONDENSED_SHRINK = (0.45, 0.75)  # radius of a condensed nucleus, relative to its draw
_CONDENSED_GAIN = (2.5, 6.0)  # and its brightness
_GLOW_BLUR = (0.6, 1.0)  # PSF sigma of an out-of-focus nucleus, in units of its radius


class _Params(NamedTuple):
    """What one image is drawn with (fixed, or drawn per image when ``vary=True``)."""

    n_expected: float
    clustering: float
    mean_radius: float
    photons: float
    read_noise: float
    blur: float
    debris: float
    background: float
    out_of_focus: float  # expected out-of-focus nuclei, like n_expected
    condensed: float  # fraction of in-focus nuclei that are condensed
    spread: float  # sigma of log-brightness across nuclei
    texture: float  # strength of the chromatin texture
    unevenness: float  # how strongly the illumination varies across the field
    # Only vary="wide" changes these; their defaults reproduce the look of vary=False and vary=True exactly.
    elongation: float = 1.6  # largest long/short axis ratio of a nucleus
    wobble: float = 0.06  # sigma of the outline's harmonics (irregular shapes)
    radius_spread: float = 0.25  # sigma of log-radius within one image
    bars: float = 0.0  # fraction of condensed nuclei drawn as mitotic bars (metaphase plates seen edge-on)
    nucleoli: float = 0.0  # relative brightness change at nucleoli (< 0 dark, > 0 bright; 0 none)
    cytoplasm: float = 0.0  # unlabelled cytoplasmic signal, relative to the cell's nucleus (0 none)
    cell_reach: float = 0.0  # how far the cytoplasm reaches beyond the nucleus, in mean radii
    saturate: float = 0.0  # gain before 8-bit quantisation with clipping (0: no quantisation)


class NucleiData(NamedTuple):
    """Images and labels from :func:`make_nuclei`; unpacks as a 3-tuple.

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W)
        Fluorescence intensity in [0, 1].
    masks : ndarray of bool, shape (N, H, W)
        True on nuclei (the semantic mask, ``labels > 0``).
    labels : ndarray of int32, shape (N, H, W)
        0 for background, 1..K_i for the nuclei of image i.
    """

    images: np.ndarray
    masks: np.ndarray
    labels: np.ndarray


def _place_nuclei(rng, size, n_expected, clustering, mean_radius, radius_spread=0.25):
    """Return centres (K, 2) and radii (K,) from a clustered point process."""
    n_clustered = rng.poisson(n_expected * clustering)
    n_parents = max(int(round(n_clustered / _CLUSTER_MEAN)), 1 if n_clustered else 0)
    parents = rng.uniform(0, size, (n_parents, 2))
    children = rng.poisson(_CLUSTER_MEAN, n_parents) if n_parents else np.zeros(0, int)
    spread = 1.3 * mean_radius
    clustered = np.repeat(parents, children, axis=0) + rng.normal(0, spread, (children.sum(), 2))
    scattered = rng.uniform(0, size, (rng.poisson(n_expected * (1 - clustering)), 2))
    centres = np.concatenate([clustered, scattered])
    radii = mean_radius * np.exp(rng.normal(0.0, radius_spread, len(centres)))
    radii = np.clip(radii, 0.5 * mean_radius, 2.0 * mean_radius)
    inside = ((centres >= 0) & (centres < size)).all(axis=1)
    centres, radii = centres[inside], radii[inside]
    order = rng.permutation(len(centres))
    kept: list[int] = []
    for i in order:
        if kept:
            gap = np.hypot(*(centres[kept] - centres[i]).T)
            if np.any(gap < _MIN_GAP * (radii[kept] + radii[i])):
                continue
        kept.append(int(i))
    return centres[kept], radii[kept]


def _rasterise_nucleus(rng, cy, cx, radius, size, elongation=(1.0, 1.6), wobble=0.06):
    """Return (y1, x1, rho) with rho = normalised depth (<1 inside) on a local grid."""
    elongation = rng.uniform(*elongation)
    a, b = radius * np.sqrt(elongation), radius / np.sqrt(elongation)  # same area as the circle
    phi = rng.uniform(0, np.pi)
    modes = np.arange(2, 6)
    amplitude = rng.normal(0.0, wobble, modes.size) / modes
    phase = rng.uniform(0, 2 * np.pi, modes.size)
    reach = int(np.ceil(a * (1 + np.abs(amplitude).sum()))) + 1
    y1, x1 = max(int(cy) - reach, 0), max(int(cx) - reach, 0)
    y2, x2 = min(int(cy) + reach + 1, size), min(int(cx) + reach + 1, size)
    dy = np.arange(y1, y2, dtype=np.float32)[:, None] + 0.5 - cy
    dx = np.arange(x1, x2, dtype=np.float32)[None, :] + 0.5 - cx
    u = dx * np.cos(phi) + dy * np.sin(phi)
    v = -dx * np.sin(phi) + dy * np.cos(phi)
    theta = np.arctan2(v, u)
    wobble = 1.0 + np.tensordot(amplitude, np.cos(modes[:, None, None] * theta + phase[:, None, None]), 1)
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) / wobble
    return y1, x1, rho.astype(np.float32)


def _illumination(rng, size, unevenness=1.0):
    """A smooth multiplicative field: off-centre vignette times a linear ramp.

    ``unevenness`` scales both; at 2.5 one corner gets a few times less light
    than another, as in many real widefield images.
    """
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    centre = rng.uniform(-0.25, 0.25, 2)
    r2 = (coords[:, None] - centre[0]) ** 2 + (coords[None, :] - centre[1]) ** 2
    ramp = unevenness * rng.uniform(-0.3, 0.3, 2)
    field = (1.0 - min(unevenness * rng.uniform(0.15, 0.5), 0.9) * r2 / 0.5) * (
        1.0 + ramp[0] * coords[:, None] + ramp[1] * coords[None, :]
    )
    return np.maximum(field, 0.15).astype(np.float32)


def _chromatin_bank(rng, size):
    """Band-pass noise of unit standard deviation, (2 size, 2 size): chromatin texture.

    Filtering noise for every image would cost more than everything else put
    together, so each image takes a random crop of this one bank instead.
    """
    white = rng.standard_normal((2 * size, 2 * size), dtype=np.float32)
    coarse = ndi.gaussian_filter(white, 2.5, truncate=3.0, mode="wrap")
    fine = ndi.gaussian_filter(white, 0.8, truncate=3.0, mode="wrap") - coarse  # difference of Gaussians
    # Fine speckle plus coarser blotches of about equal strength.
    texture = fine / (fine.std() + 1e-6) + 0.6 * coarse / (coarse.std() + 1e-6)
    return texture / (texture.std() + 1e-6)


def _crop(rng, bank, size):
    y, x = rng.integers(0, bank.shape[0] - size + 1, 2)
    return np.rot90(bank[y : y + size, x : x + size], int(rng.integers(4)))


def _draw_params(rng, fixed: _Params, size: int, radius_range=None) -> _Params:
    """Per-image parameters for ``vary=True``: wide ranges around real widefield images."""
    if radius_range is None:
        mean_radius = size * rng.uniform(0.02, 0.05)
    else:  # log-uniform: as many images with nuclei 4-8 px in radius as 20-40 px
        mean_radius = float(np.exp(rng.uniform(*np.log(radius_range))))
    area = np.pi * mean_radius**2
    coverage = rng.uniform(0.05, 0.35)  # fraction of pixels nuclei would cover before thinning
    return _Params(
        n_expected=coverage * size * size / area,
        clustering=rng.uniform(0.0, 1.0),
        mean_radius=mean_radius,
        photons=float(np.exp(rng.uniform(np.log(30), np.log(2000)))),
        read_noise=rng.uniform(0.0, 6.0),
        blur=mean_radius * rng.uniform(0.05, 0.3),  # labelled nuclei may be somewhat out of focus
        debris=rng.uniform(0.0, 3.0),
        background=rng.uniform(0.02, 0.5),
        out_of_focus=(rng.uniform(0.0, 0.25) if rng.random() < 0.7 else 0.0) * size * size / area,
        condensed=rng.uniform(0.0, 0.15) if rng.random() < 0.7 else 0.0,
        spread=rng.uniform(0.15, 0.7),
        texture=rng.uniform(0.05, 0.3),
        unevenness=rng.uniform(0.5, 2.5),
    )


def _draw_wide(rng, fixed: _Params, size: int, radius_range=None) -> _Params:
    """Per-image parameters for ``vary="wide"``: ``vary=True``'s ranges plus what real fields add.

    Dense clusters, irregular and elongated nuclei, a wider size spread,
    mitotic bars, nucleoli, cytoplasmic signal in the DNA channel, confocal
    (sharp, no glow) or widefield (blurred) optics, and 8-bit cameras that
    saturate the brightest nuclei.
    """
    p = _draw_params(rng, fixed, size, radius_range)
    area = np.pi * p.mean_radius**2
    confocal = rng.random() < 0.35  # a confocal maximum projection: sharp, little out-of-focus light
    changes = dict(
        n_expected=rng.uniform(0.05, 0.5) * size * size / area,  # up to dense, pressed clusters
        clustering=rng.uniform(0.2, 1.0),
        elongation=rng.uniform(1.3, 2.6),
        wobble=rng.uniform(0.03, 0.16),
        radius_spread=rng.uniform(0.12, 0.4),
        condensed=rng.uniform(0.0, 0.2) if rng.random() < 0.8 else 0.0,
        bars=rng.uniform(0.2, 0.7),
        nucleoli=(rng.uniform(-0.6, -0.2) if rng.random() < 0.7 else rng.uniform(0.2, 0.7))
        if rng.random() < 0.6 else 0.0,
        cytoplasm=rng.uniform(0.05, 0.4) if rng.random() < 0.45 else 0.0,
        cell_reach=rng.uniform(0.6, 2.0),
        saturate=float(np.exp(rng.uniform(0.0, np.log(2.2)))) if rng.random() < 0.5 else 0.0,
    )
    if confocal:
        changes.update(blur=p.mean_radius * rng.uniform(0.02, 0.08), out_of_focus=0.0,
                       background=rng.uniform(0.0, 0.1))
    else:  # widefield: up to 0.45 of the radius of blur
        changes.update(blur=p.mean_radius * rng.uniform(0.05, 0.45))
    return p._replace(**changes)


def _nucleoli(rng, size, centres, radii, p: _Params) -> np.ndarray:
    """1 + the relative brightness change from 1-4 nucleoli per nucleus (dark with DAPI/Hoechst, bright with RNA dyes)."""
    spots = np.zeros((size, size), np.float32)
    for (cy, cx), radius in zip(centres, radii):
        for _ in range(1 + rng.poisson(1.0)):
            angle, reach = rng.uniform(0, 2 * np.pi), radius * rng.uniform(0.0, 0.5)
            sy, sx, sr = cy + reach * np.sin(angle), cx + reach * np.cos(angle), radius * rng.uniform(0.1, 0.25)
            y1, y2 = max(int(sy - sr), 0), min(int(sy + sr) + 2, size)
            x1, x2 = max(int(sx - sr), 0), min(int(sx + sr) + 2, size)
            if y1 >= y2 or x1 >= x2:
                continue
            yy, xx = np.ogrid[y1:y2, x1:x2]
            inside = (yy + 0.5 - sy) ** 2 + (xx + 0.5 - sx) ** 2 < sr**2
            spots[y1:y2, x1:x2] = np.maximum(spots[y1:y2, x1:x2], inside)
    spots = ndi.gaussian_filter(spots, max(0.5, 0.06 * p.mean_radius))
    return 1.0 + p.nucleoli * spots


def _cytoplasm(rng, bank, labels, brightness, p: _Params) -> np.ndarray:
    """Dim, unlabelled signal around each nucleus, as many DNA dyes leave in the cytoplasm."""
    size = labels.shape[0]
    if labels.max() == 0:
        return np.zeros_like(labels, np.float32)
    distance, (iy, ix) = ndi.distance_transform_edt(labels == 0, return_indices=True)
    owner = labels[iy, ix]
    reach = p.cell_reach * p.mean_radius * np.exp(rng.normal(0.0, 0.2, int(labels.max()) + 1))[owner]
    falloff = np.clip(1.0 - distance / reach, 0.0, 1.0) ** 0.5
    blotches = np.clip(1.0 + 0.5 * _crop(rng, bank, size), 0.2, None)
    cyto = p.cytoplasm * brightness[owner] * falloff * blotches
    return ndi.gaussian_filter(cyto.astype(np.float32), max(1.0, 0.15 * p.mean_radius))


def _glow(rng, size, p: _Params) -> np.ndarray:
    """Unlabelled out-of-focus nuclei: domed discs, dimmer, blurred far more than the focal plane."""
    n = rng.poisson(p.out_of_focus)
    glow = np.zeros((size, size), np.float32)
    if n == 0:
        return glow
    for cy, cx, radius, level in zip(rng.uniform(0, size, n), rng.uniform(0, size, n),
                                     p.mean_radius * np.exp(rng.normal(0.0, 0.25, n)),
                                     rng.uniform(0.05, 0.45, n)):
        y1, y2 = max(int(cy - radius), 0), min(int(cy + radius) + 2, size)
        x1, x2 = max(int(cx - radius), 0), min(int(cx + radius) + 2, size)
        yy, xx = np.ogrid[y1:y2, x1:x2]
        r2 = ((yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2) / radius**2
        glow[y1:y2, x1:x2] += np.where(r2 < 1, level * (0.7 + 0.3 * (1 - r2)), 0).astype(np.float32)
    # Defocus blurs in proportion to the object: a nucleus a few microns off
    # the focal plane loses its edge entirely, not by a pixel or two.
    return ndi.gaussian_filter(glow, max(p.blur, p.mean_radius * rng.uniform(*_GLOW_BLUR)))


def _one_image(rng, bank, size, p: _Params):
    centres, radii = _place_nuclei(rng, size, p.n_expected, p.clustering, p.mean_radius, p.radius_spread)
    condensed = rng.random(len(radii)) < p.condensed
    radii = np.where(condensed, radii * rng.uniform(*_CONDENSED_SHRINK, len(radii)), radii)
    # Mitotic bars: a metaphase plate seen edge-on is a long, thin, bright rod.
    bars = condensed & (rng.random(len(radii)) < p.bars) if p.bars > 0 else np.zeros(len(radii), bool)
    labels = np.zeros((size, size), np.int32)
    depth = np.full((size, size), np.inf, np.float32)  # rho of the owning nucleus
    for k, ((cy, cx), radius) in enumerate(zip(centres, radii), start=1):
        y1, x1, rho = _rasterise_nucleus(rng, cy, cx, radius, size,
                                         (2.5, 4.5) if bars[k - 1] else (1.0, p.elongation), p.wobble)
        region = (slice(y1, y1 + rho.shape[0]), slice(x1, x1 + rho.shape[1]))
        # A pixel belongs to the nucleus it is deepest inside: touching nuclei
        # meet along a flattened contact line instead of overlapping.
        claim = (rho < 1.0) & (rho < depth[region])
        labels[region][claim] = k
        depth[region][claim] = rho[claim]

    # Drop labels that neighbours swallowed whole, then number 1..K again.
    present = np.bincount(labels.ravel(), minlength=len(radii) + 1) > 0
    present[0] = True
    relabel = np.cumsum(present) - 1
    labels = relabel[labels].astype(np.int32)
    n_nuclei = int(present.sum()) - 1

    brightness = np.exp(rng.normal(0.0, p.spread, n_nuclei)).astype(np.float32)
    gain = np.where(condensed[present[1:]], rng.uniform(*_CONDENSED_GAIN, len(radii))[present[1:]], 1.0)
    brightness = np.concatenate([[0.0], brightness * gain]).astype(np.float32)
    inside = labels > 0
    rho = np.where(inside, np.minimum(depth, 1.0), 1.0)
    profile = 0.7 + 0.3 * (1.0 - rho**2)  # domed: thicker, so brighter, in the middle
    texture = np.clip(1.0 + p.texture * _crop(rng, bank, size), 0.2, None)
    signal = brightness[labels] * profile * texture
    if p.nucleoli:
        plain = present[1:] & ~condensed  # condensed chromatin hides the nucleoli
        signal *= _nucleoli(rng, size, centres[plain], radii[plain], p)
    if p.cytoplasm:
        base = np.concatenate([[0.0], brightness[1:] / gain]).astype(np.float32)  # the cell's, not the mitosis' gain
        signal += _cytoplasm(rng, bank, labels, base, p)

    # Debris: small bright specks, deliberately left out of the labels. A
    # point source becomes a speck of the PSF's size once blurred below.
    n_specks = rng.poisson(p.debris)
    if n_specks:
        ys, xs = rng.integers(0, size, (2, n_specks))
        signal[ys, xs] += rng.uniform(2.0, 8.0, n_specks).astype(np.float32)

    clean = (p.background + signal) * _illumination(rng, size, p.unevenness)
    sigma = p.blur * rng.uniform(0.8, 1.25)
    if sigma > 0:
        clean = ndi.gaussian_filter(clean, sigma)
    clean += _glow(rng, size, p)
    counts = rng.poisson(p.photons * np.clip(clean, 0, None)).astype(np.float32)
    counts += np.float32(p.read_noise) * rng.standard_normal(counts.shape, dtype=np.float32)
    image = np.clip(counts / (p.photons * FULL_SCALE), 0.0, 1.0)
    if p.saturate:  # an 8-bit camera set too bright: 256 grey levels, the brightest nuclei clipped
        image = np.round(np.clip(image * p.saturate, 0.0, 1.0) * 255) / 255
    return image.astype(np.float32), labels


def make_nuclei(
    n_images: int,
    *,
    size: int = 256,
    density: float = 4.0,
    mean_radius: float | None = None,
    clustering: float = 0.5,
    photons: float = 150.0,
    read_noise: float = 3.0,
    blur: float = 1.2,
    debris: float = 3.0,
    background: float = _BACKGROUND,
    out_of_focus: float = 0.0,
    condensed: float = 0.0,
    vary: bool | str = False,
    radius_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> NucleiData:
    """Make fluorescence-microscopy-like images of nuclei with instance labels.

    Parameters
    ----------
    n_images : int
        Number of images, at least 1.
    size : int
        Height and width in pixels, at least 32.
    density : float
        Expected nuclei per 100x100 pixels before touching nuclei are thinned
        out, in [0, 40]. The default gives about 20 nuclei in a 256x256 image.
    mean_radius : float, optional
        Typical nucleus radius in pixels; defaults to ``0.035 * size`` (9 px
        at 256), and at least 2. Radii are lognormal around it (sigma 0.25).
    clustering : float in [0, 1]
        Fraction of nuclei that come in clusters (mean 4 nuclei) rather than
        scattered uniformly.
    photons : float
        Expected photons at a typical nucleus' brightest pixel; lower means
        noisier (shot noise grows as the square root). At least 1.
    read_noise : float
        Standard deviation of the camera's Gaussian read noise, in photons.
    blur : float
        Standard deviation of the Gaussian point-spread function in pixels
        (each image varies it by -20% to +25%); 0 for no blur.
    debris : float
        Mean number of unlabelled bright specks per image.
    background : float
        Background fluorescence relative to a typical nucleus, in [0, 1].
    out_of_focus : float
        Expected out-of-focus nuclei per 100x100 pixels, in [0, 40]: dim,
        blurred glow that is *not* labelled. 0 (the default) adds none.
    condensed : float in [0, 1]
        Fraction of nuclei that are condensed (mitotic or apoptotic):
        smaller and several times brighter, and labelled.
    vary : bool or "wide"
        If True, ignore the appearance parameters above (all but ``size``
        and ``seed``) and draw them for every image from wide ranges
        (domain randomisation): radius 2-5 % of ``size``, nuclei covering
        5-35 % of the image, background 0.02-0.5, 30-2,000 photons, blur
        0.05-0.3 of the radius, up to 2.5 times as uneven illumination, glow, and condensed nuclei in about 70 % of the images.
        ``"wide"`` draws from these ranges and adds what real fields show
        (the shipped nuclei models train on it): dense clusters (up to 50 %
        coverage), elongated (axis ratio up to 2.6) and irregular outlines,
        a wider size spread, mitotic bars, dark or bright nucleoli,
        unlabelled cytoplasmic signal in the same channel (45 % of the
        images), confocal (sharp, no glow; 35 %) or more blurred widefield
        optics, and 8-bit quantisation that saturates the brightest nuclei
        (50 %). ``vary=True`` keeps its look (notebooks 06 and 11 train on it).
    radius_range : (float, float), optional
        Only with ``vary=True`` or ``"wide"``: draw each image's typical nucleus radius
        log-uniformly from this range in pixels (for example ``(4, 40)``,
        the range ``segment_nuclei``'s size handling is checked on) instead
        of 2-5 % of ``size``; the high end may be at most ``size / 4``. The
        number of nuclei follows, so that they still cover 5-35 % of the
        image. None (default) keeps the look notebooks 05-07 use.
    seed : int
        Seed of the random generator; the same seed gives identical arrays.

    Returns
    -------
    NucleiData
        ``images`` (N, size, size) float32 in [0, 1], ``masks`` (N, size,
        size) bool and ``labels`` (N, size, size) int32 with nuclei numbered
        1..K in each image.

    Raises
    ------
    ValueError
        For values outside the ranges above.

    Examples
    --------
    >>> data = make_nuclei(1, size=64, density=10, seed=2)
    >>> int(data.labels.max()) == len(set(data.labels.ravel().tolist())) - 1
    True
    """
    n_images = check_positive_int(n_images, "n_images")
    size = check_positive_int(size, "size")
    if size < _MIN_SIZE:
        raise ValueError(
            f"size={size} is too small; expected at least {_MIN_SIZE} pixels. "
            "Make larger images and crop or downscale them afterwards."
        )
    check_size_budget(size * size, "size", limit=_MAX_PIXELS, what="one image")
    check_size_budget(n_images * size * size, "n_images", limit=_MAX_PIXELS, what="the images")
    density = check_in_range(density, "density", 0.0, 40.0)
    if mean_radius is None:
        mean_radius = max(0.035 * size, 2.0)
    mean_radius = check_in_range(mean_radius, "mean_radius", 2.0, size / 4)
    clustering = check_in_range(clustering, "clustering", 0.0, 1.0)
    photons = check_in_range(photons, "photons", 1.0, 1e6)
    read_noise = check_in_range(read_noise, "read_noise", 0.0, 1e4)
    blur = check_in_range(blur, "blur", 0.0, 5.0)
    debris = check_in_range(debris, "debris", 0.0, 1000.0)
    background = check_in_range(background, "background", 0.0, 1.0)
    out_of_focus = check_in_range(out_of_focus, "out_of_focus", 0.0, 40.0)
    condensed = check_in_range(condensed, "condensed", 0.0, 1.0)
    if isinstance(vary, str):
        if vary != "wide":
            raise ValueError(f"vary should be False, True or 'wide', got {vary!r}.")
    else:
        vary = check_bool(vary, "vary")
    if radius_range is not None:
        if not vary:
            raise ValueError("radius_range works only with vary=True; for one fixed size pass mean_radius instead.")
        if not isinstance(radius_range, (tuple, list)) or len(radius_range) != 2:
            raise ValueError(f"radius_range should be a (low, high) pair of radii in pixels, got {radius_range!r}.")
        low = check_in_range(radius_range[0], "radius_range[0]", 2.0, size / 4)
        high = check_in_range(radius_range[1], "radius_range[1]", low, size / 4)
        radius_range = (low, high)
    seed = check_seed(seed)

    rng = np.random.default_rng(seed)
    per_area = size * size / 1e4
    fixed = _Params(density * per_area, clustering, mean_radius, photons, read_noise, blur, debris,
                    background, out_of_focus * per_area, condensed, 0.3, 0.3, 1.0)
    images = np.empty((n_images, size, size), np.float32)
    labels = np.empty((n_images, size, size), np.int32)
    bank = _chromatin_bank(rng, size)
    for i in range(n_images):
        if vary == "wide":
            params = _draw_wide(rng, fixed, size, radius_range)
        else:
            params = _draw_params(rng, fixed, size, radius_range) if vary else fixed
        images[i], labels[i] = _one_image(rng, bank, size, params)
    return NucleiData(images, labels > 0, labels)
