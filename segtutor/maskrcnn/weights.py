"""Load the shipped, pre-trained ``shapes`` model (fast mode uses it instead of training).

The files live in ``segtutor/maskrcnn/weights/`` and are read with
:mod:`importlib.resources`, so they work from an installed package too.
``weights/CARD.md`` says how they were made; the command
``python -m segtutor.maskrcnn.train_shapes --out segtutor/maskrcnn/weights``
makes them again.
"""

from __future__ import annotations

import json
from importlib import resources

__all__ = ["load_shapes_model", "shapes_card"]

_WEIGHTS = "shapes.weights.h5"
_CONFIG = "shapes.config.json"


def _folder():
    return resources.files("segtutor.maskrcnn") / "weights"


def shapes_card() -> str:
    """The data card of the shipped weights, as Markdown text."""
    return (_folder() / "CARD.md").read_text(encoding="utf-8")


def load_shapes_model():
    """Return the shipped Mask R-CNN trained on ``shapes`` (3 classes, 128 x 128).

    Returns
    -------
    MaskRCNN
        Built, weights loaded, ready for :func:`segtutor.maskrcnn.inference.detect`.

    Raises
    ------
    FileNotFoundError
        If the weight files are missing, with the command that makes them.
    """
    from .config import MaskRCNNConfig
    from .model import MaskRCNN, compile_model

    folder = _folder()
    weights, config = folder / _WEIGHTS, folder / _CONFIG
    if not weights.is_file() or not config.is_file():
        raise FileNotFoundError(
            f"the shipped Mask R-CNN weights are missing from {folder}; make them with "
            "`python -m segtutor.maskrcnn.train_shapes --out segtutor/maskrcnn/weights` (a few minutes)."
        )
    model = MaskRCNN(MaskRCNNConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))))
    model.build_all()
    with resources.as_file(weights) as path:
        model.load_weights(str(path))
    return compile_model(model)
