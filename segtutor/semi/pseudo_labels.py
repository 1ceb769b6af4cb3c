"""Pseudo-labels (notebook 11, section 2): re-exported from :mod:`segtutor.pseudo_labels`.

The selection of pseudo-labels is pure NumPy and lives in the NumPy core, so
that the :class:`segtutor.widgets.PseudoLabels` widget can use it without
importing the training code of this package.
"""

from ..pseudo_labels import (IGNORE, PseudoLabelQuality, balanced_pseudo_label_targets,  # noqa: F401
                             class_balanced_thresholds, pseudo_label_picture, pseudo_label_quality,
                             pseudo_label_targets, select_pseudo_labels)

__all__ = ["IGNORE", "select_pseudo_labels", "pseudo_label_targets", "class_balanced_thresholds",
           "balanced_pseudo_label_targets", "pseudo_label_quality", "pseudo_label_picture"]
