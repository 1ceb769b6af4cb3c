"""Exercise specs, one module per notebook (or per topic).

Every module in this package is imported by :func:`load_all`, so adding an
exercise means adding a module that calls
:func:`segtutor.exercises.register`; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings


def load_all() -> None:
    """Import every spec module in this package."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # one broken spec module must not hide the others
            warnings.warn(f"exercise specs in {info.name} could not be loaded: {exc}", stacklevel=2)
