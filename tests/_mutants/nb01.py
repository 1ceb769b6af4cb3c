"""Notebook 01: grayscale conversion and the bounding box of a mask."""

import numpy as np

W = np.array([0.2125, 0.7154, 0.0721])


def _gray(rgb, *, scale="dtype", alpha=True, divisor=255.0, keepdims=False):
    rgb = np.asarray(rgb)
    if alpha:
        rgb = rgb[..., :3]
    if scale == "dtype" and rgb.dtype == np.uint8 or scale == "max" and rgb.max() > 1 or scale == "always":
        rgb = rgb / divisor
    out = rgb.astype(float) @ W
    return out[..., None] if keepdims else out


def _box(mask, *, empty="zeros", inclusive=False, last_from_first=False):
    mask = np.asarray(mask, bool)
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        if empty == "raise":
            raise ValueError("empty mask")
        return np.zeros(4, int) if empty == "zeros" else np.full(4, -1)
    end = 0 if inclusive else 1
    y2 = (rows[0] + np.count_nonzero(mask.any(axis=1))) if last_from_first else rows[-1] + end
    return np.array([rows[0], cols[0], y2, cols[-1] + end])


def _first_true_pixel_box(mask):
    ys, xs = np.nonzero(np.asarray(mask, bool))
    if ys.size == 0:
        return np.zeros(4, int)
    return np.array([ys[0], xs[0], ys.max() + 1, xs.max() + 1])  # x1 from the first True pixel, not the min


MUTANTS = {
    "to_grayscale": {
        "decides to scale by the largest value, not the dtype": lambda rgb: _gray(rgb, scale="max"),
        "also rescales float images": lambda rgb: _gray(rgb, scale="always"),
        "divides by 256": lambda rgb: _gray(rgb, divisor=256.0),
        "uses the alpha channel as a fourth weight (crashes on RGBA)": lambda rgb: _gray(rgb, alpha=False),
        "returns (H, W, 1)": lambda rgb: _gray(rgb, keepdims=True),
        "rounds to uint8": lambda rgb: np.round(_gray(rgb) * 255).astype(np.uint8),
    },
    "bounding_box": {
        "raises on an empty mask": lambda m: _box(m, empty="raise"),
        "returns -1s for an empty mask": lambda m: _box(m, empty="minus one"),
        "inclusive ends on both axes": lambda m: _box(m, inclusive=True),
        "y2 from the number of rows with a pixel (wrong for gaps)": lambda m: _box(m, last_from_first=True),
        "x1 of the first True pixel, not the leftmost": _first_true_pixel_box,
        "returns (y1, y2, x1, x2)": lambda m: _box(m)[[0, 2, 1, 3]],
    },
}
