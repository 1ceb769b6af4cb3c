"""Demo mode: `python3 course.py demo NN` serves a widget notebook as a code-free Voila app.

The test starts Voila with the same command line course.py builds
(``course.demo_command``), on 127.0.0.1 and a free port, in fast mode, opens
the app in headless Chromium with every request to another machine blocked,
checks no code is shown and nothing was asked of the internet, moves a slider
by keyboard and by mouse and compares screenshots of the picture.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

import browserlab as bl

pytestmark = pytest.mark.browser

NOTEBOOK = "00_welcome"


def _course():
    spec = importlib.util.spec_from_file_location("course", bl.REPO / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def voila(chromium, tmp_path_factory):
    course = _course()
    notebook = course.find_notebook(NOTEBOOK)
    port = bl.free_port()
    work = tmp_path_factory.mktemp("voila")
    env = course.demo_env(dict(os.environ, SEGTUTOR_FAST="1", JUPYTER_CONFIG_DIR=str(work / "config"),
                               JUPYTER_RUNTIME_DIR=str(work / "runtime")))
    log_path = work / "voila.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(course.demo_command(sys.executable, notebook, port=port, browser=False),
                                cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            bl.wait_ready(proc, f"tcp:{port}", log_path, "Voila")
            yield f"http://127.0.0.1:{port}/"
        finally:
            bl.stop(proc)


def test_demo_serves_the_widget_without_code_and_a_slider_redraws_it(browser, voila):
    context = browser.new_context(viewport={"width": bl.LAPTOP_WIDTH, "height": 768})
    offline = bl.Offline(context)
    page = context.new_page()
    console = bl.ConsoleErrors(page)
    try:
        page.goto(voila, wait_until="commit", timeout=180_000)
        widget = page.locator(bl.WIDGET).first
        widget.wait_for(state="visible", timeout=180_000)
        image = bl.widget_image(widget)
        image.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(500)
        text = page.locator("body").inner_text()
        for code in ("segtutor.seed_everything(0)", "IntensityWindow(image, low=60", "np.count_nonzero(image > threshold)"):
            assert code not in text, f"demo mode shows code: {code!r}"
        handle = bl.main_slider(widget)
        assert handle is not None, "the demo widget has no slider"
        before = bl.shoot(image, bl.SCREENSHOTS / "demo__before.png")
        latency = bl.press_and_wait(page, widget, handle, bl.arrow_key(handle))
        page.wait_for_timeout(200)
        after_key = bl.shoot(image, bl.SCREENSHOTS / "demo__keyboard.png")
        assert latency is not None and bl.png_difference(before, after_key) > 0, "key press did not redraw"
        # Voila loads the same anywidget helper as JupyterLab (segtutor.widgets._aria)
        problems = bl.slider_aria_problems(widget)
        assert not problems, "\n".join(problems)
        latency = bl.drag_and_wait(page, widget, handle)
        page.wait_for_timeout(200)
        after_mouse = bl.shoot(image, bl.SCREENSHOTS / "demo__mouse.png")
        assert latency is not None and bl.png_difference(after_key, after_mouse) > 0, "dragging did not redraw"
        page.screenshot(path=str(bl.SCREENSHOTS / "demo__page.png"))
        assert not offline.attempts, f"the demo asked another machine for: {offline.attempts}"
        assert not console.messages, console.messages
        assert not bl.raw_tex(page), f"TeX left unrendered: {bl.raw_tex(page)}"
    finally:
        context.close()
