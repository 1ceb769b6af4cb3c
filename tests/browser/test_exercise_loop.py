"""The exercise loop as a student lives it, in JupyterLab in headless Chromium.

In the released copy of notebook 00, the student pastes a wrong solution for
Exercise 0.1 into the exercise cell, runs it and its check cell with
Shift+Enter and reads check's failure report and hint; then pastes a right
one and sees every check pass.
"""

from __future__ import annotations

import time

import pytest

import browserlab as bl

pytestmark = pytest.mark.browser

NOTEBOOK = "00_welcome.ipynb"
FUNCTION = "my_fraction_above"

# The classic mistake the check names: >= counts pixels equal to the threshold.
WRONG = '''import numpy as np


def my_fraction_above(image, threshold):
    image = np.asarray(image)
    return float(np.count_nonzero(image >= threshold) / image.size)
'''
RIGHT = WRONG.replace(">= threshold", "> threshold")

# The editor of the exercise cell: the released stub defines the function.
EXERCISE_CELL = f"{bl.ACTIVE} .jp-CodeCell:has(.jp-InputArea-editor:has-text('def {FUNCTION}'))"


@pytest.fixture(scope="module")
def notebook_page(browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("released")
    bl.release_copies([NOTEBOOK], root)
    with bl.Lab(root, tmp_path_factory.mktemp("lab"), fast=True) as lab:
        context = browser.new_context(viewport={"width": bl.LAPTOP_WIDTH, "height": 768})
        page = context.new_page()
        page.console_errors = bl.ConsoleErrors(page)
        bl.open_notebook(page, lab.url, NOTEBOOK)
        bl.size_for_laptop(page)
        bl.run_all(page)
        yield page
        bl.close_notebook(page)
        context.close()


def _submit(page, source: str, shot: str) -> str:
    """Replace the exercise cell's code by typing, run it and the check cell; return the check's output."""
    cell = page.locator(EXERCISE_CELL)
    assert cell.count() == 1, f"expected one exercise cell defining {FUNCTION}, found {cell.count()}"
    editor = cell.locator(".jp-InputArea-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    # insert_text is what a paste does: the editor's auto-indent would
    # otherwise re-indent every typed line.
    page.keyboard.insert_text(source)
    check_cell = cell.locator("xpath=following-sibling::div[contains(@class, 'jp-CodeCell')][1]")
    check_output = check_cell.locator(".jp-OutputArea-output")
    before = check_output.first.inner_text() if check_output.count() else ""
    page.keyboard.press("Shift+Enter")  # runs the exercise cell, selects the check cell
    page.keyboard.press("Shift+Enter")  # runs the check cell
    deadline = time.monotonic() + 120
    while True:
        text = check_output.first.inner_text() if check_output.count() else ""
        if "checks passed" in text and text != before:
            break
        assert time.monotonic() < deadline, f"no new check report within 120 s; the check cell shows {text!r}"
        page.wait_for_timeout(250)
    page.wait_for_function(bl.JS_KERNEL_IDLE, timeout=120_000)
    assert "check(" in check_cell.locator(".jp-InputArea-editor").inner_text(), "the next cell is not the check cell"
    bl.shoot(check_cell, bl.SCREENSHOTS / shot)
    return check_output.first.inner_text()


def test_released_check_cell_says_not_attempted(notebook_page):
    cell = notebook_page.locator(EXERCISE_CELL)
    out = cell.locator("xpath=following-sibling::div[contains(@class, 'jp-CodeCell')][1]").locator(
        ".jp-OutputArea-output").first.inner_text()
    assert "not attempted" in out


def test_a_wrong_solution_gets_the_failure_report_and_its_hint(notebook_page):
    text = _submit(notebook_page, WRONG, "00_welcome__exercise_wrong.png")
    assert "FAILED" in text and "checks passed" in text and "all " not in text.split("\n")[0], text
    assert "use > (strictly above), not >=" in text, text
    assert not bl.error_outputs(notebook_page)


def test_a_right_solution_passes(notebook_page):
    text = _submit(notebook_page, RIGHT, "00_welcome__exercise_right.png")
    first = text.splitlines()[0]
    assert first.startswith("fraction_above: all ") and first.rstrip().endswith("checks passed. Well done!"), text
    assert "FAILED" not in text
    assert not bl.error_outputs(notebook_page)
    assert not notebook_page.console_errors.messages, notebook_page.console_errors.messages
