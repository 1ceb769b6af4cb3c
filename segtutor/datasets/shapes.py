"""Synthetic shapes: a small instance-segmentation data set made in a second.

In the spirit of the "shapes" sample of Matterport's Mask R-CNN, the toy
problem used to teach Mask R-CNN (He et al. 2017): squares, circles and
triangles of random colour, size and rotation on varied backgrounds. Every
instance comes with its own mask, class id and box, so the same data serves
semantic segmentation (:meth:`ShapesData.semantic_masks`) and instance
segmentation.

Shapes are drawn one after another, so later shapes hide parts of earlier
ones; each mask holds only the *visible* pixels. ``overlap`` caps how much of
any instance later shapes may hide.

Examples
--------
>>> from segtutor.datasets import make_shapes
>>> data = make_shapes(4, size=64, seed=1)
>>> data.images.shape, data.images.dtype
((4, 64, 64, 3), dtype('float32'))
>>> data.class_names
('background', 'square', 'circle', 'triangle')
>>> data.masks[0].shape[1:]
(64, 64)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._validate import check_in_range, check_positive_int, check_seed, check_size_budget
from ..boxes import masks_to_boxes

__all__ = ["make_shapes", "ShapesData", "PaddedShapes", "SHAPE_CLASSES", "MIN_SIZE"]

#: The shapes :func:`make_shapes` knows how to draw.
SHAPE_CLASSES = ("square", "circle", "triangle")

#: The smallest image side: below it the smallest shapes are a few pixels.
MIN_SIZE = 32
# Pixels over all images (4,000 images of 128 x 128): about 1 GB of RGB images and masks.
_MAX_PIXELS = 1 << 26

# Shape "radius" (half the side of the bounding square of the unrotated
# shape) as a fraction of the image side.
_RADIUS_RANGE = (0.08, 0.18)
_BACKGROUND_KINDS = ("flat", "gradient", "noise")
_NOISE_SIGMA = 0.035
_MIN_CONTRAST = 0.35  # Euclidean RGB distance between a shape and what lies under it
_PLACEMENT_TRIES = 40
_IMAGE_RESTARTS = 25


class PaddedShapes(NamedTuple):
    """Fixed-shape arrays for ``tf.data``, from :meth:`ShapesData.to_padded`.

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W, 3)
    masks : ndarray of bool, shape (N, M, H, W)
        Padding masks are all False.
    class_ids : ndarray of int32, shape (N, M)
        Padding entries have class id 0 (background).
    boxes : ndarray of int32, shape (N, M, 4)
        Padding boxes are (0, 0, 0, 0).
    n_instances : ndarray of int32, shape (N,)
        How many of the M slots are real instances.
    """

    images: np.ndarray
    masks: np.ndarray
    class_ids: np.ndarray
    boxes: np.ndarray
    n_instances: np.ndarray


@dataclass(frozen=True, eq=False)
class ShapesData:
    """Images and per-instance annotations made by :func:`make_shapes`.

    Attributes
    ----------
    images : ndarray of float32, shape (N, H, W, 3)
        RGB values in [0, 1].
    masks : list of N ndarrays of bool, shape (K_i, H, W)
        One mask per visible instance; no mask is empty and masks of one
        image never overlap (each pixel shows at most one shape).
    class_ids : list of N ndarrays of int32, shape (K_i,)
        1-based indices into ``class_names``; 0 is the background.
    boxes : list of N ndarrays of int32, shape (K_i, 4)
        ``(y1, x1, y2, x2)`` boxes of the masks, ``y2``/``x2`` exclusive
        (see :mod:`segtutor.boxes`).
    class_names : tuple of str
        ``("background", *classes)``.
    """

    images: np.ndarray
    masks: list
    class_ids: list
    boxes: list
    class_names: tuple

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        n_inst = sum(len(c) for c in self.class_ids)
        return (
            f"ShapesData({len(self)} images of {self.images.shape[1]}x{self.images.shape[2]}, "
            f"{n_inst} instances, classes={self.class_names[1:]})"
        )

    def semantic_masks(self) -> np.ndarray:
        """Return one class map per image.

        Returns
        -------
        ndarray of int32, shape (N, H, W)
            The class id of the shape seen at each pixel, 0 for background.

        Examples
        --------
        >>> data = make_shapes(2, size=64, seed=0)
        >>> data.semantic_masks().shape
        (2, 64, 64)
        """
        n, h, w = self.images.shape[:3]
        out = np.zeros((n, h, w), np.int32)
        for i, (m, c) in enumerate(zip(self.masks, self.class_ids)):
            # Visible masks never overlap, so a weighted sum is the class map.
            if len(c):
                out[i] = np.tensordot(c, m, axes=(0, 0))
        return out

    def to_padded(self, max_instances: int | None = None) -> PaddedShapes:
        """Pad every image's annotations to ``max_instances`` slots.

        Parameters
        ----------
        max_instances : int, optional
            Number of slots; defaults to the largest instance count in the
            data.

        Returns
        -------
        PaddedShapes
            Arrays of fixed shape, padded with class id 0, empty masks and
            zero boxes.

        Raises
        ------
        ValueError
            If an image has more instances than ``max_instances``.

        Examples
        --------
        >>> data = make_shapes(3, size=64, max_instances=2, seed=0)
        >>> padded = data.to_padded(5)
        >>> padded.masks.shape, padded.class_ids.shape
        ((3, 5, 64, 64), (3, 5))
        """
        counts = np.array([len(c) for c in self.class_ids], np.int32)
        largest = int(counts.max()) if counts.size else 0
        if max_instances is None:
            max_instances = max(largest, 1)
        max_instances = check_positive_int(max_instances, "max_instances")
        if largest > max_instances:
            raise ValueError(
                f"an image has {largest} instances but max_instances={max_instances}; "
                f"use to_padded({largest}) or to_padded() to pad to the largest count."
            )
        n, h, w = self.images.shape[:3]
        masks = np.zeros((n, max_instances, h, w), bool)
        class_ids = np.zeros((n, max_instances), np.int32)
        boxes = np.zeros((n, max_instances, 4), np.int32)
        for i, k in enumerate(counts):
            masks[i, :k] = self.masks[i]
            class_ids[i, :k] = self.class_ids[i]
            boxes[i, :k] = self.boxes[i]
        return PaddedShapes(self.images, masks, class_ids, boxes, counts)


def _check_classes(classes) -> tuple[str, ...]:
    if isinstance(classes, str):
        classes = (classes,)
    try:
        classes = tuple(classes)
    except TypeError:
        raise ValueError(
            f"classes should be a sequence of shape names from {SHAPE_CLASSES}, got {classes!r}."
        ) from None
    if not classes:
        raise ValueError(f"classes is empty; pick at least one of {SHAPE_CLASSES}.")
    unknown = [c for c in classes if c not in SHAPE_CLASSES]
    if unknown:
        raise ValueError(
            f"unknown shape class(es) {unknown}; expected names from {SHAPE_CLASSES}, "
            "for example classes=('square', 'circle')."
        )
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes {classes} repeats a name; list each shape once.")
    return classes


def _polygon_mask(vertices: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Inside test for a convex polygon given counter-clockwise in (y, x)."""
    inside = np.ones(np.broadcast_shapes(yy.shape, xx.shape), bool)
    for (y0, x0), (y1, x1) in zip(vertices, np.roll(vertices, -1, axis=0)):
        # The pixel centre must lie on the inner side of every edge.
        inside &= (xx - x0) * (y1 - y0) - (yy - y0) * (x1 - x0) <= 0
    return inside


