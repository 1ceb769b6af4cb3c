#!/usr/bin/env python3
"""Benchmarks of notebooks 03-04: widget callback latency and CNN training time.

Run from the repository root::

    MPLBACKEND=Agg .venv/bin/python bench/bench_cnn.py [--seeds 0 1 2] [--skip-training]

Widget numbers are the median time of one callback, i.e. what runs in the
kernel between a slider change and new PNG bytes: compute, PNG encoding
and the status text (the browser's own ~60 ms round trip comes on top, see
/work/shared/notes/widgets-and-notebooks.md). The first render, which pays
for caches and TensorFlow's first trace, is reported separately.

Training: the course CNN as notebook 03 trains it (30 epochs, batch 32,
augmentation, cosine-decayed Adam); test accuracy is measured after every
epoch by a callback (for the benchmark only: the notebook never looks at the
test set while training) to report the time at which it first reaches 98 %.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _median_ms(fn, repeats: int) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_kernel_playground(repeats: int = 40) -> dict:
    from segtutor.widgets.kernels import KernelPlayground

    start = time.perf_counter()
    playground = KernelPlayground()
    first = (time.perf_counter() - start) * 1000
    presets = ["sharpen", "Sobel x (vertical edges)", "box blur 3×3", "edge (Laplacian)"]

    def preset(i):
        playground.preset.value = presets[i % len(presets)]

    def cell(i):
        playground.cells[2][2].value = 1.0 + (i % 5)

    playground.preset.value = "Gaussian blur 5×5"
    five = _median_ms(lambda i: setattr(playground.cells[1][1], "value", float(i % 3)), repeats)
    return {"first render incl. images (ms)": first, "preset change 3×3 (ms)": _median_ms(preset, repeats),
            "cell edit 3×3 (ms)": _median_ms(cell, repeats) if playground.size.value == 3 else None,
            "cell edit 5×5 (ms)": five}


def bench_conv_arithmetic(repeats: int = 40) -> dict:
    from segtutor.widgets.conv_arithmetic import ConvArithmetic

    start = time.perf_counter()
    widget = ConvArithmetic(input_size=9, kernel_size=3, padding=1, stride=1)
    first = (time.perf_counter() - start) * 1000
    step = _median_ms(lambda i: setattr(widget.step, "value", i % (widget.step.max + 1)), repeats)
    return {"first render (ms)": first, "step change (ms)": step}


def bench_feature_maps(model, repeats: int = 40) -> dict:
    from segtutor.widgets.feature_maps import FeatureMapExplorer

    start = time.perf_counter()
    explorer = FeatureMapExplorer(model)
    first = (time.perf_counter() - start) * 1000
    out = {"first render incl. images and extractor (ms)": first}
    for name in ["camera (photo)", explorer.image_name.options[0]]:
        start = time.perf_counter()
        explorer.image_name.value = name  # uncached: runs the network once
        out[f"new image, uncached: {name} (ms)"] = (time.perf_counter() - start) * 1000
    for layer in ["conv1", "conv2"]:
        explorer.image_name.value = "camera (photo)"
        explorer.layer.value = layer
        n = explorer.channel.max + 1
        out[f"channel change, camera 128², {layer} (ms)"] = _median_ms(
            lambda i: setattr(explorer.channel, "value", i % n), repeats)
    explorer.show_all.value = True
    out["all-channels grid, camera 128², conv2 (ms)"] = _median_ms(
        lambda i: setattr(explorer.layer, "value", ["conv2", "conv1"][i % 2]), repeats)
    assert explorer.cache.n_computed == 2, "channel and layer changes must not rerun the network"
    return out


def bench_training(seeds) -> list[dict]:
    import keras

    from segtutor.datasets import load_digits
    from segtutor.models import cnn

    x_test, y_test = load_digits("test")

    class TimeTo98(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.reached = time.perf_counter(), None

        def on_epoch_end(self, epoch, logs=None):
            if self.reached is None:
                probs = np.asarray(self.model(x_test, training=False))
                if (probs.argmax(-1) == y_test).mean() >= 0.98:
                    self.reached = (epoch + 1, time.perf_counter() - self.start)

    rows = []
    for seed in seeds:
        # Same steps as cnn.train_course_cnn, with the timing callback added.
        from segtutor.environment import seed_everything

        seed_everything(seed)
        keras.utils.set_random_seed(seed)
        x_train, y_train = load_digits("train")
        (x_fit, y_fit), validation = cnn.split_validation(x_train, y_train, 0.1)
        model = cnn.compile_cnn(cnn.build_cnn(), epochs=30, steps_per_epoch=int(np.ceil(len(x_fit) / 32)))
        timer = TimeTo98()
        start = time.perf_counter()
        model.fit(cnn.augmented_batches(x_fit, y_fit, batch_size=32, seed=seed), epochs=30,
                  validation_data=validation, shuffle=False, verbose=0, callbacks=[timer])
        total = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        rows.append({"seed": seed, "fit 30 epochs (s)": round(total, 1), "final test accuracy": round(accuracy, 4),
                     "first epoch >= 98%": timer.reached[0] if timer.reached else None,
                     "time to 98% (s, incl. per-epoch test eval)": round(timer.reached[1], 1) if timer.reached else None})
        print(rows[-1], flush=True)
    return rows, model


def run(seeds=(0, 1, 2)) -> list[dict]:
    """Rows for ``bench/run.py``: widget latency (ms) and CNN training to 98 %."""
    rows = []
    targets = {"kernel playground": "<= 40 ms", "feature-map explorer": "<= 40 ms"}
    widgets = [("kernel playground", bench_kernel_playground()), ("conv arithmetic", bench_conv_arithmetic())]
    training, model = bench_training(seeds)
    widgets.append(("feature-map explorer", bench_feature_maps(model)))
    for widget, result in widgets:
        for key, value in result.items():
            if value is None:
                continue
            first = key.startswith("first render") or "uncached" in key
            rows.append({"benchmark": f"{widget}: {key.replace(' (ms)', '')}", "value": value, "unit": "ms",
                         "target": "" if first else targets.get(widget, ""),
                         "note": "1 run" if first else "median of 40, compute + PNG encode"})
    fits = [r["fit 30 epochs (s)"] for r in training]
    accs = [r["final test accuracy"] for r in training]
    reached = [r["time to 98% (s, incl. per-epoch test eval)"] for r in training]
    rows.append({"benchmark": "CNN: 30 epochs on digits (class mode)", "value": statistics.median(fits), "unit": "s",
                 "target": "<= 60 s", "note": f"median of seeds {list(seeds)}; test accuracy "
                 f"{min(accs):.2%}-{max(accs):.2%} on 359 images"})
    if all(t is not None for t in reached):
        rows.append({"benchmark": "CNN: time to first reach 98 % test accuracy", "value": statistics.median(reached),
                     "unit": "s", "target": "<= 60 s", "note": f"median of seeds {list(seeds)}; per seed {reached}"})
    else:
        rows.append({"benchmark": "CNN: time to first reach 98 % test accuracy", "value": None, "unit": "s",
                     "target": "<= 60 s", "note": f"NOT reached for some seed: {reached}"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    for name, result in (("kernel playground", bench_kernel_playground()),
                         ("conv arithmetic", bench_conv_arithmetic())):
        print(name)
        for key, value in result.items():
            if value is not None:
                print(f"  {key:<50}{value:8.1f}")
    if args.skip_training:
        from segtutor.models import cnn

        model = cnn.train_course_cnn(epochs=1, n_train=256).model
    else:
        print("training (30 epochs, batch 32)")
        _, model = bench_training(args.seeds)
    print("feature-map explorer")
    for key, value in bench_feature_maps(model).items():
        print(f"  {key:<50}{value:8.1f}")


if __name__ == "__main__":
    main()
