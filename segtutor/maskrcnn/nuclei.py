"""Mask R-CNN on ``nuclei`` as instances, against notebook 06's U-Net plus watershed.

Notebook 06 segments nuclei in two steps: a U-Net predicts which pixels are
nucleus, then a watershed on the distance transform splits touching nuclei
(:func:`segtutor.instances.split_instances`). Mask R-CNN finds each nucleus
as an object directly. This module trains it on the same generated images
and scores both methods on the same held-out crops with the same metrics:
instance F1 at IoU 0.5 (:func:`segtutor.metrics.match_instances`, one-to-one
matching, predictions at score >= 0.5) and COCO mask AP50 and AP
(:func:`segtutor.maskrcnn.evaluate.coco_ap`; the U-Net's instances are
scored by their mean foreground probability).

The images are 128 x 128 quadrants of ``make_nuclei(size=256, vary=True)``
images, the scale notebook 06 trains its U-Net at (nuclei 6-34 pixels
across), normalised by their own 1st and 99th percentiles as the U-Net's
inputs are. Crowded crops hold up to about 40 nuclei, so the model keeps
more detections than for ``shapes``; training crops with more nuclei than
``max_instances`` are left out (under a tenth of them). ``data="scaled"``
(:func:`nuclei_crops`) makes crops at the scale :func:`segment_nuclei` calls
the model at instead (nuclei of radius 4-40 px zoomed to 21 px across); the
shipped weights were trained on those, with anchors of 12, 24 and 48 px
(``weights/NUCLEI.md``).

The shipped ``nuclei.weights.npz`` comes from :class:`segtutor.training.shipped.NucleiMaskRCNN`::

    segtutor weights nuclei-maskrcnn --out segtutor/maskrcnn/weights
"""

from __future__ import annotations


import numpy as np

from .. import _backend
from .._validate import (ArgumentTypeError, describe, as_array, check_bool, check_choice, check_finite, check_in_range,
                         check_positive_int, check_seed)

__all__ = ["NUCLEI_DATA", "nuclei_config", "nuclei_crops", "to_rgb", "prepare_nuclei", "train_nuclei",
           "labels_from_detections", "compare_with_unet", "format_comparison", "NUCLEI_EVAL_SEED", "segment_nuclei"]

#: Seed of the held-out nuclei images (training uses small seeds).
NUCLEI_EVAL_SEED = 2018
_MAX_CROPS = 4000


def nuclei_config(**changes):
    """Configuration for nuclei: one class, smaller anchors, room for 40 instances per crop.

    Examples
    --------
    >>> nuclei_config().anchor_sizes, nuclei_config().max_detections
    ((8, 16, 32), 64)
    """
    from .config import MaskRCNNConfig

    # Nuclei of vary=True crops are 6-34 pixels across (median 15): anchors of 8/16/32 on P2-P4 cover them. The
    # shipped weights learned nuclei zoomed to 21 px, between 16 and 32, and use 12/24/48 (their config). 48 RoI slots,
    # a third positive, so a crowded crop still gives the heads 16 nuclei per step.
    return MaskRCNNConfig(num_classes=1, anchor_sizes=(8, 16, 32), max_instances=32, rois_per_image=48,
                          roi_positive_fraction=1 / 3, pre_nms_test=1000, post_nms_test=200, max_detections=64,
                          ).replace(**changes)


#: The kinds of nuclei crops (:func:`nuclei_crops`'s ``data``): ``"vary"`` the images at their own scale (what the
#: weights shipped before issue 22 were trained on), ``"scaled"`` images zoomed to the Mask R-CNN's call scale (the
#: shipped weights').
NUCLEI_DATA = ("vary", "scaled")


