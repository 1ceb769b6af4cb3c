"""RoIAlign (He et al. 2017): a fixed-size feature crop for every region.

Each region of interest (RoI) is split into ``n x n`` bins; each bin's value
is the mean of ``sampling_ratio**2`` **bilinear** samples taken at the
centres of equal sub-bins. Nothing is rounded, so a feature crop lines up
with its box to a fraction of a pixel; that is what makes 28 x 28 masks
sharp. RoIPool (Fast R-CNN, Girshick 2015) instead rounds the box to whole
feature cells and takes the maximum per bin. :func:`roi_pool_single` keeps a
version of it for the ablation in notebook 10: it rounds the box (not the
bins) and takes each bin's maximum over ``sampling_ratio**2`` samples that
read the nearest cell, without interpolation. Rounding moves each box edge by
up to half a cell: up to ``stride / 2`` pixels.

Coordinates. A box is in image pixels (pixel ``i`` spans ``[i, i + 1)``);
on a level of stride ``s`` it spans ``box / s`` cells, and cell ``j`` has
its centre at ``j + 0.5``. Bilinear interpolation is between cell centres.
A sample point within one cell outside the map is clamped to the border,
and points further out read 0 (the rule of Detectron2's ``ROIAlign`` with
``aligned=True``).

``tf.image.crop_and_resize`` is **not** RoIAlign as written: it maps a
normalised coordinate ``y`` to index ``y * (H - 1)`` and samples the crop's
corners. :func:`crop_at_bin_centres` converts the coordinates so that it
samples the sub-bin centres instead (as in the tensorpack FasterRCNN
example; see tensorflow/tensorflow#26278), after padding the map by one
replicated cell for the clamping rule. :func:`roi_align_numpy` is the slow,
literal reference the tests compare with.

Each RoI is read from one pyramid level, chosen by its size as in FPN (Lin
et al. 2017, eq. 1): ``k = floor(k0 + log2(sqrt(area) / s0))`` clipped to
the levels there are, here with ``s0 = 32`` pixels at level ``k0 = 3``.
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import ArgumentTypeError, as_array, check_choice, check_finite, check_scalar
from ._checks import float_tensor

# The literal reference loops over every sample in Python: past this many samples it takes minutes.
_MAX_REFERENCE_SAMPLES = 1 << 16
# crop_at_bin_centres: samples per box side (the model uses 7 to 28).
_MAX_SAMPLES = 512

# assign_levels, multilevel_roi_features and roi_pool_single run traced inside the model on tensors
# it shapes itself; they stay importable (tests, the curious reader) but are not public API.
__all__ = [
    "bilinear_sample",
    "roi_align_numpy",
    "crop_at_bin_centres",
]

#: FPN level assignment: RoIs of sqrt(area) = CANONICAL_SIZE pixels go to level CANONICAL_LEVEL.
CANONICAL_SIZE = 32.0
CANONICAL_LEVEL = 3


def bilinear_sample(feature, y, x) -> np.ndarray:
    """Bilinear interpolation of a feature map at one point, in cell-centre coordinates.

    Parameters
    ----------
    feature : array, shape (H, W) or (H, W, C)
    y, x : float
        Index coordinates: ``(0, 0)`` is the centre of cell ``[0, 0]``.
        Points within one cell outside the map are clamped to the border;
        further out the value is 0.

    Returns
    -------
    value : float or ndarray of shape (C,)

    Examples
    --------
    >>> f = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> float(bilinear_sample(f, 0.5, 0.5))    # the mean of the four cells
    1.5
    >>> float(bilinear_sample(f, 0.0, 0.25))
    0.25
    """
    f = _feature(feature, ndim=(2, 3))
    y = check_scalar(y, "y")
    x = check_scalar(x, "x")
    h, w = f.shape[:2]
    if y < -1 or y > h or x < -1 or x > w:
        return np.zeros(f.shape[2:]) if f.ndim == 3 else 0.0
    y = min(max(float(y), 0.0), h - 1.0)
    x = min(max(float(x), 0.0), w - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * f[y0, x0] + (1 - ly) * lx * f[y0, x1]
            + ly * (1 - lx) * f[y1, x0] + ly * lx * f[y1, x1])


def _feature(feature, ndim=(3,)) -> np.ndarray:
    f = as_array(feature, "feature")
    if f.ndim not in ndim or f.shape[0] < 1 or f.shape[1] < 1 or f.size == 0:
        want = " or ".join({2: "(H, W)", 3: "(H, W, C)"}[n] for n in ndim)
        raise ValueError(f"feature should be a non-empty map of shape {want}, got shape {f.shape}.")
    return check_finite(f, "feature").astype(np.float64)


def roi_align_numpy(feature, box, output_size: int = 7, sampling_ratio: int = 2) -> np.ndarray:
    """Slow, literal RoIAlign of one box on one feature map (the reference).

    Parameters
    ----------
    feature : array, shape (H, W, C)
    box : 4 floats
        ``(y1, x1, y2, x2)`` in **feature-map** cells (image pixels / stride).
    output_size : int
        Bins per side.
    sampling_ratio : int
        Samples per bin side; 1 samples exactly the bin centres.

    Returns
    -------
    ndarray of float64, shape (output_size, output_size, C)
    """
    f = _feature(feature)
    b = as_array(box, "box")
    if b.size != 4 or b.dtype == bool:
        raise ValueError(f"box should be 4 numbers (y1, x1, y2, x2) in feature-map cells, got shape {b.shape}.")
    check_finite(b, "box")
    y1, x1, y2, x2 = (float(v) for v in b.reshape(4).astype(np.float64))
    n = check_scalar(output_size, "output_size", integer=True, low=1)
    r = check_scalar(sampling_ratio, "sampling_ratio", integer=True, low=1)
    if n * n * r * r > _MAX_REFERENCE_SAMPLES:
        raise ValueError(
            f"output_size={n} and sampling_ratio={r} ask the slow reference for {n * n * r * r:,} samples, above "
            f"{_MAX_REFERENCE_SAMPLES:,}; it loops in Python. Use output_size 7 or 14 and sampling_ratio 1 or 2."
        )
    bin_h, bin_w = (y2 - y1) / n, (x2 - x1) / n
    out = np.zeros((n, n, f.shape[2]))
    for i in range(n):
        for j in range(n):
            acc = np.zeros(f.shape[2])
            for a in range(r):
                for b in range(r):
                    # Continuous coordinates; minus 0.5 turns them into cell-centre index coordinates.
                    yy = y1 + (i + (a + 0.5) / r) * bin_h - 0.5
                    xx = x1 + (j + (b + 0.5) / r) * bin_w - 0.5
                    acc += bilinear_sample(f, yy, xx)
            out[i, j] = acc / (r * r)
    return out


def crop_at_bin_centres(feature_maps, boxes, box_indices, n_samples: int, method: str = "bilinear"):
    """``n_samples x n_samples`` bilinear samples at the sub-bin centres of each box.

    Parameters
    ----------
    feature_maps : float32 tensor, shape (B, H, W, C)
    boxes : float32 tensor, shape (N, 4)
        ``(y1, x1, y2, x2)`` in cells of these maps.
    box_indices : int32 tensor, shape (N,)
        Which map each box reads.
    n_samples : int
    method : "bilinear" or "nearest"
        "nearest" reads the cell that contains each sample point: for a binary
        mask, whether the point is covered (used for the mask targets).

    Returns
    -------
    float32 tensor, shape (N, n_samples, n_samples, C)
    """
    tf = _backend.tensorflow()

    feature_maps = float_tensor(feature_maps, "feature_maps", min_rank=4)
    if feature_maps.shape.rank != 4:
        raise ValueError(f"feature_maps should have shape (B, H, W, C), got shape {tuple(feature_maps.shape)}.")
    boxes = float_tensor(boxes, "boxes", min_rank=2, last=4)
    if boxes.shape.rank != 2:
        raise ValueError(f"boxes should have shape (N, 4), got shape {tuple(boxes.shape)}.")
    box_indices = _box_indices(box_indices, boxes, feature_maps)
    n_samples = check_scalar(n_samples, "n_samples", integer=True, low=1, high=_MAX_SAMPLES)
    method = check_choice(method, "method", ("bilinear", "nearest"))
    h = tf.cast(tf.shape(feature_maps)[1], tf.float32)
    w = tf.cast(tf.shape(feature_maps)[2], tf.float32)
    # One replicated cell on each side: samples up to one cell outside are clamped to the border.
    padded = tf.pad(feature_maps, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    y1, x1, y2, x2 = tf.unstack(boxes, axis=-1)
    step_y, step_x = (y2 - y1) / n_samples, (x2 - x1) / n_samples
    # First and last sample, in index coordinates of the padded map: continuous - 0.5 + 1.
    first_y, last_y = y1 + 0.5 * step_y + 0.5, y2 - 0.5 * step_y + 0.5
    first_x, last_x = x1 + 0.5 * step_x + 0.5, x2 - 0.5 * step_x + 0.5
    normalised = tf.stack([first_y / (h + 1), first_x / (w + 1), last_y / (h + 1), last_x / (w + 1)], axis=-1)
    return tf.image.crop_and_resize(padded, normalised, box_indices, [n_samples, n_samples], method=method)


def _box_indices(box_indices, boxes, feature_maps):
    """Check an (N,) integer tensor of map indices, one per box, in range when the sizes are known."""
    tf = _backend.tensorflow()

    if isinstance(box_indices, (tf.Tensor, tf.Variable)):
        if not box_indices.dtype.is_integer:
            raise ArgumentTypeError(f"box_indices should be integers, got a tensor of dtype {box_indices.dtype.name}.")
        if not tf.executing_eagerly() or not hasattr(box_indices, "numpy"):
            return tf.cast(box_indices, tf.int32)  # traced: the model builds them itself
        box_indices = box_indices.numpy()
    idx = as_array(box_indices, "box_indices")
    if not np.issubdtype(idx.dtype, np.integer):
        raise ArgumentTypeError(f"box_indices should be integers (which map each box reads), got dtype {idx.dtype}.")
    n_boxes, n_maps = boxes.shape[0], feature_maps.shape[0]
    if idx.ndim != 1 or (n_boxes is not None and idx.shape[0] != n_boxes):
        raise ValueError(f"box_indices should have shape (N,), one per box, got shape {idx.shape} for "
                         f"{n_boxes} boxes.")
    if idx.size and n_maps is not None and (idx.min() < 0 or idx.max() >= n_maps):
        raise ValueError(f"box_indices should lie in 0..{n_maps - 1} (one per map in feature_maps), "
                         f"got range [{idx.min()}, {idx.max()}].")
    return tf.convert_to_tensor(idx.astype(np.int32))


def assign_levels(boxes, n_levels: int = 3, first_level: int = 2):
    """FPN level of each box (in image pixels): an int32 tensor of level indices 0..n_levels-1."""
    tf = _backend.tensorflow()

    area = tf.maximum(boxes[..., 2] - boxes[..., 0], 0.0) * tf.maximum(boxes[..., 3] - boxes[..., 1], 0.0)
    size = tf.sqrt(tf.maximum(area, 1e-6))
    level = tf.floor(CANONICAL_LEVEL + tf.math.log(size / CANONICAL_SIZE) / np.log(2.0))
    level = tf.clip_by_value(level, first_level, first_level + n_levels - 1)
    return tf.cast(level, tf.int32) - first_level


def roi_pool_single(feature_maps, boxes, box_indices, output_size: int, sampling_ratio: int):
    """RoIPool: round the box to whole cells, read the nearest cell at each sample, keep each bin's maximum.

    The box (in cells of this level) is rounded to whole cells and split into
    ``output_size x output_size`` bins; each bin's value is the maximum of
    ``sampling_ratio**2`` samples at the centres of equal sub-bins, each
    reading the cell that contains it. Fast R-CNN also rounds the bin edges
    and takes the maximum over every cell of a bin; with ``sampling_ratio=1``
    there is no maximum at all, only one nearest-cell read per bin. A sample
    beyond the outer cell centres (in the outer half of a border cell, or
    outside the map) reads 0, ``crop_and_resize``'s extrapolation value, not
    the border cell: the ablation's RoIPool has this quirk.
    """
    tf = _backend.tensorflow()

    y1, x1, y2, x2 = tf.unstack(tf.round(boxes), axis=-1)
    y2, x2 = tf.maximum(y2, y1 + 1.0), tf.maximum(x2, x1 + 1.0)
    h = tf.cast(tf.shape(feature_maps)[1], tf.float32)
    w = tf.cast(tf.shape(feature_maps)[2], tf.float32)
    m = output_size * sampling_ratio
    step_y, step_x = (y2 - y1) / m, (x2 - x1) / m
    # Nearest-cell sampling over the rounded box; index coordinates of the unpadded map.
    normalised = tf.stack([(y1 + 0.5 * step_y - 0.5) / (h - 1), (x1 + 0.5 * step_x - 0.5) / (w - 1),
                           (y2 - 0.5 * step_y - 0.5) / (h - 1), (x2 - 0.5 * step_x - 0.5) / (w - 1)], axis=-1)
    crops = tf.image.crop_and_resize(feature_maps, normalised, box_indices, [m, m], method="nearest")
    return tf.nn.max_pool2d(crops, sampling_ratio, sampling_ratio, "VALID")


def multilevel_roi_features(feature_maps, boxes, strides, output_size: int, sampling_ratio: int = 2,
                            op: str = "align"):
    """RoI features from a feature pyramid, each RoI read on its own level.

    Parameters
    ----------
    feature_maps : list of float32 tensors (B, H_k, W_k, C)
        P2, P3, ... finest first.
    boxes : float32 tensor, shape (B, R, 4)
        RoIs in image pixels.
    strides : sequence of int
        Stride of each level.
    output_size : int
    sampling_ratio : int
    op : "align" or "pool"

    Returns
    -------
    float32 tensor, shape (B, R, output_size, output_size, C)
    """
    tf = _backend.tensorflow()

    batch, rois = tf.shape(boxes)[0], tf.shape(boxes)[1]
    flat = tf.reshape(boxes, [-1, 4])
    indices = tf.repeat(tf.range(batch), rois)
    level = assign_levels(flat, n_levels=len(strides))
    out = None
    # Every level crops every box and a one-hot mask keeps the right one: three cheap crops,
    # but static shapes (no gather of a data-dependent number of boxes).
    for k, (features, stride) in enumerate(zip(feature_maps, strides)):
        if op == "align":
            crops = crop_at_bin_centres(features, flat / stride, indices, output_size * sampling_ratio)
            crops = tf.nn.avg_pool2d(crops, sampling_ratio, sampling_ratio, "VALID")
        else:
            crops = roi_pool_single(features, flat / stride, indices, output_size, sampling_ratio)
        chosen = tf.cast(tf.equal(level, k), crops.dtype)[:, None, None, None]
        out = crops * chosen if out is None else out + crops * chosen
    channels = feature_maps[0].shape[-1]
    return tf.reshape(out, [batch, rois, output_size, output_size, channels])
