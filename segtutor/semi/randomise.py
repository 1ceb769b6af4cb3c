"""Source images with a randomised microscope look: domain randomisation of the labelled images.

AdaBN (:func:`~segtutor.semi.adapt.adapt_batch_norm`) can only undo a
per-channel shift and scale of the features. What it cannot undo is a look the
network never saw: shot noise of a dim camera, a blur wider than the source
optics, glowing out-of-focus nuclei. Confident pseudo-labels cannot teach those
either (they cover the easy pixels). The labelled images can show them:
*domain randomisation* (Tobin et al. 2017) trains on copies of the labelled
images rendered under random conditions, wide enough that the target's look is
one of them, so the network learns to ignore the conditions. Here each copy is
one labelled source image passed through a random camera, the same physics
:func:`segtutor.datasets.make_nuclei` draws its images with:

1. a gain (brightness), then an additive background level and out-of-focus
   glow (bright discs blurred far beyond the focal plane);
2. a Gaussian blur (a wider point-spread function);
3. shot noise: Poisson counts at a random number of photons per pixel.

The masks do not change: none of these moves a nucleus. The ranges
(:data:`LOOK_RANGES`) are written for 256 x 256 images (lengths scale with the
image) and span from the source look to well past a dim, blurred, glowing
microscope. They are a choice a user makes by *looking* at their unlabelled
images (noisy? blurred? glowing?) and no labels of them; a look outside the
ranges is not covered. No target image enters the training itself: pair it
with AdaBN on the target images (``"randomised source + AdaBN"`` in
:func:`~segtutor.semi.adapt.domain_adaptation`).

Examples
--------
>>> import numpy as np
>>> images = np.full((2, 64, 64, 1), 0.3, np.float32)
>>> copies = randomise_look(images, copies=3, seed=0)
>>> copies.shape, copies.dtype.name, bool(0 <= copies.min() and copies.max() <= 1)
((6, 64, 64, 1), 'float32', True)
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._validate import check_positive_int
from ..datasets.nuclei import FULL_SCALE
from ._checks import check_images, check_seed, check_targets
from .shift import LOOK_SIZE

__all__ = ["LOOK_RANGES", "GLOW_BLUR", "randomise_look", "randomised_source"]

#: Ranges (low, high) each copy draws from, uniformly (``photons`` log-uniformly), for 256 x 256 images:
#: ``gain`` multiplies the image; ``background`` is added (in units of a typical nucleus, as ``make_nuclei``'s);
#: ``glow`` is the expected number of out-of-focus nuclei per 100 x 100 px, of radius ``glow_radius`` px and
#: level ``glow_level``, blurred with sigma :data:`GLOW_BLUR` px; ``blur`` is the extra PSF sigma in px; ``photons``
#: per pixel at a typical nucleus (fewer, noisier).
LOOK_RANGES = MappingProxyType({"gain": (0.6, 1.3), "background": (0.0, 0.6), "glow": (0.0, 8.0),
                                "glow_radius": (6.0, 20.0), "glow_level": (0.05, 0.45), "blur": (0.0, 3.0),
                                "photons": (15.0, 150.0)})

#: PSF sigma (px at 256 x 256) of the out-of-focus glow.
GLOW_BLUR = 10.0



def _one_look(image, rng, scale):
    from scipy import ndimage as ndi

    r = LOOK_RANGES
    h, w = image.shape
    y = image * rng.uniform(*r["gain"])
    glow = np.zeros((h, w), np.float64)
    yy, xx = np.ogrid[:h, :w]
    for _ in range(rng.poisson(rng.uniform(*r["glow"]) * h * w / (1e4 * scale**2))):
        cy, cx, radius = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(*r["glow_radius"]) * scale
        glow += np.where((yy - cy) ** 2 + (xx - cx) ** 2 < radius**2, rng.uniform(*r["glow_level"]), 0.0)
    glow = ndi.gaussian_filter(glow, GLOW_BLUR * scale)
    y = y + (rng.uniform(*r["background"]) + glow) / FULL_SCALE
    y = ndi.gaussian_filter(y, rng.uniform(*r["blur"]) * scale)
    photons = np.exp(rng.uniform(*np.log(r["photons"]))) * FULL_SCALE
    y = rng.poisson(np.clip(y, 0.0, None) * photons) / photons
    return np.clip(y, 0.0, 1.0)


def randomise_look(images, *, copies: int = 3, seed: int = 0) -> np.ndarray:
    """Copies of ``images`` under random microscope conditions (gain, background, glow, blur, shot noise).

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1)
        Labelled images on the generator's fixed [0, 1] scale.
    copies : int
        Randomised copies of each image, 1 to 20.
    seed : int
        Seeds the conditions and the noise.

    Returns
    -------
    ndarray of float32, shape (copies * N, H, W, 1)
        Copy ``k`` of image ``i`` at index ``k * N + i`` (so the masks are
        ``np.concatenate([masks] * copies)``), clipped to [0, 1].

    Examples
    --------
    >>> randomise_look(np.zeros((1, 32, 32)), copies=2).shape
    (2, 32, 32, 1)
    """
    x = check_images(images, "images")[..., 0].astype(np.float64)
    copies = check_positive_int(copies, "copies")
    if copies > 20:
        raise ValueError(f"copies should be at most 20 per image, got {copies}.")
    rng = np.random.default_rng(check_seed(seed))
    scale = np.sqrt(x.shape[1] * x.shape[2]) / LOOK_SIZE
    out = [_one_look(im, rng, scale) for _ in range(copies) for im in x]
    return np.stack(out)[..., None].astype(np.float32)


def randomised_source(source_images, source_masks, *, steps: int, copies: int = 3, seed: int = 0, **training):
    """Train on the labelled source images and ``copies`` randomised copies of each (:func:`randomise_look`).

    The same recipe and budget as :func:`~segtutor.semi.adapt.source_only`
    (``steps`` steps), on the originals plus the copies.

    Parameters
    ----------
    source_images, source_masks : array_like, (N, H, W[, 1])
    steps : int
    copies : int
    seed : int
        Seeds the copies and the training.
    **training
        ``batch_size``, ``patch_size``, ``learning_rate`` of
        :func:`~segtutor.semi.training.train_supervised`.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from segtutor.semi import make_shift_data
    >>> d = make_shift_data(2, 1, 1, size=32, normalise="fixed")
    >>> randomised_source(d.source.images, d.source.masks, steps=1, patch_size=32).output_shape
    (None, None, None, 1)
    """
    from .training import train_supervised

    x = check_images(source_images, "source_images")
    y = check_targets(source_masks, x, "source_masks")
    seed = check_seed(seed)
    looks = randomise_look(x, copies=copies, seed=(seed + 77) % 2**31)  # not the training's own stream
    xs = np.concatenate([x.astype(np.float32), looks])
    ys = np.concatenate([y] * (copies + 1))
    return train_supervised(xs, ys, steps=steps, seed=seed, **training)[0]