def nuclei_crops(n_crops: int, *, seed: int = 0, data: str = "vary"):
    """``n_crops`` 128 x 128 nuclei crops with their labels, at their own scale or at the Mask R-CNN's call scale.

    Parameters
    ----------
    n_crops : int
        Number of crops, at most 4,000.
    seed : int
        The same seed gives the same crops.
    data : {"vary", "scaled"}
        ``"vary"``: quadrants of ``make_nuclei(size=256, vary=True, seed=seed)``
        images, nuclei as drawn (radius about 5-13 px). ``"scaled"``:
        :func:`segtutor.models.scale.nuclei_at_trained_scale` with
        ``size=128`` and ``diameter=scale.TRAINED_DIAMETER["maskrcnn"]`` (21 px):
        ``make_nuclei(vary="wide")`` images of typical radius 4-40 px zoomed
        as :func:`segment_nuclei` zooms an image, so that their median nucleus
        diameter is 21 px times a random 0.8-1.25 (the size estimate's error).

    Returns
    -------
    images : ndarray of float32, shape (n_crops, 128, 128)
        Raw intensities (about [0, 1]).
    labels : ndarray of int32, shape (n_crops, 128, 128)
        0 background, one id per nucleus (ids need not be consecutive).

    Examples
    --------
    >>> images, labels = nuclei_crops(2, seed=0, data="scaled")
    >>> images.shape, labels.dtype
    ((2, 128, 128), dtype('int32'))
    """
    from ..datasets import make_nuclei

    n_crops = check_positive_int(n_crops, "n_crops")
    if n_crops > _MAX_CROPS:
        raise ValueError(f"n_crops={n_crops} is more than {_MAX_CROPS}; that would take minutes and gigabytes.")
    seed = check_seed(seed)
    data = check_choice(data, "data", NUCLEI_DATA)
    if data == "scaled":
        from ..models import scale

        made = scale.nuclei_at_trained_scale(n_crops, size=128, diameter=scale.TRAINED_DIAMETER["maskrcnn"],
                                             seed=seed)
        return made.images.astype(np.float32), made.labels.astype(np.int32)
    made = make_nuclei(-(-n_crops // 4), size=256, vary=True, seed=seed)
    images, labels = [], []
    for image, label in zip(made.images, made.labels):
        for y in (0, 128):
            for x in (0, 128):
                images.append(image[y:y + 128, x:x + 128])
                labels.append(label[y:y + 128, x:x + 128])
    return np.stack(images[:n_crops]).astype(np.float32), np.stack(labels[:n_crops]).astype(np.int32)


def to_rgb(images) -> np.ndarray:
    """Percentile-normalise gray crops (N, H, W) to [0, 1] and repeat them into three channels."""
    from ..models.pretrained import normalise_percentile
    from ..viz import to_unit_range

    x = check_finite(as_array(images, "images"), "images")
    if x.ndim != 3 or x.size == 0:
        raise ValueError(f"images should be a stack of gray images (N, H, W), got shape {x.shape}.")
    out = np.stack([to_unit_range(normalise_percentile(im), "clip") for im in x])
    return np.repeat(out[..., None], 3, axis=-1)


def _instances(label: np.ndarray):
    ids = np.unique(label)
    ids = ids[ids > 0]
    return label[None] == ids[:, None, None]


def prepare_nuclei(images, labels, *, max_instances: int = 32) -> dict:
    """Training arrays (:func:`segtutor.maskrcnn.data.prepare_instances`) from crops and label images.

    Crops with more than ``max_instances`` nuclei are skipped; ``skipped`` in the result counts them.
    """
    from .data import prepare_instances

    max_instances = check_positive_int(max_instances, "max_instances")
    images, labels = as_array(images, "images"), as_array(labels, "labels")
    check_finite(images, "images")
    if images.ndim != 3 or labels.shape != images.shape or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"images should be gray crops (N, H, W) and labels integer label images of the same shape, "
                         f"got {images.shape} and {labels.shape} ({labels.dtype}); nuclei_crops() makes both.")
    masks = [_instances(lab) for lab in labels]
    keep = [i for i, m in enumerate(masks) if len(m) <= max_instances]
    if not keep:
        raise ValueError(f"every crop has more than max_instances={max_instances} nuclei; raise max_instances.")
    batch = prepare_instances(to_rgb(images[keep]), [masks[i] for i in keep],
                              [np.ones(len(masks[i]), np.int32) for i in keep], num_classes=1,
                              max_instances=max_instances)
    batch["skipped"] = len(masks) - len(keep)
    return batch


def train_nuclei(steps: int = 600, *, seed: int = 0, n_train: int = 400, learning_rate: float = 2e-3,
                 config=None, callbacks=None, verbose=2, data: str = "vary"):
    """Train Mask R-CNN from scratch on nuclei crops (batch 8, Adam with cosine decay, clipnorm 5).

    ``data`` picks the crops (:func:`nuclei_crops`): ``"vary"`` at their own
    scale, ``"scaled"`` zoomed to the scale :func:`segment_nuclei` calls the
    model at.

    Returns
    -------
    model, history, seconds : as :func:`segtutor.maskrcnn.train_shapes.train_shapes`
    """
    keras = _backend.keras()

    from .data import training_dataset
    from .model import MaskRCNN
    from .train_shapes import fit_from_scratch

    steps = check_positive_int(steps, "steps")
    seed = check_seed(seed)
    n_train = check_positive_int(n_train, "n_train", minimum=8)
    learning_rate = check_in_range(learning_rate, "learning_rate", 1e-6, 1.0)
    data = check_choice(data, "data", NUCLEI_DATA)
    config = config if config is not None else nuclei_config()
    keras.utils.set_random_seed(int(seed))
    batch = prepare_nuclei(*nuclei_crops(n_train, seed=seed, data=data), max_instances=config.max_instances)
    model = MaskRCNN(config)
    history, seconds = fit_from_scratch(model, training_dataset(batch, batch_size=8, seed=seed), steps,
                                        learning_rate=learning_rate, per_epoch=min(50, steps), callbacks=callbacks,
                                        verbose=verbose)
    return model, history, seconds


def labels_from_detections(detections, score_threshold: float = 0.5) -> np.ndarray:
    """One label image from overlapping instance masks: higher scores paint last, so they win.

    Examples
    --------
    >>> m = np.zeros((2, 4, 4), bool); m[0, :2] = True; m[1, 1:3] = True
    >>> labels_from_detections({"masks": m, "scores": np.array([0.9, 0.6])})[:, 0].tolist()
    [1, 1, 2, 0]
    """
    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    if not isinstance(detections, dict) or "masks" not in detections or "scores" not in detections:
        raise TypeError("detections should be a dict with 'masks' (K, H, W) and 'scores' (K,), as detect() gives.")
    masks, scores = np.asarray(detections["masks"], bool), np.asarray(detections["scores"], float).reshape(-1)
    if masks.ndim != 3 or masks.shape[0] != scores.shape[0]:
        raise ValueError(f"masks should be (K, H, W) with one score each, got {masks.shape} and {scores.shape}.")
    out = np.zeros(masks.shape[1:], np.int32)
    for i in np.argsort(scores, kind="stable"):
        if scores[i] >= score_threshold:
            out[masks[i]] = i + 1
    return out


def _scores(pred_labels, truth_labels, predictions):
    from ..metrics import match_instances
    from .evaluate import coco_ap

    matches = [match_instances(p, t, 0.5) for p, t in zip(pred_labels, truth_labels)]
    tp, fp, fn = (sum(getattr(m, k) for m in matches) for k in ("tp", "fp", "fn"))
    truths = [{"masks": _instances(t), "class_ids": np.ones(len(np.unique(t[t > 0])), int)} for t in truth_labels]
    ap = coco_ap(predictions, truths, "segm")
    return {"F1@0.5": 2 * tp / max(2 * tp + fp + fn, 1), "AP50": ap["AP50"], "AP": ap["AP"], "TP": tp, "FP": fp,
            "FN": fn}


def compare_with_unet(model, n_images: int = 64, *, seed: int = NUCLEI_EVAL_SEED, unet="unet",
                      data: str = "vary") -> dict:
    """Score Mask R-CNN and U-Net + watershed on the same held-out nuclei crops.

    Parameters
    ----------
    model : MaskRCNN
        Trained on nuclei (:func:`train_nuclei` or the shipped weights).
    n_images : int
        Held-out 128 x 128 crops.
    unet : str or keras.Model
        A shipped model's name for :func:`segtutor.models.pretrained.load_model`, or a trained U-Net.
    data : {"vary", "scaled"}
        The held-out crops' kind (:func:`nuclei_crops`). The Mask R-CNN runs on the crops as they are; a shipped
        U-Net (``unet`` a name) through its documented call, each crop zoomed so that its nuclei, their size
        estimated, come out at the size the model learned
        (:func:`segtutor.models.pretrained.segment_at_scale`); a U-Net you pass runs on the crops as they are.

    Returns
    -------
    dict
        ``rows``: one dict per method with ``method``, ``F1@0.5`` (pooled over the crops), ``AP50``, ``AP``,
        ``TP``, ``FP``, ``FN``; and ``n_images``, ``seed``, ``data``.
    """
    from ..instances import split_instances
    from ..models.pretrained import load_model, predict_probability
    from .inference import detect

    from .model import MaskRCNN

    if not isinstance(model, MaskRCNN):
        raise TypeError(f"model should be a trained MaskRCNN (load_nuclei_model()), got {type(model).__name__}.")
    n_images = check_positive_int(n_images, "n_images")
    if n_images > _MAX_CROPS:
        raise ValueError(f"n_images={n_images} is more than {_MAX_CROPS} crops; that would take minutes and gigabytes.")
    seed = check_seed(seed)
    data = check_choice(data, "data", NUCLEI_DATA)
    if isinstance(unet, str):
        check_choice(unet, "unet", ("unet", "deeplab"))
    else:
        keras = _backend.keras()

        if not isinstance(unet, keras.Model):
            raise ArgumentTypeError(f"unet should be a shipped model's name such as 'unet', or a trained Keras U-Net, "
                                    f"got {describe(unet)}.")
    images, truth = nuclei_crops(n_images, seed=seed, data=data)
    detections = detect(model, to_rgb(images))
    mr_labels = [labels_from_detections(d) for d in detections]
    mr_predictions = [{"masks": d["masks"], "class_ids": np.ones(len(d["scores"]), int), "scores": d["scores"]}
                      for d in detections]

    net = load_model(unet) if isinstance(unet, str) else unet
    un_labels, un_predictions = [], []
    for image in images:
        if isinstance(unet, str):
            # A shipped model through its documented call: zoomed so that the nuclei (size estimated) come out
            # at the size it learned (scale.TRAINED_DIAMETER), as the Mask R-CNN sees crops at the size it learned.
            labels, prob = _segment_at_trained_scale(net, image, unet)
        else:
            prob = predict_probability(net, image)
            labels = split_instances(prob)
        masks = _instances(labels)
        un_labels.append(labels)
        # Each object's score is its mean foreground probability, so AP can rank the watershed's objects.
        un_predictions.append({"masks": masks, "class_ids": np.ones(len(masks), int),
                               "scores": np.array([prob[m].mean() for m in masks])})
    method = f"U-Net + watershed (shipped {unet!r}, segment_nuclei's zoom)" if isinstance(unet, str) else \
        "U-Net + watershed (your model, crops as they are)"
    rows = [{"method": method, **_scores(un_labels, truth, un_predictions)},
            {"method": "Mask R-CNN", **_scores(mr_labels, truth, mr_predictions)}]
    return {"rows": rows, "n_images": n_images, "seed": seed, "data": data}


def _segment_at_trained_scale(net, image, name: str):
    """Instance labels and a foreground probability of ``image`` from a shipped model at its trained scale."""
    import warnings

    from skimage.transform import resize

    from ..instances import split_instances
    from ..models import scale
    from ..models.pretrained import predict_probability, segment_at_scale

    seen = {}

    def segment(small):
        seen["prob"] = predict_probability(net, small)
        return split_instances(seen["prob"])

    with warnings.catch_warnings():
        # a 128-pixel crop of small nuclei can estimate below the checked range; the score, not the warning, matters
        warnings.simplefilter("ignore", scale.NucleusSizeWarning)
        labels = segment_at_scale(image, segment, trained_diameter=scale.TRAINED_DIAMETER[name])
    prob = resize(seen["prob"], labels.shape, order=1, mode="edge", anti_aliasing=False)
    return labels, prob


def check_rows(result, keys: tuple, maker: str) -> None:
    """``result`` should be a dict whose ``rows`` are dicts with ``keys`` (what ``maker`` returns)."""
    rows = result.get("rows") if isinstance(result, dict) else None
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) and all(k in r for k in keys) for r in rows):
        raise ArgumentTypeError(f"result should be the dict that {maker}() returns, with 'rows' holding dicts with "
                                f"keys {list(keys)}; got {describe(result)}.")


