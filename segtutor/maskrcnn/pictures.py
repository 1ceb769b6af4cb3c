"""Pictures of Mask R-CNN's inner workings, for notebooks 08-09 and their widgets.

Pure functions: arrays in, an RGB array out. The widgets in
:mod:`segtutor.widgets.anchors` and :mod:`segtutor.widgets.stages` only
wire controls to them, so tests and notebooks can call them directly.
"""

from __future__ import annotations

import numpy as np

from .._validate import (ArgumentTypeError, describe, as_array, check_bool, check_choice, check_finite,
                         check_in_range, check_scalar, check_size_budget)
from ..boxes import check_boxes, box_iou
from ..viz import to_unit_range
from .anchors import level_anchors

__all__ = ["anchor_match_picture", "anchor_match_counts", "stage_picture", "STAGES"]

GREEN, ORANGE, WHITE, CYAN, RED = (0.1, 0.85, 0.2), (1.0, 0.6, 0.0), (1.0, 1.0, 1.0), (0.0, 0.9, 1.0), (1.0, 0.15, 0.1)

#: The stages :func:`stage_picture` can show, in the order of the forward pass.
STAGES = ("input and truth", "FPN features", "RPN objectness", "proposals before NMS", "proposals after NMS",
          "RoIAlign crops", "detections and masks")


def _zoom(image: np.ndarray, factor: int) -> np.ndarray:
    # np.repeat always returns a new, writable array (a broadcast view would be read-only at factor 1).
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


# Largest zoomed picture side, in pixels: 128 x 3 in the notebooks; far above is a typo.
_MAX_PICTURE_SIDE = 8192


def _rgb(image, name: str = "image") -> np.ndarray:
    a = as_array(image, name)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3 or a.size == 0:
        raise ValueError(f"{name} should have shape (H, W) or (H, W, 3), got {a.shape}.")
    check_finite(a, name)
    # The "clip" rule of segtutor.viz: these pictures are already in [0, 1]; clipping keeps a stray value
    # from changing their brightness as a stretch would.
    return to_unit_range(a.astype(np.float32), "clip", name=name)


def _check_zoom(zoom, shape) -> int:
    zoom = check_scalar(zoom, "zoom", integer=True, low=1)
    if zoom * max(shape[:2]) > _MAX_PICTURE_SIDE:
        raise ValueError(f"zoom={zoom} makes a picture {zoom * max(shape[:2])} pixels wide, above "
                         f"{_MAX_PICTURE_SIDE}; use a zoom of 1 to 4.")
    return zoom


def _outline(canvas: np.ndarray, boxes, color, thickness: int = 1) -> None:
    """Draw box outlines in place (fast: four slices per box; parts outside are skipped)."""
    h, w = canvas.shape[:2]
    c = np.asarray(color, dtype=canvas.dtype)
    for y1, x1, y2, x2 in np.round(np.asarray(boxes, dtype=np.float64)).astype(int):
        y1c, x1c, y2c, x2c = max(y1, 0), max(x1, 0), min(y2, h), min(x2, w)
        if y2c <= y1c or x2c <= x1c:
            continue
        t = thickness
        if y1 >= 0:
            canvas[y1c:min(y1c + t, y2c), x1c:x2c] = c
        if y2 <= h:
            canvas[max(y2c - t, y1c):y2c, x1c:x2c] = c
        if x1 >= 0:
            canvas[y1c:y2c, x1c:min(x1c + t, x2c)] = c
        if x2 <= w:
            canvas[y1c:y2c, max(x2c - t, x1c):x2c] = c


