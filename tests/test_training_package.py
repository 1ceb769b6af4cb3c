"""segtutor.training: the recipe registry, TrainOptions' checks, and the shipped-weights recipes' options.

Fast on purpose: nothing here trains (tests/test_train_cli.py trains every recipe through the command).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from segtutor.training import DEFAULTS, MODELS, RECIPES, Recipe, TrainError, TrainOptions, get_recipe
from segtutor.training.options import flag_of, option_flags
from segtutor.training.shipped import SHIPPED, ShippedRecipe, get_shipped

PACKAGE = Path(__file__).resolve().parent.parent / "segtutor"


def test_every_model_is_one_recipe_object_in_the_registry():
    assert tuple(RECIPES) == MODELS == ("unet", "deeplab", "maskrcnn")
    for name, recipe in RECIPES.items():
        assert isinstance(recipe, Recipe) and recipe.name == name and recipe.summary
        assert get_recipe(name) is recipe
        # every step of the run loop is the recipe's own, none left to the abstract base
        for method in ("spec", "metric_for", "build", "prepare", "batches", "evaluate", "label_images"):
            assert getattr(type(recipe), method) is not getattr(Recipe, method), (name, method)
    with pytest.raises(TrainError, match=r"model \(--model\) should be one of 'unet', 'deeplab', 'maskrcnn'"):
        get_recipe("resnet")


def _string_constants(path: Path) -> set:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


def test_no_model_name_is_tested_as_a_string_outside_the_registry():
    # The run loop, the options and the command ask the registry; only recipes.py spells the names.
    for module in ("training/run.py", "training/options.py", "training/data.py", "training/checkpoints.py",
                   "training/progress.py", "cli.py"):
        found = _string_constants(PACKAGE / module) & set(MODELS)
        assert not found, f"{module} spells model name(s) {sorted(found)}; ask segtutor.training.recipes instead"


def test_options_are_one_frozen_dataclass_with_the_old_defaults():
    options = TrainOptions()
    assert dataclasses.is_dataclass(options)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.steps = 3
    assert DEFAULTS == {"model": "unet", "out": "runs/train", "steps": 200, "batch_size": 8, "checkpoint_every": 50,
                        "learning_rate": 2e-3, "seed": 0, "image_size": 64, "n_images": 64, "val_fraction": 0.2,
                        "width": 8, "depth": 3, "keep": 2}
    assert options.replace(steps=7).steps == 7 and options.steps == 200
    with pytest.raises(TrainError, match="no option"):
        options.replace(stpes=7)


BAD_VALUES = {
    "model": ["resnet", 3], "out": ["", "   ", 5], "steps": [0, -1, 2.5, True, 10**8], "batch_size": [0, 1025, "8"],
    "checkpoint_every": [0, 1.0], "learning_rate": [0.0, float("nan"), 11.0, "0.1"], "seed": [-1, 2**31, 1.5],
    "image_size": [16, 40, 2048, 64.0], "n_images": [1, 10_001], "val_fraction": [0.0, 0.95, float("inf")],
    "width": [0, 257], "depth": [0, 7], "keep": [0], "tensorboard": ["False", 1], "resume": ["yes"],
    "progress": [None], "export": ["no"],
}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(TrainOptions)])
def test_each_bad_option_is_refused_naming_the_parameter_and_its_flag(name):
    assert name in BAD_VALUES, f"add bad values for the new option {name!r}"
    for value in BAD_VALUES[name]:
        with pytest.raises(TrainError) as error:
            TrainOptions(**{name: value})
        assert name in str(error.value), (name, value, str(error.value))
        if name not in ("tensorboard", "resume", "progress", "export"):
            assert flag_of(name) in str(error.value), (name, value, str(error.value))


def test_an_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "run").write_text("not a folder")
    with pytest.raises(TrainError, match=r"out \(--out\).*is a file"):
        TrainOptions(out=tmp_path / "run")


def test_the_flags_are_made_from_the_fields():
    flags = {o["name"]: o["flag"] for o in option_flags()}
    assert flags["batch_size"] == "--batch-size" and flags["progress"] == "--no-progress"
    assert set(flags) == {f.name for f in dataclasses.fields(TrainOptions)}


def test_the_shipped_weights_and_the_ablation_are_recipes_with_checked_options(tmp_path):
    assert set(SHIPPED) == {"nuclei", "shapes", "nuclei-maskrcnn", "ablation"}
    for name, recipe in SHIPPED.items():
        assert isinstance(recipe, ShippedRecipe) and get_shipped(name) is recipe
        assert dataclasses.is_dataclass(recipe.Options) and recipe.Options.__dataclass_params__.frozen
        options = recipe.Options(out=str(tmp_path / name))
        with pytest.raises(TrainError, match=r"steps \(--steps\)"):
            dataclasses.replace(options, steps=0)
        with pytest.raises(TrainError, match=r"seed \(--seed\)"):
            dataclasses.replace(options, seed=-3)
    # the defaults are those that made the shipped files (their cards name them)
    assert SHIPPED["shapes"].Options(out="w").steps == 1800 and SHIPPED["shapes"].Options(out="w").lr == 2e-3
    assert SHIPPED["nuclei"].Options(out="w").steps == 2400 and SHIPPED["nuclei"].Options(out="w").n_train == 300
    assert SHIPPED["nuclei-maskrcnn"].Options(out="w").steps == 2400
    with pytest.raises(TrainError, match="models"):
        SHIPPED["nuclei"].Options(out="w", models=("vgg",))
    with pytest.raises(TrainError, match="name should be one of"):
        get_shipped("imagenet")


def test_the_semi_supervised_methods_are_recipes_too():
    from segtutor import semi
    from segtutor.training import SEMI_RECIPES, SemiRecipe

    assert tuple(SEMI_RECIPES) == semi.METHODS == ("labelled only", "self-training", "mean teacher")
    for name, recipe in SEMI_RECIPES.items():
        assert isinstance(recipe, SemiRecipe) and recipe.name == name
        assert type(recipe).fit is not SemiRecipe.fit, name
    assert [r.needs_unlabelled for r in SEMI_RECIPES.values()] == [False, True, True]
    # the experiment and its figure ask the recipes; neither spells a method's name
    found = _string_constants(PACKAGE / "semi" / "experiment.py") & set(SEMI_RECIPES)
    assert not found, f"semi/experiment.py spells method name(s) {sorted(found)}"
