"""Backbone and Feature Pyramid Network (Lin et al. 2017).

The backbone is a small ResNet (He et al. 2016): a stride-2 stem, then one
residual stage per pyramid level, each halving the resolution. The FPN
turns its outputs C2-C4 into maps P2-P4 of one channel count: a 1x1
*lateral* convolution of each C, plus the coarser P upsampled by 2 (the
*top-down* path), then a 3x3 convolution to smooth the sum. Fine maps thus
see the semantics of coarse ones, and every level can feed the same heads.

Differences from the paper: 4 stages of 16-128 channels instead of
ResNet-50/101 with 256-2048, one residual block per stage, P2-P4 (strides 4,
8, 16) instead of P2-P6, and no ImageNet pretraining: the course trains it
from scratch on 128 x 128 images.

Examples
--------
>>> from segtutor.maskrcnn.backbone import build_backbone_fpn
>>> from segtutor.maskrcnn.config import MaskRCNNConfig
>>> net = build_backbone_fpn(MaskRCNNConfig())            # doctest: +SKIP
>>> [tuple(p.shape) for p in net.outputs]                  # doctest: +SKIP
[(None, 32, 32, 64), (None, 16, 16, 64), (None, 8, 8, 64)]
"""

from __future__ import annotations

from .. import _backend

__all__ = ["build_backbone_fpn"]


def _residual_stage(x, channels: int, name: str):
    """A stride-2 residual block: conv-BN-ReLU, conv-BN, plus a projected shortcut."""
    layers = _backend.keras().layers

    shortcut = layers.Conv2D(channels, 1, strides=2, use_bias=False, name=f"{name}_proj")(x)
    shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = layers.Conv2D(channels, 3, strides=2, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def build_backbone_fpn(config):
    """Build the backbone plus FPN as a functional ``keras.Model``.

    Parameters
    ----------
    config : MaskRCNNConfig

    Returns
    -------
    keras.Model
        Input (B, S, S, 3) float images in [0, 1]; outputs the list
        ``[P2, P3, P4]`` of shapes (B, S/4, S/4, F), (B, S/8, S/8, F) and
        (B, S/16, S/16, F) with ``F = config.fpn_channels``.
    """
    from ._checks import check_config

    config = check_config(config)
    keras = _backend.keras()
    layers = keras.layers

    size = config.image_size
    stem_width, *stage_widths = config.backbone_widths
    images = keras.Input((size, size, 3), name="images")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(images)  # [0, 1] -> [-1, 1]
    x = layers.Conv2D(stem_width, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    c_maps = []
    for level, width in zip(range(2, 2 + len(stage_widths)), stage_widths):
        x = _residual_stage(x, width, f"c{level}")
        c_maps.append(x)

    f = config.fpn_channels
    top = layers.Conv2D(f, 1, name=f"fpn_lateral{1 + len(c_maps)}")(c_maps[-1])
    merged = [top]
    for level in range(len(c_maps) - 1, 0, -1):  # top-down: coarse to fine
        lateral = layers.Conv2D(f, 1, name=f"fpn_lateral{level + 1}")(c_maps[level - 1])
        up = layers.UpSampling2D(2, interpolation="nearest", name=f"fpn_up{level + 1}")(merged[0])
        merged.insert(0, layers.Add(name=f"fpn_sum{level + 1}")([lateral, up]))
    p_maps = [layers.Conv2D(f, 3, padding="same", name=f"P{i + 2}")(m) for i, m in enumerate(merged)]
    return keras.Model(images, p_maps, name="backbone_fpn")
