"""All sizes of the course's Mask R-CNN in one frozen dataclass.

Defaults suit 128 x 128 ``shapes`` images on a CPU. The paper's values (He et
al. 2017, with Detectron's defaults) are in the comments, so the notebooks
can say what differs and why.

Examples
--------
>>> from segtutor.maskrcnn.config import MaskRCNNConfig
>>> cfg = MaskRCNNConfig(num_classes=3)
>>> cfg.n_anchors_per_cell, cfg.strides
(3, (4, 8, 16))
>>> MaskRCNNConfig(num_classes=0)
Traceback (most recent call last):
...
ValueError: num_classes should be an integer >= 1 (object classes, background excluded), got 0.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

__all__ = ["MaskRCNNConfig"]


@dataclass(frozen=True)
class MaskRCNNConfig:
    """Hyper-parameters of :class:`segtutor.maskrcnn.model.MaskRCNN`.

    Attributes
    ----------
    num_classes : int
        Object classes, background excluded (3 for shapes).
    image_size : int
        Square input side; must be a multiple of the coarsest stride (16).
    backbone_widths : tuple of int
        Channels of the stem and of stages C2, C3, C4 (paper: ResNet-50/101,
        256-2048 channels, ImageNet-pretrained).
    fpn_channels : int
        Channels of P2-P4 (paper: 256 channels, P2-P6).
    anchor_sizes, anchor_ratios : tuples
        One size per level (paper: 32-512 on P2-P6), ratios width / height.
    rpn_* : RPN training (paper: 256 anchors per image, half positive at most,
        IoU >= 0.7 positive, < 0.3 negative).
    pre_nms_train, post_nms_train, pre_nms_test, post_nms_test : int
        Proposals kept before and after NMS (paper: 2000 / 1000).
    rpn_nms_iou : float
        NMS threshold of the proposals (paper: 0.7).
    rois_per_image, roi_positive_fraction, roi_positive_iou : detection
        training (paper: 512 RoIs, 25 % positive at IoU >= 0.5).
    add_gt_to_proposals : bool
        Detectron's practice of adding the true boxes to the proposals.
    roi_op : "align" or "pool"
        RoIAlign (the paper) or quantised RoIPool (Fast R-CNN), for ablation.
    pool_size, mask_pool_size, mask_size : int
        RoI features for the box head (7) and the mask head (14), and the
        predicted mask side (28), as in the paper.
    sampling_ratio : int
        Bilinear samples per bin side in RoIAlign. The paper uses 2 (four
        samples per bin) and reports that results are insensitive to it; 1,
        the bin centre alone, halves the step time on a CPU. RoIPool needs at
        least 2 to take a maximum.
    head_units, mask_channels, mask_convs : int
        Box head 2 x FC (paper 1024); mask head convs (paper 4 x 256).
    max_instances : int
        Padded ground-truth slots per image.
    max_detections, detection_min_score, detection_nms_iou : inference
        (paper: 100 detections, NMS 0.5).
    """

    num_classes: int = 3
    image_size: int = 128
    backbone_widths: tuple = (16, 32, 64, 128)
    fpn_channels: int = 64
    anchor_sizes: tuple = (16, 32, 64)
    anchor_ratios: tuple = (0.5, 1.0, 2.0)
    strides: tuple = (4, 8, 16)
    rpn_batch: int = 256
    rpn_positive_fraction: float = 0.5
    rpn_positive_iou: float = 0.7
    rpn_negative_iou: float = 0.3
    pre_nms_train: int = 1000
    post_nms_train: int = 200
    pre_nms_test: int = 500
    post_nms_test: int = 100
    rpn_nms_iou: float = 0.7
    rois_per_image: int = 32
    roi_positive_fraction: float = 0.33
    roi_positive_iou: float = 0.5
    add_gt_to_proposals: bool = True
    roi_op: str = "align"
    pool_size: int = 7
    mask_pool_size: int = 14
    mask_size: int = 28
    sampling_ratio: int = 1
    head_units: int = 256
    mask_channels: int = 32
    mask_convs: int = 2
    max_instances: int = 8
    max_detections: int = 20
    detection_min_score: float = 0.05
    detection_nms_iou: float = 0.5

    def __post_init__(self):
        def integer(name, minimum=1):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
                extra = " (object classes, background excluded)" if name == "num_classes" else ""
                raise ValueError(f"{name} should be an integer >= {minimum}{extra}, got {v!r}.")
            object.__setattr__(self, name, int(v))

        for name in ("num_classes", "image_size", "fpn_channels", "rpn_batch", "pre_nms_train", "post_nms_train",
                     "pre_nms_test", "post_nms_test", "rois_per_image", "pool_size", "mask_pool_size", "mask_size",
                     "sampling_ratio", "head_units", "mask_channels", "max_instances", "max_detections"):
            integer(name)
        integer("mask_convs", 0)
        for name in ("rpn_positive_fraction", "rpn_positive_iou", "rpn_negative_iou", "rpn_nms_iou",
                     "roi_positive_fraction", "roi_positive_iou", "detection_min_score", "detection_nms_iou"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
                raise ValueError(f"{name} should be a number in [0, 1], got {v!r}.")
        if self.rpn_negative_iou > self.rpn_positive_iou:
            raise ValueError(
                f"rpn_negative_iou={self.rpn_negative_iou} is above rpn_positive_iou={self.rpn_positive_iou}; "
                "anchors below the first are negatives, above the second positives."
            )
        if len(self.anchor_sizes) != len(self.strides) or len(self.backbone_widths) != len(self.strides) + 1:
            raise ValueError(
                "give one anchor size per stride and one backbone width more than strides (the stem), got "
                f"anchor_sizes={self.anchor_sizes}, strides={self.strides}, backbone_widths={self.backbone_widths}."
            )
        if self.image_size % max(self.strides):
            raise ValueError(
                f"image_size={self.image_size} should be a multiple of the coarsest stride {max(self.strides)}; "
                "resize or pad the images, for example to 128."
            )
        if self.roi_op not in ("align", "pool"):
            raise ValueError(f"roi_op should be 'align' or 'pool', got {self.roi_op!r}.")
        if self.pre_nms_train < self.post_nms_train or self.pre_nms_test < self.post_nms_test:
            raise ValueError("pre_nms_* should be at least post_nms_*: NMS can only remove proposals.")

    @property
    def n_anchors_per_cell(self) -> int:
        return len(self.anchor_ratios)

    def replace(self, **changes) -> "MaskRCNNConfig":
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> "MaskRCNNConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; expected a subset of {sorted(names)}.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
