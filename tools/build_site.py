#!/usr/bin/env python3
"""Build the whole course as a static HTML site that anyone can browse without installing it.

    .venv/bin/python tools/build_site.py                 # class mode, into site/
    .venv/bin/python tools/build_site.py --fast --out /tmp/site 02_classical_segmentation.ipynb

Each notebook is released as the student copy (no solutions: the site is
public, the source notebooks are not), executed top to bottom in a fresh
kernel with nbclient, in class mode unless ``--fast``, and converted to HTML
with nbconvert's JupyterLab template. Every page gets the syllabus as
navigation (previous, index, next) and ``index.html`` lists the notebooks
with their learning objectives and the compute time measured in this build.

A static page has no kernel, so a live widget would be an empty box there.
After each cell the builder asks the kernel for a picture of every course
widget that the cell displayed (``segtutor.widgets._static``): the widget's
own ``snapshot()``, its alt text and its status line. That figure replaces
the widget on the page.

Formulas are converted at build time from LaTeX to MathML (``latex2mathml``),
which current Chromium, Firefox and Safari render natively (MathML Core) and
screen readers read; the pages load no script at all. nbconvert's template
would load MathJax, require.js and mermaid from a public CDN on every visit:
on an offline machine the formulas stayed raw ``$...$`` and every visit told a
third party. ``check_math`` converts every formula of the notebooks and lists
those that do not convert (tests/test_site.py runs it).

Why nbconvert and not Jupyter Book: nbconvert and nbclient are already in the
course's pinned environment and work offline; Jupyter Book 2 is built on the
MyST Node.js toolchain, which it downloads from npm on first use, and that
fails on the offline machines and school networks the course targets.
Jupyter Book 1 would add Sphinx and a dozen packages to the lock file for
what fifty lines of nbconvert do here.

A notebook that raises an error fails the build (exit status 1) after the
other notebooks are built; ``site.json`` records, per page, the seconds it
took, the figures on it, the widgets shown as pictures and any error.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
HELPER_SOURCE = '__import__("segtutor.widgets._static", fromlist=["show_pending"]).show_pending();'
HELPER_KEY = "segtutor_site_helper"
# First cell of every executed notebook, dropped from the page: from then on the
# kernel writes the problems of each figure it shows (untitled panel, unlabelled
# plot axis; segtutor._figure_audit) to the file named by SEGTUTOR_FIGURE_AUDIT.
AUDIT_SOURCE = '__import__("segtutor._figure_audit", fromlist=["install"]).install()'
AUDIT_KEY = "segtutor_site_figure_audit"
# After each check cell of a released copy (which reports "not attempted"), the shared test run
# (``run_notebook(..., verify_solutions=True)``) checks the source notebook's solution in a copy of the
# kernel's namespace, so one execution tests both the student copy and the solutions; never on a page.
SOLUTION_KEY = "segtutor_site_solution_check"
SOLUTION_SOURCE = """\
def _segtutor_verify(name, function, source):
    import io
    from segtutor.exercises import check
    namespace = dict(globals())  # a copy: the student copy's stub stays what later cells see
    exec(compile(source, f"<solution of {{name}}>", "exec"), namespace)
    report = io.StringIO()
    result = check(name, namespace[function], file=report)
    if not result.passed:
        raise AssertionError(f"the source notebook's solution of {{name}} fails its check:\\n{{report.getvalue()}}")
