"""Detection targets: which proposals train the heads, and towards what.

For each image, the proposals (plus the ground-truth boxes themselves, as
Detectron does, so the heads see perfect boxes from the first step) are
matched to the ground truth by IoU. A proposal is **positive** at IoU >= 0.5
with some object, and then learns that object's class, its box deltas and
its mask; otherwise it is **negative** and learns "background". A fixed
number of RoIs per image is sampled: the first ``roi_positive_fraction`` of
the slots hold positives (a third by default, half for the shipped shapes
model), the rest negatives (He et al. 2017 sample 512 RoIs, up to a
quarter positive, and fill the rest with negatives; matterport 200 and a
third). Keeping the positives in fixed slots lets the mask head, the most
expensive part, run on those slots only.

The mask target of a positive RoI is the object's full-image mask cropped by
the RoI and read at the 28 x 28 bin centres (each bin takes the pixel that
contains its centre, so a binary mask stays binary):
the mask head learns the object's shape *inside the proposal box*.

Everything keeps static shapes: ``rois_per_image`` slots per image, with a
weight of 0 on slots that could not be filled.
"""

from __future__ import annotations

from .. import _backend
from .box_coding import encode_boxes_tf, iou_tf
from .roi_align import crop_at_bin_centres
from .rpn import sample_mask

# Both run inside MaskRCNN.train_step (traced) on tensors the model shapes itself: importable, not public.
__all__: list[str] = []


def positive_slots(config) -> int:
    """How many of the ``rois_per_image`` slots are kept for positives (the first ones)."""
    return max(1, int(round(config.rois_per_image * config.roi_positive_fraction)))


def _gather_slots(chosen, n_slots: int):
    """Indices of the True entries of each row of ``chosen`` (B, N), first ``n_slots`` of them, padded."""
    tf = _backend.tensorflow()

    n = tf.shape(chosen)[1]
    # Sort True entries first, keeping their order, and take the first n_slots.
    keys = tf.where(chosen, tf.range(n)[None, :], n + tf.range(n)[None, :])
    order = tf.argsort(keys, axis=1)[:, :n_slots]
    filled = tf.gather(chosen, order, batch_dims=1)
    return order, filled


def detection_targets(proposals, proposal_valid, gt_boxes, gt_class_ids, gt_masks, config, generator=None):
    """Sample RoIs and build their class, box and mask targets.

    Parameters
    ----------
    proposals : float32 tensor, shape (B, P, 4)
    proposal_valid : bool tensor, shape (B, P)
    gt_boxes : float32 tensor, shape (B, M, 4)
    gt_class_ids : int32 tensor, shape (B, M)
        0 marks padding: such slots are never matched.
    gt_masks : float32 tensor, shape (B, M, H, W)
    config : MaskRCNNConfig
    generator : tf.random.Generator, optional
        Draws the RoI sample (see :func:`segtutor.maskrcnn.rpn.sample_mask`).

    Returns
    -------
    dict of tensors
        ``rois`` (B, R, 4) boxes in pixels; ``class_ids`` (B, R) int32, 0 for
        background; ``box_targets`` (B, R, 4); ``mask_targets`` (B, P, 28, 28)
        in {0, 1} for the first ``P = positive_slots(config)`` slots; ``weights`` (B, R), 1 for a filled slot, 0 otherwise;
        ``positive`` (B, R) bool.
    """
    tf = _backend.tensorflow()

    valid_gt = gt_class_ids > 0
    if config.add_gt_to_proposals:
        candidates = tf.concat([proposals, gt_boxes], axis=1)
        candidate_valid = tf.concat([proposal_valid, valid_gt], axis=1)
    else:
        candidates, candidate_valid = proposals, proposal_valid

    iou = iou_tf(candidates, gt_boxes)  # (B, N, M)
    iou = tf.where(valid_gt[:, None, :], iou, -1.0)
    best_iou = tf.reduce_max(iou, axis=2)
    best_gt = tf.argmax(iou, axis=2, output_type=tf.int32)
    positive = candidate_valid & (best_iou >= config.roi_positive_iou)
    negative = candidate_valid & ~positive

    r = config.rois_per_image
    n_pos_slots = positive_slots(config)
    # Positives fill the first slots (the mask head reads only those), negatives the rest.
    positive = sample_mask(positive, n_pos_slots, generator)
    negative = sample_mask(negative, r - n_pos_slots, generator)
    pos_order, pos_filled = _gather_slots(positive, n_pos_slots)
    neg_order, neg_filled = _gather_slots(negative, r - n_pos_slots)
    order = tf.concat([pos_order, neg_order], axis=1)
    filled = tf.concat([pos_filled, neg_filled], axis=1)

    rois = tf.gather(candidates, order, batch_dims=1)
    is_pos = tf.gather(positive, order, batch_dims=1) & filled
    matched = tf.gather(best_gt, order, batch_dims=1)
    matched_boxes = tf.gather(gt_boxes, matched, batch_dims=1)
    class_ids = tf.where(is_pos, tf.gather(gt_class_ids, matched, batch_dims=1), 0)
    box_targets = tf.where(is_pos[..., None], encode_boxes_tf(matched_boxes, rois), 0.0)

    # Mask targets: crop each RoI's matched object mask at the 28 x 28 bin centres.
    batch, m = tf.shape(gt_masks)[0], tf.shape(gt_masks)[1]
    h, w = tf.shape(gt_masks)[2], tf.shape(gt_masks)[3]
    mask_images = tf.reshape(gt_masks, [batch * m, h, w, 1])
    p = n_pos_slots
    mask_index = tf.reshape(matched[:, :p] + tf.range(batch)[:, None] * m, [-1])
    crops = crop_at_bin_centres(mask_images, tf.reshape(rois[:, :p], [-1, 4]), mask_index, config.mask_size,
                                method="nearest")
    crops = tf.reshape(crops, [batch, p, config.mask_size, config.mask_size])
    mask_targets = tf.where(is_pos[:, :p, None, None], tf.cast(crops >= 0.5, tf.float32), 0.0)

    return {
        "rois": tf.stop_gradient(rois),
        "class_ids": class_ids,
        "box_targets": tf.stop_gradient(box_targets),
        "mask_targets": tf.stop_gradient(mask_targets),
        "weights": tf.cast(filled, tf.float32),
        "positive": is_pos,
    }
