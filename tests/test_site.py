"""The rendered course site (tools/build_site.py) builds: every page, every figure, no errors.

One build of the whole course in fast mode, one kernel per notebook, shared
by the tests below and the browser test of the site (``fast_site`` in
tests/conftest.py). It costs about what nbval's run of the notebooks costs
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
def site(fast_site):
    return fast_site  # built once per session (tests/conftest.py), shared with tests/browser/test_offline.py


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


# -- issue 25: the site works offline and shows what a class sees ---------------

def test_every_formula_of_every_notebook_converts_to_mathml():
    """Every $...$ and $$...$$ of the 13 notebooks becomes MathML: none stays raw TeX on a page."""
    count, problems = _builder().check_math()
    assert not problems, "\n".join(problems)
    assert count >= 13, f"only {count} formulas found: is the Markdown parser still finding math?"


def test_learning_objectives_show_their_formulas_as_mathml():
    # The index lists every notebook's objectives and loads no script: a $...$ there must already be MathML.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# T\n\n## Learning objectives\n\n- derive $p - \\text{one-hot}$ and pay `$5`\n- plain\n")])
    goals = _builder().learning_objectives(nb)
    assert len(goals) == 2 and goals[0].count("<math") == 1 and "$p" not in goals[0]
    assert "<code>$5</code>" in goals[0] and goals[1] == "plain"


def test_a_formula_that_does_not_convert_is_reported():
    b = _builder()
    assert b.tex_to_mathml(r"\text{block\_size} - 1").count("block_size") == 1
    assert 'display="block"' in b.tex_to_mathml(r"\frac{a}{b}", display=True)
    for bad in (r"\frac{a}", r"x^", r"a^^b", r"\foo x", r"\begin{bogus}x\end{bogus}", r"\text{a < b}", ""):
        with pytest.raises(b.MathError):
            b.tex_to_mathml(bad)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("costs `$HOME` and $a_1$, then\n\n$$\\frac{1}{N}$$"),
        nbformat.v4.new_code_cell("x = '$not math$'"),
    ])
    assert b.notebook_formulas(nb) == [(0, False, "a_1"), (0, True, "\\frac{1}{N}")]


def test_pages_load_nothing_from_the_internet(site):
    """No script, style sheet or font from a CDN: MathJax, require.js and mermaid are gone."""
    out, pages = site
    for page in pages:
        body = (out / page["file"]).read_text(encoding="utf-8")
        remote = re.findall(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)=["']?(?:https?:)?//[^>]*>""", body)
        assert not remote, f"{page['notebook']} loads from the internet: {remote[:3]}"
        assert not re.search(r"@import\s+url\(\s*['\"]?(?:https?:)?//", body), page["notebook"]
        assert "<math" in body or not _builder().notebook_formulas(
            nbformat.read(REPO / "notebooks" / page["notebook"], as_version=4)), page["notebook"]
        assert "segtutor-math-error" not in body, page["notebook"]


def test_fast_pages_say_so_at_the_top(site):
    out, pages = site
    b = _builder()
    for page in pages:
        body = (out / page["file"]).read_text(encoding="utf-8")
        first_cell = re.search(r"<div\b[^>]*class=\"[^\"]*\bjp-Cell\b", body).start()
        assert body.index("segtutor-nav top") < body.index(b.FAST_NOTE) < first_cell, page["notebook"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · Nothing")])
    record = [{"title": "99 · Nothing", "file": "99_nothing.html"}]
    assert b.FAST_NOTE not in b.to_html(nb, record, 0) and b.FAST_NOTE in b.to_html(nb, record, 0, fast=True)


@pytest.mark.parametrize("fast, expected", [(False, "class"), (True, "fast")])
def test_the_build_runs_kernels_in_the_mode_asked_even_on_ci(fast, expected, monkeypatch, tmp_path):
    """A class-mode build (the default) shows class-mode outputs, even where CI=true would mean fast mode."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("SEGTUTOR_FAST", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from segtutor.modes import mode\nprint(mode())")])
    _builder().execute(nb, fast=fast, timeout=120, workdir=tmp_path)
    assert nb.cells[0].outputs[0]["text"].strip() == expected


def test_the_default_build_is_class_mode(monkeypatch, tmp_path):
    b = _builder()
    calls = []
    monkeypatch.setattr(b, "build_site", lambda out, **kw: calls.append(kw) or [])
    assert b.main(["--out", str(tmp_path)]) == 0
    assert calls[0]["fast"] is False