def _rasterise(kind: str, cy: float, cx: float, radius: float, angle: float, size: int):
    """Return ``(y1, x1, local_mask)`` of one shape, drawn at pixel centres."""
    reach = int(np.ceil(radius)) + 1
    y1, x1 = max(int(cy) - reach, 0), max(int(cx) - reach, 0)
    y2, x2 = min(int(cy) + reach + 1, size), min(int(cx) + reach + 1, size)
    yy = np.arange(y1, y2, dtype=np.float32)[:, None] + 0.5
    xx = np.arange(x1, x2, dtype=np.float32)[None, :] + 0.5
    if kind == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    else:
        if kind == "square":
            # Half-diagonal = radius, so the corners touch the bounding circle.
            theta = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        else:  # equilateral triangle inscribed in the circle of this radius
            theta = angle + np.arange(3) * 2 * np.pi / 3
        vertices = np.stack([cy + radius * np.sin(theta), cx + radius * np.cos(theta)], axis=1)
        mask = _polygon_mask(vertices, yy, xx)
    return y1, x1, mask


def _background_plan(rng: np.random.Generator, n: int):
    """Draw every image's background kind and colours at once."""
    kinds = rng.integers(0, len(_BACKGROUND_KINDS), n)
    base = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    other = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    angle = rng.uniform(0.0, 2 * np.pi, n).astype(np.float32)
    # The colour a shape must stand out against: the mean of the background.
    mean_colour = np.where((kinds == 1)[:, None], (base + other) / 2, base)
    return kinds, base, other, angle, mean_colour


