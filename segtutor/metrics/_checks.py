"""Argument checks specific to the metrics (built on :mod:`segtutor._validate`)."""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_array, check_choice, check_mask, check_same_shape


def mask_array(mask, name: str, ndim, *, nonnegative: bool = False) -> np.ndarray:
    """``mask`` as an array of ``ndim`` dimensions (an int or a tuple of allowed ones), checked by ``check_mask``."""
    arr = as_array(mask, name)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    # A Keras output keeps its channel axis; say so instead of a bare shape error.
    if arr.ndim == max(allowed) + 1 and arr.shape[-1] == 1:
        raise ValueError(
            f"{name} has shape {arr.shape}: it still has a channel axis of size 1. "
            f"Drop it with {name}[..., 0]."
        )
    return check_mask(arr, name, ndim=ndim, nonnegative=nonnegative)


def binary_pair(pred, truth, names=("pred", "truth")) -> tuple[np.ndarray, np.ndarray]:
    """Check two binary masks of one shape, (H, W) or (N, H, W); return them as bool."""
    out = []
    for mask, name in zip((pred, truth), names):
        arr = mask_array(mask, name, (2, 3))
        if arr.dtype != bool:
            values = np.unique(arr)
            if values.size and not np.all(np.isin(values, (0, 1))):
                shown = ", ".join(map(str, values[:6])) + (", ..." if values.size > 6 else "")
                raise ValueError(
                    f"{name} should be a binary mask (booleans, or 0 and 1), got values {shown}. "
                    "For a label map use iou_per_class / dice_per_class; "
                    "for one class k pass (labels == k)."
                )
            arr = arr.astype(bool)
        out.append(arr)
    check_same_shape(out[0], out[1], names)
    if out[0].size == 0:
        # 0 / 0 would score 1.0 ("both masks empty agree"), a perfect score for no data at all.
        raise ValueError(f"{names[0]} and {names[1]} have no pixels (shape {out[0].shape}); "
                         "expected at least one image with at least one pixel.")
    return out[0], out[1]


def label_pair(pred, truth, n_classes, names=("pred", "truth")) -> tuple[np.ndarray, np.ndarray, int]:
    """Check two label maps of one shape with labels in 0 .. n_classes - 1; return them as int64."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(
            f"n_classes should be a positive integer (the number of classes, background included), "
            f"got {n_classes!r}."
        )
    n_classes = int(n_classes)
    if n_classes > 1 << 16:
        raise ValueError(f"n_classes should be at most {1 << 16:,} (a confusion matrix of n_classes**2 counts), "
                         f"got {n_classes:,}. Did you pass an image size or a pixel count?")
    out = []
    for labels, name in zip((pred, truth), names):
        arr = mask_array(labels, name, (2, 3)).astype(np.int64, copy=False)
        if arr.size:
            low, high = int(arr.min()), int(arr.max())
            if low < 0:
                raise ValueError(
                    f"{name} contains the negative label {low}; class labels run from 0 to n_classes - 1. "
                    "If -1 marks pixels to ignore, remove them before scoring (e.g. keep = truth >= 0)."
                )
            if high >= n_classes:
                raise ValueError(
                    f"{name} contains label {high}, but n_classes={n_classes} allows labels 0 to {n_classes - 1}. "
                    f"Pass n_classes={high + 1} (or more), or check that {name} holds class labels "
                    "and not instance labels."
                )
        out.append(arr)
    check_same_shape(out[0], out[1], names)
    return out[0], out[1], n_classes


def instance_pair(pred_labels, truth_labels) -> tuple[np.ndarray, np.ndarray]:
    """Check two (H, W) instance label images (0 = background, any non-negative ids)."""
    names = ("pred_labels", "truth_labels")
    out = []
    for labels, name in zip((pred_labels, truth_labels), names):
        arr = as_array(labels, name)
        if arr.ndim == 3 and arr.shape[-1] != 1:
            raise ValueError(
                f"{name} should be one (H, W) label image, got shape {arr.shape}. "
                "Instance ids belong to one image: score a batch one image at a time."
            )
        arr = mask_array(arr, name, 2).astype(np.int64, copy=False)
        if arr.size and arr.min() < 0:
            raise ValueError(
                f"{name} contains the negative label {int(arr.min())}; "
                "instance labels are 0 for background and positive ids for objects."
            )
        out.append(arr)
    check_same_shape(out[0], out[1], names)
    return out[0], out[1]


def threshold(value, name: str = "threshold") -> float:
    """Check an IoU threshold in (0, 1]."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and np.isfinite(value)
        and 0.0 < value <= 1.0
    )
    if not ok:
        raise ValueError(
            f"{name} should be an IoU in (0, 1], got {value!r}. "
            "The usual thresholds are 0.5 to 0.95; write 50 % as 0.5."
        )
    return float(value)


def reduction(value) -> str:
    return check_choice(value, "reduction", {"pooled", "per_image"})
