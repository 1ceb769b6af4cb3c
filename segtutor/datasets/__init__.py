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

import importlib

# Public name -> submodule. Submodules load on first use, so that other
# notebooks can use the shapes while a slower loader is still importing, and
# so that ``import segtutor.datasets`` never pulls in TensorFlow.
_WHERE = {
    "make_shapes": "shapes",
    "ShapesData": "shapes",
    "PaddedShapes": "shapes",
    "make_nuclei": "nuclei",
    "NucleiData": "nuclei",
    "load_digits": "digits",
    "load_coins": "coins",
    "read_coco": "coco",
    "write_coco": "coco",
    "read_mask_folder": "folder",
    "segmentation_dataset": "pipeline",
    "load_checked": "quality",
    "QualityReport": "quality",
    "example_dataset": "examples",
    "corrupt_copy": "examples",
    "write_coco_predictions": "export",
    "write_png_masks": "export",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'segtutor.datasets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
