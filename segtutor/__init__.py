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

import lazy_loader as _lazy

from .environment import quiet_tensorflow

__version__ = "0.1.0"

quiet_tensorflow()

# The submodules and public names are listed in __init__.pyi (type checkers and editors read it
# too); each submodule loads on first use.
__getattr__, _, __all__ = _lazy.attach_stub(__name__, __file__)
del _  # the stub's dir() would leave out __version__, which is not imported from a submodule
__all__ = [*__all__, "__version__"]


def __dir__():
    return __all__.copy()
