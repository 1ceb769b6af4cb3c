"""Mask R-CNN as a subclassed ``keras.Model`` with a custom ``train_step``.

Stage one, the backbone with its FPN and the RPN, proposes regions; stage
two reads a fixed-size RoIAlign crop of each region and classifies it,
refines its box and predicts its mask (He et al. 2017, building on Faster
R-CNN, Ren et al. 2015, and FPN, Lin et al. 2017). The five losses are
summed with equal weights, as in the paper.

Keras 3 design notes. matterport's implementation builds one symbolic graph
with raw TensorFlow ops, ``add_metric`` and Lambda layers holding
variables, none of which Keras 3 accepts. Here the four trainable parts
are small functional models, and the glue (anchors, targets, NMS,
RoIAlign) runs as TensorFlow code inside ``train_step`` and ``call``. Every
tensor has a static shape (padded ground truth, fixed RoI slots, weight
masks), so each graph is traced once. Compile with ``jit_compile=False``:
NMS has no XLA kernel (``compile_model`` does this).

Examples
--------
>>> from segtutor.maskrcnn.model import MaskRCNN, compile_model   # doctest: +SKIP
>>> model = compile_model(MaskRCNN(MaskRCNNConfig(num_classes=3)))  # doctest: +SKIP
>>> model.fit(training_dataset(batch), steps_per_epoch=100, epochs=1)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .. import _backend
from .._validate import ArgumentTypeError, describe
from .anchors import pyramid_anchors
from .backbone import build_backbone_fpn
from .config import MaskRCNNConfig
from .heads import build_box_head, build_mask_head, head_losses
from .proposals import generate_proposals, select_detections
from .roi_align import multilevel_roi_features
from .rpn import build_rpn_head, rpn_losses, rpn_targets
from .targets import detection_targets, positive_slots

# Through the one TensorFlow gateway: this module needs Keras from its first line.
keras = _backend.keras()
tf = _backend.tensorflow()

__all__ = ["MaskRCNN", "compile_model", "LOSS_NAMES"]

#: The five loss terms, in the order the progress bar shows them.
LOSS_NAMES = ("rpn_class_loss", "rpn_box_loss", "class_loss", "box_loss", "mask_loss")


class MaskRCNN(keras.Model):
    """Mask R-CNN with a small ResNet-FPN backbone.

    Parameters
    ----------
    config : MaskRCNNConfig, optional
        Sizes and thresholds; the default suits 128 x 128 ``shapes``.

    Notes
    -----
    ``fit`` expects dict batches with ``images`` (B, S, S, 3), ``boxes``
    (B, M, 4), ``class_ids`` (B, M) and ``masks`` (B, M, S, S), as made by
    :func:`segtutor.maskrcnn.data.training_dataset`. ``model(images)``
    returns the detections of :meth:`detect_batch`.

    ``sampler`` (None by default) may be set to a ``tf.random.Generator``
    before the first ``fit``: the anchor and RoI samples of training then
    come from it, so their random state can be checkpointed and resumed
    (``segtutor train`` uses TensorFlow's global generator).
    """

    def __init__(self, config: MaskRCNNConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        if config is None:
            config = MaskRCNNConfig()
        if not isinstance(config, MaskRCNNConfig):
            raise TypeError(f"config should be a MaskRCNNConfig, got {type(config).__name__}.")
        self.config = config
        self.backbone = build_backbone_fpn(config)
        self.rpn_head = build_rpn_head(config)
        self.box_head = build_box_head(config)
        self.mask_head = build_mask_head(config)
        self.anchors = tf.constant(pyramid_anchors(config.image_size, config.anchor_sizes, config.strides,
                                                   config.anchor_ratios))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (*LOSS_NAMES, "loss")}
        self._predict_fn = None
        # Draws the anchor and RoI samples of training; None is TensorFlow's stateful op, whose state
        # restarts at every trace. A tf.random.Generator keeps it in a variable that a checkpoint can hold.
        self.sampler = None
        # The four parts are functional models, so every weight exists already; tell Keras, which would
        # otherwise refuse save_weights() until model(...) has been called.
        self.built = True

    # -- building blocks ---------------------------------------------------------------------------
    def rpn_outputs(self, features):
        """Objectness logits (B, A) and deltas (B, A, 4) over all levels, in anchor order."""
        outputs = [self.rpn_head(p) for p in features]
        return tf.concat([o[0] for o in outputs], axis=1), tf.concat([o[1] for o in outputs], axis=1)

    def roi_features(self, features, boxes, size: int):
        c = self.config
        return multilevel_roi_features(features, boxes, c.strides, size, c.sampling_ratio, op=c.roi_op)

    def run_heads(self, features, rois, *, training: bool, masks: bool = True):
        """Box-head logits (B, R, K+1), deltas (B, R, K+1, 4), and mask logits (B, P, 28, 28, K) for the
        first ``P = positive_slots(config)`` RoIs, the slots that hold positives in training."""
        c = self.config
        batch, r = tf.shape(rois)[0], tf.shape(rois)[1]
        crops = self.roi_features(features, rois, c.pool_size)
        logits, deltas = self.box_head(tf.reshape(crops, [-1, c.pool_size, c.pool_size, c.fpn_channels]),
                                       training=training)
        logits = tf.reshape(logits, [batch, r, c.num_classes + 1])
        deltas = tf.reshape(deltas, [batch, r, c.num_classes + 1, 4])
        if not masks:
            return logits, deltas, None
        return logits, deltas, self.mask_logits(features, rois[:, :positive_slots(c)], training=training)

    def mask_logits(self, features, rois, *, training: bool):
        c = self.config
        batch, r = tf.shape(rois)[0], tf.shape(rois)[1]
        crops = self.roi_features(features, rois, c.mask_pool_size)
        flat = tf.reshape(crops, [-1, c.mask_pool_size, c.mask_pool_size, c.fpn_channels])
        logits = self.mask_head(flat, training=training)
        return tf.reshape(logits, [batch, r, c.mask_size, c.mask_size, c.num_classes])

    # -- training ----------------------------------------------------------------------------------
    def compute_losses(self, data, training: bool = True) -> dict:
        """The five losses of one batch (a dict, keys :data:`LOSS_NAMES`)."""
        images = tf.convert_to_tensor(data["images"], tf.float32)
        gt_boxes = tf.convert_to_tensor(data["boxes"], tf.float32)
        gt_ids = tf.convert_to_tensor(data["class_ids"], tf.int32)
        gt_masks = tf.cast(data["masks"], tf.float32)
        features = self.backbone(images, training=training)
        logits, deltas = self.rpn_outputs(features)
        labels, box_targets = rpn_targets(self.anchors, gt_boxes, gt_ids, self.config, self.sampler)
        rpn_class, rpn_box = rpn_losses(labels, box_targets, logits, deltas)
        proposals, _, valid = generate_proposals(self.anchors, logits, deltas, self.config, training=True)
        targets = detection_targets(proposals, valid, gt_boxes, gt_ids, gt_masks, self.config, self.sampler)
        class_logits, box_deltas, mask_logits = self.run_heads(features, targets["rois"], training=training)
        cls, box, mask = head_losses(targets, class_logits, box_deltas, mask_logits)
        return dict(zip(LOSS_NAMES, (rpn_class, rpn_box, cls, box, mask)))

    def _record(self, losses, total):
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        self.trackers["loss"].update_state(total)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses = self.compute_losses(data, training=True)
            total = tf.add_n(list(losses.values()))
        variables = self.trainable_variables
        grads = tape.gradient(total, variables)
        self.optimizer.apply([tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)], variables)
        return self._record(losses, total)

    def test_step(self, data):
        losses = self.compute_losses(data, training=False)
        return self._record(losses, tf.add_n(list(losses.values())))

    @property
    def metrics(self):
        return list(self.trackers.values())

    # -- inference ---------------------------------------------------------------------------------
    def detect_batch(self, images):
        """Detections for a batch: dict of ``boxes`` (B, D, 4), ``scores``, ``class_ids``, ``n_valid``
        and ``masks`` (B, D, 28, 28) probabilities of the predicted class."""
        c = self.config
        features = self.backbone(images, training=False)
        logits, deltas = self.rpn_outputs(features)
        proposals, _, valid = generate_proposals(self.anchors, logits, deltas, c, training=False)
        class_logits, box_deltas, _ = self.run_heads(features, proposals, training=False, masks=False)
        boxes, scores, class_ids, n_valid = select_detections(proposals, valid, tf.nn.softmax(class_logits),
                                                              box_deltas, c)
        mask_logits = self.mask_logits(features, boxes, training=False)
        chosen = tf.gather(tf.transpose(mask_logits, [0, 1, 4, 2, 3]), class_ids - 1, batch_dims=2)
        return {"boxes": boxes, "scores": scores, "class_ids": class_ids, "n_valid": n_valid,
                "masks": tf.sigmoid(chosen)}

    def call(self, images, training=False):
        return self.detect_batch(tf.convert_to_tensor(images, tf.float32))

    def predict_step_fn(self, images):
        """:meth:`detect_batch` as a compiled ``tf.function`` (traced once per batch shape)."""
        if self._predict_fn is None:
            self._predict_fn = tf.function(self.detect_batch, jit_compile=False, reduce_retracing=True)
        return self._predict_fn(tf.convert_to_tensor(images, tf.float32))

    def inspect(self, images) -> dict:
        """Every intermediate result for a batch, as NumPy arrays (for notebook 09 and the stage browser).

        Returns
        -------
        dict with ``features`` (list of P2..P4), ``objectness`` (B, A) probabilities, ``anchors`` (A, 4),
        ``pre_nms_boxes`` (B, pre_nms_test, 4) and ``pre_nms_scores``, ``proposals`` (B, P, 4),
        ``proposal_scores``, ``proposal_valid``, ``roi_crops`` (B, P, 7, 7, F), ``class_probs``
        (B, P, K+1), and the detections of :meth:`detect_batch`.
        """
        from .box_coding import clip_boxes_tf, decode_boxes_tf

        c = self.config
        images = tf.convert_to_tensor(np.asarray(images, np.float32))
        features = self.backbone(images, training=False)
        logits, deltas = self.rpn_outputs(features)
        top_logits, top = tf.math.top_k(logits, k=min(c.pre_nms_test, int(self.anchors.shape[0])))
        pre_boxes = clip_boxes_tf(decode_boxes_tf(tf.gather(deltas, top, batch_dims=1), tf.gather(self.anchors, top)),
                                  float(c.image_size), float(c.image_size))
        proposals, scores, valid = generate_proposals(self.anchors, logits, deltas, c, training=False)
        crops = self.roi_features(features, proposals, c.pool_size)
        class_logits, _, _ = self.run_heads(features, proposals, training=False, masks=False)
        out = {"features": [f.numpy() for f in features], "objectness": tf.sigmoid(logits).numpy(),
               "anchors": self.anchors.numpy(), "pre_nms_boxes": pre_boxes.numpy(),
               "pre_nms_scores": tf.sigmoid(top_logits).numpy(), "proposals": proposals.numpy(),
               "proposal_scores": scores.numpy(), "proposal_valid": valid.numpy(), "roi_crops": crops.numpy(),
               "class_probs": tf.nn.softmax(class_logits).numpy()}
        out.update({k: v.numpy() for k, v in self.detect_batch(images).items()})
        return out

    def build_all(self):
        """Create every weight by running one tiny batch (needed before ``load_weights``)."""
        s = self.config.image_size
        self.detect_batch(tf.zeros([1, s, s, 3]))
        return self


def compile_model(model: MaskRCNN, learning_rate: float = 1e-3, clipnorm: float = 5.0) -> MaskRCNN:
    """Compile with Adam and ``jit_compile=False`` (NMS and top-k do not compile with XLA)."""
    from .._validate import check_scalar

    if not isinstance(model, MaskRCNN):
        raise TypeError(f"model should be a MaskRCNN, got {type(model).__name__}.")
    learning_rate = check_scalar(learning_rate, "learning_rate", low=0, low_open=True)
    clipnorm = check_scalar(clipnorm, "clipnorm", low=0, low_open=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clipnorm), jit_compile=False)
    return model


def check_maskrcnn(model, name: str = "model"):
    """Check that ``model`` is a :class:`MaskRCNN` and return it."""
    if not isinstance(model, MaskRCNN):
        raise ArgumentTypeError(
            f"{name} should be a segtutor Mask R-CNN (MaskRCNN), got {describe(model)}. "
            "Load the shipped one with segtutor.maskrcnn.weights.load_shapes_model()."
        )
    return model