def format_comparison(result: dict) -> str:
    """A Markdown table of :func:`compare_with_unet`'s result."""
    check_rows(result, ("method", "F1@0.5", "AP50", "AP", "TP", "FP", "FN"), "compare_with_unet")
    lines = ["| method | instance F1 @ IoU 0.5 | mask AP50 | mask AP | TP | FP | FN |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['method']} | {r['F1@0.5']:.3f} | {r['AP50']:.3f} | {r['AP']:.3f} | {r['TP']} | {r['FP']} "
                     f"| {r['FN']} |")
    return "\n".join(lines)


def segment_nuclei(image, *, diameter=None, score_threshold: float = 0.5, instances: bool = True,
                   return_diameter: bool = False):
    """Segment the nuclei of a 2-D fluorescence image with the shipped nuclei Mask R-CNN, at any nucleus size.

    The Mask R-CNN's form of :func:`segtutor.models.pretrained.segment_nuclei`,
    with the same size handling (:func:`~segtutor.models.pretrained.segment_at_scale`):
    the image is rescaled so that its nuclei are about
    ``scale.TRAINED_DIAMETER["maskrcnn"]`` pixels across, the model runs
    tile by tile (:func:`segtutor.maskrcnn.inference.detect_tiled`) and the
    instance masks come back at the image's size.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A DNA-stained (DAPI, Hoechst) image, any size and dtype.
    diameter : float, optional
        Typical nucleus diameter in pixels; None estimates it from the image.
    score_threshold : float
        Detections scoring below it are dropped.
    instances : bool
        True: int32 labels 0..K; False: the boolean mask.
    return_diameter : bool
        Also return the diameter used, in pixels.

    Returns
    -------
    labels_or_mask : ndarray, shape (H, W)
    diameter : float
        Only with ``return_diameter=True``.

    Examples
    --------
    >>> from segtutor.datasets import make_nuclei
    >>> image = make_nuclei(1, size=128, seed=0).images[0]
    >>> segment_nuclei(image).shape                                         # doctest: +SKIP
    (128, 128)
    """
    from ..models import scale
    from ..models.pretrained import normalise_percentile, segment_at_scale
    from .inference import detect_tiled
    from .weights import load_nuclei_model

    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    instances = check_bool(instances, "instances")

    def segment(small):
        from skimage.segmentation import relabel_sequential

        normalised = np.clip(normalise_percentile(small), 0.0, 1.0)  # as its training crops (to_rgb)
        detections = detect_tiled(load_nuclei_model(), normalised, score_threshold=score_threshold)
        labels = relabel_sequential(labels_from_detections(detections, score_threshold))[0].astype(np.int32)
        return labels if instances else labels > 0

    return segment_at_scale(image, segment, trained_diameter=scale.TRAINED_DIAMETER["maskrcnn"], diameter=diameter,
                            return_diameter=return_diameter)
