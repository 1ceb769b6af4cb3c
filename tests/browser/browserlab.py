"""Drive the course in a real browser: JupyterLab or Voila in headless Chromium.

Shared by the browser tests (``tests/browser``), the latency benchmark
(``bench/bench_widgets_browser.py``) and the developer tool
``tools/browser_smoke.py``. It uses Playwright for Python with the system's
Chromium (Debian's ``chromium`` package) through ``executable_path``; it never
runs ``playwright install``, which downloads a browser and fails offline and
on many school networks.

Servers are started on 127.0.0.1 with a free port, their own temporary
workspace and settings folders (JupyterLab's news and update checks off), and
stopped by their own process id. Nothing here kills processes by name.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"

#: Where screenshots go (git-ignored); SEGTUTOR_SCREENSHOTS overrides it.
SCREENSHOTS = Path(os.environ.get("SEGTUTOR_SCREENSHOTS", REPO / "tests" / "browser" / "screenshots"))

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                       "/snap/bin/chromium")
INSTALL_HINT = ("browser tests need Chromium and Playwright for Python: `sudo apt-get install chromium` "
                "(Debian/Ubuntu; or set SEGTUTOR_CHROMIUM=/path/to/chrome) and "
                "`pip install -c requirements/constraints.txt playwright` (never `playwright install`)")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

#: A 1366x768 laptop shows about 529 px of notebook once the browser's and
#: JupyterLab's bars are counted (issue 13); widgets must fit in that.
LAPTOP_WIDTH = 1366
LAPTOP_NOTEBOOK_HEIGHT = 529

#: JupyterLab's "notified about official Jupyter news?" toast covers the
#: bottom right of widgets and check output; course.py open writes the same.
NEWS_OFF = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
# Windowing "none" keeps every cell in the DOM, so widgets far down a
# notebook render before the tests look for them.
SETTINGS_OVERRIDES = {**NEWS_OFF, "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}

WIDGET = ".segtutor-widget"
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    wanted = os.environ.get("SEGTUTOR_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    for path in CHROMIUM_CANDIDATES:
        if Path(path).is_file():
            return path
    return shutil.which("chromium")


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def launch(playwright, chromium: str):
    """Launch headless Chromium from ``chromium`` (a path) with the flags that work in containers."""
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def widget_notebooks(folder: Path = NOTEBOOKS) -> list[str]:
    """File names of the course notebooks whose code uses ``segtutor.widgets``."""
    names = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if "segtutor.widgets" in code or "from segtutor import widgets" in code:
            names.append(path.name)
    return names


def release_copies(names, to: Path) -> None:
    """Write the released student copies of ``names`` (files in notebooks/) into ``to``."""
    from segtutor.grading.release import release

    release([NOTEBOOKS / n for n in names], to, log=lambda *a, **k: None)


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}; see {log_path}")
        try:
            if url.startswith("tcp:"):  # only wait for the port to accept connections
                socket.create_connection(("127.0.0.1", int(url[4:])), timeout=2).close()
            else:
                with urllib.request.urlopen(url, timeout=2):
                    pass
            return
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s; see {log_path}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server by its process id (JupyterLab then stops its kernels); kill if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Lab:
    """A JupyterLab server serving ``root`` on 127.0.0.1, isolated in ``workdir``.

    ``fast`` sets SEGTUTOR_FAST for the kernels (the notebooks' fast mode);
    ``fast=False`` forces class mode even under ``CI=true``.
    """

    def __init__(self, root: Path, workdir: Path, *, fast: bool = True, python: str | None = None):
        self.root, self.workdir = Path(root), Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "jupyterlab.log"
        settings = self.workdir / "app-settings"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES))
        env = dict(os.environ, SEGTUTOR_FAST="1" if fast else "0",
                   MPLBACKEND="module://matplotlib_inline.backend_inline",
                   JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(self.workdir / "user-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"))
        if fast:
            env["SEGTUTOR_EAGER"] = "1"  # a few training steps: eager beats tracing graphs (segtutor/_backend.py)
        else:
            env.pop("CI", None)  # CI=true would switch the kernels to fast mode
            env.pop("SEGTUTOR_EAGER", None)
        cmd = [python or sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
               f"--port={self.port}", "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
               "--expose-app-in-browser", f"--ServerApp.root_dir={self.root}",
               f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
               f"--LabApp.user_settings_dir={self.workdir / 'user-settings'}",
               f"--LabApp.app_settings_dir={settings}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        try:
            wait_ready(self.proc, f"{self.url}/api/status", self.log_path, "JupyterLab")
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        stop(self.proc)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- JupyterLab page helpers --------------------------------------------------

# True once every code cell has an execution count (or an error stopped the
# run) and the kernel is idle. Idle alone is not enough: the kernel is
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

JS_KERNEL_IDLE = """() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;
  return !!k && k.status === 'idle'; }"""

JS_ERRORS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.error"]'))
  .map(e => e.innerText.split('\\n').filter(Boolean).slice(-1)[0] || '(empty error)')"""

