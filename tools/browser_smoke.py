#!/usr/bin/env python3
"""Open course notebooks in a real JupyterLab and check that the widgets react.

A developer tool, not a test: nbval and the widget unit tests check the
Python side, but only a browser shows whether a widget actually renders in
JupyterLab and whether moving a slider redraws the picture. For each notebook
given on the command line this tool

1. starts JupyterLab (``.venv/bin/python -m jupyterlab``) on 127.0.0.1 with a
   free port, a temporary copy of the notebooks, temporary workspace and
   settings directories and ``SEGTUTOR_FAST=1``;
2. opens the notebook in headless Chromium, runs all cells from the Run menu
   and waits until every code cell has run and the kernel is idle;
3. fails the notebook if any cell shows an error output;
4. for every ``.segtutor-widget``: screenshots its cell, moves the first
   enabled slider one step with ArrowRight (again, up to 5 times, while the
   kernel answers with an identical picture), waits for the widget's image
   (class ``<css_class>-image``) to get a new ``src``, and screenshots again.

It prints one row per widget: notebook, widget class, rendered, changed after
the slider move, latency in ms (key press to new image ``src``, measured in the
page), how many pixels the widget sticks out of the notebook's output area,
its height and whether it fits the notebook's visible area. PNGs
(``<notebook>__<n>_<class>_before.png`` / ``_after.png`` and one page view per
notebook) and the server log go to ``--out``. The exit status is 1 if anything
failed, 2 if the tool could not start.

Needs Playwright for Python and a Chromium; neither is a project dependency,
so install them outside the project's environment, for example::

    apt-get install -y chromium
    python3 -m venv /tmp/pw && /tmp/pw/bin/pip install playwright
    /tmp/pw/bin/python tools/browser_smoke.py 02_classical_segmentation.ipynb

Usage::

    python tools/browser_smoke.py [NOTEBOOK ...] [--out DIR] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
DEFAULT_NOTEBOOKS = ["02_classical_segmentation.ipynb", "04_inside_a_cnn.ipynb"]
WIDGET = ".segtutor-widget"
MAX_PRESSES = 5

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# The news toast would cover screenshots; windowing "none" keeps every cell in
# the DOM so widgets far down a notebook render before we look for them.
SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

# True once every code cell has an execution count (or an error stopped the
# run) and the kernel is idle. Polling idle alone is not enough: the kernel is
# briefly idle between two queued cells.
JS_RUN_FINISHED = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const errored = document.querySelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.error"]');
  return !!errored || cells.every(c => c.model.executionCount !== null);
}"""

JS_ERRORS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.error"]'))
  .map(e => e.innerText.split('\\n').filter(Boolean).slice(-1)[0] || '(empty error)')"""

# Arms a key-down timestamp, a MutationObserver on the widget's image and a
# kernel-status listener. The latency is measured inside the page, free of
# Playwright round trips; the kernel's busy -> idle cycle tells "the kernel
# answered with the same picture" (ipywidgets then sends nothing) apart from
# "no answer yet".
JS_ARM = """([widget, imageSel]) => {
  const img = widget.querySelector(imageSel);
  const s = window.__smoke = {t0: null, t1: null, before: img ? img.src : null, busy: false, idleAt: null};
  document.addEventListener('keydown', () => { if (s.t0 === null) s.t0 = performance.now(); },
                            {capture: true, once: true});
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const onStatus = (_, status) => {
    if (status === 'busy') { s.busy = true; s.idleAt = null; }
    else if (status === 'idle' && s.busy) s.idleAt = performance.now();
  };
  kernel.statusChanged.connect(onStatus);
  s.disarm = () => kernel.statusChanged.disconnect(onStatus);
  if (!img) return false;
  const obs = new MutationObserver(() => {
    if (img.src !== s.before && s.t1 === null) { s.t1 = performance.now(); obs.disconnect(); }
  });
  obs.observe(img, {attributes: true, attributeFilter: ['src']});
  return true;
}"""

# Done when the image changed, or the kernel went busy and has been idle for
# a second without the image changing.
JS_SETTLED = """() => { const s = window.__smoke;
  return s.t1 !== null || (s.idleAt !== null && performance.now() - s.idleAt > 1000); }"""

# Height of the widget and of the notebook's visible scroll area: a widget
# taller than that cannot show its controls and its picture at once.
JS_HEIGHTS = """(widget) => {
  const scroller = widget.closest('.jp-WindowedPanel-outer') || widget.closest('.jp-Notebook');
  return [Math.round(widget.getBoundingClientRect().height), scroller ? scroller.clientHeight : null];
}"""

JS_CLOSE = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.shutdown();
  panel.dispose();
}"""

