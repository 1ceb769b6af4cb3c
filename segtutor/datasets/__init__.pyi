# Public names of segtutor.datasets and the submodule of each, read by lazy_loader.attach_stub in
# __init__.py: each name is imported from its submodule on first use (tests/test_lazy_stubs.py).

from .shapes import make_shapes, ShapesData, PaddedShapes
from .nuclei import make_nuclei, NucleiData
from .digits import load_digits
from .coins import load_coins
from .coco import read_coco, write_coco
from .folder import read_mask_folder
from .pipeline import segmentation_dataset
from .quality import load_checked, QualityReport
from .examples import example_dataset, corrupt_copy
from .export import write_coco_predictions, write_png_masks
