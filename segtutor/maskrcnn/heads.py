"""The second stage: a box/class head and a mask head on RoI features.

**Box head** (Fast R-CNN): the 7 x 7 RoIAlign crop is flattened and passed
through two fully connected layers; one output gives ``K + 1`` class logits
(background included, softmax cross-entropy), the other class-specific box
deltas, ``4`` per class, of which only the true class's enter the smooth L1
loss.

**Mask head** (He et al. 2017): a small fully convolutional network on the
14 x 14 crop, a 2x transposed convolution to 28 x 28, and one 1 x 1
convolution giving ``K`` mask logits per pixel, one mask per class. Each
pixel gets its own **sigmoid**, and the binary cross-entropy is taken on the
mask of the RoI's true class only, so classes do not compete for pixels: the
paper's key change from a per-pixel softmax, which it shows costs several
points of AP. No loss here is the focal loss, which belongs to the one-stage
RetinaNet (Lin et al. 2017b).
"""

from __future__ import annotations

from .. import _backend
from .box_coding import smooth_l1

# head_losses runs traced inside MaskRCNN.train_step on tensors whose shapes the model guarantees: not public.
__all__ = ["build_box_head", "build_mask_head"]


def build_box_head(config):
    """Box/class head: (N, 7, 7, F) -> logits (N, K+1) and deltas (N, K+1, 4)."""
    from ._checks import check_config

    config = check_config(config)
    keras = _backend.keras()
    layers = keras.layers

    k = config.num_classes + 1
    crops = keras.Input((config.pool_size, config.pool_size, config.fpn_channels), name="roi_features")
    x = layers.Flatten(name="box_flatten")(crops)
    x = layers.Dense(config.head_units, activation="relu", name="box_fc1")(x)
    x = layers.Dense(config.head_units, activation="relu", name="box_fc2")(x)
    logits = layers.Dense(k, name="class_logits")(x)
    deltas = layers.Dense(4 * k, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
                          name="box_deltas")(x)
    deltas = layers.Reshape((k, 4), name="box_deltas_per_class")(deltas)
    return keras.Model(crops, [logits, deltas], name="box_head")


def build_mask_head(config):
    """Mask head: (N, 14, 14, F) -> mask logits (N, 28, 28, K)."""
    from ._checks import check_config

    config = check_config(config)
    keras = _backend.keras()
    layers = keras.layers

    crops = keras.Input((config.mask_pool_size, config.mask_pool_size, config.fpn_channels), name="mask_features")
    x = crops
    for i in range(config.mask_convs):
        x = layers.Conv2D(config.mask_channels, 3, padding="same", activation="relu", name=f"mask_conv{i + 1}")(x)
    up = config.mask_size // config.mask_pool_size
    x = layers.Conv2DTranspose(config.mask_channels, up, strides=up, activation="relu", name="mask_deconv")(x)
    logits = layers.Conv2D(config.num_classes, 1, name="mask_logits")(x)
    return keras.Model(crops, logits, name="mask_head")


def head_losses(targets, class_logits, box_deltas, mask_logits):
    """Class, box and mask losses of the second stage.

    Parameters
    ----------
    targets : dict from :func:`segtutor.maskrcnn.targets.detection_targets`
    class_logits : (B, R, K+1)
    box_deltas : (B, R, K+1, 4)
    mask_logits : (B, P, 28, 28, K)
        For the first P slots, those that can hold positives.

    Returns
    -------
    class_loss, box_loss, mask_loss : scalar tensors, 0 (never NaN) when no
    RoI is positive.
    """
    tf = _backend.tensorflow()

    weights, positive = targets["weights"], tf.cast(targets["positive"], tf.float32)
    class_ids = targets["class_ids"]
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=class_ids, logits=class_logits)
    class_loss = tf.math.divide_no_nan(tf.reduce_sum(ce * weights), tf.reduce_sum(weights))

    true_deltas = tf.gather(box_deltas, class_ids, batch_dims=2)  # (B, R, 4): the true class's deltas
    box = tf.reduce_sum(smooth_l1(true_deltas - targets["box_targets"]), axis=-1)
    box_loss = tf.math.divide_no_nan(tf.reduce_sum(box * positive), tf.reduce_sum(positive))

    # Mask of the true class only (class id c -> channel c - 1); background RoIs have weight 0.
    p = mask_logits.shape[1]
    channel = tf.maximum(class_ids[:, :p] - 1, 0)
    logits = tf.gather(tf.transpose(mask_logits, [0, 1, 4, 2, 3]), channel, batch_dims=2)  # (B, P, 28, 28)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets["mask_targets"], logits=logits)
    per_roi = tf.reduce_mean(bce, axis=[2, 3])
    mask_loss = tf.math.divide_no_nan(tf.reduce_sum(per_roi * positive[:, :p]), tf.reduce_sum(positive[:, :p]))
    return class_loss, box_loss, mask_loss