_segtutor_verify({name!r}, {function!r}, {source!r})
del _segtutor_verify"""
HIDDEN_KEYS = (AUDIT_KEY, HELPER_KEY, SOLUTION_KEY)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

CSS = """
.segtutor-nav { font-family: system-ui, sans-serif; font-size: 15px; padding: 8px 16px; background: #f3f5f7;
  border-bottom: 1px solid #d0d7de; display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
.segtutor-nav a { color: #0550ae; text-decoration: none; }
.segtutor-nav a:hover, .segtutor-nav a:focus { text-decoration: underline; }
.segtutor-nav .here { font-weight: 600; }
.segtutor-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 24px; }
.segtutor-fast-note { font-family: system-ui, sans-serif; font-size: 15px; margin: 0; padding: 8px 16px;
  background: #fff8c5; border-bottom: 1px solid #d4a72c; color: #1f2328; }
math { font-size: 1.12em; }
math[display="block"] { margin: 0.6em 0; }
"""

INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 24px auto; padding: 0 16px; line-height: 1.5;
  color: #1f2328; }
a { color: #0550ae; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #d0d7de; }
td ul { margin: 0; padding-left: 18px; }
"""


def notebook_title(nb) -> str:
    """The "NN · Title" heading of the first markdown cell, without the hashes."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return "untitled"


def learning_objectives(nb) -> list[str]:
    """The bullet points under "Learning objectives" in the first cell, as inline HTML."""
    import mistune

    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None or "Learning objectives" not in first.source:
        return []
    after = first.source.split("Learning objectives", 1)[1]
    items: list[str] = []
    for line in after.splitlines()[1:]:
        stripped = line.strip()
        if re.match(r"^([-*]|\d+\.)\s+", stripped):
            items.append(re.sub(r"^([-*]|\d+\.)\s+", "", stripped))
        elif items and stripped and not stripped.startswith("#") and line.startswith((" ", "\t")):
            items[-1] += " " + stripped  # a bullet wrapped onto the next line
        elif items:
            break
    render = mistune.create_markdown(escape=True)

    def inline_html(item: str) -> str:
        # An objective's formulas become MathML as on the pages; the index loads no script to typeset them.
        formulas: list[str] = []

        def hold(match) -> str:
            formulas.append(tex_to_mathml(match.group(1)))
            return f"SEGTUTORMATH{len(formulas) - 1}X"

        text = re.sub(r"(?<![\\$])\$([^$\n]+?)\$", hold, item)
        out = re.sub(r"^<p>|</p>\s*$", "", render(text).strip())
        return re.sub(r"SEGTUTORMATH(\d+)X", lambda m: formulas[int(m.group(1))], out)

    return [inline_html(item) for item in items]


def _with_helpers(nb):
    """Insert, after every code cell, a cell that shows pictures of the widgets it displayed."""
    import nbformat

    audit = nbformat.v4.new_code_cell(AUDIT_SOURCE)
    audit.metadata[AUDIT_KEY] = True
    cells = [audit]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
        if cell.cell_type == "code":
            helper = nbformat.v4.new_code_cell(HELPER_SOURCE)
            helper.metadata[HELPER_KEY] = True
            cells.append(helper)
    nb.cells = cells
    return nb


def _fold_helpers(nb) -> int:
    """Put each helper cell's pictures in place of the widgets of the cell before it; drop the helpers.

    Returns the number of widgets shown as pictures.
    """
    cells, shown = [], 0
    for cell in nb.cells:
        if cell.metadata.get(AUDIT_KEY) or cell.metadata.get(SOLUTION_KEY):
            continue
        if not cell.metadata.get(HELPER_KEY):
            cells.append(cell)
            continue
        pictures = [o for o in cell.outputs if o.get("output_type") == "display_data"]
        shown += len(pictures)
        owner = cells[-1]
        outputs, placed = [], False
        for output in owner.get("outputs", []):
            if WIDGET_MIME in output.get("data", {}):
                if not placed:
                    outputs.extend(pictures)
                    placed = True
                continue
            outputs.append(output)
        if not placed:
            outputs.extend(pictures)
        owner.outputs = outputs
    # A widget that is not a course widget (none today) says so instead of leaving a dead box.
    for cell in cells:
        for output in cell.get("outputs", []):
            if WIDGET_MIME in output.get("data", {}):
                output.data = {"text/plain": "(an interactive widget: run the notebook in JupyterLab to use it)"}
    count = 0
    for cell in cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output.execution_count = count
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return shown


def figure_alts(nb) -> list[str]:
    """Alt text for each PNG output, in page order: the section it is in and the titles its code sets.

    nbconvert writes figures without alt text; the titles a cell gives its
    axes are the best short description the page has.
    """
    alts, heading = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^#+\s+(.+)$", cell.source, flags=re.M)
            heading = found[-1].strip().replace("`", "") if found else heading
            continue
        titles = re.findall(r"(?:set_title|suptitle|title)\(\s*f?[\"']([^\"']+)", cell.get("source", ""))
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                # f-string fields ({image.shape}) are not text a reader can use: drop them.
                clean = [re.sub(r"\s+([:;,])", r"\1", re.sub(r"\s+", " ", re.sub(r"\{[^}]*\}", "", t))).strip(" :;,")
                         for t in titles]
                clean = [t for t in dict.fromkeys(clean) if t]
                what = "; ".join(clean) if clean else "a figure made by the code above"
                alts.append(f"Figure in section \u201c{heading}\u201d: {what}.")
    return alts


NBCONVERT_ALT = 'alt="No description has been provided for this image"'


def _add_alts(body: str, alts: list[str]) -> str:
    """Replace nbconvert's placeholder alt text of each output image, in page order, with ``alts``."""
    parts = body.split(NBCONVERT_ALT)
    out = [parts[0]]
    for i, part in enumerate(parts[1:]):
        alt = alts[i] if i < len(alts) else "A figure made by the code cell above."
        out.append(f'alt="{html.escape(alt, quote=True)}"{part}')
    return "".join(out)


def count_figures(nb) -> int:
    """Pictures among the outputs: PNG/JPEG/SVG outputs and widget pictures."""
    n = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if any(m in data for m in ("image/png", "image/jpeg", "image/svg+xml")):
                n += 1
            elif "segtutor-static-widget" in str(data.get("text/html", "")):
                n += 1
    return n


def _figure_problems(path: Path) -> list[str]:
    """The kernel's figure audit (``path``, JSON lines) as sentences naming the cell by its first line."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        where = f"the cell starting {record['cell']!r}" if record.get("cell") else "a cell"
        out += [f"{where}: {problem}" for problem in record["problems"]]
    return out


def execute(nb, *, fast: bool, timeout: int, workdir: Path, audit: Path | None = None, environ=None) -> None:
    """Run every cell in a fresh kernel, in the chosen course mode; raise on the first error.

    ``audit``: the file the kernel reports figure problems to (see ``AUDIT_SOURCE``).
    ``environ``: the environment the kernel starts from (default ``os.environ``).
    """
    from nbclient import NotebookClient

    env = dict(os.environ if environ is None else environ)
    env.pop("SEGTUTOR_FIGURE_AUDIT", None)
    if audit is not None:
        env["SEGTUTOR_FIGURE_AUDIT"] = str(audit)
    # Explicit either way: CI=true alone would turn fast mode on for a class-mode build.
    env["SEGTUTOR_FAST"] = "1" if fast else "0"
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env, cwd=str(workdir))


# -- math: LaTeX to MathML at build time ------------------------------------

# The page template: nbconvert's JupyterLab page without the scripts it loads
# from a CDN (MathJax, require.js, mermaid, the widget manager). Nothing on a
# page needs them: formulas are MathML, widgets are pictures, no notebook
# draws a mermaid diagram.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
PAGE_TEMPLATE_NAME = "segtutor_page.html.j2"
# Inside \text{...} LaTeX prints \_ as "_"; latex2mathml would keep the backslash.
_TEXT_ESCAPES = re.compile(r"\\text\{([^{}]*)\}")


class MathError(ValueError):
    """A formula that does not convert to MathML."""


def tex_to_mathml(tex: str, *, display: bool = False) -> str:
    """Convert one formula (the TeX between ``$...$`` or ``$$...$$``) to a MathML ``<math>`` element.

    Parameters
    ----------
    tex : str
        The formula, without its dollar signs.
    display : bool
        Display math (``$$...$$``, centred on its own line) rather than inline.

    Returns
    -------
    str
        ``<math display="inline|block">...</math>``.

    Raises
    ------
    MathError
        If latex2mathml fails, or leaves a TeX command (``\\foo``) or a
        ``mathvariant`` other than ``normal`` in the result: MathML Core, the
        part of MathML every browser renders, shows neither as intended.

    Examples
    --------
    >>> tex_to_mathml(r"\\sigma_b^2")  # doctest: +ELLIPSIS
    '<math ... display="inline"><mrow><msubsup><mi>&#x003C3;</mi><mi>b</mi><mn>2</mn></msubsup></mrow></math>'
    """
    from latex2mathml.converter import convert

    if not isinstance(tex, str) or not tex.strip():
        raise MathError(f"a formula must be a non-empty string of TeX, got {tex!r}")
    display = bool(display)
    source = _TEXT_ESCAPES.sub(lambda m: r"\text{" + re.sub(r"\\([_%$&#])", r"\1", m.group(1)) + "}", tex)
    try:
        mathml = convert(source, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception types, and IndexError on bad input
        raise MathError(f"latex2mathml cannot convert {tex!r}: {type(exc).__name__}: {exc}") from exc
    problems = _mathml_problems(tex, mathml)
    if problems:
        raise MathError(f"{tex!r}: " + "; ".join(problems))
    return mathml


# MathML elements with a fixed number of children (MathML Core, 3.1): latex2mathml
# writes \frac{a} as an <mfrac> with one child instead of failing.
_ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "msubsup": 3, "munder": 2, "mover": 2, "munderover": 3, "mroot": 2}


def _mathml_problems(tex: str, mathml: str) -> list[str]:
    """What latex2mathml converted without complaint but a reader would not see as the TeX means."""
    import xml.etree.ElementTree as ET
    from latex2mathml.commands import MATRICES

    problems = []
    braces = re.sub(r"\\[{}]", "", tex)
    if braces.count("{") != braces.count("}"):
        problems.append("unbalanced braces")
    unknown = {name for name in re.findall(r"\\begin\{([^}]*)\}", tex) if "\\" + name not in MATRICES}
    if unknown:
        problems.append(f"environment(s) latex2mathml drops: {', '.join(sorted(unknown))}")
    try:  # latex2mathml does not escape < and & in \text{...}: that breaks the page's HTML
        root = ET.fromstring(mathml)
    except ET.ParseError as exc:
        return problems + [f"the MathML is not well-formed ({exc}): a raw < or & from \\text{{}} or an environment?"]
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        text = element.text or ""
        if re.search(r"\\[A-Za-z_%$&#{}]", text):
            problems.append(f"TeX left as text: {text}")
        if tag in _ARITY and len(element) != _ARITY[tag]:
            problems.append(f"<{tag}> with {len(element)} parts instead of {_ARITY[tag]} (a missing argument?)")
        if tag in _ARITY and any(c.tag.endswith("}mi") and not (c.text or "").strip() for c in element):
            problems.append(f"<{tag}> with an empty part (a doubled ^ or _?)")
        if element.get("mathvariant", "normal") != "normal":
            problems.append(f"mathvariant {element.get('mathvariant')}, which MathML Core browsers do not render")
    return list(dict.fromkeys(problems))


def _math_renderer(problems: list[str]):
    """nbconvert's Markdown renderer, writing formulas as MathML; those that fail go to ``problems``."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    def convert(tex: str, display: bool) -> str:
        try:
            return tex_to_mathml(tex, display=display)
        except MathError as exc:
            problems.append(str(exc))
            return f"<code class='segtutor-math-error'>{html.escape(tex)}</code>"

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body: str) -> str:
            return convert(body, True)

        def inline_math(self, body: str) -> str:
            return convert(body, False)

        def latex_environment(self, name: str, body: str) -> str:
            return convert(f"\\begin{{{name}}}{body}\\end{{{name}}}", True)

        def multiline_math(self, text: str) -> str:  # mistune 2 only
            return text

    return MathMLRenderer


def notebook_formulas(nb) -> list[tuple[int, bool, str]]:
    """Every formula in the notebook's markdown cells as ``(cell index, display, tex)``, in order.

    The formulas are found by nbconvert's own Markdown parser, the one that
    renders the pages, so a ``$`` in inline code or a price is treated exactly
    as on the page.
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    found: list[tuple[int, bool, str]] = []

    class Collector(IPythonRenderer):
        def block_math(self, body: str) -> str:
            found.append((index, True, body))
            return ""

        def inline_math(self, body: str) -> str:
            found.append((index, False, body))
            return ""

        def latex_environment(self, name: str, body: str) -> str:
            found.append((index, True, f"\\begin{{{name}}}{body}\\end{{{name}}}"))
            return ""

    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            MarkdownWithMath(renderer=Collector(escape=False)).render(cell.source)
    return found


def check_math(notebooks=None) -> tuple[int, list[str]]:
    """Convert every formula of the course notebooks; return (how many, the problems).

    Parameters
    ----------
    notebooks : list of str, optional
        File names in ``notebooks/``; default every ``NN_*.ipynb``.
    """
    import nbformat

    names = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if notebooks is None else list(notebooks)
    count, problems = 0, []
    for name in names:
        if not (NOTEBOOKS / name).is_file():
            raise FileNotFoundError(f"notebook {name!r} is not in {NOTEBOOKS}")
        for index, display, tex in notebook_formulas(nbformat.read(NOTEBOOKS / name, as_version=4)):
            count += 1
            try:
                tex_to_mathml(tex, display=display)
            except MathError as exc:
                problems.append(f"{name}, cell {index}: {exc}")
    return count, problems


def _exporter(problems: list[str]):
    """nbconvert's JupyterLab HTML exporter with MathML formulas and no CDN scripts."""
    from jinja2 import DictLoader, pass_context
    from nbconvert import HTMLExporter

    renderer_class = _math_renderer(problems)

    class OfflineHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            from nbconvert.filters.markdown_mistune import MarkdownWithMath

            cell = context.get("cell", {})
            renderer = renderer_class(
                escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options)
            return MarkdownWithMath(renderer=renderer).render(source)

    return OfflineHTMLExporter(template_name="lab", template_file=PAGE_TEMPLATE_NAME,
                               extra_loaders=[DictLoader({PAGE_TEMPLATE_NAME: PAGE_TEMPLATE})])


def _nav(pages: list[dict], i: int, where: str) -> str:
    prev_link = f"<a href='{pages[i - 1]['file']}' rel='prev'>← {html.escape(pages[i - 1]['title'])}</a>" if i else ""
    next_link = (f"<a href='{pages[i + 1]['file']}' rel='next'>{html.escape(pages[i + 1]['title'])} →</a>"
                 if i + 1 < len(pages) else "")
    return (f"<nav class='segtutor-nav {where}' aria-label='course navigation ({where})'>"
            f"<a href='index.html'>segtutor · all notebooks</a>{prev_link}"
            f"<span class='here' aria-current='page'>{html.escape(pages[i]['title'])}</span>{next_link}</nav>")


FAST_NOTE = ("<p class='segtutor-fast-note' role='note'><b>Fast-mode build.</b> This page was run with "
             "SEGTUTOR_FAST=1: tiny images, few training steps, so its numbers and pictures are not what the "
             "course shows in class. Build the site without <code>--fast</code> for the class-mode page.</p>")


def to_html(nb, pages: list[dict], i: int, *, fast: bool = False, problems: list[str] | None = None) -> str:
    """The page for notebook ``i``: nbconvert's JupyterLab template with the course navigation.

    Formulas become MathML; one that does not convert is appended to
    ``problems`` (and shown as its TeX in a code span). A fast-mode page says
    so at its top.
    """
    problems = [] if problems is None else problems
    body, _ = _exporter(problems).from_notebook_node(nb, resources={"metadata": {"name": pages[i]["title"]}})
    body = _add_alts(body, figure_alts(nb))
    body = body.replace("</head>", f"<style>{CSS}</style></head>", 1)
    top = _nav(pages, i, "top") + (FAST_NOTE if fast else "")
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + top, body, count=1)
    return body.replace("</body>", _nav(pages, i, "bottom") + "</body>", 1)


