"""The three coordinate systems of RoIAlign on one number line (notebook 09).

Along one axis of a pyramid level of stride ``s`` with ``n`` cells:

- **pixel** coordinates ``y`` of the image: pixel ``i`` spans ``[i, i + 1)``,
  a box is ``[y1, y2)``;
- **index** coordinates of the feature map: cell ``j`` covers pixels
  ``[j s, (j + 1) s)`` and has its centre at index ``j``, so a pixel
  coordinate ``y`` is at index ``y / s - 0.5``. Bilinear interpolation blends
  the two cells whose centres surround a point;
- **padded index** coordinates of the map padded by one replicated cell on
  each side, which :func:`segtutor.maskrcnn.roi_align.crop_at_bin_centres`
  hands to ``tf.image.crop_and_resize``: index ``+ 1``.

:func:`bin_sample_coordinates` computes where the samples of one box fall in
each system and what the border rule of exercise 9.1 makes of them;
:func:`coordinates_figure` draws them.

Examples
--------
>>> c = bin_sample_coordinates(0.0, 20.0, n_bins=4, stride=8, n_cells=4)
>>> c["pixel"].tolist()
[2.5, 7.5, 12.5, 17.5]
>>> c["index"].tolist()
[-0.1875, 0.4375, 1.0625, 1.6875]
>>> c["rule"].tolist()
['clamped', 'inside', 'inside', 'inside']
"""

from __future__ import annotations

import numpy as np

from .._validate import check_finite, check_scalar

__all__ = ["bin_sample_coordinates", "coordinates_figure"]

# A figure of more cells than this would be unreadable; it is a teaching picture of a few cells.
_MAX_CELLS = 16
_MAX_BINS = 32


def _check(y1, y2, n_bins, stride, n_cells):
    y1 = check_scalar(y1, "y1")
    y2 = check_scalar(y2, "y2")
    check_finite(np.array([y1, y2]), "the box (y1, y2)")
    if not y2 > y1:
        raise ValueError(f"the box needs y2 > y1 (pixel coordinates, y2 exclusive), got y1={y1}, y2={y2}.")
    n_bins = check_scalar(n_bins, "n_bins", integer=True, low=1, high=_MAX_BINS)
    stride = check_scalar(stride, "stride", low=0, low_open=True)
    n_cells = check_scalar(n_cells, "n_cells", integer=True, low=1, high=_MAX_CELLS)
    return float(y1), float(y2), int(n_bins), float(stride), int(n_cells)


def bin_sample_coordinates(y1, y2, *, n_bins: int, stride: float, n_cells: int) -> dict:
    """Where RoIAlign samples one box along one axis, in pixel, index and padded-index coordinates.

    One sample per bin, at the bin's centre (sampling ratio 1, the course's model).

    Parameters
    ----------
    y1, y2 : float
        The box along this axis, in image pixels (``y2`` exclusive).
    n_bins : int
        Bins along the axis (7 for the box head, 14 for the mask head).
    stride : float
        Pixels per feature cell on this level (4, 8 or 16).
    n_cells : int
        Cells of the feature map along this axis.

    Returns
    -------
    dict of arrays of shape (n_bins,)
        ``pixel`` (the bin centres), ``index`` (``pixel / stride - 0.5``),
        ``padded`` (``index + 1``, the coordinate ``crop_and_resize`` sees),
        ``read`` (the index the sample reads after the border rule: clamped
        into ``[0, n_cells - 1]``, NaN where it reads 0) and ``rule``
        ("inside", "clamped" or "zero").

    Examples
    --------
    >>> c = bin_sample_coordinates(24.0, 40.0, n_bins=2, stride=8, n_cells=4)
    >>> c["index"].tolist(), c["rule"].tolist()
    ([3.0, 4.0], ['inside', 'clamped'])
    """
    y1, y2, n_bins, stride, n_cells = _check(y1, y2, n_bins, stride, n_cells)
    pixel = y1 + (np.arange(n_bins) + 0.5) * (y2 - y1) / n_bins
    index = pixel / stride - 0.5
    # Exercise 9.1's rule (Detectron2's ROIAlign, aligned=True): further than one cell past the outer centres
    # reads 0; within that band the point is clamped onto the border cell.
    zero = (index < -1) | (index > n_cells)
    inside = (index >= 0) & (index <= n_cells - 1)
    rule = np.where(zero, "zero", np.where(inside, "inside", "clamped"))
    read = np.where(zero, np.nan, np.clip(index, 0, n_cells - 1))
    return {"pixel": pixel, "index": index, "padded": index + 1, "read": read, "rule": rule}