JS_CLOSE = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.shutdown();
  panel.dispose();
}"""

# Height of the notebook's visible scroll area.
JS_NOTEBOOK_AREA = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return null;
  const scroller = nb.closest('.jp-WindowedPanel-outer') || nb;
  return scroller.clientHeight;
}"""


def open_notebook(page, base_url: str, name: str) -> None:
    """Open ``name`` (relative to the server root) in a fresh layout and wait for an idle kernel."""
    page.goto(f"{base_url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.wait_for_selector(f"{ACTIVE} .jp-Cell", timeout=120_000)
    page.wait_for_function(JS_KERNEL_IDLE, timeout=120_000, polling=250)


# A cell the widget tests need to see run in JupyterLab: it makes a course widget (a class of
# segtutor.widgets), trains with the live training plot (segtutor.training.live), or checks an exercise.
_LIVE = re.compile(r"\blive\b|LiveHistory")


def last_cell_to_run(name: str, folder: Path = NOTEBOOKS) -> int:
    """Index among all cells of notebook ``name`` of its last cell that makes a widget, trains live or checks.

    The cells after it show neither a widget nor a check report: the widget
    tests leave them out (tests/test_released_notebooks_run.py runs every cell
    of the same released copy to the end and fails on any error output).
    """
    import segtutor.widgets

    makes_widget = re.compile(r"\b(" + "|".join(sorted(segtutor.widgets.__all__)) + r")\(")
    cells = json.loads((Path(folder) / name).read_text(encoding="utf-8"))["cells"]
    needed = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (
        makes_widget.search("".join(c["source"])) or _LIVE.search("".join(c["source"]))
        or (c.get("metadata", {}).get("nbgrader") or {}).get("grade") is True)]
    if not needed:
        raise ValueError(f"{name} makes no course widget, trains nothing live and checks nothing")
    return needed[-1]


JS_RUN_FINISHED_UP_TO = """(last) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = panel.content.widgets.slice(0, last + 1).filter(c => c.model.type === 'code');
  const errored = document.querySelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.error"]');
  return !!errored || cells.every(c => c.model.executionCount !== null);
}"""


def run_through(page, last: int, timeout_s: float = 600) -> float:
    """Run cells 0 to ``last`` as a student would: select the cell after it, Run > Run All Above Selected Cell.

    Runs every cell (Run > Run All Cells) when ``last`` is the notebook's last
    cell. Returns the seconds it took.
    """
    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    if last >= count - 1:
        return run_all(page, timeout_s)
    page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", last + 1)
    page.click('.lm-MenuBar-itemLabel:text-is("Run")', timeout=10_000)
    page.click('li[data-command="notebook:run-all-above"]', timeout=10_000)
    started = time.monotonic()
    page.wait_for_function(JS_RUN_FINISHED_UP_TO, arg=last, timeout=timeout_s * 1000, polling=500)
    page.wait_for_timeout(1000)  # let widget views finish attaching
    return time.monotonic() - started


