"""Mask R-CNN (He et al. 2017), readable and trainable on a CPU.

One module per concept, in the order of notebooks 08-10:

box_coding   IoU, box deltas with variances, clipping (NumPy and TensorFlow)
anchors      anchor boxes per pyramid level
backbone     a small ResNet with an FPN (Lin et al. 2017)
rpn          RPN head, anchor targets and losses (Ren et al. 2015)
proposals    top-k, decoding and NMS
roi_align    RoIAlign at bin centres (and RoIPool for comparison)
targets      sampled RoIs with class, box and mask targets
heads        box/class head and mask head, their losses
model        the subclassed ``keras.Model`` with a custom ``train_step``
inference    class-specific NMS, pasting masks into the image
evaluate     COCO AP with pycocotools, precision-recall plots
data         checked, padded training batches
train_shapes the documented command that trains the shipped weights
ablation     the ablation of notebook 10 (RoIAlign, true boxes in the proposals)
nuclei       Mask R-CNN on nuclei crops against the U-Net plus watershed
weights      loading the shipped weights, float16 storage

TensorFlow is imported only by the modules that need it (``model``, and
functions with ``_tf`` in their name), so anchors and boxes stay light.
"""

from .config import MaskRCNNConfig

__all__ = ["MaskRCNNConfig"]
