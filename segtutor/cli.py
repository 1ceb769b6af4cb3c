"""The ``segtutor`` command: every subcommand of the course in one parser tree.

============  ==================================================================================
release       student copies of the source notebooks (:mod:`segtutor.grading.commands`)
grade         grade submissions into a gradebook (:mod:`segtutor.grading.commands`)
collect       copy students' folders from their homes into ``submissions/<user>/``
train         train a course model with checkpoints and resume (:mod:`segtutor.training.run`)
weights       remake a shipped model's weights: ``nuclei``, ``shapes``, ``nuclei-maskrcnn``
ablation      notebook 10's Mask R-CNN ablation table
examples      remake the capstone's example data sets (:func:`segtutor.datasets.examples.write_examples`)
============  ==================================================================================

The options of ``train``, ``weights`` and ``ablation`` are the fields of
their option dataclasses (:class:`segtutor.training.TrainOptions`, each
shipped recipe's ``Options``), so a flag, its default and its check are
written once, in the library. Every ``--help`` lists each option with its
default. Every input error, whether argparse's or the library's, prints one
line on stderr naming what to change and exits with status 2.

This is the only command line: ``segtutor`` (pyproject's ``[project.scripts]``)
and ``python -m segtutor`` (``segtutor/__main__.py``) both call :func:`main`.

Examples
--------
Train a U-Net on the capstone's example folder, then continue it after an
interruption::

    segtutor train --data datasets/capstone_folder --model unet --steps 300 --out runs/capstone
    segtutor train --data datasets/capstone_folder --model unet --steps 300 --out runs/capstone --resume

>>> "--checkpoint-every" in help_text("train")
True
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

__all__ = ["main", "build_parser", "help_text", "COMMANDS"]

#: The subcommands, in the order ``segtutor --help`` lists them.
COMMANDS = ("release", "grade", "collect", "train", "weights", "ablation", "examples")


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), not usage plus error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help; on/off flags say ``(default: off)``, required ones ``(required)``."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or "%(default)" in text or "(default:" in text \
                or action.default is argparse.SUPPRESS:
            return text
        if action.required:
            return text + " (required)"
        if action.nargs == 0:  # a flag: store_true is off unless given; a --no-X flag is given to turn X off
            return text + " (default: off)"
        return super()._get_help_string(action)


def _fail(command: str, message: str) -> int:
    print(f"segtutor {command}: error: {message}", file=sys.stderr)
    return 2


def _add_dataclass_options(parser, options_class, *, skip=()) -> None:
    """One flag per field of ``options_class``: ``--name-with-dashes``, typed from the default."""
    for f in dataclasses.fields(options_class):
        if f.name in skip:
            continue
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        help_ = f.metadata.get("help", "")
        required = f.default is dataclasses.MISSING
        default = None if required else f.default
        if isinstance(default, bool):
            if flag.startswith("--no-"):  # a default-on option; the flag turns it off
                parser.add_argument(flag, dest=f.name, action="store_false", help=f"do not {help_}")
            else:
                parser.add_argument(flag, dest=f.name, action="store_true", help=help_)
        elif isinstance(default, tuple):
            parser.add_argument(flag, dest=f.name, nargs="+", default=default,
                                help=help_ + f" (default: {' '.join(map(str, default))})")
        else:
            kind = {int: int, float: float}.get(type(default), str)
            choices = f.metadata.get("choices")
            parser.add_argument(flag, dest=f.name, type=kind, required=required, choices=choices,
                                **({} if required else {"default": default}), help=help_)


def _add_train(sub) -> None:
    from .training.data import BUILTIN_DATA
    from .training.options import TrainOptions
    from .training.recipes import RECIPES

    tr = sub.add_parser(
        "train", help="train a course model with checkpoints and resume", formatter_class=_HelpFormatter,
        description="Train a course model on a built-in data set, a folder of images and masks, or a COCO file. "
                    "Writes checkpoints/, metrics.csv, evaluation.json, model.weights.h5 and predictions/ "
                    "(COCO JSON with RLE masks, PNG masks) into --out. Models: "
                    + "; ".join(f"{name}: {recipe.summary}" for name, recipe in RECIPES.items()) + ". "
                    "Augmentation: U-Net and DeepLabv3+ batches are flipped left-right and up-down (each with "
                    "probability 1/2) and turned by 0-3 quarter turns; Mask R-CNN batches are flipped left-right "
                    "(boxes follow). Batch s depends only on --seed and s, so --resume reads the batches an "
                    "uninterrupted run reads.")
    tr.add_argument("--data", required=True,
                    help=f"{' or '.join(BUILTIN_DATA)}, a folder with images/ and masks/, or a COCO .json file")
    _add_dataclass_options(tr, TrainOptions, skip=("model",))
    tr.add_argument("--model", choices=tuple(RECIPES), default=TrainOptions.model, help="architecture")
    tr.set_defaults(handler=cmd_train)


def _add_shipped(sub) -> None:
    from .training.shipped import SHIPPED

    weights = sub.add_parser("weights", help="remake a shipped model's weights (long: minutes to hours)",
                             formatter_class=_HelpFormatter,
                             description="Train a shipped model from scratch with its recipe and write its weights "
                                         "and card, as the files in the package were made.")
    which = weights.add_subparsers(dest="recipe", required=True, metavar="RECIPE", parser_class=_OneLineParser)
    for name, recipe in SHIPPED.items():
        target = sub if name == "ablation" else which
        parser = target.add_parser(name, help=recipe.summary, description=recipe.summary,
                                   formatter_class=_HelpFormatter)
        parser.set_defaults(recipe=name, handler=cmd_shipped)
        _add_dataclass_options(parser, recipe.Options)


def _add_examples(sub) -> None:
    ex = sub.add_parser("examples", help="remake the capstone's example data sets (folder and COCO)",
                        formatter_class=_HelpFormatter,
                        description="Write notebook 12's example data sets, capstone_folder (images and PNG masks) "
                                    "and capstone_coco (images and COCO JSON), into --out, replacing those two "
                                    "folders if they exist. The files are byte-identical on every run.")
    ex.add_argument("--out", default="datasets", help="parent folder of capstone_folder/ and capstone_coco/")
    ex.set_defaults(handler=cmd_examples)


def build_parser() -> argparse.ArgumentParser:
    """The ``segtutor`` parser: every subcommand of :data:`COMMANDS`."""
    from .grading.commands import add_commands

    parser = _OneLineParser(prog="segtutor", formatter_class=_HelpFormatter,
                            description="Release and grade segtutor notebooks, and train the course's models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_OneLineParser)
    add_commands(sub, formatter_class=_HelpFormatter)
    co = sub.add_parser("collect", help="copy students' course folders from their homes into submissions/<user>/",
                        formatter_class=_HelpFormatter)
    co.add_argument("folders", nargs="+", help="each student's folder, e.g. /home/*/segtutor-work (student = home)")
    co.add_argument("--to", required=True, help="submissions folder for segtutor grade")
    co.set_defaults(handler=cmd_collect)
    _add_train(sub)
    _add_shipped(sub)
    _add_examples(sub)
    return parser


def _subparser(parser, name):
    for action in parser._actions:
        if isinstance(getattr(action, "choices", None), dict) and name in action.choices:
            return action.choices[name]
    return None


def help_text(command: str = "train") -> str:
    """The ``--help`` text of one subcommand, as ``segtutor COMMAND --help`` prints it.

    ``command`` may name a nested one: ``"weights shapes"``.
    """
    parser = build_parser()
    if not isinstance(command, str) or not command.split():
        raise ValueError(f"command should be one of {list(COMMANDS)}, got {command!r}.")
    for word in command.split():
        parser = _subparser(parser, word)
        if parser is None:
            raise ValueError(f"command should be one of {list(COMMANDS)} (or 'weights NAME'), got {command!r}.")
    return parser.format_help()


def cmd_train(args) -> int:
    from .training.errors import TrainError
    from .training.options import TrainOptions
    from .training.run import run_training

    fields = {f.name for f in dataclasses.fields(TrainOptions)}
    try:
        options = TrainOptions(**{k: v for k, v in vars(args).items() if k in fields})
        result = run_training(args.data, options)
    except TrainError as exc:  # bad input only: a bug in the package keeps its traceback
        return _fail("train", str(exc))
    except KeyboardInterrupt as exc:
        print(f"segtutor train: interrupted: {exc or 'rerun with --resume to continue'}", file=sys.stderr)
        return 130
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result["evaluation"].items())
    print(f"trained {args.model} on {args.data} for {options.steps} steps ({result['strategy']}); "
          f"validation: {scores}; wrote {result['out']}")
    return 0


def cmd_shipped(args) -> int:
    from .training.errors import TrainError
    from .training.shipped import get_shipped

    recipe = get_shipped(args.recipe)
    fields = {f.name for f in dataclasses.fields(recipe.Options)}
    command = "ablation" if recipe.name == "ablation" else f"weights {recipe.name}"
    try:
        options = recipe.Options(**{k: v for k, v in vars(args).items() if k in fields})
    except TrainError as exc:
        return _fail(command, str(exc))
    recipe.run(options, log=lambda text: print(text, flush=True))
    return 0


def cmd_collect(args) -> int:
    from .grading.collect import collect_homes

    try:
        copied = collect_homes(args.folders, args.to)
    except (ValueError, FileNotFoundError) as exc:
        return _fail("collect", str(exc))
    for user, names in copied.items():
        print(f"  {user}: {len(names)} notebook(s)")
    return 0


def cmd_examples(args) -> int:
    from .datasets.examples import write_examples

    try:
        roots = write_examples(args.out)
    except (TypeError, ValueError) as exc:
        return _fail("examples", str(exc))
    for root in roots:
        print("wrote", root)
    return 0


def main(argv=None) -> int:
    """Run ``segtutor`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    # Each subcommand's parser names the function that runs it (set_defaults(handler=...)), the
    # grading commands' included (segtutor.grading.commands.add_commands).
    return args.handler(args)