def index_html(pages: list[dict], *, fast: bool, built: str) -> str:
    mode = "fast mode (tiny sizes, for testing the build)" if fast else "class mode (the sizes used in class)"
    rows = []
    for p in pages:
        goals = "".join(f"<li>{g}</li>" for g in p["objectives"])  # already HTML, escaped by mistune
        status = "ran without errors" if not p["error"] else f"<b>failed</b>: {html.escape(p['error'][:200])}"
        link = f"<a href='{p['file']}'>{html.escape(p['title'])}</a>" if p["file"] else html.escape(p["title"])
        rows.append(f"<tr><td>{link}</td><td><ul>{goals}</ul></td><td>{p['seconds']:.0f} s, {p['figures']} "
                    f"figures, {p['widgets']} widget(s) shown as pictures; {status}</td></tr>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>segtutor: image segmentation, "
            f"hands on</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<style>{INDEX_CSS}</style></head><body><main><h1>segtutor: image segmentation, hands on</h1>"
            f"<p>The course's notebooks, run from top to bottom in {mode} on {html.escape(built)}, as student "
            f"copies (exercises unsolved: each check cell shows what a blank attempt gets). Widgets appear as "
            f"pictures of what they first show; to move their controls and do the exercises, install the course "
            f"(<code>python3 course.py open</code>).</p>"
            f"<table><thead><tr><th scope='col'>Notebook</th><th scope='col'>Learning objectives</th>"
            f"<th scope='col'>This build</th></tr></thead><tbody>{''.join(rows)}</tbody></table></main>"
            f"</body></html>")