# How far the widget's content reaches past the right edge of its output area
# (controls that overflow are cut off or make the output scroll sideways).
JS_OVERFLOW = """(widget) => {
  const area = widget.closest('.jp-OutputArea-output') || widget.parentElement;
  const right = area.getBoundingClientRect().right;
  let most = 0;
  for (const el of widget.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0) most = Math.max(most, r.right - right);
  }
  return Math.round(most);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, workdir: Path, port: int, python: Path, log_path: Path) -> subprocess.Popen:
    """Start JupyterLab serving ``root``; return the process once it answers."""
    settings = workdir / "app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES))
    env = dict(os.environ, SEGTUTOR_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline",
               JUPYTER_CONFIG_DIR=str(workdir / "config"), JUPYTERLAB_SETTINGS_DIR=str(workdir / "user-settings"))
    cmd = [
        str(python), "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
        "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
        "--expose-app-in-browser", f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        f"--LabApp.user_settings_dir={workdir / 'user-settings'}",
        f"--LabApp.app_settings_dir={settings}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"JupyterLab did not answer within 90 s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server (it shuts its kernels down too); kill if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_notebook(page, base_url: str, name: str, out: Path, timeout_s: float) -> tuple[list[dict], list[str]]:
    """Run one notebook in the page; return widget rows and notebook-level problems."""
    stem = Path(name).stem
    page.goto(f"{base_url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;"
        " return !!k && k.status === 'idle'; }", timeout=60_000)
    page.click('.lm-MenuBar-itemLabel:text-is("Run")', timeout=10_000)
    page.click('li[data-command="runmenu:run-all"]', timeout=10_000)
    started = time.monotonic()
    page.wait_for_function(JS_RUN_FINISHED, timeout=timeout_s * 1000, polling=500)
    run_s = time.monotonic() - started
    page.wait_for_timeout(1000)  # let widget views finish attaching
    page.screenshot(path=str(out / f"{stem}__page.png"), full_page=False)

    problems = [f"cell error: {e}" for e in page.evaluate(JS_ERRORS)]
    rows = []
    widgets = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) {WIDGET}")
    for i in range(widgets.count()):
        rows.append(check_widget(page, widgets.nth(i), stem, i, out))
    print(f"  {name}: ran all cells in {run_s:.1f} s, {len(rows)} widget(s)", flush=True)
    return rows, problems


def check_widget(page, widget, stem: str, index: int, out: Path) -> dict:
    classes = (widget.get_attribute("class") or "").split()
    css_class = next((c for c in classes if c.startswith("segtutor-") and c != "segtutor-widget"),
                     "segtutor-widget")
    image_sel = f".{css_class}-image"
    row = {"notebook": stem, "widget": css_class, "rendered": False, "changed": False,
           "latency_ms": None, "overflow_px": None, "height_px": None, "fits": True, "slider": "", "note": ""}
    widget.scroll_into_view_if_needed()
    cell = widget.locator("xpath=ancestor::div[contains(@class, 'jp-Cell')][1]")
    shot = cell if cell.count() else widget
    prefix = out / f"{stem}__{index}_{css_class}"
    image = widget.locator(image_sel)
    try:
        image.first.wait_for(state="visible", timeout=10_000)
        size = image.first.evaluate("img => [img.naturalWidth, img.naturalHeight, img.clientWidth]")
        row["rendered"] = size[0] > 0 and size[1] > 0
        row["note"] = f"image {size[0]}x{size[1]} shown {size[2]} px wide"
    except Exception:
        row["note"] = f"no visible {image_sel}"
    row["overflow_px"] = widget.evaluate(JS_OVERFLOW)
    row["height_px"], visible = widget.evaluate(JS_HEIGHTS)
    row["fits"] = visible is None or row["height_px"] <= visible
    if not row["fits"]:
        row["note"] += f"; widget {row['height_px']} px tall, notebook shows {visible} px"
    screenshot(page, shot, f"{prefix}_before.png", row["fits"])

    # ipywidgets marks a disabled slider's noUi target with [disabled].
    handles = widget.locator(".widget-slider .noUi-target:not([disabled]) .noUi-handle")
    if not handles.count():
        row["note"] += "; no enabled slider"
        return row
    handle = handles.first
    label = handle.locator("xpath=ancestor::div[contains(@class, 'widget-slider')][1]//label")
    row["slider"] = (label.first.inner_text() if label.count() else "").strip()
    # One step can leave the picture unchanged (min seed distance 20 -> 21
    # finds the same seeds), so press up to MAX_PRESSES times.
    for press in range(1, MAX_PRESSES + 1):
        armed = page.evaluate(JS_ARM, [widget.element_handle(), image_sel])
        handle.focus()
        handle.press("ArrowRight")
        if not armed:
            break
        try:
            page.wait_for_function(JS_SETTLED, timeout=30_000, polling=50)
        except Exception:
            row["note"] += "; no kernel answer within 30 s"
            break
        finally:
            t = page.evaluate("() => { const s = window.__smoke; s.disarm(); return [s.t0, s.t1]; }")
        if t[1] is not None:
            row["changed"] = True
            row["latency_ms"] = None if t[0] is None else round(t[1] - t[0])
            if press > 1:
                row["note"] += f"; picture changed on key press {press}"
            break
    else:
        row["note"] += f"; picture identical after {MAX_PRESSES} key presses"
    page.wait_for_timeout(300)  # let the status text catch up before the screenshot
    message = widget.locator(f".{css_class}-message")
    if message.count():
        text = message.first.inner_text().strip()
        if text:
            row["note"] += f"; message: {text[:100]}"
    screenshot(page, shot, f"{prefix}_after.png", row["fits"])
    return row


def screenshot(page, element, path: str, fits: bool) -> None:
    """Screenshot ``element``; grow the window first if it is taller than the view.

    JupyterLab scrolls inside a fixed-size panel, so an element taller than
    that panel would come out clipped under the toolbar.
    """
    if fits:
        element.screenshot(path=path)
        return
    size = page.viewport_size
    needed = element.evaluate("e => e.getBoundingClientRect().height")
    page.set_viewport_size({"width": size["width"], "height": int(size["height"] + needed)})
    page.wait_for_timeout(300)
    element.scroll_into_view_if_needed()
    element.screenshot(path=path)
    page.set_viewport_size(size)
    page.wait_for_timeout(300)


def print_table(rows: list[dict]) -> None:
    header = ["notebook", "widget class", "rendered", "changed", "latency ms", "overflow px", "height px",
              "fits view", "slider moved"]
    lines = [[r["notebook"], r["widget"], "yes" if r["rendered"] else "no", "yes" if r["changed"] else "no",
              "-" if r["latency_ms"] is None else str(r["latency_ms"]),
              "-" if r["overflow_px"] is None else str(r["overflow_px"]),
              "-" if r["height_px"] is None else str(r["height_px"]), "yes" if r["fits"] else "no",
              r["slider"] or "-"] for r in rows]
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
    parser.add_argument("notebooks", nargs="*", default=DEFAULT_NOTEBOOKS,
                        help="notebook file names in notebooks/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/browser_smoke"), help="folder for PNGs and the log")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python",
                        help="Python that runs JupyterLab and the kernel")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for one notebook's run-all")
    parser.add_argument("--width", type=int, default=1366, help="browser viewport width (a laptop screen)")
    parser.add_argument("--height", type=int, default=900, help="browser viewport height")
    args = parser.parse_args(argv)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser_smoke needs Playwright for Python, which is not a project dependency.\n"
              "Install it outside the project environment, e.g.\n"
              "  python3 -m venv /tmp/pw && /tmp/pw/bin/pip install playwright\n"
              "and run this tool with /tmp/pw/bin/python.", file=sys.stderr)
        return 2
    missing = [n for n in args.notebooks if not (NOTEBOOKS / Path(n).name).is_file()]
    if missing:
        print(f"not found in {NOTEBOOKS}: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium}; install Debian's (apt-get install chromium) "
              "or pass --chromium PATH", file=sys.stderr)
        return 2

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="browser_smoke_") as tmp:
        tmp = Path(tmp)
        root = tmp / "notebooks"
        root.mkdir()
        for name in args.notebooks:
            shutil.copy2(NOTEBOOKS / Path(name).name, root)
        port = free_port()
        proc = start_server(root, tmp, port, args.python, out / "jupyterlab.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                for name in args.notebooks:
                    name = Path(name).name
                    try:
                        nb_rows, problems = check_notebook(page, f"http://127.0.0.1:{port}", name, out, args.timeout)
                    except Exception as exc:  # keep going: one broken notebook should not hide the others
                        page.screenshot(path=str(out / f"{Path(name).stem}__failure.png"))
                        failures.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                        continue
                    rows += nb_rows
                    failures += [f"{name}: {p_}" for p_ in problems]
                    # Shut the kernel down so notebooks do not compete for the CPU;
                    # disposing the panel skips the "unsaved changes" dialog.
                    page.evaluate(JS_CLOSE)
                browser.close()
        finally:
            stop_server(proc)

    print()
    print_table(rows)
    failures += [f"{r['notebook']} {r['widget']}: not rendered" for r in rows if not r["rendered"]]
    failures += [f"{r['notebook']} {r['widget']}: image did not change after moving '{r['slider']}'"
                 for r in rows if r["rendered"] and r["slider"] and not r["changed"]]
    print(f"\nscreenshots in {out}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all widgets rendered and reacted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