def run_all(page, timeout_s: float = 600) -> float:
    """Run all cells from the Run menu, as a student would; return the seconds it took."""
    page.click('.lm-MenuBar-itemLabel:text-is("Run")', timeout=10_000)
    page.click('li[data-command="runmenu:run-all"]', timeout=10_000)
    started = time.monotonic()
    page.wait_for_function(JS_RUN_FINISHED, timeout=timeout_s * 1000, polling=500)
    page.wait_for_timeout(1000)  # let widget views finish attaching
    return time.monotonic() - started


def error_outputs(page) -> list[str]:
    """Last line of every error output in the open notebook."""
    return page.evaluate(JS_ERRORS)


# Output text of every graded check cell (nbgrader metadata grade: true).
JS_CHECK_REPORTS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code' && ((c.model.getMetadata('nbgrader') || {}).grade === true))
  .map(c => c.node.querySelector('.jp-OutputArea') ? c.node.querySelector('.jp-OutputArea').innerText : '')"""


def check_reports(page) -> list[str]:
    """What each check cell of the open notebook printed."""
    return page.evaluate(JS_CHECK_REPORTS)


def close_notebook(page) -> None:
    """Shut the kernel down (so notebooks do not compete for the CPU) and close the tab unsaved."""
    page.evaluate(JS_CLOSE)


def size_for_laptop(page, notebook_height: int = LAPTOP_NOTEBOOK_HEIGHT) -> int:
    """Resize the viewport so the open notebook shows ``notebook_height`` px; return what it shows.

    JupyterLab's bars take a fixed height, so one measurement gives the
    viewport height a 1366x768 laptop's notebook area corresponds to.
    """
    page.set_viewport_size({"width": LAPTOP_WIDTH, "height": 768})
    page.wait_for_timeout(300)
    shown = page.evaluate(JS_NOTEBOOK_AREA)
    if shown is None:
        raise RuntimeError("no notebook is open; open one before sizing the viewport")
    page.set_viewport_size({"width": LAPTOP_WIDTH, "height": 768 + notebook_height - shown})
    page.wait_for_timeout(300)
    return page.evaluate(JS_NOTEBOOK_AREA)


class ConsoleErrors:
    """Collects the page's console errors and uncaught exceptions."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught: {exc}"))

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        self.messages.append(f"console.error: {msg.text} ({url})")

    def since(self, start: int) -> list[str]:
        return self.messages[start:]


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class Offline:
    """Blocks every request of a browser context that would leave the machine, and lists them.

    Files (``file:``), inline data (``data:``, ``blob:``) and servers on this
    machine (127.0.0.1, localhost) load as usual; anything else is aborted,
    as on a machine with no network, and its URL goes to ``attempts``.
    """

    def __init__(self, context):
        self.attempts: list[str] = []
        context.route("**/*", self._route)

    @staticmethod
    def is_local(url: str) -> bool:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "blob", "about"):
            return True
        return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS

    def _route(self, route) -> None:
        url = route.request.url
        if self.is_local(url):
            route.continue_()
        else:
            self.attempts.append(url)
            route.abort("internetdisconnected")


#: Text a reader sees that is still TeX: $...$, $$...$$, \(...\), \[...\], \begin{...}, \frac and
#: friends. Code (pre, code) is left out: a `$` there is Python or shell, not math.
JS_RAW_TEX = r"""() => {
  const tex = /\$[^$\s][^$]*\$|\\[(\[]|\\begin\{|\\(frac|text|mathrm|sum|left|right|big|sigma|times|cdot)\b/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, script, style, math")) continue;
    if (tex.test(node.textContent)) found.push(node.textContent.trim().slice(0, 160));
  }
  return found;
}"""

#: MathML formulas on the page that the browser lays out with no size (not rendered).
JS_MATH = """() => {
  const all = Array.from(document.querySelectorAll("math"));
  return {count: all.length, empty: all.filter(m => {
    const box = m.getBoundingClientRect();
    return !(box.width > 0 && box.height > 0);
  }).map(m => m.textContent.slice(0, 80))};
}"""


