"""The rendered course site works offline (issue 25): every page, opened from disk, with no network.

The site is the fast-mode build the session shares with tests/test_site.py
(``fast_site``, tests/conftest.py). Chromium opens ``index.html`` and every
page as ``file://`` with each request to another machine aborted (as on a
train or a school network) and checks that none was attempted, the console
stayed clean, every formula is laid-out MathML and no text a reader sees is
still raw TeX. The demo's page gets the same checks in test_demo_mode.py.
"""

from __future__ import annotations

import importlib.util

import nbformat
import pytest

import browserlab as bl

pytestmark = pytest.mark.browser

# Pages whose formulas a person should look at: inline math (06's weight map) and display math (03).
LOOK_AT = {"06_unet.html": 1, "03_convolution_basics.html": 0}


def _formulas(notebook: str) -> int:
    spec = importlib.util.spec_from_file_location("build_site", bl.REPO / "tools" / "build_site.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return len(builder.notebook_formulas(nbformat.read(bl.NOTEBOOKS / notebook, as_version=4)))


def test_every_page_renders_from_disk_with_the_network_blocked(browser, fast_site):
    out, pages = fast_site
    context = browser.new_context(viewport={"width": bl.LAPTOP_WIDTH, "height": 768})
    offline = bl.Offline(context)
    page = context.new_page()
    console = bl.ConsoleErrors(page)
    problems = []
    try:
        for name, notebook in [("index.html", None)] + [(p["file"], p["notebook"]) for p in pages]:
            seen, asked = len(console.messages), len(offline.attempts)
            page.goto((out / name).as_uri(), wait_until="load", timeout=120_000)
            math = page.evaluate(bl.JS_MATH)
            # the index shows each notebook's learning objectives, formulas included
            expected = (_formulas(notebook) if notebook
                        else sum(goal.count("<math") for p in pages for goal in p["objectives"]))
            if math["count"] != expected:
                problems.append(f"{name}: {math['count']} MathML formulas, the notebook has {expected}")
            if math["empty"]:
                problems.append(f"{name}: formulas laid out with no size: {math['empty'][:3]}")
            raw = bl.raw_tex(page)
            if raw:
                problems.append(f"{name}: raw TeX on the page: {raw[:3]}")
            if offline.attempts[asked:]:
                problems.append(f"{name}: asked another machine for {offline.attempts[asked:]}")
            if console.since(seen):
                problems.append(f"{name}: console: {console.since(seen)}")
            if name in LOOK_AT:  # a picture of the rendered math, for a person (tests/browser/screenshots)
                cell = page.locator(".jp-MarkdownCell", has=page.locator("math")).nth(LOOK_AT[name])
                cell.scroll_into_view_if_needed()
                cell.screenshot(path=str(bl.SCREENSHOTS / f"site__{name.replace('.html', '')}__math.png"))
    finally:
        context.close()
    assert not problems, "\n".join(problems)
