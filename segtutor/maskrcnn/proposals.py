"""Proposals: the RPN's best boxes, de-duplicated by non-maximum suppression.

From tens of thousands of scored anchors (4032 at 128 x 128), keep the
``pre_nms`` highest objectness scores, move each anchor by its predicted
deltas, clip it to the image, then run **non-maximum suppression** (NMS):
visit boxes by decreasing score and drop every box that overlaps an
already kept one by more than the IoU threshold (0.7 for proposals). The
first ``post_nms`` survivors are the proposals.

:func:`nms` is a plain NumPy version for reading and testing; the model uses
TensorFlow's batched ``combined_non_max_suppression`` with
``clip_boxes=False``: by default that function clips boxes to [0, 1],
which would destroy pixel coordinates.

Examples
--------
>>> boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
>>> nms(boxes, np.array([0.9, 0.8, 0.7]), iou_threshold=0.5)
array([0, 2])
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _backend
from .._validate import ArgumentTypeError, as_array, check_finite, check_size_budget
from ..boxes import check_boxes, box_iou
from .box_coding import clip_boxes_tf, decode_boxes_tf

# generate_proposals runs traced inside the model on its own RPN outputs: not public.
__all__ = ["nms"]


def nms(boxes, scores, iou_threshold: float = 0.5, max_output: int | None = None) -> np.ndarray:
    """Greedy non-maximum suppression.

    Parameters
    ----------
    boxes : array, shape (N, 4)
        ``(y1, x1, y2, x2)``.
    scores : array, shape (N,)
    iou_threshold : float in [0, 1]
        A box is dropped if its IoU with a kept, higher-scoring box is
        **greater than** this (TensorFlow's rule).
    max_output : int, optional
        Keep at most this many boxes.

    Returns
    -------
    keep : ndarray of int64
        Indices of the kept boxes, highest score first. Ties in score keep
        the lower index first.
    """
    b = check_boxes(boxes).astype(np.float64)
    s = check_finite(as_array(scores, "scores"), "scores").astype(np.float64).reshape(-1)
    if s.shape[0] != b.shape[0]:
        raise ValueError(f"scores should have one value per box: {b.shape[0]} boxes but {s.shape[0]} scores.")
    if isinstance(iou_threshold, (bool, np.bool_)) or not isinstance(iou_threshold, numbers.Real):
        raise ArgumentTypeError(f"iou_threshold should be a number in [0, 1], got {iou_threshold!r}.")
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold should be a number in [0, 1], got {iou_threshold!r}.")
    if max_output is None:
        max_output = b.shape[0]
    elif isinstance(max_output, (bool, np.bool_)) or not isinstance(max_output, numbers.Integral):
        raise ArgumentTypeError(f"max_output should be a non-negative integer, got {max_output!r}.")
    elif max_output < 0:
        raise ValueError(f"max_output should be a non-negative integer, got {max_output!r}.")
    # The IoU matrix is N x N: refuse a box count whose matrix would not fit before building it.
    check_size_budget(b.shape[0] ** 2, "boxes", what="the N x N IoU matrix")
    order = np.argsort(-s, kind="stable")
    iou = box_iou(b, b)
    suppressed = np.zeros(b.shape[0], bool)
    keep = []
    for i in order:
        if len(keep) >= max_output:
            break
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return np.array(keep, dtype=np.int64)


def generate_proposals(anchors, logits, deltas, config, *, training: bool):
    """Turn RPN outputs into a fixed number of proposals per image.

    Parameters
    ----------
    anchors : float32 tensor, shape (A, 4)
    logits : float32 tensor, shape (B, A)
    deltas : float32 tensor, shape (B, A, 4)
    config : MaskRCNNConfig
    training : bool
        Chooses ``pre_nms_train``/``post_nms_train`` or the ``_test`` sizes.

    Returns
    -------
    proposals : float32 tensor, shape (B, P, 4)
        Highest objectness first; slots beyond ``valid`` hold zeros.
    scores : float32 tensor, shape (B, P)
    valid : bool tensor, shape (B, P)
    """
    tf = _backend.tensorflow()

    pre = config.pre_nms_train if training else config.pre_nms_test
    post = config.post_nms_train if training else config.post_nms_test
    pre = min(pre, int(anchors.shape[0]))
    scores, top = tf.math.top_k(logits, k=pre)
    scores = tf.sigmoid(scores)
    top_deltas = tf.gather(deltas, top, batch_dims=1)
    top_anchors = tf.gather(anchors, top)
    boxes = decode_boxes_tf(top_deltas, top_anchors)
    boxes = clip_boxes_tf(boxes, float(config.image_size), float(config.image_size))
    # The gradient must not flow into the RPN through the proposal coordinates (as in the paper).
    boxes = tf.stop_gradient(boxes)
    nms_boxes, nms_scores, _, n_valid = tf.image.combined_non_max_suppression(
        boxes[:, :, None, :], tf.stop_gradient(scores)[:, :, None], max_output_size_per_class=post,
        max_total_size=post, iou_threshold=config.rpn_nms_iou, clip_boxes=False, pad_per_class=False,
    )
    valid = tf.range(post)[None, :] < n_valid[:, None]
    return nms_boxes, nms_scores, valid


# select_detections runs traced inside MaskRCNN.detect_batch on tensors the model shapes: not public.
def select_detections(proposals, proposal_valid, class_probs, box_deltas, config):
    """Class-specific NMS over refined boxes (TensorFlow, batched, static shapes).

    Parameters
    ----------
    proposals : (B, P, 4) float32
    proposal_valid : (B, P) bool
    class_probs : (B, P, K+1) softmax scores, column 0 the background
    box_deltas : (B, P, K+1, 4)
    config : MaskRCNNConfig

    Returns
    -------
    boxes (B, D, 4), scores (B, D), class_ids (B, D) int32 in 1..K, n_valid (B,)
    """
    tf = _backend.tensorflow()

    refs = tf.broadcast_to(proposals[:, :, None, :], tf.shape(box_deltas[:, :, 1:, :]))
    boxes = decode_boxes_tf(box_deltas[:, :, 1:, :], refs)  # (B, P, K, 4)
    size = float(config.image_size)
    boxes = clip_boxes_tf(boxes, size, size)
    scores = tf.where(proposal_valid[..., None], class_probs[:, :, 1:], 0.0)  # (B, P, K)
    d = config.max_detections
    # clip_boxes=False: TensorFlow would otherwise clip our pixel boxes to [0, 1].
    out_boxes, out_scores, out_classes, n_valid = tf.image.combined_non_max_suppression(
        boxes, scores, max_output_size_per_class=d, max_total_size=d, iou_threshold=config.detection_nms_iou,
        score_threshold=config.detection_min_score, clip_boxes=False, pad_per_class=False,
    )
    return out_boxes, out_scores, tf.cast(out_classes, tf.int32) + 1, n_valid