def _with_solution_checks(student, source):
    """Insert, after each check cell of ``student``, a cell that checks ``source``'s solution of that exercise."""
    import nbformat

    solutions = {}
    for cell in source.cells:
        meta = cell.metadata.get("segtutor", {})
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution") and meta.get("function"):
            solutions[meta["exercise"]] = (meta["function"], cell.source)
    cells = []
    for cell in student.cells:
        cells.append(cell)
        name = cell.metadata.get("segtutor", {}).get("exercise")
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade") and name in solutions:
            function, code = solutions.pop(name)
            verify = nbformat.v4.new_code_cell(SOLUTION_SOURCE.format(name=name, function=function, source=code))
            verify.metadata[SOLUTION_KEY] = True
            cells.append(verify)
    if solutions:
        raise ValueError(f"no check cell follows the solution of {sorted(solutions)}; add check(name, function) "
                         "after each exercise")
    student.cells = cells
    return student


class NotebookRun:
    """One execution of a course notebook's student copy, as the site and the tests read it.

    Attributes
    ----------
    name : str
        The notebook's file name.
    executed : nbformat.NotebookNode
        The executed copy, helper cells included (``HIDDEN_KEYS`` in their metadata).
    error : str or None
        The first error, ``"ExceptionName: message"``; the cells after it did not run.
    seconds : float
        Wall time of the execution.
    figure_problems : list of str
        What the figure audit found, one sentence per problem.
    """

    def __init__(self, name, executed, error, seconds, figure_problems):
        self.name, self.executed, self.error = name, executed, error
        self.seconds, self.figure_problems = seconds, figure_problems

    def code_cells(self) -> list[tuple]:
        """``(cell, hidden_outputs)`` for each code cell of the notebook, in order.

        ``hidden_outputs`` are the outputs of the helper cells run after it (the
        figure audit's counts towards the first cell), where an error of theirs shows.
        """
        out, pending = [], []
        for cell in self.executed.cells:
            if cell.cell_type != "code":
                continue
            if any(cell.metadata.get(key) for key in HIDDEN_KEYS):
                (out[-1][1] if out else pending).extend(cell.get("outputs", []))
            else:
                out.append((cell, pending + []))
                pending = []
        return out

    def stopped_at(self):
        """Index (among the notebook's code cells) of the cell where a failed run stopped, else None.

        That is the cell whose output or whose helper cell's output is an error (a cell tagged
        ``raises-exception`` may raise), or the first whose own cell or helper cell never ran:
        after a timeout or a dead kernel the cell has its count but no reply.
        """
        if self.error is None:
            return None
        index = -1
        for cell in self.executed.cells:
            if cell.cell_type != "code":
                continue
            hidden = any(cell.metadata.get(key) for key in HIDDEN_KEYS)
            index += 0 if hidden else 1
            may_raise = not hidden and "raises-exception" in cell.metadata.get("tags", [])
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if cell.get("execution_count") is None or (errors and not may_raise):
                return max(index, 0)
        return None

    def page(self):
        """A copy of the executed notebook as a page shows it: widgets as pictures, helper cells gone."""
        import copy

        nb = copy.deepcopy(self.executed)
        widgets = _fold_helpers(nb)
        return nb, widgets