def _fill_background(image: np.ndarray, kind: int, base, other, angle: float) -> None:
    """Paint a flat or gradient background into ``image`` (H, W, 3) in place."""
    if _BACKGROUND_KINDS[kind] != "gradient":
        image[...] = base
        return
    size = image.shape[0]
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    # Projection of each pixel on the gradient direction, mapped to [0, 1].
    t = (np.sin(angle) * coords[:, None] + np.cos(angle) * coords[None, :]) / np.float32(np.sqrt(2)) + 0.5
    np.multiply(t[:, :, None], other - base, out=image)
    image += base


def _pick_colour(rng: np.random.Generator, avoid: np.ndarray) -> np.ndarray:
    candidates = rng.uniform(0.0, 1.0, (8, 3)).astype(np.float32)
    distance = np.linalg.norm(candidates[:, None, :] - avoid[None, :, :], axis=2).min(axis=1)
    good = np.flatnonzero(distance >= _MIN_CONTRAST)
    return candidates[good[0] if good.size else int(distance.argmax())]


def _draw_image(rng, image, mean_colour, n_instances, kinds, radius_range, overlap, size):
    """Place and draw up to ``n_instances`` shapes; return (label canvas, class indices)."""
    canvas = np.zeros((size, size), np.int32)  # 0 background, j + 1 for instance j
    areas: list[int] = []
    hidden: list[int] = []
    colours: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(n_instances):
        for _ in range(_PLACEMENT_TRIES):
            label = int(rng.integers(len(kinds)))
            radius = float(rng.uniform(*radius_range))
            cy, cx = rng.uniform(radius, size - radius, 2)
            angle = float(rng.uniform(0, 2 * np.pi))
            y1, x1, local = _rasterise(kinds[label], cy, cx, radius, angle, size)
            region = canvas[y1 : y1 + local.shape[0], x1 : x1 + local.shape[1]]
            under = region[local]
            newly_hidden = np.bincount(under, minlength=len(areas) + 1)[1:]
            # Accept only if no earlier instance ends up more than `overlap` hidden.
            if areas and np.any(np.asarray(hidden) + newly_hidden > overlap * np.asarray(areas)):
                continue
            break
        else:
            break  # the image is full: keep the instances placed so far
        covered = np.flatnonzero(newly_hidden)
        avoid = np.vstack([mean_colour[None, :], *(colours[j][None, :] for j in covered)])
        colour = _pick_colour(rng, avoid)
        region[local] = len(areas) + 1
        image[y1 : y1 + local.shape[0], x1 : x1 + local.shape[1]][local] = colour
        hidden = [h + int(c) for h, c in zip(hidden, newly_hidden)] + [0]
        areas.append(int(local.sum()))
        colours.append(colour)
        labels.append(label)
    return canvas, labels