def raw_tex(page) -> list[str]:
    """Text nodes of ``page`` (outside code) that still hold TeX a reader would see as such."""
    return page.evaluate(JS_RAW_TEX)


# -- widgets ------------------------------------------------------------------

def widgets(page):
    """Locator for every course widget in the open notebook."""
    return page.locator(f"{ACTIVE} {WIDGET}")


def widget_class(widget) -> str:
    """The widget's own CSS class, e.g. ``segtutor-intensity-window``."""
    classes = (widget.get_attribute("class") or "").split()
    return next((c for c in classes if c.startswith("segtutor-") and c != "segtutor-widget"), "segtutor-widget")


def widget_image(widget):
    return widget.locator(f".{widget_class(widget)}-image").first


def main_slider(widget):
    """The widget's main control: its first enabled slider that can move (handle locator), or None."""
    handles = widget.locator(".widget-slider .noUi-target:not([disabled]) .noUi-handle")
    for i in range(handles.count()):
        h = handles.nth(i)
        low, high = h.get_attribute("aria-valuemin"), h.get_attribute("aria-valuemax")
        if low is None or high is None or float(low) < float(high):
            return h
    return None


def slider_label(handle) -> str:
    label = handle.locator("xpath=ancestor::div[contains(@class, 'widget-slider')][1]//label")
    return (label.first.inner_text() if label.count() else "").strip()


JS_SLIDER_HANDLES = """(widget) => Array.from(widget.querySelectorAll('.noUi-handle')).map(h => {
  const slider = h.closest('.widget-slider');
  const label = slider.querySelector(':scope > .widget-label');
  const readout = slider.querySelector(':scope > .widget-readout');
  const all = Array.from(slider.querySelectorAll('.noUi-handle'));
  return {label: h.getAttribute('aria-label') || '', valuetext: h.getAttribute('aria-valuetext') || '',
          description: label ? label.textContent.trim() : '', title: (slider.getAttribute('title') || '').trim(),
          readout: readout ? readout.textContent : '', index: all.indexOf(h), handles: all.length};
})"""


def slider_handles(widget) -> list[dict]:
    """For each slider handle in ``widget``: its aria-label and aria-valuetext, and the slider's description, title and readout."""
    return widget.evaluate(JS_SLIDER_HANDLES)


def slider_aria_problems(widget) -> list[str]:
    """What a screen reader would get wrong on ``widget``'s slider handles (empty if nothing).

    Each handle must be named (aria-label) by its slider's description, or
    its tooltip when there is none, with " (lower)"/" (upper)" on a range
    slider's two handles, and announce (aria-valuetext) exactly what the
    slider's readout shows, never a raw float such as 59.99999999999999.
    """
    problems = []
    for h in slider_handles(widget):
        expected = h["description"] or h["title"]
        where = f"{widget_class(widget)}: slider {expected!r}"
        if h["handles"] == 2:
            expected += " (lower)" if h["index"] == 0 else " (upper)"
        if not h["label"]:
            problems.append(f"{where} has no aria-label")
        elif not expected.strip():
            problems.append(f"{where} has neither a description nor a tooltip to be named by")
        elif h["label"] != expected:
            problems.append(f"{where} is named {h['label']!r}, expected {expected!r}")
        parts = [p.strip() for p in h["readout"].split("\u2013")] if h["handles"] == 2 else [h["readout"].strip()]
        shown = parts[h["index"]] if len(parts) == h["handles"] else ""
        if not shown or h["valuetext"] != shown:
            problems.append(f"{where} reads {h['valuetext']!r}, its readout shows {shown!r}")
        if re.search(r"\d\.\d{5,}", h["valuetext"]):
            problems.append(f"{where} reads the raw float {h['valuetext']!r}")
    return problems


def arrow_key(handle) -> str:
    """ArrowRight unless the slider is at its maximum."""
    now, high = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    try:
        return "ArrowLeft" if float(now) >= float(high) else "ArrowRight"
    except (TypeError, ValueError):
        return "ArrowRight"


