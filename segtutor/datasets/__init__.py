"""Data for the course: synthetic, bundled, and loaders for your own.

Nothing here downloads anything and nothing imports TensorFlow until you call
:func:`segmentation_dataset`.

Functions
---------
make_shapes           squares, circles and triangles with instance masks
make_nuclei           fluorescence-microscopy-like nuclei with instance labels
load_digits           real handwritten digits (scikit-learn's bundled UCI set), 28x28
load_coins            the scikit-image coins photograph with its masks
read_coco, write_coco COCO instance annotations (polygons and RLE)
read_mask_folder      images paired with PNG masks by file name
segmentation_dataset  a ``tf.data`` pipeline with image and mask augmented together
load_checked          your own data set (folder or COCO) with a data-quality report
example_dataset       the capstone's example data sets; corrupt_copy breaks a copy on purpose
write_coco_predictions, write_png_masks   export predictions for other tools

See ``datasets/README.md`` for a data card of each data set.
"""

from __future__ import annotations

import lazy_loader as _lazy

# Each name is imported from its submodule on first use (the list is in __init__.pyi), so that
# other notebooks can use the shapes while a slower loader is still importing, and so that
# ``import segtutor.datasets`` never pulls in TensorFlow.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
