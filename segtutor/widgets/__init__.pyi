# The widget classes of segtutor.widgets and the submodule of each, read by lazy_loader.attach_stub
# in __init__.py: each class is imported (with ipywidgets) on first use (tests/test_lazy_stubs.py).

from .anchors import AnchorExplorer
from .atrous import AtrousExplorer
from .conv_arithmetic import ConvArithmetic
from .feature_maps import FeatureMapExplorer
from .intensity import IntensityWindow
from .kernels import KernelPlayground
from .overlay import MaskThreshold
from .pseudo_labels import PseudoLabels
from .quality import QualityBrowser
from .stages import StageBrowser
from .classical import ThresholdWatershed
from .upsampling import UpsamplingExplorer
