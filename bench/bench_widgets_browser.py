#!/usr/bin/env python3
"""Widget latency in a real browser: key press to new picture, class mode.

For every course notebook that uses ``segtutor.widgets`` (the released
student copy), JupyterLab runs all cells in class mode in headless Chromium;
then, for each widget, the main slider (its first slider that can move) gets
at least ``PRESSES`` arrow-key presses, walking in one direction and turning
back at either end. Each press is timed inside the page from the keydown
event to the moment the new picture is decoded and painted (see
``tests/browser/browserlab.py``). A press after which the kernel answers with
an identical picture (ipywidgets then sends nothing) is not a latency sample;
it is counted in the note.

Targets (issue 13): median <= 150 ms and 90th percentile <= 250 ms for every
widget. Needs Chromium and Playwright, like the browser tests.

Last run (2026-11-29, idle 2-core x86_64 machine, Debian Chromium, class
mode, 24 presses each; median / 90th percentile in ms): 00 intensity window
53 / 70; 01 intensity window 53 / 62; 02 threshold-watershed 93 / 113;
03 kernel playground 56 / 80; 03 conv arithmetic 70 / 92; 04 feature maps
60 / 75; 05 upsampling 66 / 76; 06 mask threshold 71 / 88; 07 atrous 54 / 63;
08 anchor explorer 55 / 68; 09 stage browser 54 / 68 and 10 stage browser
54 / 63 (after it inspects 8 images per model pass: 59 / 253 before, the
first visit of each image waiting for the model); 11 pseudo-labels 67 / 81;
12 quality browser 53 / 68. Every widget meets both targets.

Usage::

    .venv/bin/python bench/run.py widgets_browser
    .venv/bin/python bench/bench_widgets_browser.py            # this table only
    SEGTUTOR_BENCH_NOTEBOOKS=00,02,04 .venv/bin/python bench/bench_widgets_browser.py

Notebooks 06, 07 and 10 train models before their widgets appear; in class
mode that takes minutes each, so SEGTUTOR_BENCH_NOTEBOOKS is the way to time
a few widgets quickly.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import browserlab as bl  # noqa: E402

PRESSES = 24
TARGET_MEDIAN_MS = 150
TARGET_P90_MS = 250


def _selected() -> list[str]:
    names = bl.widget_notebooks()
    wanted = [w.strip() for w in os.environ.get("SEGTUTOR_BENCH_NOTEBOOKS", "").split(",") if w.strip()]
    if wanted:
        names = [n for n in names if any(n.startswith(w) for w in wanted)]
    return names


def time_widget(page, widget, presses: int = PRESSES) -> tuple[list[float], int, str]:
    """Latencies (ms) of ``presses`` picture-changing key presses, the count of presses that changed nothing, the slider."""
    handle = bl.main_slider(widget)
    if handle is None:
        return [], 0, ""
    label = bl.slider_label(handle)
    key = bl.arrow_key(handle)
    samples, unchanged = [], 0
    for _ in range(4 * presses):
        if len(samples) >= presses:
            break
        now, low, high = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
        if now == high:
            key = "ArrowLeft"
        elif now == low:
            key = "ArrowRight"
        latency = bl.press_and_wait(page, widget, handle, key)
        if latency is None:
            unchanged += 1
        else:
            samples.append(latency)
    return samples, unchanged, label


def run() -> list[dict]:
    chromium = bl.find_chromium()
    if chromium is None or not bl.playwright_available():
        return [{"benchmark": "widget latency (browser)", "value": None, "unit": "", "target": "",
                 "note": f"skipped: {bl.INSTALL_HINT}"}]
    from playwright.sync_api import sync_playwright

    names = _selected()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_widgets_") as tmp:
        tmp = Path(tmp)
        bl.release_copies(names, tmp / "released")
        with bl.Lab(tmp / "released", tmp / "lab", fast=False) as lab, sync_playwright() as p:
            browser = bl.launch(p, chromium)
            page = browser.new_page(viewport={"width": bl.LAPTOP_WIDTH, "height": 768})
            for name in names:
                print(f"  {name}: running all cells in class mode ...", file=sys.stderr, flush=True)
                bl.open_notebook(page, lab.url, name)
                seconds = bl.run_all(page, timeout_s=3600)
                found = bl.widgets(page)
                for i in range(found.count()):
                    widget = found.nth(i)
                    widget.scroll_into_view_if_needed()
                    samples, unchanged, label = time_widget(page, widget)
                    what = f"{name[:2]} {bl.widget_class(widget).removeprefix('segtutor-')}"
                    if not samples:
                        rows.append({"benchmark": f"{what}: key to picture", "value": None, "unit": "ms",
                                     "target": f"median <= {TARGET_MEDIAN_MS}",
                                     "note": f"no picture change measured ({unchanged} presses without change)"})
                        continue
                    a = np.asarray(samples)
                    median, p90 = float(np.median(a)), float(np.percentile(a, 90))
                    ok = "meets" if median <= TARGET_MEDIAN_MS and p90 <= TARGET_P90_MS else "MISSES"
                    rows.append({"benchmark": f"{what}: key to picture, median", "value": median, "unit": "ms",
                                 "target": f"<= {TARGET_MEDIAN_MS}",
                                 "note": f"{ok} targets; slider '{label}', n={a.size} presses, max {a.max():.0f} ms, "
                                         f"{unchanged} presses left the picture unchanged; class mode "
                                         f"(notebook ran in {seconds:.0f} s)"})
                    rows.append({"benchmark": f"{what}: key to picture, p90", "value": p90, "unit": "ms",
                                 "target": f"<= {TARGET_P90_MS}", "note": ""})
                bl.close_notebook(page)
            browser.close()
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    from run import format_table

    print(format_table(run()))
