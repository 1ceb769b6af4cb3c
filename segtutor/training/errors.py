"""The one error of a training run that is the user's to fix.

Examples
--------
>>> issubclass(TrainError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["TrainError"]


class TrainError(ValueError):
    """Bad input to a training run: the command prints its message on one line and exits with status 2."""
