"""COCO-style average precision with pycocotools, and precision-recall plots.

Average precision (AP) sorts all detections of a class by score, walks down
the list counting a detection as a true positive when it overlaps a still
unmatched ground-truth instance with IoU at least ``t``, and averages the
precision over 101 recall levels (Lin et al. 2014). **AP50** uses
``t = 0.5``, **AP75** ``t = 0.75``, and COCO's **AP** averages
``t = 0.50, 0.55, ..., 0.95`` and the classes, so it rewards pixel-accurate
masks. ``iou_type="segm"`` compares masks, ``"bbox"`` boxes.

pycocotools is the reference implementation; this module only converts
the course's arrays to its in-memory format (run-length encoded masks) and
hides its printing. At 128 x 128 no object reaches COCO's "large" area
(96 x 96 pixels), so that entry of ``stats`` is -1.

Examples
--------
>>> import numpy as np
>>> m = np.zeros((1, 16, 16), bool); m[0, 2:8, 3:9] = True
>>> truth = [{"masks": m, "class_ids": np.array([1])}]
>>> pred = [{"masks": m, "class_ids": np.array([1]), "scores": np.array([0.9])}]
>>> round(coco_ap(pred, truth)["AP"], 6)
1.0
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from .._validate import (ArgumentTypeError, describe, as_array, check_choice, check_finite, check_in_range,
                         check_scalar, check_str)
from ..boxes import boxes_to_xywh, masks_to_boxes

__all__ = ["coco_ap", "precision_recall", "plot_precision_recall", "average_precision", "error_cases"]


def _encode(mask):
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return rle


def _check_records(records, name, need_scores):
    if isinstance(records, dict):
        raise ArgumentTypeError(f"{name} should be a list with one dict per image; wrap a single image as [record].")
    if not isinstance(records, (list, tuple)):
        raise ArgumentTypeError(f"{name} should be a list with one dict per image, got {describe(records)}.")
    if not records:
        raise ValueError(f"{name} is empty; give one dict per image.")
    out = []
    for i, r in enumerate(records):
        if not isinstance(r, dict) or "masks" not in r or "class_ids" not in r or (need_scores and "scores" not in r):
            keys = "'masks', 'class_ids' and 'scores'" if need_scores else "'masks' and 'class_ids'"
            raise ValueError(f"{name}[{i}] should be a dict with {keys}.")
        masks = check_finite(as_array(r["masks"], f"{name}[{i}]['masks']"), f"{name}[{i}]['masks']")
        if masks.dtype != bool and masks.size and not np.isin(masks, (0, 1)).all():
            raise ValueError(f"{name}[{i}]['masks'] should be boolean (or 0/1) instance masks; threshold "
                             "probabilities first (masks >= 0.5).")
        masks = masks.astype(bool)
        ids = as_array(r["class_ids"], f"{name}[{i}]['class_ids']").reshape(-1)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 1):
            raise ValueError(f"{name}[{i}]['class_ids'] should be integers >= 1 (0 is the background), "
                             f"got {ids[:8].tolist()}.")
        if masks.ndim != 3 or masks.shape[0] != ids.shape[0]:
            raise ValueError(f"{name}[{i}]: masks should be (K, H, W) with one class id each, got {masks.shape} "
                             f"and {ids.shape[0]} class ids.")
        scores = None
        if need_scores:
            scores = check_finite(as_array(r["scores"], f"{name}[{i}]['scores']"),
                                  f"{name}[{i}]['scores']").astype(np.float64).reshape(-1)
        if need_scores and scores.shape[0] != ids.shape[0]:
            raise ValueError(f"{name}[{i}] has {ids.shape[0]} class ids but {scores.shape[0]} scores.")
        out.append((masks, ids, scores))
    return out


def _run_cocoeval(predictions, truths, iou_type):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    iou_type = check_choice(iou_type, "iou_type", ("segm", "bbox"))
    preds = _check_records(predictions, "predictions", True)
    gts = _check_records(truths, "truths", False)
    if len(preds) != len(gts):
        raise ValueError(f"give one prediction per truth image: {len(preds)} predictions, {len(gts)} truths.")
    if iou_type not in ("segm", "bbox"):
        raise ValueError(f"iou_type should be 'segm' (masks) or 'bbox' (boxes), got {iou_type!r}.")
    images, annotations, results = [], [], []
    classes = set()
    for image_id, ((pm, pc, ps), (gm, gc, _)) in enumerate(zip(preds, gts), start=1):
        if pm.shape[0] and pm.shape[1:] != gm.shape[1:]:
            raise ValueError(f"image {image_id - 1}: predicted masks are {pm.shape[1:]}, true ones {gm.shape[1:]}.")
        h, w = gm.shape[1:]
        images.append({"id": image_id, "height": int(h), "width": int(w)})
        for mask, c, box in zip(gm, gc, boxes_to_xywh(masks_to_boxes(gm)) if gm.shape[0] else []):
            classes.add(int(c))
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(c),
                                "segmentation": _encode(mask), "area": float(mask.sum()),
                                "bbox": [float(v) for v in box], "iscrowd": 0})
        for mask, c, s, box in zip(pm, pc, ps, boxes_to_xywh(masks_to_boxes(pm)) if pm.shape[0] else []):
            classes.add(int(c))
            results.append({"image_id": image_id, "category_id": int(c), "segmentation": _encode(mask),
                            "bbox": [float(v) for v in box], "score": float(s)})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations,
                  "categories": [{"id": c, "name": str(c)} for c in sorted(classes)]}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        gt.createIndex()
        dt = gt.loadRes(results) if results else COCO()
        if not results:
            dt.dataset = {"images": images, "annotations": [], "categories": gt.dataset["categories"]}
            dt.createIndex()
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def coco_ap(predictions, truths, iou_type: str = "segm") -> dict:
    """COCO AP, AP50 and AP75 of instance predictions.

    Parameters
    ----------
    predictions : list of dict, one per image
        ``masks`` (K, H, W) bool, ``class_ids`` (K,), ``scores`` (K,), as
        returned by :func:`segtutor.maskrcnn.inference.detect`.
    truths : list of dict, one per image
        ``masks`` (K, H, W) bool and ``class_ids`` (K,).
    iou_type : "segm" or "bbox"
        Match masks or their boxes.

    Returns
    -------
    dict
        ``AP``, ``AP50``, ``AP75``, ``AP_small``, ``AP_medium``, ``AR100``
        (floats; -1 where COCO has nothing to measure) and ``stats``, the 12
        numbers of ``COCOeval.summarize()``.
    """
    ev = _run_cocoeval(predictions, truths, iou_type)
    s = [float(v) for v in ev.stats]
    return {"AP": s[0], "AP50": s[1], "AP75": s[2], "AP_small": s[3], "AP_medium": s[4], "AR100": s[8],
            "stats": s}


def precision_recall(predictions, truths, iou_type: str = "segm", iou_threshold: float = 0.5) -> dict:
    """Precision at COCO's 101 recall levels, per class and averaged, at one IoU threshold.

    Returns
    -------
    dict with ``recall`` (101,), ``precision`` (101,) averaged over classes,
    and ``per_class`` {class id: (101,)}; -1 marks recall levels never reached.
    """
    iou_threshold = check_in_range(iou_threshold, "iou_threshold", 0.0, 1.0)
    ev = _run_cocoeval(predictions, truths, iou_type)
    thresholds = ev.params.iouThrs
    t = int(np.argmin(np.abs(thresholds - iou_threshold)))
    if abs(thresholds[t] - iou_threshold) > 1e-6:
        raise ValueError(f"iou_threshold should be one of COCO's {np.round(thresholds, 2).tolist()}, got {iou_threshold}.")
    # precision: [T, R, K, A, M]; area range 0 = all, max detections index -1 = 100.
    prec = ev.eval["precision"][t, :, :, 0, -1]
    per_class = {int(c): prec[:, k] for k, c in enumerate(ev.params.catIds)}
    valid = np.where(prec > -1, prec, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(valid, axis=1)
    return {"recall": np.asarray(ev.params.recThrs), "precision": np.nan_to_num(mean, nan=-1.0),
            "per_class": per_class}


def plot_precision_recall(pr: dict, class_names=None, *, title: str | None = None):
    """Plot the curves of :func:`precision_recall`; returns the Matplotlib figure."""
    import matplotlib.pyplot as plt

    if not isinstance(pr, dict) or not {"recall", "per_class"} <= set(pr) or not isinstance(pr["per_class"], dict):
        raise ArgumentTypeError(f"pr should be the dict that precision_recall() returns, got {describe(pr)}.")
    if class_names is not None and (isinstance(class_names, (str, bytes)) or not isinstance(class_names, (list, tuple))):
        raise ArgumentTypeError(f"class_names should be a list of names, such as data.class_names, "
                                f"got {describe(class_names)}.")
    if title is not None:
        title = check_str(title, "title")
    recall = check_finite(as_array(pr["recall"], "pr['recall']"), "pr['recall']")
    curves = {c: check_finite(as_array(p, "pr['per_class']"), "pr['per_class']") for c, p in pr["per_class"].items()}
    if any(p.shape != recall.shape for p in curves.values()):
        raise ValueError("pr['per_class'] curves should have as many points as pr['recall']; "
                         "pass what precision_recall() returns.")
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    for c, prec in curves.items():
        name = class_names[c] if class_names is not None and c < len(class_names) else f"class {c}"
        ok = prec > -1
        ax.plot(recall[ok], prec[ok], label=str(name))
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def average_precision(scores, is_true_positive, n_truth) -> float:
    """COCO's 101-point interpolated AP of one class at one IoU threshold.

    Parameters
    ----------
    scores : array, shape (D,)
        Detection scores.
    is_true_positive : array of bool, shape (D,)
        Whether each detection matched a ground-truth instance (each instance
        matches at most one detection, the highest-scoring one).
    n_truth : int
        Number of ground-truth instances, at least 1.

    Returns
    -------
    float
        Detections are sorted by decreasing score (ties keep their order);
        precision is made non-increasing from the right (the "envelope");
        AP is the mean, over recall levels 0, 0.01, ..., 1, of the envelope
        at the first rank reaching that recall (0 where it is never reached).

    Examples
    --------
    >>> round(average_precision([0.9, 0.8, 0.7], [True, False, True], n_truth=2), 4)
    0.835
    """
    s = check_finite(as_array(scores, "scores"), "scores").astype(np.float64).reshape(-1)
    tp = as_array(is_true_positive, "is_true_positive").reshape(-1)
    if tp.dtype != bool and tp.size and not np.isin(tp, (0, 1)).all():
        raise ValueError("is_true_positive should hold booleans (True for a matched detection), "
                         f"got values such as {tp[:4].tolist()}.")
    if tp.shape != s.shape:
        raise ValueError(f"scores and is_true_positive should have the same length, got {s.shape[0]} and {tp.shape[0]}.")
    if isinstance(n_truth, (bool, np.bool_)) or not isinstance(n_truth, (int, np.integer)):
        raise ArgumentTypeError(f"n_truth should be a positive integer (ground-truth instances), got {n_truth!r}.")
    n_truth = check_scalar(n_truth, "n_truth", integer=True, low=1)
    if int(tp.astype(bool).sum()) > n_truth:
        raise ValueError(f"{int(tp.sum())} true positives cannot match only {n_truth} ground-truth instances.")
    order = np.argsort(-s, kind="mergesort")
    hits = tp.astype(bool)[order]
    tps, fps = np.cumsum(hits), np.cumsum(~hits)
    recall = tps / n_truth
    precision = tps / np.maximum(tps + fps, 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    levels = np.linspace(0, 1, 101)
    first = np.searchsorted(recall, levels, side="left")
    values = np.where(first < recall.size, envelope[np.minimum(first, max(recall.size - 1, 0))] if recall.size else 0.0, 0.0)
    return float(np.mean(values))


def error_cases(predictions, truths, *, score_threshold: float = 0.5, iou_threshold: float = 0.5) -> list[dict]:
    """Sort each image's mistakes into the usual kinds, for looking at failures.

    Predictions scoring below ``score_threshold`` are ignored. A true object is
    **missed** when no prediction overlaps its mask with IoU >= ``iou_threshold``,
    and **confused** when the best such prediction has another class. A
    prediction is **merged** when it overlaps two or more true objects with
    IoU >= 0.2 each (one mask over touching objects), and a **false positive**
    when it overlaps no object with IoU >= ``iou_threshold``. An object found
    once with its class and once more with another is not confused: the
    second detection is a duplicate, which costs precision, not recall.

    Returns
    -------
    list of dict, one per image
        ``missed``, ``confused``: indices of true objects; ``merged``,
        ``false_positive``: indices of kept predictions; ``kept``: indices of
        the predictions above the score threshold.
    """
    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    iou_threshold = check_in_range(iou_threshold, "iou_threshold", 0.0, 1.0)
    preds = _check_records(predictions, "predictions", True)
    gts = _check_records(truths, "truths", False)
    if len(preds) != len(gts):
        raise ValueError(f"give one prediction per truth image: {len(preds)} predictions, {len(gts)} truths.")
    out = []
    for i, ((pm, pc, ps), (gm, gc, _)) in enumerate(zip(preds, gts)):
        if pm.shape[1:] != gm.shape[1:]:
            raise ValueError(f"predictions[{i}] masks are {pm.shape[1:]} but truths[{i}] masks are {gm.shape[1:]}; "
                             "both should be the image's (H, W).")
        kept = np.flatnonzero(ps >= score_threshold)
        pm, pc = pm[kept], pc[kept]
        p = pm.reshape(len(pm), -1).astype(np.float64)
        g = gm.reshape(len(gm), -1).astype(np.float64)
        inter = p @ g.T
        union = p.sum(1)[:, None] + g.sum(1)[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        missed, confused = [], []
        for j in range(len(gm)):
            hits = iou[:, j] >= iou_threshold if len(pm) else np.zeros(0, bool)
            if not hits.any():
                missed.append(j)
            elif not (pc[hits] == gc[j]).any():
                confused.append(j)
        merged = [int(i) for i in range(len(pm)) if (iou[i] >= 0.2).sum() >= 2] if len(gm) else []
        false_pos = [int(i) for i in range(len(pm)) if not len(gm) or iou[i].max() < iou_threshold]
        out.append({"missed": missed, "confused": confused, "merged": merged, "false_positive": false_pos,
                    "kept": kept})
    return out