def coordinates_figure(y1=0.0, y2=20.0, *, n_bins: int = 4, stride: float = 8, n_cells: int = 4):
    """Draw one axis of a feature level with its cells, a box, its bins and their samples.

    Three rows share one horizontal axis in image pixels: the pixels with the
    box and its bins; the feature cells with their centres and index
    coordinates; the map padded by one replicated cell, as
    ``crop_and_resize`` sees it. Shaded bands mark where the border rule of
    exercise 9.1 clamps a sample (between the image edge and the first or last
    cell centre, and up to half a cell beyond the edge) and where it reads 0.

    Parameters
    ----------
    y1, y2 : float
        The box in image pixels (``y2`` exclusive).
    n_bins, stride, n_cells
        As in :func:`bin_sample_coordinates`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = coordinates_figure(0.0, 20.0, n_bins=4, stride=8, n_cells=4)
    >>> fig.axes[0].get_xlabel()
    'image pixels'
    """
    from ..viz import new_figure

    y1, y2, n_bins, stride, n_cells = _check(y1, y2, n_bins, stride, n_cells)
    c = bin_sample_coordinates(y1, y2, n_bins=n_bins, stride=stride, n_cells=n_cells)
    edge = n_cells * stride
    fig = new_figure(9.0, 3.6)
    ax = fig.add_subplot()
    left, right = -1.5 * stride, edge + 1.5 * stride
    # Bands of the border rule, in pixels: index -1 is pixel -stride / 2, index n_cells is edge + stride / 2.
    ax.axvspan(left, -stride / 2, color="0.85", lw=0)
    ax.axvspan(edge + stride / 2, right, color="0.85", lw=0)
    ax.axvspan(-stride / 2, stride / 2, color="#F0E442", alpha=0.35, lw=0)
    ax.axvspan(edge - stride / 2, edge + stride / 2, color="#F0E442", alpha=0.35, lw=0)
    ax.text(left + 0.1 * stride, 3.55, "reads 0", fontsize=8, color="0.3")
    ax.text(-stride / 2 + 0.1 * stride, 3.55, "clamped", fontsize=8, color="#8a7a00")

    # Row 3 (top): image pixels, the box, its bins and the samples.
    ax.plot([0, edge], [3, 3], color="k", lw=1)
    ax.plot([y1, y2], [3, 3], color="#0072B2", lw=6, solid_capstyle="butt", alpha=0.6, label="box")
    for b in np.linspace(y1, y2, n_bins + 1):
        ax.plot([b, b], [2.85, 3.15], color="#0072B2", lw=1.5)
    ax.plot(c["pixel"], np.full(n_bins, 3), "x", color="#D55E00", ms=9, mew=2, label="samples (bin centres)")
    ax.text(left, 3.25, "pixels y", fontsize=9)

    # Row 2: feature cells, their centres and index coordinates.
    for j in range(n_cells):
        ax.add_patch(_rectangle(j * stride, 1.75, stride, 0.5, "white"))
        ax.plot((j + 0.5) * stride, 2, "o", color="k", ms=5, label="cell centres" if j == 0 else None)
        ax.text((j + 0.5) * stride, 1.55, f"{j}", ha="center", fontsize=9)
    ax.plot(c["pixel"], np.full(n_bins, 2), "x", color="#D55E00", ms=9, mew=2)
    ax.text(left, 2.3, "cells: index = y / stride - 0.5", fontsize=9)

    # Row 1: the map padded by one replicated cell on each side, as crop_and_resize sees it.
    for k in range(n_cells + 2):
        copy = k in (0, n_cells + 1)
        ax.add_patch(_rectangle((k - 1) * stride, 0.75, stride, 0.5, "0.9" if copy else "white"))
        ax.plot((k - 0.5) * stride, 1, "o", color="0.5" if copy else "k", ms=5)
        ax.text((k - 0.5) * stride, 0.55, f"{k}", ha="center", fontsize=9)
    ax.plot(c["pixel"], np.full(n_bins, 1), "x", color="#D55E00", ms=9, mew=2)
    ax.text(left, 1.3, "padded map (grey: copies of the border cells): padded index = index + 1", fontsize=9)

    ax.set_xlim(left, right)
    ax.set_ylim(0.35, 3.8)
    ax.set_yticks([])
    ax.set_xticks(np.arange(0, edge + stride, stride / 2))
    ax.set_xlabel("image pixels")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9)
    ax.set_title(f"one axis of a level of stride {stride:g}: a box [{y1:g}, {y2:g}) pixels, {n_bins} bins, "
                 f"one sample per bin", fontsize=10)
    return fig


def _rectangle(x, y, width, height, face):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, height, facecolor=face, edgecolor="k", lw=1)
