#!/usr/bin/env python3
"""Benchmark of notebook 11's domain shift (issue 28): unsupervised adaptation from a source look to a target look.

Run from the repository root::

    MPLBACKEND=Agg .venv/bin/python bench/bench_semi_shift.py --seeds 0 1 2 ... --json segtutor/data/semi_shift.json
    .venv/bin/python bench/bench_semi_shift.py --from-json part1.json part2.json --json segtutor/data/semi_shift.json

Each seed draws new data (``segtutor.semi.make_shift_data``: labelled source images of ``SOURCE_LOOK``, unlabelled
target images of ``TARGET_LOOK`` and held-out target images), new initial weights and new batches, and runs every
method of ``METHODS`` (or ``--methods``) with ``segtutor.semi.domain_adaptation`` at the settings of ``SETTINGS``:
source only and the oracle train ``steps`` steps from the same random weights; AdaBN re-estimates the source model's
batch-norm statistics on the target images; self-training and mean teacher (self-ensembling, French et al. 2018)
fine-tune the source model ``adapt_steps`` more steps, with or without AdaBN before and after; the randomised source
trains ``steps`` steps on the source images and three copies of each under random cameras
(``segtutor.semi.randomise``), then optionally AdaBN. Each method is scored by the Dice of
``prediction > 0.5`` pooled over the held-out target images.

Protocol: the settings are chosen on development seeds (``DEV_SEEDS``, never reported as results); the reported
numbers come from fresh seeds (``FRESH_SEEDS``), run once with these settings. Seeds 0 and 5 were spent on a run with
an earlier, faulty scaling of the looks; seeds 10-19 on the first stored run (below), after which a new method was
added, so its fresh seeds are 20-29.

How the settings were chosen (2026-12-07, development seeds 1000 and 1001, one TensorFlow thread per process):

* At 128 px, 120 steps (the first attempt) the oracle scored below AdaBN on both seeds: no ceiling. At 256 px with
  64-px patches and 400 steps it is one (0.87 and 0.89).
* With every image scaled by its own percentiles (``normalise="percentile"``), source only already reached 0.69 and
  0.70 and AdaBN added only 0.02 and 0.05: per-image normalisation removes the brightness and contrast part of the
  shift. With the camera's fixed scale (``normalise="fixed"``, chosen) source only scored 0.48 and 0.61, AdaBN 0.80
  and 0.79.
* Mean teacher + AdaBN collapsed (Dice 0.22 on both seeds) while its teacher predicted with moving statistics that
  the student's two looks had mixed; with the teacher normalising each target batch by its own statistics (as French
  et al.'s teacher, run in training mode) it scored 0.61 and 0.74. 600 adaptation steps instead of 200 did not help
  self-training on seed 1000 (0.801 against AdaBN's 0.800, fixed scale), so 200 were kept.

First stored run (fresh seeds 10-19, five methods): the gap oracle - source only was 0.141 [0.074, 0.207]; the best
unlabelled method, AdaBN, gained 0.067 [-0.015, 0.149] over source only (8 of 10 seeds), 47 % of the gap, so the
issue's target (80 %, interval above zero) was missed; self-training + AdaBN and mean teacher + AdaBN did not beat
AdaBN alone (-0.025 [-0.075, 0.025] and -0.083 [-0.185, 0.020]). What AdaBN left was dim nuclei and glow, a look the
source images never showed. Tried next on the development seeds only (scripts kept out of the repository, numbers
here):

* rescaling the target images to the source's nucleus size (``segtutor.models.scale.estimate_diameter`` on both
  looks) before AdaBN: 0.801 and 0.801 against AdaBN's 0.800 and 0.789; size is not what is left (the training's zoom
  crops already cover it);
* FDA (Yang and Soatto 2020: source images with the target's low-frequency amplitude spectrum, beta 0.01), trained
  from scratch: 0.28 and 0.25, 0.69 and 0.80 with AdaBN; fine-tuning the source model on them: 0.79 and 0.78 with
  AdaBN. Not better than AdaBN;
* **randomised source** (``segtutor.semi.randomise``: each labelled source image plus three copies under a random
  camera, gain, background and glow, blur and shot noise, ``LOOK_RANGES``; domain randomisation, Tobin et al. 2017),
  the same 400 steps: 0.706 and 0.808 alone, **0.815 and 0.842 with AdaBN** (source only 0.476 and 0.541, oracle
  0.869 and 0.892 in that run: 86 % of the gap on both seeds). Self-training + AdaBN on top of it: 0.793 and 0.865,
  mixed, so not added. Chosen, with the ranges as first written (not tuned).

Result (fresh seeds 20-29, five methods, stored in ``segtutor/data/semi_shift.json`` with the first run under
``earlier``, shown by notebook 11): the gap oracle - source only was 0.208 [0.103, 0.314] (source only 0.667, oracle
0.875); **randomised source + AdaBN** scored 0.834 [0.818, 0.851], a paired gain over source only of 0.167 [0.056,
0.279], ahead in 9 of 10 seeds, **80.3 % of the gap: the issue's target (>= 80 %, interval above zero) met, by a
hair** (a bootstrap over seeds puts the ratio between 61 % and 91 %). It beat AdaBN alone by 0.061 [0.023, 0.099]
(9 of 10 seeds); the randomised source without AdaBN was no better than AdaBN (-0.002 [-0.067, 0.063]). AdaBN alone
closed 51 % of the gap on these seeds (47 % on seeds 10-19).
``--real`` adds the shipped models on the DSB 2018 image before and after AdaBN on that image.

Confidence intervals are 95 % Student-t intervals over seeds; a gain is paired by seed (the same data and initial
weights for both methods). ``seconds`` is wall clock on the machine that ran them (see the JSON's ``machine`` and
``status``); ``cpu_seconds`` the process's CPU time, which depends less on what else ran.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

#: Seeds the settings were chosen on; results are reported on other (fresh) seeds.
DEV_SEEDS = (1000, 1001)
FRESH_SEEDS = tuple(range(20, 30))

#: The protocol: image size and numbers of images, U-Net training budget, and the methods' settings.
SETTINGS = {"size": 256, "normalise": "fixed", "n_source": 40, "n_target": 40, "n_test": 8, "steps": 400,
            "adapt_steps": 200, "patch_size": 64, "batch_size": 8, "threshold": 0.9, "confidence": 0.968,
            "consistency": 3.0, "adapt_learning_rate": 1e-3}

#: The methods of the stored run on fresh seeds 20-29. Self-training + AdaBN and mean teacher + AdaBN ran on the
#: first run's seeds 10-19 (kept in the record under ``earlier``) and did not beat AdaBN alone; at three to four
#: times AdaBN's cost they were left out of the second run, which the busy machine would not have finished.
METHODS = ("source only", "AdaBN", "randomised source", "randomised source + AdaBN", "oracle")
#: Every method the bench can run (``--methods``).
ALL_METHODS = ("source only", "AdaBN", "self-training + AdaBN", "mean teacher + AdaBN", "randomised source",
               "randomised source + AdaBN", "oracle")

#: Where the notebook reads the result (package data, so an installed course has it too).
RESULT = Path(__file__).resolve().parents[1] / "segtutor" / "data" / "semi_shift.json"


def one_seed(seed: int, settings=SETTINGS, methods=METHODS, log=print) -> list[dict]:
    """Rows (``method``, ``dice``, ``seconds``, ``seed``) of every method on one seed."""
    from segtutor import semi

    s = dict(settings)
    data = semi.make_shift_data(s.pop("n_source"), s.pop("n_target"), s.pop("n_test"), size=s.pop("size"),
                                normalise=s.pop("normalise", "percentile"), seed=seed)
    rows, _ = semi.domain_adaptation(data, methods=methods, seed=seed, log=log, **s)
    return [dict(r, seed=seed) for r in rows]


def complete_seeds(rows, methods=METHODS) -> list[dict]:
    """The rows of the seeds that ran every method, each (seed, method) once (the first met): a run stopped
    mid-seed, or one seed run by two processes, leaves no half or doubled seed in the summary."""
    seen, out = set(), []
    for r in rows:
        if (r["seed"], r["method"]) not in seen:
            seen.add((r["seed"], r["method"]))
            out.append(r)
    done = {s for s in {r["seed"] for r in out} if all((s, m) in seen for m in methods)}
    return sorted((r for r in out if r["seed"] in done), key=lambda r: (r["seed"], methods.index(r["method"])
                                                                         if r["method"] in methods else 99))


def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95 % Student-t confidence interval of the mean (NaN bounds with fewer than two values)."""
    from scipy import stats

    v = np.asarray(values, float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return mean, mean - half, mean + half


def _by_seed(rows, method):
    return {r["seed"]: r["dice"] for r in rows if r["method"] == method}


def paired(rows, a, b) -> dict:
    """``a`` minus ``b`` paired by seed: mean, 95 % interval, per-seed differences and wins."""
    da, db = _by_seed(rows, a), _by_seed(rows, b)
    seeds = sorted(set(da) & set(db))
    diff = [da[s] - db[s] for s in seeds]
    mean, low, high = t_interval(diff)
    return {"a": a, "b": b, "mean": mean, "low": low, "high": high, "per_seed": diff, "seeds": seeds,
            "wins": int(sum(d > 0 for d in diff)), "excludes_zero": bool(low > 0 or high < 0)}


def summary(rows: list[dict]) -> dict:
    """Every method's mean, interval, per-seed values and time; the best method's gain and gap closed; the
    comparisons with AdaBN alone."""
    methods = [m for m in dict.fromkeys(r["method"] for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    table = []
    for m in methods:
        values = _by_seed(rows, m)
        mean, low, high = t_interval(list(values.values()))
        seconds = [r["seconds"] for r in rows if r["method"] == m]
        cpu = [r["cpu_seconds"] for r in rows if r["method"] == m and "cpu_seconds" in r]
        table.append({"method": m, "mean": mean, "low": low, "high": high,
                      "per_seed": [values.get(s) for s in seeds], "seconds": float(np.mean(seconds)),
                      "cpu_seconds": float(np.mean(cpu)) if cpu else float("nan")})
    out = {"seeds": seeds, "methods": table}
    if "source only" in methods and "oracle" in methods:
        gap = paired(rows, "oracle", "source only")
        out["gap"] = gap
        adapted = [m for m in methods if m not in ("source only", "oracle")]
        if adapted:
            best = max(adapted, key=lambda m: next(t["mean"] for t in table if t["method"] == m))
            gain = paired(rows, best, "source only")
            closed = gain["mean"] / gap["mean"] if gap["mean"] > 0 else float("nan")
            # The gap closed, judged as the issue states it: the ratio of the mean gain to the mean gap.
            out["best"] = dict(gain, method=best, gap_closed=closed, target_met=bool(closed >= 0.8
                                                                                  and gain["low"] > 0))
    if "AdaBN" in methods:
        out["against_adabn"] = [paired(rows, m, "AdaBN") for m in methods
                                if m.startswith(("self-training", "mean teacher", "randomised source"))]
    return out


def format_summary(s: dict) -> str:
    """The table and the intervals as text."""
    lines = [f"held-out target Dice over {len(s['seeds'])} seeds {s['seeds']} (mean, 95 % t-interval):", ""]
    lines.append(f"{'method':26s} {'mean':>6s}  {'95 % CI':>15s}  {'s/seed':>7s}  {'CPU s':>6s}  per seed")
    for t in s["methods"]:
        per = " ".join("  -  " if v is None else f"{v:.3f}" for v in t["per_seed"])
        lines.append(f"{t['method']:26s} {t['mean']:6.3f}  [{t['low']:.3f}, {t['high']:.3f}]  {t['seconds']:7.1f}  "
                     f"{t.get('cpu_seconds', float('nan')):6.1f}  {per}")
    if "gap" in s:
        g = s["gap"]
        lines += ["", f"gap oracle - source only: {g['mean']:.3f} [{g['low']:.3f}, {g['high']:.3f}]"]
    if "best" in s:
        b = s["best"]
        lines.append(f"best adapted method: {b['method']}; paired gain over source only {b['mean']:.3f} "
                     f"[{b['low']:.3f}, {b['high']:.3f}], ahead in {b['wins']} of {len(b['seeds'])} seeds; closes "
                     f"{b['gap_closed']:.0%} of the gap (target >= 80 % with an interval above 0): "
                     f"{'MET' if b['target_met'] else 'MISSED'}")
    for c in s.get("against_adabn", []):
        verdict = "beats" if c["low"] > 0 else "loses to" if c["high"] < 0 else "is not distinguishable from"
        lines.append(f"{c['a']} - AdaBN: {c['mean']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}], ahead in "
                     f"{c['wins']} of {len(c['seeds'])}: {verdict} AdaBN alone")
    return "\n".join(lines)


def _record(rows, machine, status="", settings=None, methods=METHODS) -> dict:
    s = summary(rows)
    return {"issue": 28, "status": status, "settings": SETTINGS if settings is None else settings,
            "methods": list(methods), "dev_seeds": DEV_SEEDS, "machine": machine, "rows": rows, "summary": s,
            "table": format_summary(s)}


def real_image(models=("deeplab", "unet")) -> dict:
    """The shipped models on the real DSB 2018 image, before and after AdaBN on that image's own pixels.

    ``segtutor.semi.adapt_pretrained`` re-estimates the batch-norm statistics on the unlabelled image (prepared as
    ``segment_nuclei`` prepares it, at the estimated nucleus size); the expert labels are used only to score the
    result, after adaptation. One image, so no interval: it shows what adaptation does there, not in general.
    """
    from bench_unet import _stardist_image

    from segtutor import metrics, semi
    from segtutor.models import pretrained

    pair = _stardist_image()
    if pair is None:
        return {"status": "skipped: stardist==0.9.2 neither installed nor downloadable"}
    image, truth = pair[0], pair[1].astype(np.int32)

    def scores(model):
        labels = pretrained.segment_nuclei(image, model=model)
        return {"f1": float(metrics.instance_scores(labels, truth, 0.5).mean_f1),
                "dice": metrics.dice(labels > 0, truth > 0)}

    out = {"image": "DSB 2018 stage-1 test image (StarDist's img2d.tif), 512 x 512, 125 expert-labelled nuclei",
           "models": {}}
    for name in models:
        start, cpu = time.perf_counter(), time.process_time()
        adapted = semi.adapt_pretrained(image, model=name)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        out["models"][name] = {"before": scores(name), "after": scores(adapted), "adapt_seconds": seconds,
                               "adapt_cpu_seconds": cpu_seconds}
        print(f"{name}: before {out['models'][name]['before']}, after AdaBN {out['models'][name]['after']} "
              f"({seconds:.0f} s)", flush=True)
    return out


def _threads(n: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(FRESH_SEEDS))
    parser.add_argument("--json", help="write the settings, every row and the summary here (after every seed)")
    parser.add_argument("--from-json", nargs="+", help="summarise rows saved earlier with --json")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=ALL_METHODS, metavar="METHOD",
                        help=f"methods to run, from {ALL_METHODS}")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (1 on a shared machine)")
    parser.add_argument("--status", default="", help="with --from-json: a sentence on what the stored run is")
    parser.add_argument("--real", action="store_true",
                        help="only the real-image part: add it to the record of --json (which must exist)")
    args = parser.parse_args(argv)
    if args.real:
        if not args.json or not Path(args.json).is_file():
            parser.error("--real adds to a record: give --json FILE of an earlier run")
        _threads(args.threads)
        record = json.loads(Path(args.json).read_text())
        record["real"] = real_image()
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
        return 0
    if args.from_json:  # seeds run in several processes, merged
        rows, machine, settings, methods = [], "", None, METHODS
        for path in args.from_json:
            record = json.loads(Path(path).read_text())
            rows += record["rows"]
            # the settings and methods the rows were made with
            machine, settings, methods = record["machine"], record["settings"], tuple(record["methods"])
        rows = complete_seeds(rows, methods)
        if args.json:
            Path(args.json).write_text(json.dumps(_record(rows, machine, args.status, settings, methods), indent=1)
                                       + "\n")
    else:
        _threads(args.threads)
        rows = []
        for seed in args.seeds:
            start = time.perf_counter()
            rows += one_seed(seed, methods=tuple(args.methods), log=lambda line: print(f"seed {seed}: {line}", flush=True))
            print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
            if args.json:
                machine = f"{platform.machine()}, shared 2-core machine, TensorFlow threads {args.threads}"
                Path(args.json).write_text(json.dumps(_record(rows, machine, methods=args.methods), indent=1) + "\n")
    print(format_summary(summary(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
