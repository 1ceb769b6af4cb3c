"""Interactive visualisers: pure compute in the package, thin ipywidgets layers here.

Each widget class lives in its own submodule; ``segtutor.widgets.KernelPlayground``
also works, and loads only that submodule (and ipywidgets) on first use.
"""

from __future__ import annotations

import importlib

# For code outside this package that shows a widget-like object (training's live plot): the site
# builder replaces every noted object with its picture (see _static).
from ._static import note_displayed  # noqa: F401

# Widget class -> submodule that defines it.
_WIDGETS = {
    "AnchorExplorer": "anchors",
    "AtrousExplorer": "atrous",
    "ConvArithmetic": "conv_arithmetic",
    "FeatureMapExplorer": "feature_maps",
    "IntensityWindow": "intensity",
    "KernelPlayground": "kernels",
    "MaskThreshold": "overlay",
    "PseudoLabels": "pseudo_labels",
    "QualityBrowser": "quality",
    "StageBrowser": "stages",
    "ThresholdWatershed": "classical",
    "UpsamplingExplorer": "upsampling",
}

__all__ = sorted(_WIDGETS)  # note_displayed is importable but not a widget


def __getattr__(name: str):
    if name in _WIDGETS:
        return getattr(importlib.import_module(f".{_WIDGETS[name]}", __name__), name)
    raise AttributeError(f"module 'segtutor.widgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WIDGETS))
