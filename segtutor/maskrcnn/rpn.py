"""Region Proposal Network: head, anchor targets and losses (Ren et al. 2015).

The RPN slides a small network over every pyramid level (the same weights on
each, as in FPN): a 3x3 convolution, then two 1x1 convolutions giving, for
each of the ``A`` anchors of a cell, an *objectness* logit (object or
background) and four box deltas (see :mod:`.box_coding`).

Training targets come from the IoU of every anchor with every ground-truth
box: an anchor is **positive** if its best IoU is at least 0.7 or if it is
the best anchor of some object (so that every object gets one), **negative**
below 0.3, and **ignored** in between. A random batch of 256 anchors per
image, at most half positive, enters the objectness loss (binary
cross-entropy); the positives also enter the box loss (smooth L1).

Padded ground-truth slots have class id 0 and are never matched: validity is
read from the class id, never from the position of a slot.
"""

from __future__ import annotations

from .. import _backend
from .box_coding import encode_boxes_tf, iou_tf, smooth_l1

# rpn_targets, rpn_losses, smooth_l1 and sample_mask run traced inside MaskRCNN.train_step on tensors
# the model shapes itself: importable, not public API (no Python checks inside a traced train step).
__all__ = ["build_rpn_head"]


def build_rpn_head(config):
    """The RPN head as a ``keras.Model`` shared by every pyramid level.

    Returns
    -------
    keras.Model
        Input (B, h, w, F); outputs objectness logits (B, h*w*A) and deltas
        (B, h*w*A, 4), in the anchor order of
        :func:`segtutor.maskrcnn.anchors.level_anchors`.
    """
    from ._checks import check_config

    config = check_config(config)
    keras = _backend.keras()
    layers = keras.layers

    a = config.n_anchors_per_cell
    features = keras.Input((None, None, config.fpn_channels), name="level_features")
    x = layers.Conv2D(config.fpn_channels, 3, padding="same", activation="relu", name="rpn_conv")(features)
    logits = layers.Conv2D(a, 1, name="rpn_objectness")(x)
    deltas = layers.Conv2D(4 * a, 1, name="rpn_deltas")(x)
    logits = layers.Reshape((-1,), name="rpn_objectness_flat")(logits)
    deltas = layers.Reshape((-1, 4), name="rpn_deltas_flat")(deltas)
    return keras.Model(features, [logits, deltas], name="rpn_head")


def _uniform(shape, generator):
    """Uniform [0, 1) floats from ``generator``, or from ``tf.random.uniform`` when it is None."""
    tf = _backend.tensorflow()

    if generator is None:
        return tf.random.uniform(shape)
    if not isinstance(generator, tf.random.Generator):
        raise TypeError(f"generator should be a tf.random.Generator or None, got {type(generator).__name__}.")
    return generator.uniform(shape)


def sample_mask(candidates, limit, generator=None):
    """Choose at most ``limit`` of the True entries of each row, uniformly at random.

    Parameters
    ----------
    candidates : bool tensor, shape (B, N)
    limit : int or int tensor of shape (B,)
    generator : tf.random.Generator, optional
        Where the random keys come from. None uses TensorFlow's stateful
        ``tf.random.uniform``, whose state lives inside the traced graph and
        restarts at every trace; a generator keeps its state in a variable,
        so a training run can checkpoint it and resume the same draws
        (``segtutor train`` does).

    Returns
    -------
    bool tensor, shape (B, N)
        A subset of ``candidates`` with at most ``limit`` True per row. The
        shapes stay static: nothing is gathered, entries are only switched off.
    """
    tf = _backend.tensorflow()

    keys = tf.where(candidates, _uniform(tf.shape(candidates), generator), -1.0)
    # The rank of each entry among its row, highest key first.
    order = tf.argsort(keys, axis=-1, direction="DESCENDING")
    rank = tf.argsort(order, axis=-1)
    limit = tf.cast(limit, tf.int32)
    if limit.shape.rank == 1:
        limit = limit[:, None]
    return candidates & (rank < limit)


def rpn_targets(anchors, gt_boxes, gt_class_ids, config, generator=None):
    """Label anchors and compute their box targets.

    Parameters
    ----------
    anchors : float32 tensor, shape (A, 4)
    gt_boxes : float32 tensor, shape (B, M, 4)
    gt_class_ids : int32 tensor, shape (B, M)
        0 marks a padded slot.
    config : MaskRCNNConfig
    generator : tf.random.Generator, optional
        Draws the anchor sample (see :func:`sample_mask`).

    Returns
    -------
    labels : int32 tensor, shape (B, A)
        1 positive, 0 negative (both sampled into the batch), -1 not used.
    box_targets : float32 tensor, shape (B, A, 4)
        Deltas of each anchor's best ground-truth box (meaningful where
        ``labels == 1``).
    """
    tf = _backend.tensorflow()

    valid = gt_class_ids > 0  # (B, M)
    iou = iou_tf(tf.broadcast_to(anchors[None], [tf.shape(gt_boxes)[0], *anchors.shape]), gt_boxes)  # (B, A, M)
    iou = tf.where(valid[:, None, :], iou, -1.0)
    best_iou = tf.reduce_max(iou, axis=2)
    best_gt = tf.argmax(iou, axis=2, output_type=tf.int32)

    positive = best_iou >= config.rpn_positive_iou
    # Each object's best anchor(s) are positive, even below 0.7.
    per_gt_best = tf.reduce_max(iou, axis=1, keepdims=True)  # (B, 1, M)
    is_best = (iou >= per_gt_best - 1e-6) & valid[:, None, :] & (per_gt_best > 0)
    positive |= tf.reduce_any(is_best, axis=2)
    negative = (best_iou < config.rpn_negative_iou) & ~positive

    max_pos = int(config.rpn_batch * config.rpn_positive_fraction)
    positive = sample_mask(positive, max_pos, generator)
    n_pos = tf.reduce_sum(tf.cast(positive, tf.int32), axis=1)
    negative = sample_mask(negative, config.rpn_batch - n_pos, generator)

    labels = tf.where(positive, 1, tf.where(negative, 0, -1))
    matched = tf.gather(gt_boxes, best_gt, batch_dims=1)  # (B, A, 4)
    targets = encode_boxes_tf(matched, tf.broadcast_to(anchors[None], tf.shape(matched)))
    targets = tf.where(positive[..., None], targets, 0.0)
    return tf.cast(labels, tf.int32), targets


def rpn_losses(labels, box_targets, logits, deltas):
    """Objectness and box losses of the RPN.

    Parameters
    ----------
    labels, box_targets : from :func:`rpn_targets`
    logits : float32 tensor, shape (B, A)
    deltas : float32 tensor, shape (B, A, 4)

    Returns
    -------
    class_loss, box_loss : scalar tensors
        Binary cross-entropy averaged over the sampled anchors; smooth L1
        summed over the four coordinates and averaged over the positives.
        Both are 0, never NaN, when nothing is sampled.
    """
    tf = _backend.tensorflow()

    sampled = tf.cast(labels >= 0, tf.float32)
    positive = tf.cast(labels == 1, tf.float32)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=positive, logits=logits)
    class_loss = tf.math.divide_no_nan(tf.reduce_sum(bce * sampled), tf.reduce_sum(sampled))
    box = tf.reduce_sum(smooth_l1(deltas - box_targets), axis=-1)
    box_loss = tf.math.divide_no_nan(tf.reduce_sum(box * positive), tf.reduce_sum(positive))
    return class_loss, box_loss