def _heat(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    from matplotlib import colormaps

    v = np.asarray(values, dtype=np.float64)
    top = float(v.max()) if vmax is None else vmax
    return colormaps["viridis"](np.clip(v / top, 0, 1) if top > 0 else np.zeros_like(v))[..., :3].astype(np.float32)


def _hstack(panels, gap: int = 6) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    padded = [np.pad(p, ((0, h - p.shape[0]), (0, 0), (0, 0)), constant_values=1.0) for p in panels]
    spacer = np.ones((h, gap, 3), np.float32)
    out = [padded[0]]
    for p in padded[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis=1)


def _titled(panels, titles, gap: int = 6) -> np.ndarray:
    """Panels side by side under a white strip with each panel's title centred over it.

    The font is 1/45 of the whole picture's width (at least 14 px), so a
    widget that shows the picture about 600 px wide still shows the titles
    at about 13 px, the 10 pt the course's text keeps.
    """
    from PIL import Image, ImageDraw

    from ..viz import label_font

    body = _hstack(panels, gap)
    width = body.shape[1]
    size = max(14, round(width / 45))
    font = label_font(size)
    strip = Image.new("L", (width, size + size // 2), 255)
    draw = ImageDraw.Draw(strip)
    x = 0
    for panel, title in zip(panels, titles):
        left, top, right, _ = draw.textbbox((0, 0), title, font=font)
        draw.text((x + max((panel.shape[1] - (right - left)) // 2, 0) - left, size // 4 - top), title,
                  font=font, fill=0)
        x += panel.shape[1] + gap
    text = np.repeat((np.asarray(strip, np.float32) / 255.0)[..., None], 3, axis=-1)
    return np.concatenate([text, body], axis=0)


def check_gt_boxes(gt_boxes) -> np.ndarray:
    """(K, 4) float boxes; an empty list or array is K = 0."""
    arr = as_array(gt_boxes, "gt_boxes")
    if arr.size == 0:
        return np.zeros((0, 4))
    return check_boxes(arr, "gt_boxes").astype(np.float64)


def anchor_match_counts(gt_boxes, anchors, pos_iou: float, neg_iou: float) -> dict:
    """Label anchors as in the RPN: counts, and the anchors of each kind.

    Returns
    -------
    dict with ``positive``, ``ignored``, ``negative`` (bool arrays over the
    anchors), ``best_iou`` (per anchor), ``rescued`` (objects whose best
    anchor is below ``pos_iou`` and becomes positive by the best-anchor rule).
    """
    pos_iou = check_in_range(pos_iou, "pos_iou", 0.0, 1.0)
    neg_iou = check_in_range(neg_iou, "neg_iou", 0.0, 1.0)
    if neg_iou > pos_iou:
        raise ValueError(f"need neg_iou <= pos_iou, got neg_iou={neg_iou}, pos_iou={pos_iou}.")
    gt = check_gt_boxes(gt_boxes)
    anchors = check_boxes(anchors, "anchors")
    if anchors.shape[0] == 0:
        raise ValueError("anchors is empty; expected at least one anchor box (level_anchors() makes them).")
    check_size_budget(anchors.shape[0] * gt.shape[0], "anchors", what="the anchor-object IoU matrix")
    if gt.shape[0] == 0:
        best = np.zeros(len(anchors))
        return {"positive": best > 1, "ignored": best > 1, "negative": best < 1, "best_iou": best, "rescued": 0}
    iou = box_iou(anchors, gt)
    best = iou.max(axis=1)
    positive = best >= pos_iou
    per_gt = iou.max(axis=0)
    rescued = 0
    for j in range(gt.shape[0]):
        if per_gt[j] > 0 and not positive[iou[:, j] >= per_gt[j] - 1e-9].any():
            rescued += 1
        if per_gt[j] > 0:
            positive |= iou[:, j] >= per_gt[j] - 1e-9
    negative = (best < neg_iou) & ~positive
    return {"positive": positive, "ignored": ~positive & ~negative, "negative": negative, "best_iou": best,
            "rescued": rescued}


def anchor_match_picture(image, gt_boxes, *, size: float, ratios, stride: int, pos_iou: float = 0.7,
                         neg_iou: float = 0.3, zoom: int = 3, titles: bool = True):
    """Anchors of one pyramid level and how they match the ground truth.

    Parameters
    ----------
    image : array, shape (H, W, 3) or (H, W)
    gt_boxes : array, shape (K, 4)
    size, ratios, stride : the level's anchors (see :func:`segtutor.maskrcnn.anchors.level_anchors`)
    pos_iou, neg_iou : float
        The RPN's thresholds.
    zoom : int
        Pixel magnification of the picture.
    titles : bool
        Name each panel in a white strip above the picture.

    Returns
    -------
    picture : ndarray of float64, shape (zoom*H [+ title strip], 2*zoom*W + gap, 3)
        Left: the image, ground truth (white), positive anchors (green),
        ignored anchors (orange) and the anchor shapes at the centre cell
        (cyan). Right: the best IoU of each cell's anchors with any object
        (dark 0, yellow 1) with the objects outlined.
    counts : dict
        From :func:`anchor_match_counts`, plus ``n_anchors``.
    """
    titles = check_bool(titles, "titles")
    img = _rgb(image)
    h, w = img.shape[:2]
    zoom = _check_zoom(zoom, img.shape)
    stride = check_scalar(stride, "stride", integer=True, low=1, high=max(h, w))
    anchors = level_anchors((h, w), stride, size, ratios)
    counts = anchor_match_counts(gt_boxes, anchors, pos_iou, neg_iou)
    counts["n_anchors"] = len(anchors)
    gt = check_gt_boxes(gt_boxes)

    left = _zoom(img * np.float32(0.75), zoom)
    _outline(left, anchors[counts["ignored"]] * zoom, ORANGE)
    _outline(left, anchors[counts["positive"]] * zoom, GREEN, 2)
    rows, cols = int(np.ceil(h / stride)), int(np.ceil(w / stride))
    n_r = len(np.atleast_1d(ratios))
    centre = ((rows // 2) * cols + cols // 2) * n_r
    _outline(left, anchors[centre:centre + n_r] * zoom, CYAN)
    _outline(left, gt * zoom, WHITE, 2)

    per_cell = counts["best_iou"].reshape(rows, cols, n_r).max(axis=2)
    heat = _zoom(_heat(per_cell, 1.0), stride * zoom)[: h * zoom, : w * zoom]
    _outline(heat, gt * zoom, WHITE, 2)
    if titles:
        return _titled([left, heat], ["anchors and objects", "best IoU per cell"]), counts
    return _hstack([left, heat]), counts


# -- the stage browser ------------------------------------------------------------------------------------
def _feature_panel(feature: np.ndarray, size: int) -> np.ndarray:
    energy = np.abs(feature).mean(axis=-1)
    energy = energy / (energy.max() + 1e-12)
    return _zoom(_heat(energy, 1.0), size // energy.shape[0])


_INSPECTION_KEYS = ("features", "objectness", "pre_nms_boxes", "pre_nms_scores", "proposals", "proposal_scores",
                    "proposal_valid", "roi_crops", "boxes", "scores", "class_ids", "n_valid", "masks")


def _check_inspection(inspection) -> None:
    if not isinstance(inspection, dict) or not all(k in inspection for k in _INSPECTION_KEYS):
        raise ArgumentTypeError(
            f"inspection should be the dict that MaskRCNN.inspect(images) returns, got {describe(inspection)}."
        )


def stage_picture(inspection: dict, index: int, image, stage: str, *, score_threshold: float = 0.5,
                  class_names=None, gt_boxes=None, strides=(4, 8, 16), zoom: int = 3,
                  titles: bool = False) -> np.ndarray:
    """One stage of Mask R-CNN's forward pass on one image.

    Parameters
    ----------
    inspection : dict
        From :meth:`segtutor.maskrcnn.model.MaskRCNN.inspect` on a batch.
    index : int
        Which image of the batch.
    image : array, shape (S, S, 3)
        That image.
    stage : str
        One of :data:`STAGES`.
    score_threshold : float
        Boxes scoring below this are hidden (objectness for proposals, class
        score for detections).
    class_names : sequence of str, optional
        ``("background", ...)`` for the labels of detections.
    gt_boxes : array (K, 4), optional
        Drawn in white on the first stage.
    titles : bool
        Name each panel of the stages with several (the pyramid levels; the
        proposals and their crops) in a white strip above them, for a widget
        that has no figure titles; off for :func:`segtutor.viz.show_grid`,
        which titles the whole picture.

    Returns
    -------
    ndarray of float64, (H', W', 3)
    """
    from .inference import paste_masks

    stage = check_choice(stage, "stage", STAGES)
    titles = check_bool(titles, "titles")
    _check_inspection(inspection)
    batch = len(inspection["n_valid"])
    index = check_scalar(index, "index", integer=True, low=0)
    if index >= batch:
        raise ValueError(f"index should pick one of the {batch} inspected images (0..{batch - 1}), got {index}.")
    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    if class_names is not None and (isinstance(class_names, (str, bytes)) or not isinstance(class_names, (list, tuple))):
        raise ArgumentTypeError(f"class_names should be a list such as ['background', 'square', ...], "
                                f"got {describe(class_names)}.")
    if isinstance(strides, (str, bytes)) or not isinstance(strides, (list, tuple)) or not strides:
        raise ArgumentTypeError(f"strides should be the model's strides, such as (4, 8, 16), got {describe(strides)}.")
    strides = tuple(check_scalar(st, "strides", integer=True, low=1) for st in strides)
    if len(strides) != len(inspection["features"]):
        raise ValueError(f"strides should give one stride per pyramid level of the inspection "
                         f"({len(inspection['features'])}), got {strides}; pass model.config.strides.")
    gt = check_gt_boxes(gt_boxes) if gt_boxes is not None else None
    levels = [f"P{int(round(np.log2(st)))} (stride {st})" for st in strides]  # P_k has stride 2**k
    img = _rgb(image)
    s = img.shape[0]
    expected = inspection["features"][0].shape[1] * strides[0]
    if img.shape[:2] != (expected, expected):
        raise ValueError(f"image should be the inspected image, {expected} x {expected} pixels, got shape {img.shape}.")
    zoom = _check_zoom(zoom, img.shape)
    big = _zoom(img, zoom)
    if stage == "input and truth":
        if gt is not None:
            _outline(big, gt * zoom, WHITE, 2)
        return big
    if stage == "FPN features":
        panels = [_feature_panel(f[index], s * zoom) for f in inspection["features"]]
        return _titled(panels, levels) if titles else _hstack(panels)
    if stage == "RPN objectness":
        obj = inspection["objectness"][index]
        panels, start = [], 0
        for stride in strides:
            n = int(np.ceil(s / stride))
            cells = obj[start:start + n * n * 3].reshape(n, n, -1).max(axis=2)
            start += n * n * 3
            panels.append(_zoom(_heat(cells, 1.0), stride * zoom)[: s * zoom, : s * zoom])
        return _titled(panels, levels) if titles else _hstack(panels)
    if stage in ("proposals before NMS", "proposals after NMS"):
        if stage == "proposals before NMS":
            boxes, scores = inspection["pre_nms_boxes"][index], inspection["pre_nms_scores"][index]
        else:
            keep = inspection["proposal_valid"][index]
            boxes, scores = inspection["proposals"][index][keep], inspection["proposal_scores"][index][keep]
        chosen = boxes[scores >= score_threshold]
        canvas = big * 0.8
        _outline(canvas, chosen * zoom, GREEN)
        return canvas
    if stage == "RoIAlign crops":
        keep = inspection["proposal_valid"][index] & (inspection["proposal_scores"][index] >= score_threshold)
        boxes = inspection["proposals"][index][keep][:16]
        crops = inspection["roi_crops"][index][keep][:16]
        canvas = big * 0.8
        _outline(canvas, boxes * zoom, CYAN, 2)
        tiles = [_zoom(_heat(np.abs(c).mean(axis=-1)), 8) for c in crops]
        grid = np.ones((4 * 60, 4 * 60, 3))
        for k, t in enumerate(tiles):
            r, c = divmod(k, 4)
            grid[r * 60:r * 60 + t.shape[0], c * 60:c * 60 + t.shape[1]] = t
        return _titled([canvas, grid], ["best proposals", "their crops"]) if titles else _hstack([canvas, grid])
    # detections and masks
    n = int(inspection["n_valid"][index])
    scores = inspection["scores"][index][:n]
    keep = scores >= score_threshold
    boxes = inspection["boxes"][index][:n][keep]
    masks = paste_masks(inspection["masks"][index][:n][keep], boxes, (s, s))
    ids = inspection["class_ids"][index][:n][keep]
    from ..viz import draw_boxes, instance_colors

    shown = img.copy()
    colors = instance_colors(max(int(ids.max()) if ids.size else 1, 1))
    for m, c in zip(masks, ids):
        shown[m] = 0.5 * shown[m] + 0.5 * colors[c - 1]
    shown = _zoom(shown, zoom)
    if boxes.shape[0]:
        names = class_names if class_names is not None else [str(i) for i in range(int(ids.max()) + 1)]
        labels = [f"{names[c]} {p:.2f}" for c, p in zip(ids, scores[keep])]
        valid = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        shown = draw_boxes(shown, boxes[valid] * zoom, [lab for lab, v in zip(labels, valid) if v],
                           color=RED, thickness=2)
    return shown
