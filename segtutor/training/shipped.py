"""The recipes that make the shipped weights, and the ablation of notebook 10: ``segtutor weights`` and ``ablation``.

Each recipe is an object with its options (a frozen dataclass whose fields
``segtutor`` turns into flags) and a ``run`` that trains, saves and scores
exactly as the scripts that made the shipped files did. The training
itself stays where the notebooks use it:

===============  =================================================================  ======================================
command          trains with                                                        writes
===============  =================================================================  ======================================
weights nuclei   :func:`segtutor.models.train_nuclei.train` (U-Net, DeepLabv3+)       ``{unet,deeplab}_nuclei.weights.h5``
weights shapes   :func:`segtutor.maskrcnn.train_shapes.train_shapes` (Mask R-CNN)    ``shapes.weights.npz``, ``CARD.md``
weights          :func:`segtutor.maskrcnn.nuclei.train_nuclei` (Mask R-CNN)           ``nuclei.weights.npz``, ``NUCLEI.md``
nuclei-maskrcnn
ablation         :func:`segtutor.maskrcnn.ablation.run_ablation`                    ``ablation.json``
===============  =================================================================  ======================================

Examples
--------
>>> sorted(SHIPPED)
['ablation', 'nuclei', 'nuclei-maskrcnn', 'shapes']
>>> SHIPPED["shapes"].Options(out="w").steps
1800
>>> SHIPPED["nuclei"].Options(out="w", models=("unet", "vgg"))
Traceback (most recent call last):
...
segtutor.training.errors.TrainError: models (--models) should be chosen from ('unet', 'deeplab'), got 'vgg'.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

from .._validate import check_in_range, check_positive_int, check_seed, check_str
from .errors import TrainError

__all__ = ["ShippedRecipe", "SHIPPED", "get_shipped"]


def _option(default, help: str):
    return field(default=default, metadata={"help": help})


def _required(help: str):
    return field(metadata={"help": help})


def _checked(options, limits: dict) -> None:
    """Check the common options of a recipe's dataclass; a TrainError names the parameter and its flag."""
    def label(name):
        return f"{name} (--{name.replace('_', '-')})"

    try:
        if not isinstance(options.out, (str, Path)) or not str(options.out).strip():
            raise TrainError(f"{label('out')} should be a path, got {options.out!r}.")
        for name, (low, high) in limits.items():
            value = getattr(options, name)
            if isinstance(low, int) and isinstance(high, int):
                value = check_positive_int(value, label(name), minimum=low)
                if value > high:
                    raise TrainError(f"{label(name)} should be at most {high:,}, got {value:,}.")
            else:
                check_in_range(value, label(name), low, high)
        check_seed(options.seed, label("seed"))
        if hasattr(options, "load_note"):
            check_str(options.load_note, label("load_note"))
    except (TypeError, ValueError) as exc:
        raise TrainError(str(exc)) from None


class ShippedRecipe:
    """A command that remakes shipped files: ``Options`` (a frozen dataclass) and ``run(options, log)``."""

    name = ""
    summary = ""
    Options = None

    def run(self, options, log=print) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NucleiWeights(ShippedRecipe):
    """The U-Net and DeepLabv3+ of ``segtutor/models/weights`` (notebook 06 and 07's pretrained models)."""

    name = "nuclei"
    summary = "train the shipped nuclei U-Net and DeepLabv3+ (segtutor/models/weights)"

    @dataclass(frozen=True)
    class Options:
        out: str = _required("folder for the weights and JSON cards, e.g. segtutor/models/weights")
        models: tuple = _option(("unet", "deeplab"), "architectures to train")
        steps: int = _option(2400, "training steps per model")
        n_train: int = _option(300, "training images")
        seed: int = _option(0, "seed of the data, the weights and the augmentation")
        data: str = _option("scaled", "scaled: radius 4-40 px zoomed to the models' scale (the shipped models); "
                                      "vary: make_nuclei(vary=True) (the models before issue 22)")

        def __post_init__(self):
            from ..models.train_nuclei import RECIPES as ARCHITECTURES

            if self.data not in ("scaled", "vary"):
                raise TrainError(f"data (--data) should be 'scaled' or 'vary', got {self.data!r}.")

            _checked(self, {"steps": (1, 10_000_000), "n_train": (1, 100_000)})
            models = (self.models,) if isinstance(self.models, str) else tuple(self.models)
            for m in models:
                if m not in ARCHITECTURES:
                    raise TrainError(f"models (--models) should be chosen from {tuple(ARCHITECTURES)}, got {m!r}.")
            if not models:
                raise TrainError(f"models (--models) should name at least one of {tuple(ARCHITECTURES)}.")
            object.__setattr__(self, "models", models)

    def run(self, options, log=print) -> None:
        from ..models.train_nuclei import save, train

        for name in options.models:
            model, record = train(name, steps=options.steps, n_train=options.n_train, seed=options.seed,
                                  data=options.data)
            save(model, record, name, options.out)
            log(f"{name}: saved to {options.out}; held-out scores {record['scores']}")