def run_notebook(path, *, fast: bool = True, timeout: int = 1800, release: bool = True,
                 verify_solutions: bool = False, log=print, environ=None) -> NotebookRun:
    """Execute the student copy of the notebook at ``path`` once, with the site's helper cells.

    Parameters
    ----------
    path : path
        A source notebook.
    fast : bool
        Fast mode (default) instead of class mode.
    timeout : int
        Seconds allowed for one cell.
    release : bool
        Run the student copy (default) rather than the source notebook.
    verify_solutions : bool
        After each check cell, also check the source's solution (the tests' shared run does);
        a solution that fails its check is the run's error.
    environ : mapping, optional
        The environment the kernel starts from (default ``os.environ``; the mode is set either way).

    Returns
    -------
    NotebookRun
        A failed run is returned with its ``error``, not raised.

    Examples
    --------
    >>> run = run_notebook(NOTEBOOKS / "00_welcome.ipynb")  # doctest: +SKIP
    >>> run.error is None
    True
    """
    import copy

    import nbformat

    from segtutor._validate import check_bool, check_positive_int
    from segtutor.grading.release import release_notebook

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}; give the path of a course notebook")
    fast, release = check_bool(fast, "fast"), check_bool(release, "release")
    verify_solutions = check_bool(verify_solutions, "verify_solutions")
    timeout = check_positive_int(timeout, "timeout")
    source = nbformat.read(path, as_version=4)
    nb = release_notebook(source, name=path.name) if release else copy.deepcopy(source)
    if release and verify_solutions:
        nb = _with_solution_checks(nb, source)
    nb = _with_helpers(nb)
    error = None
    log(f"{path.name}: running in {'fast' if fast else 'class'} mode ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="segtutor-run-") as tmp:
        start = time.perf_counter()
        try:
            execute(nb, fast=fast, timeout=timeout, workdir=Path(tmp), audit=Path(tmp) / "figure-audit.jsonl",
                    environ=environ)
        except Exception as exc:  # a failed notebook still gets its page, showing where it stopped
            error = f"{type(exc).__name__}: {exc}".strip()[:2000]
            log(f"{path.name}: FAILED: {error[:500]}", flush=True)
        seconds = round(time.perf_counter() - start, 1)
        problems = _figure_problems(Path(tmp) / "figure-audit.jsonl")
    return NotebookRun(path.name, nb, error, seconds, problems)


def build_site(out, *, fast: bool = False, notebooks=None, timeout: int = 3600, release: bool = True,
               log=print, runs=None) -> list[dict]:
    """Execute and render the course into ``out``; return one record per page (also in ``site.json``).

    Parameters
    ----------
    out : path
        Folder for ``index.html``, one ``NN_name.html`` per notebook and ``site.json``; created if missing.
    fast : bool
        Fast mode (seconds per notebook) instead of class mode.
    notebooks : list of str, optional
        File names in ``notebooks/``; default every ``NN_*.ipynb``.
    timeout : int
        Seconds allowed for one cell.
    release : bool
        Render the student copies (default) rather than the source notebooks with their solutions.
    runs : callable, optional
        ``runs(path) -> NotebookRun``, the executions to render (the tests pass the session's
        shared ones, run in the mode asked); default: ``run_notebook`` with the options above.
    """
    import nbformat

    from segtutor._validate import check_bool, check_positive_int

    fast = check_bool(fast, "fast")
    release = check_bool(release, "release")
    timeout = check_positive_int(timeout, "timeout")
    out = Path(out)
    names = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if notebooks is None else list(notebooks)
    for name in names:
        if not (NOTEBOOKS / name).is_file():
            raise FileNotFoundError(f"notebook {name!r} is not in {NOTEBOOKS}; give file names like "
                                    "02_classical_segmentation.ipynb")
    out.mkdir(parents=True, exist_ok=True)
    sources = [nbformat.read(NOTEBOOKS / n, as_version=4) for n in names]
    pages = [{"notebook": n, "file": n.replace(".ipynb", ".html"), "title": notebook_title(nb),
              "objectives": learning_objectives(nb), "seconds": 0.0, "figures": 0, "widgets": 0, "error": None,
              "figure_problems": []}
             for n, nb in zip(names, sources)]
    if runs is None:
        def runs(path):
            return run_notebook(path, fast=fast, timeout=timeout, release=release, log=log)
    elif not callable(runs):
        raise TypeError(f"runs must be a function from a notebook path to a NotebookRun, got {type(runs).__name__}")
    executed = []
    for page in pages:
        run = runs(NOTEBOOKS / page["notebook"])
        nb, page["widgets"] = run.page()
        page["error"], page["seconds"], page["figure_problems"] = run.error, run.seconds, list(run.figure_problems)
        page["figures"] = count_figures(nb)
        executed.append(nb)
        log(f"{page['notebook']}: {page['seconds']:.0f} s, {page['figures']} figures, "
            f"{page['widgets']} widget(s) as pictures", flush=True)
        for problem in page["figure_problems"]:
            log(f"{page['notebook']}: figure: {problem}", flush=True)
    for i, nb in enumerate(executed):
        math_problems: list[str] = []
        (out / pages[i]["file"]).write_text(to_html(nb, pages, i, fast=fast, problems=math_problems),
                                            encoding="utf-8")
        if math_problems and not pages[i]["error"]:
            pages[i]["error"] = "formulas that do not convert to MathML: " + "; ".join(math_problems)[:2000]
            log(f"{pages[i]['notebook']}: FAILED: {pages[i]['error'][:500]}", flush=True)
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (out / "index.html").write_text(index_html(pages, fast=fast, built=built), encoding="utf-8")
    manifest = {"mode": "fast" if fast else "class", "built": built, "pages": pages}
    (out / "site.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="file names in notebooks/ (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "site", help="output folder (default: site/)")
    parser.add_argument("--fast", action="store_true", help="fast mode: tiny sizes, seconds per notebook")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed for one cell (default 3600)")
    parser.add_argument("--with-solutions", action="store_true",
                        help="render the source notebooks, solutions included (for instructors only)")
    args = parser.parse_args(argv)
    pages = build_site(args.out, fast=args.fast, notebooks=args.notebooks or None, timeout=args.timeout,
                       release=not args.with_solutions)
    failed = [p for p in pages if p["error"]]
    print(f"site written to {args.out / 'index.html'}: {len(pages)} pages, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
