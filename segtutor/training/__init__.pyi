# The public names of segtutor.training; lazy_loader reads this file (see __init__.py).
__all__ = [
    "LiveHistory", "fit", "history_figure", "check_batch", "cosine_schedule",
    "TrainError", "TrainOptions", "DEFAULTS", "MODELS",
    "BUILTIN_DATA", "load_training_data", "batch_indices",
    "Recipe", "RECIPES", "get_recipe", "SEMI_RECIPES", "SemiRecipe",
    "find_checkpoint", "ProgressBar", "run_training",
    "SHIPPED", "get_shipped",
]

from .live import LiveHistory, fit, history_figure, check_batch
from .schedules import cosine_schedule
from .errors import TrainError
from .options import TrainOptions, DEFAULTS, MODELS
from .data import BUILTIN_DATA, load_training_data, batch_indices
from .recipes import Recipe, RECIPES, get_recipe
from .semi_recipes import SEMI_RECIPES, SemiRecipe
from .checkpoints import find_checkpoint
from .progress import ProgressBar
from .run import run_training
from .shipped import SHIPPED, get_shipped