_SHAPES_CARD = """# Shipped Mask R-CNN weights: `shapes`

- **Files:** `shapes.weights.npz` (weights as float16, {megabytes:.1f} MB), `shapes.config.json` (the `MaskRCNNConfig`).
- **Model:** `segtutor.maskrcnn` Mask R-CNN, small ResNet + FPN P2-P4 with {fpn} channels, {params:,} parameters; trained from
  scratch (no ImageNet or COCO weights).
- **Data:** `make_shapes({n_train}, size=128, seed={seed})` (squares, circles, triangles; 1-4 per image) with random
  horizontal flips.
- **Training:** {steps} steps at batch {batch_size}, Adam {lr} with cosine decay, gradient norm clipped at 5, half of the 32 RoI slots
  for positives; seed {seed}; {minutes:.1f} min of `fit` on {machine}.
- **Held-out score:** 500 images `make_shapes(500, size=128, seed={eval_seed})`, pycocotools:
  mask AP {mask_ap:.3f}, AP50 {mask_ap50:.3f}, AP75 {mask_ap75:.3f}; box AP {box_ap:.3f}, AP50 {box_ap50:.3f}.
- **Reproduce:** `segtutor weights shapes --out segtutor/maskrcnn/weights --steps {steps} --seed {seed} --lr {lr}`
  (numbers vary slightly between machines: TensorFlow's CPU kernels are not bit-reproducible across thread counts).
- **Scores are of the shipped file:** measured after the float16 round trip.
- **Machine load:** {load}. The minutes above are wall time under that load; `bench/bench_maskrcnn.py`
  measures the step time and the time to the course's targets (README, notebook 10).
"""


class ShapesMaskRCNN(ShippedRecipe):
    """The Mask R-CNN of ``segtutor/maskrcnn/weights/shapes.*`` (notebook 10)."""

    name = "shapes"
    summary = "train the shipped shapes Mask R-CNN (segtutor/maskrcnn/weights/shapes.*, CARD.md)"

    @dataclass(frozen=True)
    class Options:
        out: str = _required("folder for shapes.weights.npz, shapes.config.json and CARD.md")
        steps: int = _option(1800, "optimiser steps")
        seed: int = _option(0, "seed of the data, the weights and the sampling")
        n_train: int = _option(2000, "training images, make_shapes(N, size=128, seed=SEED)")
        batch_size: int = _option(8, "images per step")
        lr: float = _option(2e-3, "Adam's initial rate (cosine decay to 0)")
        load_note: str = _option("not recorded", "what else ran on the machine, for the card")

        def __post_init__(self):
            _checked(self, {"steps": (1, 10_000_000), "n_train": (1, 100_000), "batch_size": (1, 1024),
                            "lr": (1e-8, 10.0)})

    def run(self, options, log=print) -> None:
        from ..maskrcnn.train_shapes import EVAL_SEED, evaluate_on_shapes, train_shapes
        from ..maskrcnn.weights import load_model_npz, save_weights_npz

        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        model, _, seconds = train_shapes(options.steps, seed=options.seed, n_train=options.n_train,
                                         batch_size=options.batch_size, learning_rate=options.lr)
        # Save first: a failure while scoring must not lose minutes of training. Then score the model as
        # shipped, after the float16 round trip, so the card's numbers are those of the file.
        save_weights_npz(model, out / "shapes.weights.npz")
        (out / "shapes.config.json").write_text(json.dumps(model.config.to_dict(), indent=1) + "\n")
        scores = evaluate_on_shapes(load_model_npz(out / "shapes.weights.npz", out / "shapes.config.json"))
        m, b = scores["mask"], scores["box"]
        card = _SHAPES_CARD.format(
            params=model.count_params(), fpn=model.config.fpn_channels, n_train=options.n_train, seed=options.seed,
            steps=options.steps, batch_size=options.batch_size, lr=options.lr, minutes=seconds / 60,
            machine=f"{platform.machine()} CPU", eval_seed=EVAL_SEED, load=options.load_note,
            megabytes=(out / "shapes.weights.npz").stat().st_size / 1e6, mask_ap=m["AP"], mask_ap50=m["AP50"],
            mask_ap75=m["AP75"], box_ap=b["AP"], box_ap50=b["AP50"])
        (out / "CARD.md").write_text(card)
        log(f"fit {seconds:.0f} s; mask AP {m['AP']:.3f} AP50 {m['AP50']:.3f} AP75 {m['AP75']:.3f}; "
            f"box AP {b['AP']:.3f}; {scores['seconds_per_image'] * 1000:.1f} ms/image; wrote {out}")


