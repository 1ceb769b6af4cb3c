"""Load the shipped, pre-trained ``shapes`` and ``nuclei`` models, and store weights compactly.

The files live in ``segtutor/maskrcnn/weights/`` and are read with
:mod:`importlib.resources`, so they work from an installed package too.
``weights/CARD.md`` and ``weights/NUCLEI.md`` say how they were made; the
commands ``segtutor weights shapes --out segtutor/maskrcnn/weights``
and ``segtutor weights nuclei-maskrcnn --out segtutor/maskrcnn/weights``
make them again. Weights are stored as float16 in ``.npz`` files: half the
size of Keras's float32 HDF5, with no measurable loss of AP (the cards
give the scores measured after the round trip).
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

__all__ = ["load_shapes_model", "load_nuclei_model", "shapes_card", "nuclei_card", "save_weights_npz",
           "load_model_npz"]



def _folder():
    return resources.files("segtutor.maskrcnn") / "weights"


def shapes_card() -> str:
    """The data card of the shipped weights, as Markdown text."""
    return (_folder() / "CARD.md").read_text(encoding="utf-8")


def nuclei_card() -> str:
    """The data card of the shipped nuclei weights, as Markdown text."""
    return (_folder() / "NUCLEI.md").read_text(encoding="utf-8")


def save_weights_npz(model, path) -> None:
    """Store a model's weights as float16 in a compressed ``.npz`` file (half the size of float32 HDF5).

    Only the weights are kept (no optimiser state). float16 keeps about 3 significant digits, which
    :func:`load_model_npz` restores to float32; the data cards give the AP measured after this round trip.
    """
    from .model import MaskRCNN

    from .._validate import check_path

    if not isinstance(model, MaskRCNN):
        raise TypeError(f"model should be a MaskRCNN, got {type(model).__name__}.")
    path = check_path(path, "path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"path: the folder {path.parent} does not exist; create it first (Path.mkdir).")
    weights = model.get_weights()
    np.savez_compressed(path, **{f"w{i:03d}": np.asarray(w, np.float16) for i, w in enumerate(weights)})


def load_model_npz(weights_path, config_path):
    """A built :class:`MaskRCNN` with the configuration (JSON) and float16 weights (``.npz``) of two files."""
    from pathlib import Path

    from .config import MaskRCNNConfig
    from .model import MaskRCNN, compile_model

    for name, path in (("weights_path", weights_path), ("config_path", config_path)):
        if not isinstance(path, (str, Path)) and not hasattr(path, "read_bytes"):
            raise TypeError(f"{name} should be a path, got {type(path).__name__}.")
        if not Path(str(path)).is_file() and not (hasattr(path, "is_file") and path.is_file()):
            raise FileNotFoundError(f"{name}: no file at {path}.")
    config = MaskRCNNConfig.from_dict(json.loads(Path(str(config_path)).read_text(encoding="utf-8")))
    model = MaskRCNN(config)
    with np.load(str(weights_path)) as stored:
        values = [stored[k].astype(np.float32) for k in sorted(stored.files)]
    expected = model.get_weights()
    if len(values) != len(expected) or any(v.shape != e.shape for v, e in zip(values, expected)):
        raise ValueError(f"{weights_path} does not fit the configuration in {config_path}: "
                         f"{len(values)} arrays for {len(expected)} weights. Make both files with the same command.")
    model.set_weights(values)
    return compile_model(model)


def _load_shipped(stem: str, command: str):
    folder = _folder()
    weights, config = folder / f"{stem}.weights.npz", folder / f"{stem}.config.json"
    if not weights.is_file() or not config.is_file():
        raise FileNotFoundError(
            f"the shipped Mask R-CNN weights {stem}.weights.npz are missing from {folder}; make them with "
            f"`{command}` (a few minutes)."
        )
    with resources.as_file(weights) as w, resources.as_file(config) as c:
        return load_model_npz(w, c)


def load_nuclei_model():
    """Return the shipped Mask R-CNN trained on nuclei crops (1 class, 128 x 128; ``nuclei_card()``)."""
    return _load_shipped("nuclei", "segtutor weights nuclei-maskrcnn --out segtutor/maskrcnn/weights")


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
    return _load_shipped("shapes", "segtutor weights shapes --out segtutor/maskrcnn/weights")
