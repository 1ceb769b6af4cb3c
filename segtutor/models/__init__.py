"""The course's Keras models. TensorFlow loads only when a model is built."""

from . import cnn  # noqa: F401

__all__ = ["cnn"]
