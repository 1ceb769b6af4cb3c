"""The recipes of the semi-supervised methods (notebook 11), listed beside those of ``segtutor train``.

They live in :mod:`segtutor.semi.methods`, below this package, because the
label-efficiency experiment of :mod:`segtutor.semi` runs them; this module
gives them their place in the one list of training recipes.

Examples
--------
>>> list(SEMI_RECIPES)
['labelled only', 'self-training', 'mean teacher']
"""

from __future__ import annotations

from ..semi.methods import METHOD_RECIPES, SemiRecipe

__all__ = ["SEMI_RECIPES", "SemiRecipe"]

#: Notebook 11's methods by name: each builds, batches, trains (``fit``) and evaluates its U-Net.
SEMI_RECIPES = METHOD_RECIPES