# Arms a key-down timestamp, a watch on the widget's image and a kernel-status
# listener. Latency is measured inside the page, free of Playwright round
# trips, up to the moment the new picture is decoded and painted. The
# kernel's busy -> idle cycle tells "the kernel answered with the same
# picture" (ipywidgets then sends nothing) apart from "no answer yet".
JS_ARM = """([widget, imageSel]) => {
  const img = widget.querySelector(imageSel);
  const s = window.__segtutor = {t0: null, t1: null, changed: false, before: img ? img.src : null,
                                 busy: false, idleAt: null};
  const onKey = () => { if (s.t0 === null) s.t0 = performance.now(); };
  document.addEventListener('keydown', onKey, {capture: true, once: true});
  document.addEventListener('pointerdown', onKey, {capture: true, once: true});
  const panel = window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    ? panel.sessionContext.session.kernel : null;
  const onStatus = (_, status) => {
    if (status === 'busy') { s.busy = true; s.idleAt = null; }
    else if (status === 'idle' && s.busy) s.idleAt = performance.now();
  };
  if (kernel) kernel.statusChanged.connect(onStatus);
  s.disarm = () => { if (kernel) kernel.statusChanged.disconnect(onStatus);
                     document.removeEventListener('keydown', onKey, {capture: true});
                     document.removeEventListener('pointerdown', onKey, {capture: true}); };
  if (!img) return false;
  const obs = new MutationObserver(() => {
    if (img.src !== s.before && !s.changed) {
      s.changed = true;
      obs.disconnect();
      img.decode().catch(() => null).then(() => requestAnimationFrame(() => { s.t1 = performance.now(); }));
    }
  });
  obs.observe(img, {attributes: true, attributeFilter: ['src']});
  return true;
}"""

# Done when the new picture is painted, or the kernel went busy and has been
# idle for a second without a new picture arriving (a picture that arrived
# is always waited for until painted, however slow the machine). Without a
# kernel handle (Voila), only a new picture ends the wait.
JS_SETTLED = """() => { const s = window.__segtutor;
  return s.t1 !== null || (!s.changed && s.idleAt !== null && performance.now() - s.idleAt > 1000); }"""

JS_RESULT = "() => { const s = window.__segtutor; s.disarm(); return [s.t0, s.t1]; }"


def arm(page, widget) -> bool:
    return page.evaluate(JS_ARM, [widget.element_handle(), f".{widget_class(widget)}-image"])


def settle(page, timeout_s: float = 60) -> tuple[float | None, float | None]:
    """Wait for the armed picture to change or the kernel to settle; return (t_input, t_new_picture) in ms."""
    try:
        page.wait_for_function(JS_SETTLED, timeout=timeout_s * 1000, polling=20)
    finally:
        t = page.evaluate(JS_RESULT)
    return t[0], t[1]


def press_and_wait(page, widget, handle, key: str, timeout_s: float = 60):
    """Press ``key`` on the focused slider handle; return the latency in ms, or None if the picture stayed."""
    arm(page, widget)
    handle.focus()
    page.keyboard.press(key)
    t0, t1 = settle(page, timeout_s)
    return None if (t0 is None or t1 is None) else t1 - t0


