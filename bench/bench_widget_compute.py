"""Kernel side of a widget's key-press latency: one control step to new PNG bytes, per widget.

The browser adds about 60 ms of fixed overhead to every redraw (see
``/work/shared/notes/widgets-and-notebooks.md``: ipywidgets.Image fed PNG
bytes, 64 ms median in headless Chromium), so a key press stays within a
100-150 ms median only if the kernel's share, measured here, stays within
about 40 ms. Each widget is built as its notebook builds it (class-mode
data) and its main control is stepped back and forth; every step runs the
widget's whole refresh (compute, PNG encoding, status text). Median and
90th percentile of 30 steps, wall time and CPU time of this process (CPU
time is what a loaded machine inflates least). The browser round trip itself is
measured by the browser tests.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

STEPS = 30


def _intensity():
    from skimage.data import coins

    from segtutor.widgets.intensity import IntensityWindow
    w = IntensityWindow(coins(), low=60, high=160)
    return w, w.low


def _watershed():
    from segtutor.datasets import load_coins
    from segtutor.widgets.classical import ThresholdWatershed
    c = load_coins()
    w = ThresholdWatershed(c.image, c.labels)
    return w, w.threshold


def _kernels():
    from segtutor.widgets.kernels import KernelPlayground
    w = KernelPlayground()
    return w, w.stride


WIDGETS = {"IntensityWindow (00, 01)": _intensity, "ThresholdWatershed (02)": _watershed,
           "KernelPlayground (03)": _kernels}


def time_steps(widget, control, steps: int = STEPS) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``steps`` one-step moves of ``control`` (each a full refresh)."""
    start = control.value
    other = start + control.step if start + control.step <= control.max else start - control.step
    walls, cpus = [], []
    for i in range(steps):
        target = other if i % 2 == 0 else start
        w0, c0 = time.perf_counter(), time.process_time()
        control.value = type(control.value)(target)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        assert widget.error is None, widget.error
    return walls, cpus


def _p90(values):
    return float(np.percentile(values, 90))


def run() -> list[dict]:
    rows = []
    for name, make in WIDGETS.items():
        widget, control = make()
        walls, cpus = time_steps(widget, control)
        rows.append({"benchmark": f"{name}: step to PNG, median", "value": statistics.median(walls) * 1e3,
                     "unit": "ms", "target": "<= 40",
                     "note": f"p90 {_p90(walls) * 1e3:.0f} ms; CPU median {statistics.median(cpus) * 1e3:.0f} ms; "
                             f"{STEPS} steps of '{control.description}'"})
    return rows


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from run import format_table

    print(format_table(run()))
