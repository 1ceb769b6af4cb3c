"""From head outputs to instances: class-specific NMS and mask pasting.

At test time every proposal gets ``K`` class scores and ``K`` refined boxes.
Each class keeps its own boxes above a small score threshold and runs its
own NMS (IoU 0.5), so a circle never suppresses an overlapping square; the
best ``max_detections`` over all classes remain. The mask head then runs on
those final boxes (not on the proposals, as in the paper) and the 28 x 28
mask of the predicted class is **pasted** back: resampled to the box's size
in the image and thresholded at 0.5.

Examples
--------
>>> m = np.zeros((1, 28, 28), np.float32); m[0, :, :14] = 1.0   # left half of the box
>>> pasted = paste_masks(m, np.array([[2.0, 4.0, 10.0, 12.0]]), (16, 16))
>>> pasted.shape, int(pasted[0].sum()), pasted[0, 2:10, 4:12].any(axis=0).nonzero()[0].tolist()
((1, 16, 16), 32, [0, 1, 2, 3])
"""

from __future__ import annotations

import numpy as np

from .._validate import as_array, check_finite, check_in_range, check_scalar, check_size_budget
from ..boxes import check_boxes
from .box_coding import check_image_shape
# The class-specific NMS this module describes runs inside MaskRCNN.detect_batch, so it lives below the
# model, with the other NMS; detect() and detect_tiled() import the model's check when called.
from .proposals import select_detections  # noqa: F401

# Tiles one detect_tiled call may run (each is a forward pass of about a second on a CPU).
_MAX_TILES = 256

# select_detections (in proposals) runs traced inside MaskRCNN.detect_batch on tensors the model shapes: not public.
__all__ = ["paste_masks", "detect", "detect_tiled", "Detections"]


def paste_masks(masks, boxes, image_shape, threshold: float = 0.5) -> np.ndarray:
    """Resample box-relative masks into full-image masks.

    Parameters
    ----------
    masks : array, shape (N, m, m)
        Probabilities on an ``m x m`` grid spanning each box (bin centres).
    boxes : array, shape (N, 4)
        ``(y1, x1, y2, x2)`` float boxes in pixels.
    image_shape : (H, W)
    threshold : float
        Pixels whose interpolated probability is at least this are in.

    Returns
    -------
    ndarray of bool, shape (N, H, W)
        Pixels outside the box are never set.
    """
    p = as_array(masks, "masks")
    b = check_boxes(boxes).astype(np.float64)
    if p.ndim != 3 or p.shape[0] != b.shape[0] or p.shape[1] != p.shape[2] or p.shape[1] == 0:
        raise ValueError(f"masks should have shape (N, m, m) with one square mask per box, got {p.shape} "
                         f"for {b.shape[0]} boxes.")
    p = check_finite(p, "masks").astype(np.float32)
    h, w = check_image_shape(image_shape)
    check_size_budget(p.shape[0] * h * w, "image_shape", what="the pasted masks")
    threshold = check_scalar(threshold, "threshold")
    m = p.shape[1]
    out = np.zeros((p.shape[0], h, w), bool)
    for i, ((y1, x1, y2, x2), prob) in enumerate(zip(b, p)):
        if y2 - y1 <= 0 or x2 - x1 <= 0:
            continue
        rows = np.arange(max(int(np.floor(y1)), 0), min(int(np.ceil(y2)), h))
        cols = np.arange(max(int(np.floor(x1)), 0), min(int(np.ceil(x2)), w))
        if rows.size == 0 or cols.size == 0:
            continue
        # Pixel centres in mask-grid index coordinates (cell centres at 0 .. m-1).
        u = np.clip((rows + 0.5 - y1) / (y2 - y1) * m - 0.5, 0, m - 1)
        v = np.clip((cols + 0.5 - x1) / (x2 - x1) * m - 0.5, 0, m - 1)
        u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
        u1, v1 = np.minimum(u0 + 1, m - 1), np.minimum(v0 + 1, m - 1)
        fu, fv = (u - u0)[:, None], (v - v0)[None, :]
        value = ((1 - fu) * (1 - fv) * prob[u0][:, v0] + (1 - fu) * fv * prob[u0][:, v1]
                 + fu * (1 - fv) * prob[u1][:, v0] + fu * fv * prob[u1][:, v1])
        out[i, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = value >= threshold
    return out


class Detections(dict):
    """One image's instances: ``boxes`` (K, 4) float, ``class_ids`` (K,), ``scores`` (K,), ``masks`` (K, H, W)."""

    def __repr__(self) -> str:
        return f"Detections({len(self['scores'])} instances, classes {self['class_ids'].tolist()})"


def check_images(images, name: str) -> np.ndarray:
    """Float images in [0, 1] (finite), as float32."""
    arr = as_array(images, name)
    check_finite(arr, name)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"{name} should hold values in [0, 1], got range [{arr.min()}, {arr.max()}]. "
                         "Divide uint8 images by 255.")
    return arr.astype(np.float32)