class NucleiMaskRCNN(ShippedRecipe):
    """The Mask R-CNN of ``segtutor/maskrcnn/weights/nuclei.*`` (notebook 10's comparison with the U-Net)."""

    name = "nuclei-maskrcnn"
    summary = "train the shipped nuclei Mask R-CNN (segtutor/maskrcnn/weights/nuclei.*, NUCLEI.md)"

    @dataclass(frozen=True)
    class Options:
        out: str = _required("folder for nuclei.weights.npz, nuclei.config.json and NUCLEI.md")
        steps: int = _option(2400, "optimiser steps")
        seed: int = _option(0, "seed of the data, the weights and the sampling")
        n_train: int = _option(400, "training crops")
        n_eval: int = _option(64, "held-out crops of the comparison with the U-Net")
        load_note: str = _option("not recorded", "what else ran on the machine, for the card")
        data: str = _option("scaled", "scaled: radius 4-40 px zoomed to the Mask R-CNN's call scale, 21 px across "
                                      "(the shipped weights); vary: quadrants of make_nuclei(vary=True), nuclei as "
                                      "drawn (the weights shipped before issue 22)")
        anchors: tuple = _option((12, 24, 48), "anchor sizes in pixels on the feature strides 4, 8 and 16, "
                                               "smallest first (the weights before issue 22: 8 16 32)")

        def __post_init__(self):
            from ..maskrcnn.nuclei import NUCLEI_DATA

            if self.data not in NUCLEI_DATA:
                raise TrainError(f"data (--data) should be 'vary' or 'scaled', got {self.data!r}.")
            try:
                anchors = tuple(int(a) for a in self.anchors)
            except (TypeError, ValueError):
                anchors = ()
            if len(anchors) != 3 or anchors != tuple(sorted(set(anchors))) or not 2 <= anchors[0] <= anchors[-1] <= 128:
                raise TrainError(f"anchors (--anchors) should be three sizes in pixels from 2 to 128, smallest first, "
                                 f"e.g. --anchors 8 16 32; got {' '.join(map(str, self.anchors))!r}.")
            object.__setattr__(self, "anchors", anchors)  # the command line gives strings
            _checked(self, {"steps": (1, 10_000_000), "n_train": (8, 100_000), "n_eval": (1, 5000)})

    def run(self, options, log=print) -> None:
        from ..maskrcnn.nuclei import (NUCLEI_EVAL_SEED, compare_with_unet, format_comparison, nuclei_config,
                                       train_nuclei)
        from ..maskrcnn.weights import load_model_npz, save_weights_npz

        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        model, _, seconds = train_nuclei(options.steps, seed=options.seed, n_train=options.n_train, data=options.data,
                                         config=nuclei_config(anchor_sizes=options.anchors))
        save_weights_npz(model, out / "nuclei.weights.npz")
        (out / "nuclei.config.json").write_text(json.dumps(model.config.to_dict(), indent=1) + "\n")
        shipped = load_model_npz(out / "nuclei.weights.npz", out / "nuclei.config.json")
        # The comparison on the crops the old weights were judged on, and, for scaled training, on crops at the
        # scale the model is called at (segment_nuclei zooms every image so that nuclei are 21 px across).
        kinds = ("vary",) if options.data == "vary" else ("vary", "scaled")
        tables = {kind: format_comparison(compare_with_unet(shipped, options.n_eval, data=kind)) for kind in kinds}
        command = (f"segtutor weights nuclei-maskrcnn --out segtutor/maskrcnn/weights --steps {options.steps} "
                   f"--seed {options.seed} --n-train {options.n_train} --n-eval {options.n_eval} --data {options.data} "
                   "--anchors " + " ".join(map(str, options.anchors)))
        if options.data == "vary":
            data = (f"{options.n_train} crops `nuclei_crops({options.n_train}, seed={options.seed})` (128 x 128 "
                    "quadrants of `make_nuclei(size=256, vary=True)`)")
        else:
            data = (f"{options.n_train} crops `nuclei_crops({options.n_train}, seed={options.seed}, data=\"scaled\")` "
                    "(`segtutor.models.scale.nuclei_at_trained_scale(size=128, diameter=21)`: "
                    "`make_nuclei(vary=\"wide\")` images of typical radius 4-40 px zoomed so that their median nucleus "
                    "diameter is 21 px times 0.8-1.25, the scale `segment_nuclei` calls the model at)")
        comparison = "".join(
            f"- **Held-out comparison** ({options.n_eval} crops `nuclei_crops({options.n_eval}, "
            f"seed={NUCLEI_EVAL_SEED}" + ("" if kind == "vary" else ', data="scaled"') + ")`; the Mask R-CNN on "
            f"the crops as they are, the shipped U-Net through `segment_nuclei`'s zoom):\n\n{table}\n\n"
            for kind, table in tables.items())
        (out / "NUCLEI.md").write_text(
            "# Shipped Mask R-CNN weights: `nuclei`\n\n"
            f"- **Files:** `nuclei.weights.npz` (float16), `nuclei.config.json`; {model.count_params():,} parameters, "
            "trained from scratch.\n"
            f"- **Data:** {data}, random horizontal flips;\n  crops with more than "
            f"{model.config.max_instances} nuclei (`max_instances`) are left out of training.\n"
            f"- **Anchors:** {', '.join(map(str, model.config.anchor_sizes))} px on the strides "
            f"{', '.join(map(str, model.config.strides))}.\n"
            f"- **Training:** {options.steps} steps at batch 8, Adam 2e-3 with cosine decay; {seconds / 60:.1f} min of "
            f"`fit` on {platform.machine()} CPU (load: {options.load_note}).\n"
            f"{comparison}"
            f"- **Reproduce:** `{command}`\n")
        for table in tables.values():
            log(table)
        log(f"fit {seconds:.0f} s; wrote {out}")


