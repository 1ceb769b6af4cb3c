"""segtutor: a hands-on course on image segmentation.

The package keeps the code; the notebooks explain it. Submodules load on first
use, so ``import segtutor`` does not import TensorFlow.

Submodules
----------
modes        class mode and fast mode, and every notebook's sizes
datasets     shapes, nuclei, digits, coins, and loaders for your own data
metrics      pixel accuracy, IoU, Dice, confusion matrix, instance matching
viz          image grids, overlays, contours and error views
widgets      interactive visualisers (pure compute plus thin ipywidgets)
exercises    ``check(...)`` for the graded exercises
models       the course's Keras models (CNN, U-Net, DeepLabv3+) and trained weights
dense        dense prediction: upsampling, transposed convolution, FCN conversion
losses       cross-entropy, Dice and focal losses, in NumPy and for Keras
pseudo_labels  which pixels of a prediction become training targets (notebook 11)
training     the live loss plot, fit, recipes, checkpoints and the run behind `segtutor train`
instances    from a mask to instances: distance transform and watershed
maskrcnn     Mask R-CNN, module by module (notebooks 08-10)
"""

from __future__ import annotations

import importlib

from .environment import doctor, quiet_tensorflow, seed_everything

__version__ = "0.1.0"

quiet_tensorflow()

_SUBMODULES = {
    "boxes",
    "classical",
    "convolution",
    "datasets",
    "dense",
    "environment",
    "exercises",
    "grading",
    "instances",
    "interpret",
    "learning",
    "losses",
    "maskrcnn",
    "metrics",
    "models",
    "modes",
    "pseudo_labels",
    "semi",
    "training",
    "viz",
    "widgets",
}

__all__ = ["doctor", "seed_everything", "__version__", *sorted(_SUBMODULES)]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'segtutor' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