def drag_and_wait(page, widget, handle, timeout_s: float = 60):
    """Drag the slider handle with the mouse, towards the middle of its track; latency in ms or None.

    The move is a sixth of the track, or one step of an integer slider with
    few values, so it changes the value without crossing a partner slider
    (dragging "low" past "high" is an error the widget reports).
    """
    track = handle.locator("xpath=ancestor::div[contains(@class, 'noUi-target')][1]")
    handle.scroll_into_view_if_needed()
    box, hbox = track.bounding_box(), handle.bounding_box()
    now, low, high = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    position = (now - low) / (high - low) if high > low else 0.0
    delta = max(1 / 6, 1.1 / (high - low)) if high - low >= 1 else 1 / 6
    target = position + delta if position < 0.5 else position - delta
    arm(page, widget)
    y = hbox["y"] + hbox["height"] / 2
    page.mouse.move(hbox["x"] + hbox["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + min(max(target, 0.0), 1.0) * box["width"], y, steps=8)
    page.mouse.up()
    t0, t1 = settle(page, timeout_s)
    return None if (t0 is None or t1 is None) else t1 - t0


def png_difference(a: bytes, b: bytes, border: int = 2) -> int:
    """Number of pixels that differ between two PNG screenshots (different sizes count as all).

    ``border`` pixels at each edge are left out: an element's box rarely
    falls on whole pixels, and its edge rows then pick up its neighbours (the
    status line under a picture changes with every move).
    """
    from PIL import Image, ImageChops

    ia, ib = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
    if ia.size != ib.size:
        return max(ia.size[0] * ia.size[1], ib.size[0] * ib.size[1])
    w, h = ia.size
    if w > 2 * border and h > 2 * border:
        box = (border, border, w - border, h - border)
        ia, ib = ia.crop(box), ib.crop(box)
    diff = ImageChops.difference(ia, ib).convert("L")
    return sum(diff.point(lambda v: 255 if v else 0).histogram()[255:])


def shoot(locator, path: Path | None = None) -> bytes:
    """Screenshot ``locator`` (scrolled into view); also save it to ``path`` when given."""
    locator.scroll_into_view_if_needed()
    data = locator.screenshot(animations="disabled")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return data


# Every control a student can operate: slider handles, text and number
# boxes, dropdowns, buttons, checkboxes; each is numbered in a data attribute
# so the tab walk can tell which one has the focus. A control is
# keyboard-operable when it takes the focus and Tab reaches it.
JS_CONTROLS = """(widget) => {
  const sel = '.noUi-handle, input, select, button, textarea, [role=button], [role=slider]';
  const out = [];
  for (const el of widget.querySelectorAll(sel)) {
    if (el.closest('[disabled]') || el.disabled) continue;
    const r = el.getBoundingClientRect();
    // hidden parts of a control, and controls the widget hides (visibility: hidden)
    if ((r.width === 0 && r.height === 0) || !el.checkVisibility({visibilityProperty: true})) continue;
    el.dataset.segtutorControl = String(out.length);
    el.focus();
    const box = el.closest('.widget-inline-hbox, .widget-box, .widget-hbox') || el;
    const named = box.querySelector('label');
    const label = el.getAttribute('aria-label') || (named && named.innerText) || el.innerText || el.value || '';
    out.push({label: String(label).trim().slice(0, 40), tag: el.tagName.toLowerCase(),
              tabIndex: el.tabIndex, focused: document.activeElement === el});
  }
  if (document.activeElement) document.activeElement.blur();
  return out;
}"""

JS_FOCUSED_CONTROL = """() => { const el = document.activeElement;
  return el && el.dataset && el.dataset.segtutorControl !== undefined ? Number(el.dataset.segtutorControl) : null; }"""


def controls(widget) -> list[dict]:
    """Every enabled control of ``widget``, each with whether it took the keyboard focus."""
    return widget.evaluate(JS_CONTROLS)


def tab_walk(page, widget) -> list[str]:
    """Focus the widget's first control and press Tab through it; return the controls never reached."""
    found = controls(widget)
    if not found:
        return []
    widget.locator('[data-segtutor-control="0"]').focus()
    seen = {0}
    for _ in range(2 * len(found) + 5):
        page.keyboard.press("Tab")
        index = page.evaluate(JS_FOCUSED_CONTROL)
        if index is not None:
            seen.add(index)
        if len(seen) == len(found) or not widget.evaluate("w => w.contains(document.activeElement)"):
            break
    return [f"{c['label']} ({c['tag']})" for i, c in enumerate(found) if i not in seen]


def widget_height(widget) -> int:
    return round(widget.evaluate("w => w.getBoundingClientRect().height"))
