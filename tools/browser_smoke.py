#!/usr/bin/env python3
"""Open course notebooks in a real JupyterLab and print how each widget behaves.

A developer's look at the widgets, with a table instead of pass/fail: the
browser tests (``tests/browser``, run by ``python3 course.py test``) are what
the project guarantees; this tool shows the numbers behind them for the
notebooks you name, at the browser size you choose. It uses the same helper
module (``tests/browser/browserlab.py``): JupyterLab on 127.0.0.1 with a free
port, temporary workspace and settings, news off, fast mode, Debian's
Chromium through Playwright (never ``playwright install``).

For each notebook it runs all cells, then for every ``.segtutor-widget``
screenshots it, presses ArrowRight on its main slider (up to 5 times while
the picture stays the same) and screenshots again. It prints one row per
widget: rendered, changed, latency (key press to new picture, measured in the
page), presses needed, height and whether it fits the notebook area. PNGs
and the server log go to ``--out``. Exit status 1 if a widget did not render
or react, 2 if the tool could not start.

Usage::

    .venv/bin/python tools/browser_smoke.py [NOTEBOOK ...] [--out DIR] [--source] [--height PX]

By default it opens the released student copies; ``--source`` opens the
source notebooks (solutions included) instead.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))

import browserlab as bl  # noqa: E402

MAX_PRESSES = 5


def check_widget(page, widget, stem: str, index: int, area: int, out: Path) -> dict:
    name = bl.widget_class(widget)
    row = {"notebook": stem, "widget": name, "rendered": False, "changed": False, "latency_ms": None,
           "presses": None, "height_px": bl.widget_height(widget), "slider": "", "note": ""}
    row["fits"] = row["height_px"] <= area
    image = bl.widget_image(widget)
    try:
        image.wait_for(state="visible", timeout=10_000)
        w, h = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        row["rendered"] = w > 0 and h > 0
    except Exception:
        row["note"] = "no visible picture"
        return row
    before = bl.shoot(image, out / f"{stem}__{index}_{name}_before.png")
    handle = bl.main_slider(widget)
    if handle is None:
        row["note"] = "no slider that can move"
        return row
    row["slider"] = bl.slider_label(handle)
    key = bl.arrow_key(handle)
    for press in range(1, MAX_PRESSES + 1):
        latency = bl.press_and_wait(page, widget, handle, key)
        if latency is not None:
            row.update(latency_ms=round(latency), presses=press)
            break
    page.wait_for_timeout(300)
    after = bl.shoot(image, out / f"{stem}__{index}_{name}_after.png")
    row["changed"] = row["presses"] is not None and bl.png_difference(before, after) > 0
    message = widget.locator(f".{name}-message")
    if message.count():
        row["note"] = message.first.inner_text().strip()[:100]
    return row


def print_table(rows: list[dict]) -> None:
    header = ["notebook", "widget", "rendered", "changed", "latency ms", "presses", "height px", "fits", "slider"]
    lines = [[r["notebook"], r["widget"], "yes" if r["rendered"] else "no", "yes" if r["changed"] else "no",
              "-" if r["latency_ms"] is None else str(r["latency_ms"]),
              "-" if r["presses"] is None else str(r["presses"]), str(r["height_px"]),
              "yes" if r["fits"] else "no", r["slider"] or "-"] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*header))
    print(fmt.format(*("-" * w for w in widths)))
    for line in lines:
        print(fmt.format(*line))
    for r in rows:
        if r["note"]:
            print(f"  {r['notebook']} {r['widget']}: {r['note']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook file names in notebooks/ (default: every widget notebook)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "browser_smoke",
                        help="folder for PNGs and the server log (default %(default)s)")
    parser.add_argument("--source", action="store_true", help="open the source notebooks, not the released copies")
    parser.add_argument("--height", type=int, default=bl.LAPTOP_NOTEBOOK_HEIGHT,
                        help="notebook area in px the widgets must fit (default %(default)s: a 1366x768 laptop)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for one notebook's run-all")
    args = parser.parse_args(argv)

    chromium = bl.find_chromium()
    if chromium is None or not bl.playwright_available():
        print(bl.INSTALL_HINT, file=sys.stderr)
        return 2
    names = [Path(n).name for n in args.notebooks] or bl.widget_notebooks()
    missing = [n for n in names if not (bl.NOTEBOOKS / n).is_file()]
    if missing:
        print(f"not found in {bl.NOTEBOOKS}: {', '.join(missing)}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="browser_smoke_") as tmp:
        tmp = Path(tmp)
        root = tmp / "notebooks"
        if args.source:
            root.mkdir()
            for n in names:
                shutil.copy2(bl.NOTEBOOKS / n, root)
        else:
            bl.release_copies(names, root)
        with bl.Lab(root, tmp / "lab") as lab, sync_playwright() as p:
            browser = bl.launch(p, chromium)
            page = browser.new_page(viewport={"width": bl.LAPTOP_WIDTH, "height": 768})
            console = bl.ConsoleErrors(page)
            for name in names:
                stem = Path(name).stem
                first = len(console.messages)
                try:
                    bl.open_notebook(page, lab.url, name)
                    area = bl.size_for_laptop(page, args.height)
                    seconds = bl.run_all(page, args.timeout)
                    page.screenshot(path=str(out / f"{stem}__page.png"))
                    failures += [f"{name}: cell error: {e}" for e in bl.error_outputs(page)]
                    found = bl.widgets(page)
                    for i in range(found.count()):
                        rows.append(check_widget(page, found.nth(i), stem, i, area, out))
                    print(f"  {name}: ran all cells in {seconds:.1f} s, {found.count()} widget(s)", flush=True)
                except Exception as exc:  # one broken notebook should not hide the others
                    page.screenshot(path=str(out / f"{stem}__failure.png"))
                    failures.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                failures += [f"{name}: {m}" for m in console.since(first)]
                try:
                    bl.close_notebook(page)
                except Exception:
                    pass
            browser.close()
        shutil.copy2(lab.log_path, out / "jupyterlab.log")

    print()
    print_table(rows)
    failures += [f"{r['notebook']} {r['widget']}: not rendered" for r in rows if not r["rendered"]]
    failures += [f"{r['notebook']} {r['widget']}: picture did not change after moving '{r['slider']}'"
                 for r in rows if r["rendered"] and r["slider"] and not r["changed"]]
    print(f"\nscreenshots in {out}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all widgets rendered and reacted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