def make_shapes(
    n_images: int,
    *,
    size: int = 128,
    max_instances: int = 4,
    min_instances: int = 1,
    classes=SHAPE_CLASSES,
    overlap: float = 0.3,
    seed: int = 0,
) -> ShapesData:
    """Make images of coloured squares, circles and triangles with instance masks.

    Parameters
    ----------
    n_images : int
        Number of images, at least 1.
    size : int
        Image height and width in pixels, at least :data:`MIN_SIZE` (32).
    max_instances, min_instances : int
        Each image gets a number of shapes drawn uniformly from
        ``[min_instances, max_instances]`` (fewer only if they cannot be
        placed, and never fewer than ``min_instances``).
    classes : sequence of str
        Which shapes to draw, from ``("square", "circle", "triangle")``. Class
        ids follow this order, starting at 1.
    overlap : float in [0, 1]
        The largest fraction of any shape that shapes drawn after it may hide.
        0 means shapes never touch pixels of each other; 1 lets a shape be
        hidden completely, in which case it is dropped from the annotations.
    seed : int
        Seed of the random generator; the same seed gives byte-identical data.

    Returns
    -------
    ShapesData
        ``images`` (N, size, size, 3) float32 in [0, 1], and per image
        ``masks`` (K_i, size, size) bool, ``class_ids`` (K_i,) int32 and
        ``boxes`` (K_i, 4) int32.

    Raises
    ------
    ValueError
        For impossible parameters, with the usual fix.

    Notes
    -----
    Backgrounds are a flat colour, a linear gradient between two colours, or
    a flat colour with mild Gaussian noise over the whole image (one third
    each). Shape colours are chosen to differ from the background and from
    the shapes they cover by at least 0.35 in RGB distance, so every
    boundary is visible to a model.

    Examples
    --------
    >>> data = make_shapes(2, size=64, classes=("circle",), seed=3)
    >>> all(set(c.tolist()) <= {1} for c in data.class_ids)
    True
    """
    n_images = check_positive_int(n_images, "n_images")
    size = check_positive_int(size, "size")
    if size < MIN_SIZE:
        raise ValueError(
            f"size={size} is too small for the shapes; expected at least {MIN_SIZE} pixels. "
            "Make the images larger and downscale them afterwards if you need tiny inputs."
        )
    check_size_budget(size * size, "size", limit=_MAX_PIXELS, what="one image")
    check_size_budget(n_images * size * size, "n_images", limit=_MAX_PIXELS, what="the images")
    min_instances = check_positive_int(min_instances, "min_instances", minimum=0)
    max_instances = check_positive_int(max_instances, "max_instances", minimum=0)
    if max_instances < min_instances:
        raise ValueError(
            f"max_instances={max_instances} is smaller than min_instances={min_instances}; "
            "expected min_instances <= max_instances. Swap them or raise max_instances."
        )
    kinds = _check_classes(classes)
    overlap = check_in_range(overlap, "overlap", 0.0, 1.0)
    seed = check_seed(seed)

    radius_range = (_RADIUS_RANGE[0] * size, _RADIUS_RANGE[1] * size)
    rng = np.random.default_rng(seed)
    bg_kinds, base, other, angle, mean_colours = _background_plan(rng, n_images)
    counts = rng.integers(min_instances, max_instances + 1, n_images)
    images = np.empty((n_images, size, size, 3), np.float32)

    all_masks, all_ids, all_boxes = [], [], []
    for i in range(n_images):
        for _ in range(_IMAGE_RESTARTS):
            _fill_background(images[i], bg_kinds[i], base[i], other[i], angle[i])
            canvas, labels = _draw_image(
                rng, images[i], mean_colours[i], int(counts[i]), kinds, radius_range, overlap, size
            )
            present = np.bincount(canvas.ravel(), minlength=len(labels) + 1)[1:] > 0
            if present.sum() >= min_instances:
                break
        else:
            raise ValueError(
                f"could not place {min_instances} shapes in a {size}x{size} image with "
                f"overlap={overlap}; lower min_instances or make the images larger. "
                "(A low overlap leaves little room; an overlap near 1 lets shapes vanish under others.)"
            )
        if _BACKGROUND_KINDS[bg_kinds[i]] == "noise":
            # Luminance noise shared by the three channels: mild sensor grain.
            noise = rng.standard_normal((size, size, 1), dtype=np.float32)
            images[i] += np.float32(_NOISE_SIGMA) * noise
            np.clip(images[i], 0.0, 1.0, out=images[i])
        keep = np.flatnonzero(present)
        masks = canvas[None, :, :] == (keep + 1)[:, None, None]
        all_masks.append(masks)
        all_ids.append((np.asarray(labels, np.int32)[keep] + 1).astype(np.int32))
        all_boxes.append(masks_to_boxes(masks))

    return ShapesData(images, all_masks, all_ids, all_boxes, ("background", *kinds))
