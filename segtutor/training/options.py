"""The options of a ``segtutor train`` run: one frozen dataclass, checked once, here.

:class:`TrainOptions` holds every option of :func:`segtutor.training.run.run_training`
and checks them all when it is made; an error names the parameter and the
command-line flag it comes from. ``segtutor train`` makes its flags from
the fields (:func:`option_flags`), so the command and the library cannot
disagree about a name, a default or a limit.

Examples
--------
>>> options = TrainOptions(model="deeplab", steps=20)
>>> options.steps, options.batch_size
(20, 8)
>>> options.replace(steps=40).steps
40
>>> TrainOptions(steps=0)
Traceback (most recent call last):
...
segtutor.training.errors.TrainError: steps (--steps) should be at least 1, got 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .._validate import check_bool, check_in_range, check_positive_int, check_seed
from .data import MAX_IMAGE_SIZE
from .errors import TrainError
from .recipes import DEFAULT_MODEL, RECIPES, get_recipe

__all__ = ["TrainOptions", "DEFAULTS", "MODELS", "option_flags"]

MAX_STEPS = 10_000_000
MAX_BATCH_SIZE = 1024
MAX_WIDTH = 256
MAX_DEPTH = 6
MAX_IMAGES = 10_000

#: The models ``--model`` accepts: the names of :data:`segtutor.training.recipes.RECIPES`.
MODELS = tuple(RECIPES)


def _option(default, help: str, flag: str | None = None):
    # The help text and flag travel with the field, so `segtutor train --help` is made from this file.
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class TrainOptions:
    """Every option of a training run, checked when the object is made.

    Parameters
    ----------
    model : str
        A name from :data:`MODELS` (a recipe of :mod:`segtutor.training.recipes`).
    out : str or Path
        The run's folder: ``checkpoints/``, ``metrics.csv``, ``evaluation.json``,
        ``model.weights.h5``, ``predictions/`` and, with ``tensorboard``, ``tensorboard/``.
    steps, batch_size, checkpoint_every : int
        Optimiser steps in all, images per step, steps between checkpoints
        (also between rows of ``metrics.csv``).
    learning_rate : float
        Adam's initial rate, decayed to 0 on a cosine over ``steps``.
    seed : int
        Seeds the weights, the data order, the augmentation and the split (below 2**31).
    image_size : int
        Images are resized to this square size, a multiple of 16 from 32 to 1024.
    n_images : int
        Built-in data only: how many images to make.
    val_fraction : float
        Fraction of the items held out for validation, 0.01 to 0.9.
    width, depth : int
        U-Net's first-level filters and levels (DeepLab uses ``width``).
    keep : int
        Checkpoints kept (older ones are deleted).
    tensorboard, resume, progress, export : bool
        Write TensorBoard logs; continue from the last checkpoint in ``out``
        (a larger ``steps`` extends the run); show the progress bar; write the
        predictions on the validation images.

    Raises
    ------
    TrainError
        For any bad value, naming the parameter and its flag.
    """

    model: str = _option(DEFAULT_MODEL, "architecture")
    out: str | Path = _option("runs/train", "folder of the run")
    steps: int = _option(200, "optimiser steps in all")
    batch_size: int = _option(8, "images per step")
    checkpoint_every: int = _option(50, "steps between checkpoints and metrics.csv rows")
    learning_rate: float = _option(2e-3, "Adam's initial rate (cosine decay to 0)")
    seed: int = _option(0, "seed of weights, data order, augmentation and split")
    image_size: int = _option(64, "images are resized to this square size (a multiple of 16)")
    n_images: int = _option(64, "images made for built-in data")
    val_fraction: float = _option(0.2, "fraction held out for validation")
    width: int = _option(8, "filters of the first U-Net/DeepLab level")
    depth: int = _option(3, "U-Net levels")
    keep: int = _option(2, "checkpoints kept")
    tensorboard: bool = _option(False, "also write TensorBoard logs to OUT/tensorboard")
    resume: bool = _option(False, "continue from the last checkpoint in --out (same options; a larger --steps "
                                  "extends the run)")
    progress: bool = _option(True, "show the progress bar", flag="--no-progress")
    export: bool = _option(True, "write predictions on the validation images to OUT/predictions",
                           flag="--no-export")

    def __post_init__(self):
        try:
            self._check()
        except (TypeError, ValueError) as exc:  # one kind of error for the caller: the user's to fix
            raise TrainError(str(exc)) from None

    def _check(self) -> None:
        def label(name):
            return f"{name} ({flag_of(name)})"

        def set_(name, value):
            object.__setattr__(self, name, value)  # frozen: normalise the checked value once, here

        get_recipe(self.model)
        set_("steps", check_positive_int(self.steps, label("steps")))
        set_("batch_size", check_positive_int(self.batch_size, label("batch_size")))
        set_("checkpoint_every", check_positive_int(self.checkpoint_every, label("checkpoint_every")))
        set_("learning_rate", check_in_range(self.learning_rate, label("learning_rate"), 1e-8, 10.0))
        set_("seed", check_seed(self.seed, label("seed")))
        set_("image_size", check_positive_int(self.image_size, label("image_size"), minimum=32))
        set_("n_images", check_positive_int(self.n_images, label("n_images"), minimum=2))
        set_("val_fraction", check_in_range(self.val_fraction, label("val_fraction"), 0.01, 0.9))
        set_("width", check_positive_int(self.width, label("width")))
        set_("depth", check_positive_int(self.depth, label("depth")))
        set_("keep", check_positive_int(self.keep, label("keep")))
        for name in ("tensorboard", "resume", "progress", "export"):
            set_(name, check_bool(getattr(self, name), name))
        limits = (("steps", MAX_STEPS), ("batch_size", MAX_BATCH_SIZE), ("width", MAX_WIDTH), ("depth", MAX_DEPTH),
                  ("n_images", MAX_IMAGES), ("image_size", MAX_IMAGE_SIZE))
        for name, most in limits:
            if getattr(self, name) > most:
                raise TrainError(f"{label(name)} should be at most {most:,}, got {getattr(self, name):,}.")
        if self.image_size % 16:
            raise TrainError(f"{label('image_size')} should be a multiple of 16 from 32 to {MAX_IMAGE_SIZE}, "
                             f"got {self.image_size}.")
        if self.seed >= 2**31:
            raise TrainError(f"{label('seed')} should be below 2**31, got {self.seed}.")
        out = self.out
        if not isinstance(out, (str, Path)) or not str(out).strip():
            # Path('') is the current folder: checkpoints and weights would land among the student's files.
            raise TrainError(f"{label('out')} should be a folder path such as runs/capstone, got {out!r}.")
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise TrainError(f"{label('out')} {str(out)!r} is a file; pass a folder.")
        set_("out", out)

    def replace(self, **changes) -> "TrainOptions":
        """A copy with some options changed (checked again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TrainError(f"TrainOptions has no option(s) {unknown}; the options are "
                             f"{[f.name for f in dataclasses.fields(self)]}.")
        return dataclasses.replace(self, **changes)


def flag_of(name: str) -> str:
    """The command-line flag of option ``name`` (``batch_size`` -> ``--batch-size``)."""
    spec = {f.name: f for f in dataclasses.fields(TrainOptions)}[name]
    return spec.metadata["flag"] or "--" + name.replace("_", "-")


def option_flags() -> list[dict]:
    """One dict per option of :class:`TrainOptions`: ``name``, ``flag``, ``default``, ``type`` and ``help``.

    ``segtutor train`` adds one argument per dict; a flag given as ``--no-NAME``
    turns a default-on option off.

    Examples
    --------
    >>> [o["flag"] for o in option_flags()][:3]
    ['--model', '--out', '--steps']
    """
    kinds = {"int": int, "float": float, "bool": bool}
    return [{"name": f.name, "flag": flag_of(f.name), "default": f.default, "help": f.metadata["help"],
             "type": kinds.get(str(f.type), str)} for f in dataclasses.fields(TrainOptions)]


#: The defaults of :class:`TrainOptions` that take a value (the flags are off unless given).
DEFAULTS = {o["name"]: o["default"] for o in option_flags() if o["type"] is not bool}
