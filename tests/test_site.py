"""The rendered course site (tools/build_site.py) builds: every page, every figure, no errors.

One build of the whole course in fast mode, one kernel per notebook, shared
by the tests below. It costs about what nbval's run of the notebooks costs
(see the README's "A rendered course to browse" for the measured time).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _builder():
    spec = importlib.util.spec_from_file_location("build_site", REPO / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    pages = _builder().build_site(out, fast=True, timeout=1800, log=lambda *a, **k: None)
    return out, pages


def _widget_cells(name: str) -> int:
    """Code cells of a notebook that display a course widget (a class from segtutor.widgets)."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    classes = set()
    for cell in nb.cells:
        for match in re.finditer(r"from segtutor\.widgets\.\w+ import ([\w, ]+)", cell.source):
            classes |= {c.strip() for c in match.group(1).split(",")}
    classes = {c for c in classes if c[:1].isupper()}
    return sum(1 for c in nb.cells if c.cell_type == "code" and any(
        re.search(rf"^{k}\(|^\w+ = {k}\(", c.source, flags=re.M) for k in classes))


def test_every_notebook_has_a_page_and_ran_clean(site):
    out, pages = site
    assert [p["notebook"] for p in pages] == NOTEBOOKS
    manifest = json.loads((out / "site.json").read_text())
    assert manifest["mode"] == "fast" and len(manifest["pages"]) == len(NOTEBOOKS)
    for page in pages:
        assert page["error"] is None, f"{page['notebook']}: {page['error']}"
        body = (out / page["file"]).read_text(encoding="utf-8")
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in body or "Traceback" not in body
        assert "jp-RenderedText" in body and page["title"] in body


def test_every_figure_is_on_its_page_with_alt_text(site):
    out, pages = site
    for page in pages:
        body = (out / page["file"]).read_text(encoding="utf-8")
        images = re.findall(r"<img\b[^>]*>", body)
        inline = [i for i in images if "data:image/" in i]
        assert page["figures"] >= 1, f"{page['notebook']} has no figure"
        assert len(inline) >= page["figures"], f"{page['notebook']}: {len(inline)} images, {page['figures']} figures"
        for tag in inline:
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and len(alt.group(1)) > 10, f"{page['notebook']}: image without alt text"


def test_widgets_are_pictures_not_dead_boxes(site):
    out, pages = site
    for page in pages:
        body = (out / page["file"]).read_text(encoding="utf-8")
        assert WIDGET_MIME not in body
        expected = _widget_cells(page["notebook"])
        assert page["widgets"] >= expected, f"{page['notebook']}: {page['widgets']} of {expected} widgets shown"
        assert body.count("segtutor-static-widget") >= expected


def test_every_figure_is_titled_and_labelled(site):
    """Issue 13: each panel titled; each numeric axis of a plot labelled (rules in segtutor._figure_audit).

    The kernels of the build report every figure they show (tools/build_site.py's audit cell).
    """
    out, pages = site
    problems = [f"{page['notebook']}: {p}" for page in pages for p in page["figure_problems"]]
    assert not problems, "\n".join(problems)
    for page in pages:
        body = (out / page["file"]).read_text(encoding="utf-8")
        assert "segtutor._figure_audit" not in body, f"{page['notebook']}: the audit cell is on the page"


def test_syllabus_navigation(site):
    out, pages = site
    index = (out / "index.html").read_text(encoding="utf-8")
    for i, page in enumerate(pages):
        assert f"href='{page['file']}'" in index
        body = (out / page["file"]).read_text(encoding="utf-8")
        assert "href='index.html'" in body
        if i + 1 < len(pages):
            assert f"href='{pages[i + 1]['file']}' rel='next'" in body
        if i:
            assert f"href='{pages[i - 1]['file']}' rel='prev'" in body


def test_student_copies_hide_the_solutions(site):
    out, pages = site
    body = (out / pages[0]["file"]).read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in body and "NotImplementedError" in body


def test_build_site_rejects_unknown_notebooks(tmp_path):
    with pytest.raises(FileNotFoundError, match="not in"):
        _builder().build_site(tmp_path, fast=True, notebooks=["99_nothing.ipynb"])
    with pytest.raises(TypeError):
        _builder().build_site(tmp_path, fast="False")


def test_figure_alts_name_the_section_and_titles():
    b = _builder()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## The `uint8` trap"),
        nbformat.v4.new_code_cell('ax.set_title(f"image {img.shape}: wrapped")'),
        nbformat.v4.new_code_cell("plot()"),
    ])
    png = nbformat.v4.new_output("display_data", data={"image/png": "AAAA"})
    nb.cells[1].outputs = [png]
    nb.cells[2].outputs = [png]
    assert b.figure_alts(nb) == ["Figure in section \u201cThe uint8 trap\u201d: image: wrapped.",
                                 "Figure in section \u201cThe uint8 trap\u201d: a figure made by the code above."]
    page = 'x <img alt="No description has been provided for this image" src="a"> <img ' + b.NBCONVERT_ALT + ">"
    assert b._add_alts(page, ["one", "t\"wo"]) == 'x <img alt="one" src="a"> <img alt="t&quot;wo">'