def detect(model, images, *, batch_size: int = 8, score_threshold: float = 0.0) -> list:
    """Run a trained model and return full-image instance masks.

    Parameters
    ----------
    model : segtutor.maskrcnn.model.MaskRCNN
    images : array, shape (N, S, S, 3) or (S, S, 3)
        Floats in [0, 1], ``S = model.config.image_size``.
    batch_size : int
    score_threshold : float
        Drop detections scoring below this (evaluation keeps them all).

    Returns
    -------
    list of Detections, one per image, highest score first.
    """
    from .model import check_maskrcnn

    model = check_maskrcnn(model)
    imgs = check_images(images, "images")
    if imgs.ndim == 3:
        imgs = imgs[None]
    s = model.config.image_size
    if imgs.ndim != 4 or imgs.shape[1:] != (s, s, 3) or imgs.shape[0] == 0:
        raise ValueError(
            f"images should have shape (N, {s}, {s}, 3) for this model, got {np.asarray(images).shape}. "
            "Resize or pad the images to the model's image_size."
        )
    batch_size = check_scalar(batch_size, "batch_size", integer=True, low=1, high=256)
    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    results = []
    for start in range(0, imgs.shape[0], batch_size):
        chunk = imgs[start:start + batch_size]
        n_real = chunk.shape[0]
        if n_real < batch_size:  # pad to one static batch shape: one trace only
            chunk = np.concatenate([chunk, np.zeros((batch_size - n_real, s, s, 3), np.float32)])
        out = {k: np.asarray(v) for k, v in model.predict_step_fn(chunk).items()}
        for i in range(n_real):
            n = int(out["n_valid"][i])
            keep = out["scores"][i, :n] >= score_threshold
            boxes = out["boxes"][i, :n][keep]
            results.append(Detections(
                boxes=boxes, class_ids=out["class_ids"][i, :n][keep], scores=out["scores"][i, :n][keep],
                masks=paste_masks(out["masks"][i, :n][keep], boxes, (s, s)),
            ))
    return results


def detect_tiled(model, image, *, stride: int | None = None, score_threshold: float = 0.5,
                 iou_threshold: float = 0.3) -> Detections:
    """Detect objects in an image larger than the model's input, tile by tile.

    The image is cut into overlapping ``S x S`` tiles (``S = model.config.image_size``, default overlap half a
    tile), each tile is run through :func:`detect`, and the detections are moved back into the image. A detection
    whose box touches a tile edge that lies inside the image is probably a cut object and is dropped (another tile
    sees it whole); duplicates across tiles are then removed by class-agnostic NMS on the boxes.

    Parameters
    ----------
    model : MaskRCNN
    image : array, shape (H, W, 3) or (H, W)
        Floats in [0, 1]; a gray image is repeated into three channels. It is padded with its edge values up to
        a whole number of tiles.
    stride : int, optional
        Tile step; defaults to ``S // 2``.
    score_threshold, iou_threshold : float

    Returns
    -------
    Detections
        Boxes, classes, scores and (H, W) masks in the image's own coordinates.
    """
    from .proposals import nms

    from .model import check_maskrcnn

    model = check_maskrcnn(model)
    img = check_images(image, "image")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3 or img.size == 0:
        raise ValueError(f"image should have shape (H, W, 3) or (H, W), got {np.asarray(image).shape}.")
    s = model.config.image_size
    stride = s // 2 if stride is None else check_scalar(stride, "stride", integer=True)
    if not 1 <= stride <= s:
        raise ValueError(f"stride should be between 1 and the tile size {s}, got {stride}.")
    score_threshold = check_in_range(score_threshold, "score_threshold", 0.0, 1.0)
    iou_threshold = check_in_range(iou_threshold, "iou_threshold", 0.0, 1.0)
    h, w = img.shape[:2]
    ph = max(s, int(np.ceil((h - s) / stride)) * stride + s)
    pw = max(s, int(np.ceil((w - s) / stride)) * stride + s)
    n_tiles = ((ph - s) // stride + 1) * ((pw - s) // stride + 1)
    if n_tiles > _MAX_TILES:
        raise ValueError(
            f"image of {h} x {w} pixels with stride={stride} makes {n_tiles} tiles of {s} x {s}, above "
            f"{_MAX_TILES} (about a second each); use a larger stride (at most {s}) or a smaller image."
        )
    padded = np.pad(img, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    origins = [(y, x) for y in range(0, ph - s + 1, stride) for x in range(0, pw - s + 1, stride)]
    tiles = np.stack([padded[y:y + s, x:x + s] for y, x in origins])
    boxes, ids, scores, masks = [], [], [], []
    for (y, x), det in zip(origins, detect(model, tiles, score_threshold=score_threshold)):
        for box, c, p, m in zip(det["boxes"], det["class_ids"], det["scores"], det["masks"]):
            inner = [(box[0] <= 1 and y > 0), (box[1] <= 1 and x > 0),
                     (box[2] >= s - 1 and y + s < h), (box[3] >= s - 1 and x + s < w)]
            if any(inner):
                continue
            full = np.zeros((ph, pw), bool)
            full[y:y + s, x:x + s] = m
            boxes.append(box + np.array([y, x, y, x], np.float32))
            ids.append(c)
            scores.append(p)
            masks.append(full[:h, :w])
    if not boxes:
        return Detections(boxes=np.zeros((0, 4), np.float32), class_ids=np.zeros(0, np.int32),
                          scores=np.zeros(0, np.float32), masks=np.zeros((0, h, w), bool))
    keep = nms(np.array(boxes), np.array(scores), iou_threshold)
    return Detections(boxes=np.array(boxes)[keep], class_ids=np.array(ids)[keep], scores=np.array(scores)[keep],
                      masks=np.array(masks)[keep])
