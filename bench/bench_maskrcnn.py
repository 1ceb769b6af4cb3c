#!/usr/bin/env python3
"""Benchmarks of notebooks 08-10: Mask R-CNN training to the targets, step and inference time, widgets.

Run from the repository root::

    MPLBACKEND=Agg .venv/bin/python bench/bench_maskrcnn.py [--steps 1800] [--every 600] [--skip-training]

Training is the shipped recipe (``segtutor.maskrcnn.train_shapes``: 2,000
fresh ``shapes`` images at 128 x 128, batch 8, Adam 2e-3 with cosine decay
over ``--steps``, from scratch). Every ``--every`` steps a callback scores
COCO mask AP on the 500 held-out images; that scoring is excluded from the
training time, so "time to targets" is the ``fit`` time (first trace
included) at the first checkpoint where mask AP50 >= 0.95 and mask AP >=
0.80. Step time is the median wall time of one training batch after the
first 100; "steps in 3 minutes" divides 180 s, less the first step's
tracing, by it. Inference time is the median over batches of 8 of the time
per image (masks pasted). The nuclei rows score the shipped nuclei weights
against notebook 06's U-Net plus watershed (``segtutor.maskrcnn.nuclei``).
Peak memory is this process's maximum resident size.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from bench_cnn import _median_ms  # bench/ is on the path: run.py and these scripts live there

TARGET_AP50, TARGET_AP = 0.95, 0.80


def lines_per_module() -> list[tuple[str, int]]:
    folder = Path(__file__).resolve().parents[1] / "segtutor" / "maskrcnn"
    return [(p.name, sum(1 for _ in p.open(encoding="utf-8"))) for p in sorted(folder.glob("*.py"))]


def inference_ms_per_image(model, images, batch_size: int = 8) -> float:
    """Median over batches of the wall time per image of :func:`detect` (first call, the trace, excluded)."""
    from segtutor.maskrcnn.inference import detect

    detect(model, images[:batch_size])
    times = []
    for start in range(0, len(images) - batch_size + 1, batch_size):
        t = time.perf_counter()
        detect(model, images[start:start + batch_size])
        times.append((time.perf_counter() - t) / batch_size)
    return 1000 * statistics.median(times)


def bench_training(steps: int = 1800, every: int = 600) -> dict:
    import keras

    from segtutor.maskrcnn.train_shapes import evaluate_on_shapes, train_shapes

    class Probe(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.fit_seconds, self.batch_times, self.checkpoints = 0.0, [], []
            self._step, self._last = 0, None

        def on_train_begin(self, logs=None):
            self._last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.batch_times.append(now - self._last)
            self.fit_seconds += now - self._last
            self._step += 1
            if self._step % every == 0:
                scores = evaluate_on_shapes(self.model, 500)
                self.checkpoints.append((self._step, self.fit_seconds, scores["mask"]["AP50"], scores["mask"]["AP"]))
            self._last = time.perf_counter()  # scoring time is not training time

    probe = Probe()
    model, _, _ = train_shapes(steps, callbacks=[probe], verbose=0)
    final = evaluate_on_shapes(model, 500)
    final["ms_per_image"] = inference_ms_per_image(model, final["data"].images[:96])
    reached = next(((s, t) for s, t, ap50, ap in probe.checkpoints if ap50 >= TARGET_AP50 and ap >= TARGET_AP), None)
    return {"model": model, "final": final, "fit_seconds": probe.fit_seconds, "checkpoints": probe.checkpoints,
            "step_ms": 1000 * statistics.median(probe.batch_times[100:] or probe.batch_times), "reached": reached,
            "first_step_s": probe.batch_times[0]}


def bench_widgets(model=None, repeats: int = 20) -> dict:
    from segtutor.datasets import make_shapes
    from segtutor.maskrcnn.pictures import anchor_match_picture
    from segtutor.widgets.anchors import LEVELS, AnchorExplorer

    data = make_shapes(8, size=128, seed=8)
    explorer = AnchorExplorer(data.images, data.boxes)
    levels = list(LEVELS)
    out = {"anchor explorer: compute per change (ms)": _median_ms(
        lambda i: anchor_match_picture(data.images[i % 8], data.boxes[i % 8], size=32, ratios=(0.5, 1, 2),
                                       stride=LEVELS[levels[i % 3]]), repeats),
        "anchor explorer: level change incl. PNG (ms)": _median_ms(
            lambda i: setattr(explorer.level, "value", levels[i % 3]), repeats)}
    if model is not None:
        from segtutor.widgets.stages import STAGES, StageBrowser

        browser = StageBrowser(model, data.images)
        start = time.perf_counter()
        browser.image_index.value = 1  # uncached: runs the model's inspect once
        out["stage browser: new image, uncached (ms)"] = (time.perf_counter() - start) * 1000
        out["stage browser: stage change (ms)"] = _median_ms(
            lambda i: setattr(browser.stage, "value", STAGES[i % len(STAGES)]), repeats)
    return out


def bench_nuclei(n_images: int = 64) -> dict:
    from segtutor.maskrcnn.nuclei import compare_with_unet
    from segtutor.maskrcnn.weights import load_nuclei_model

    return compare_with_unet(load_nuclei_model(), n_images)


def run(steps: int = 1800, skip_training: bool = False, every: int = 600) -> list[dict]:
    """Rows for ``bench/run.py``."""
    rows = []
    model = None
    if not skip_training:
        t = bench_training(steps, every)
        model, final = t["model"], t["final"]
        marks = "; ".join(f"{s} steps {sec:.0f} s: AP50 {a50:.3f} AP {ap:.3f}" for s, sec, a50, ap in t["checkpoints"])
        rows.append({"benchmark": "Mask R-CNN: training time to targets (class mode)",
                     "value": t["reached"][1] if t["reached"] else None, "unit": "s", "target": "<= 180 s",
                     "note": (f"first reached at {t['reached'][0]} steps" if t["reached"] else "NOT reached")
                     + f"; checkpoints: {marks}"})
        rows.append({"benchmark": f"Mask R-CNN: fit {steps} steps", "value": t["fit_seconds"], "unit": "s",
                     "target": "", "note": f"first step incl. tracing {t['first_step_s']:.1f} s"})
        rows.append({"benchmark": "Mask R-CNN: training step, batch 8", "value": t["step_ms"], "unit": "ms",
                     "target": "", "note": "median after the first 100 steps"})
        rows.append({"benchmark": "Mask R-CNN: steps in 3 min at that step time", "value":
                     max(0.0, 180 - t["first_step_s"]) * 1000 / t["step_ms"], "unit": "steps", "target": "",
                     "note": f"(180 s - first step {t['first_step_s']:.1f} s) / median step"})
        rows.append({"benchmark": "Mask R-CNN: inference per image", "value": final["ms_per_image"],
                     "unit": "ms", "target": "", "note": "median over 12 batches of 8, mask pasting included"})
        for kind in ("mask", "box"):
            s = final[kind]
            rows.append({"benchmark": f"Mask R-CNN: {kind} AP / AP50 / AP75, 500 held-out shapes", "value": s["AP"],
                         "unit": "AP", "target": ">= 0.80 (AP), >= 0.95 (AP50)" if kind == "mask" else "",
                         "note": f"AP50 {s['AP50']:.3f}, AP75 {s['AP75']:.3f}, after {steps} steps"})
    for key, value in bench_widgets(model).items():
        rows.append({"benchmark": key.replace(" (ms)", ""), "value": value, "unit": "ms",
                     "target": "<= 40 ms" if "compute" in key else "", "note": "median of 20" if "uncached" not in key
                     else "1 run"})
    nuclei = bench_nuclei()
    for r in nuclei["rows"]:
        rows.append({"benchmark": f"nuclei, {r['method']}: instance F1 @ IoU 0.5", "value": r["F1@0.5"],
                     "unit": "F1", "target": "", "note": f"mask AP50 {r['AP50']:.3f}, AP {r['AP']:.3f}; "
                     f"{nuclei['n_images']} held-out 128 x 128 crops"})
    lines = lines_per_module()
    rows.append({"benchmark": "segtutor.maskrcnn: lines per module", "value": max(n for _, n in lines), "unit": "lines",
                 "target": "<= ~400 each", "note": ", ".join(f"{name} {n}" for name, n in lines)})
    rows.append({"benchmark": "Mask R-CNN bench: peak memory", "value": resource.getrusage(resource.RUSAGE_SELF)
                 .ru_maxrss / 1024, "unit": "MB", "target": "", "note": "max resident size of this process"})
    return rows


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import format_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--every", type=int, default=600)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    print(format_table(run(args.steps, args.skip_training, args.every)))


if __name__ == "__main__":
    main()
