"""The ablation of notebook 10: what do RoIAlign and ground-truth proposals buy?

Made by :class:`segtutor.training.shipped.Ablation`::

    segtutor ablation --out segtutor/maskrcnn/weights/ablation.json

trains four models from scratch with the same seed and number of steps:
the course's model, the same without the true boxes added to the proposals,
and the same with RoIPool instead of RoIAlign, with 2 x 2 samples per bin or
with one; then scores each on the same held-out ``shapes`` images and writes
a JSON table that notebook 10 shows.
The RoIPool row changes two settings: ``roi_op`` (rounded box, nearest-cell
samples, maximum per bin; see :func:`segtutor.maskrcnn.roi_align.roi_pool_single`)
and ``sampling_ratio`` from 1 to 2, so that each bin has four samples to take
the maximum of. The fourth row changes ``roi_op`` alone: one nearest-cell
sample per bin, so it measures the rounding without the maximum. The default
is the shipped model's whole recipe (1800 steps, 500 held-out images), so
the table says what each part is worth at the end of training; a short run
(``--steps 300``) would show the start of training instead (the shipped
table is not such a run).
"""

from __future__ import annotations

import platform
import time

__all__ = ["VARIANTS", "run_ablation", "format_table"]

#: name -> changes to :func:`segtutor.maskrcnn.train_shapes.shapes_config`.
VARIANTS = {
    "Mask R-CNN (RoIAlign, true boxes added to proposals)": {},
    "without true boxes in the proposals": {"add_gt_to_proposals": False},
    "RoIPool instead of RoIAlign": {"roi_op": "pool", "sampling_ratio": 2},
    "RoIPool, one sample per bin (rounding only)": {"roi_op": "pool"},
}


def run_ablation(steps: int = 1800, *, seed: int = 0, n_train: int = 2000, n_eval: int = 500, variants=None) -> dict:
    """Train and score every variant; returns ``{"rows": [...], "steps": ..., ...}``."""
    from .train_shapes import evaluate_on_shapes, shapes_config, train_shapes

    rows = []
    for name, changes in (variants or VARIANTS).items():
        model, history, seconds = train_shapes(steps, seed=seed, n_train=n_train, config=shapes_config(**changes),
                                               verbose=0)
        scores = evaluate_on_shapes(model, n_eval)
        rows.append({"variant": name, "changes": changes, "train_seconds": round(seconds, 1),
                     "final_loss": round(float(history.history["loss"][-1]), 4),
                     "mask_AP": round(scores["mask"]["AP"], 4), "mask_AP50": round(scores["mask"]["AP50"], 4),
                     "mask_AP75": round(scores["mask"]["AP75"], 4), "box_AP": round(scores["box"]["AP"], 4)})
    return {"rows": rows, "steps": steps, "seed": seed, "n_train": n_train, "n_eval": n_eval,
            "machine": f"{platform.machine()} CPU", "date": time.strftime("%Y-%m-%d")}


def format_table(result: dict) -> str:
    """A Markdown table of :func:`run_ablation`'s result."""
    from .nuclei import check_rows

    check_rows(result, ("variant", "mask_AP", "mask_AP50", "mask_AP75", "box_AP", "train_seconds"), "run_ablation")
    lines = ["| variant | mask AP | mask AP50 | mask AP75 | box AP | training s |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['variant']} | {r['mask_AP']:.3f} | {r['mask_AP50']:.3f} | {r['mask_AP75']:.3f} | "
                     f"{r['box_AP']:.3f} | {r['train_seconds']:.0f} |")
    return "\n".join(lines)
