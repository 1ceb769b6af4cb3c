"""The ``segtutor`` command: ``release``, ``grade``, ``collect`` and ``train``.

``release`` and ``grade`` are the grading tools of :mod:`segtutor.grading.cli`
(unchanged); ``train`` trains a course model outside a notebook, with
checkpoints and resume (:mod:`segtutor.train_run`); ``collect`` copies
students' folders from their homes into ``submissions/<user>/``
(:mod:`segtutor.grading.collect`).

Examples
--------
Train a U-Net on the capstone's example folder, then continue it after an
interruption::

    segtutor train --data datasets/capstone_folder --model unet --steps 300 --out runs/capstone
    segtutor train --data datasets/capstone_folder --model unet --steps 300 --out runs/capstone --resume

Bad input (a missing path, a file in the wrong format, an empty folder, a
checkpoint from another model) prints one line on stderr and exits with
status 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser", "help_text"]


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), not usage plus error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _add_train(sub) -> None:
    from .train_run import BUILTIN_DATA, DEFAULTS, MODELS

    d = DEFAULTS
    sub._parser_class = _OneLineParser  # only train's errors change; release and grade keep argparse's own
    tr = sub.add_parser(
        "train", help="train a course model with checkpoints and resume",
        description="Train a course model on a built-in data set, a folder of images and masks, or a COCO file. "
                    "Writes checkpoints/, metrics.csv, evaluation.json, model.weights.h5 and predictions/ "
                    "(COCO JSON with RLE masks, PNG masks) into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    tr.add_argument("--data", required=True, default=argparse.SUPPRESS,
                    help=f"required: {' or '.join(BUILTIN_DATA)}, a folder with images/ and masks/, or a COCO .json "
                         "file")
    tr.add_argument("--model", choices=MODELS, default=d["model"], help="architecture")
    tr.add_argument("--out", default=d["out"], help="folder of the run")
    tr.add_argument("--steps", type=int, default=d["steps"], help="optimiser steps in all")
    tr.add_argument("--batch-size", type=int, default=d["batch_size"], help="images per step")
    tr.add_argument("--checkpoint-every", type=int, default=d["checkpoint_every"],
                    help="steps between checkpoints and metrics.csv rows")
    tr.add_argument("--learning-rate", type=float, default=d["learning_rate"],
                    help="Adam's initial rate (cosine decay to 0)")
    tr.add_argument("--seed", type=int, default=d["seed"], help="seed of weights, data order, augmentation and split")
    tr.add_argument("--image-size", type=int, default=d["image_size"],
                    help="images are resized to this square size (a multiple of 16)")
    tr.add_argument("--n-images", type=int, default=d["n_images"], help="images made for built-in data")
    tr.add_argument("--val-fraction", type=float, default=d["val_fraction"], help="fraction held out for validation")
    tr.add_argument("--width", type=int, default=d["width"], help="filters of the first U-Net/DeepLab level")
    tr.add_argument("--depth", type=int, default=d["depth"], help="U-Net levels")
    tr.add_argument("--keep", type=int, default=d["keep"], help="checkpoints kept")
    tr.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    tr.add_argument("--resume", action="store_true",
                    help="continue from the last checkpoint in --out (same options; a larger --steps extends the run)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The ``segtutor`` parser: the grading CLI's ``release`` and ``grade``, plus ``train``."""
    from .grading.cli import build_parser as grading_parser

    parser = grading_parser()
    parser.description = "Release and grade segtutor notebooks, and train the course's models."
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    _add_train(sub)
    co = sub.add_parser("collect", help="copy students' course folders from their homes into submissions/<user>/")
    co.add_argument("folders", nargs="+", help="each student's folder, e.g. /home/*/segtutor-work (student = home)")
    co.add_argument("--to", required=True, help="submissions folder for segtutor grade")
    return parser


def help_text(command: str = "train") -> str:
    """The ``--help`` text of one subcommand, as ``segtutor COMMAND --help`` prints it.

    Examples
    --------
    >>> "--checkpoint-every" in help_text("train")
    True
    """
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if not isinstance(command, str) or command not in sub.choices:
        raise ValueError(f"command should be one of {sorted(sub.choices)}, got {command!r}.")
    return sub.choices[command].format_help()


def cmd_train(args) -> int:
    from .train_run import TrainError, run_training

    try:
        result = run_training(
            args.data, model=args.model, out=args.out, steps=args.steps, batch_size=args.batch_size,
            checkpoint_every=args.checkpoint_every, learning_rate=args.learning_rate, seed=args.seed,
            image_size=args.image_size, n_images=args.n_images, val_fraction=args.val_fraction, width=args.width,
            depth=args.depth, tensorboard=args.tensorboard, resume=args.resume, keep=args.keep,
            progress=not args.no_progress)
    except TrainError as exc:  # bad input only: a bug in the package keeps its traceback
        print(f"segtutor train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"segtutor train: interrupted: {exc or 'rerun with --resume to continue'}", file=sys.stderr)
        return 130
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result["evaluation"].items())
    print(f"trained {args.model} on {args.data} for {args.steps} steps ({result['strategy']}); "
          f"validation: {scores}; wrote {result['out']}")
    return 0


def cmd_collect(args) -> int:
    from .grading.collect import collect_homes

    try:
        copied = collect_homes(args.folders, args.to)
    except (ValueError, FileNotFoundError) as exc:
        print(f"segtutor collect: error: {exc}", file=sys.stderr)
        return 2
    for user, names in copied.items():
        print(f"  {user}: {len(names)} notebook(s)")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return cmd_train(args)
    if args.command == "collect":
        return cmd_collect(args)
    from .grading import cli as grading_cli

    return {"release": grading_cli.cmd_release, "grade": grading_cli.cmd_grade}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
