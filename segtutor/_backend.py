"""The one way into TensorFlow and Keras: a quiet, lazy import.

``import segtutor`` must not import TensorFlow (a few seconds and hundreds of
megabytes that notebooks 00-02 never use), so every module that needs Keras
calls :func:`keras` (or :func:`tensorflow`) inside the function that needs
it. The first call sets the environment variables that silence TensorFlow's
C++ start-up messages, imports it and lowers its Python logger to errors;
later calls return the already imported modules.

``SEGTUTOR_EAGER=1`` makes that first call also run TensorFlow functions
eagerly (``tf.config.run_functions_eagerly(True)``): the test command sets it
for the fast-mode notebook kernels, whose trainings of a few steps would spend
more time tracing graphs than training (notebook 11: 69 CPU-seconds traced, 29
eagerly). Class mode and ``segtutor train`` run graphs, as students do.

Examples
--------
>>> from segtutor import _backend
>>> _backend.keras().__name__
'keras'
"""

from __future__ import annotations

import functools
import os
import warnings

__all__ = ["quiet_tensorflow", "tensorflow", "keras", "EAGER_ENV_VAR"]

#: Environment variable that makes :func:`tensorflow` run TensorFlow functions eagerly.
EAGER_ENV_VAR = "SEGTUTOR_EAGER"


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up messages before it is imported.

    The oneDNN and CPU-feature notices are useful to TensorFlow engineers, not
    to a student, and they fill the first cell's output with red text. Sets
    environment variables only where the user has not set them, so it is
    cheap and safe to call any number of times.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # Keras warns that shuffle=True is ignored for a tf.data.Dataset on every
    # fit call; the course's datasets shuffle themselves, so the warning only
    # puzzles students.
    warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed.*", category=UserWarning)


@functools.cache
def tensorflow():
    """Import TensorFlow quietly and return the module (cached: later calls cost nothing, even in a traced step)."""
    quiet_tensorflow()
    import tensorflow as tf

    # here, not at the top: `import segtutor` loads this module and must stay light (tests/test_lazy_stubs.py)
    from segtutor.modes import read_flag

    tf.get_logger().setLevel("ERROR")
    if read_flag(EAGER_ENV_VAR):
        tf.config.run_functions_eagerly(True)
    return tf


@functools.cache
def keras():
    """Import Keras (on TensorFlow, quietly) and return the module (cached)."""
    tensorflow()
    import keras as keras_module

    return keras_module
