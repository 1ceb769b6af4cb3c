"""Throughput of ``segtutor train`` at its default settings: steps per second and images per second.

Each repeat runs the real command in a fresh process (``python -m segtutor train``) on a built-in data set
and reads its ``metrics.csv``: the throughput is measured from the end of the first checkpoint stretch to the
end of the run, so the one-off start-up (TensorFlow import, data, first trace) is left out, while everything a
long run keeps paying is in: checkpoints (weights, optimiser state, random state, fsync) and the metrics CSV. (The
training step is traced once per process; Mask R-CNN used to retrace at every checkpoint, about 25 s each on a
busy machine, until its sampling moved to a checkpointed ``tf.random.Generator``.) Values are medians over the
repeats.

Usage: ``python bench/bench_train.py`` or ``python bench/run.py train``.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# model -> (data, steps); every other option is the command's default (batch 8, 64 x 64, checkpoint every 50)
CASES = {"unet": ("shapes", 200), "maskrcnn": ("shapes", 150)}


BATCH = 8  # the command's default --batch-size, passed explicitly so that images/s is right if it changes


def _one_run(model: str, data: str, steps: int) -> float:
    """Steps per second after the first checkpoint."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run([sys.executable, "-m", "segtutor", "train", "--data", data, "--model", model,
                                 "--steps", str(steps), "--batch-size", str(BATCH), "--out", str(out),
                                 "--no-progress"],
                                capture_output=True, text=True, env=env, cwd=ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"segtutor train failed: {result.stderr.strip().splitlines()[-1:]}")
        with open(out / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    first, last = rows[0], rows[-1]
    steps_done = int(last["step"]) - int(first["step"])
    return steps_done / (float(last["seconds"]) - float(first["seconds"]))


def run(repeats: int = 3) -> list[dict]:
    rows = []
    for model, (data, steps) in CASES.items():
        batch = BATCH
        per_second = statistics.median(_one_run(model, data, steps) for _ in range(repeats))
        note = (f"segtutor train --data {data} --model {model} --steps {steps}, defaults otherwise (batch {batch}, "
                f"64 x 64, checkpoint every 50); after the first checkpoint; median of {repeats} runs")
        rows.append({"benchmark": f"train {model}: steps/s", "value": per_second, "unit": "steps/s",
                     "target": "", "note": note})
        rows.append({"benchmark": f"train {model}: images/s", "value": per_second * batch, "unit": "images/s",
                     "target": "", "note": "steps/s x batch size"})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from run import format_table  # noqa: E402  (bench/run.py, run from bench/ or the repository root)

    print(format_table(run()))
