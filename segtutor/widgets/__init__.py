"""Interactive visualisers: pure compute in the package, thin ipywidgets layers here.

Each widget class lives in its own submodule; ``segtutor.widgets.KernelPlayground``
also works, and loads only that submodule (and ipywidgets) on first use.
"""

from __future__ import annotations

import lazy_loader as _lazy

# For code outside this package that shows a widget-like object (training's live plot): the site
# builder replaces every noted object with its picture (see _static).
from ._static import note_displayed  # noqa: F401

# Widget class -> submodule that defines it, in __init__.pyi; note_displayed is importable but
# not a widget, so it is not listed there (nor in __all__).
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