class Ablation(ShippedRecipe):
    """Notebook 10's ablation: the course's Mask R-CNN, without true boxes in the proposals, with RoIPool."""

    name = "ablation"
    summary = "train and score the three Mask R-CNN variants of notebook 10 (segtutor/maskrcnn/weights/ablation.json)"

    @dataclass(frozen=True)
    class Options:
        out: str = _required("the JSON file to write, e.g. segtutor/maskrcnn/weights/ablation.json")
        steps: int = _option(1800, "optimiser steps per variant")
        seed: int = _option(0, "seed of the data, the weights and the sampling")
        n_eval: int = _option(500, "held-out shapes images")
        load_note: str = _option("", "what else ran on the machine, for the table's caption")

        def __post_init__(self):
            _checked(self, {"steps": (1, 10_000_000), "n_eval": (1, 5000)})

    def run(self, options, log=print) -> None:
        from ..maskrcnn.ablation import format_table, run_ablation

        result = run_ablation(options.steps, seed=options.seed, n_eval=options.n_eval)
        if options.load_note:
            result["machine"] += f", {options.load_note}"
        result["command"] = (f"segtutor ablation --steps {options.steps} --seed {options.seed} "
                             f"--n-eval {options.n_eval}")
        Path(options.out).write_text(json.dumps(result, indent=1) + "\n")
        log(format_table(result))


#: The commands that remake shipped files, by name (``segtutor weights NAME``; ``ablation`` is ``segtutor ablation``).
SHIPPED = {recipe.name: recipe for recipe in (NucleiWeights(), ShapesMaskRCNN(), NucleiMaskRCNN(), Ablation())}


def get_shipped(name) -> ShippedRecipe:
    """The shipped-weights recipe ``name`` (a key of :data:`SHIPPED`)."""
    if not isinstance(name, str) or name not in SHIPPED:
        raise TrainError(f"name should be one of {', '.join(map(repr, SHIPPED))}, got {name!r}.")
    return SHIPPED[name]
