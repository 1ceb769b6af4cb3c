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
import shutil
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
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

CSS = """
.segtutor-nav { font-family: system-ui, sans-serif; font-size: 15px; padding: 8px 16px; background: #f3f5f7;
  border-bottom: 1px solid #d0d7de; display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
.segtutor-nav a { color: #0550ae; text-decoration: none; }
.segtutor-nav a:hover, .segtutor-nav a:focus { text-decoration: underline; }
.segtutor-nav .here { font-weight: 600; }
.segtutor-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 24px; }
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
    return [re.sub(r"^<p>|</p>\s*$", "", render(item).strip()) for item in items]


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
        if cell.metadata.get(AUDIT_KEY):
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


def execute(nb, *, fast: bool, timeout: int, workdir: Path, audit: Path | None = None) -> None:
    """Run every cell in a fresh kernel, in the chosen course mode; raise on the first error.

    ``audit``: the file the kernel reports figure problems to (see ``AUDIT_SOURCE``).
    """
    from nbclient import NotebookClient

    env = dict(os.environ)
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


def _nav(pages: list[dict], i: int, where: str) -> str:
    prev_link = f"<a href='{pages[i - 1]['file']}' rel='prev'>← {html.escape(pages[i - 1]['title'])}</a>" if i else ""
    next_link = (f"<a href='{pages[i + 1]['file']}' rel='next'>{html.escape(pages[i + 1]['title'])} →</a>"
                 if i + 1 < len(pages) else "")
    return (f"<nav class='segtutor-nav {where}' aria-label='course navigation ({where})'>"
            f"<a href='index.html'>segtutor · all notebooks</a>{prev_link}"
            f"<span class='here' aria-current='page'>{html.escape(pages[i]['title'])}</span>{next_link}</nav>")


def to_html(nb, pages: list[dict], i: int) -> str:
    """The page for notebook ``i``: nbconvert's JupyterLab template with the course navigation."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": pages[i]["title"]}})
    body = _add_alts(body, figure_alts(nb))
    body = body.replace("</head>", f"<style>{CSS}</style></head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(pages, i, "top"), body, count=1)
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


def build_site(out, *, fast: bool = False, notebooks=None, timeout: int = 3600, release: bool = True,
               log=print) -> list[dict]:
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
    """
    import nbformat

    from segtutor._validate import check_bool, check_positive_int
    from segtutor.grading.release import release_notebook

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
    executed = []
    with tempfile.TemporaryDirectory(prefix="segtutor-site-") as tmp:
        for page, nb in zip(pages, sources):
            log(f"{page['notebook']}: running in {'fast' if fast else 'class'} mode ...", flush=True)
            nb = release_notebook(nb, name=page["notebook"]) if release else nb
            nb = _with_helpers(nb)
            workdir = Path(tmp) / page["notebook"].replace(".ipynb", "")
            workdir.mkdir()
            start = time.perf_counter()
            try:
                execute(nb, fast=fast, timeout=timeout, workdir=workdir, audit=workdir / "figure-audit.jsonl")
            except Exception as exc:  # a failed notebook still gets its page, showing where it stopped
                page["error"] = f"{type(exc).__name__}: {exc}".strip()[:2000]
                log(f"{page['notebook']}: FAILED: {page['error'][:500]}", flush=True)
            page["seconds"] = round(time.perf_counter() - start, 1)
            page["figure_problems"] = _figure_problems(workdir / "figure-audit.jsonl")
            page["widgets"] = _fold_helpers(nb)
            page["figures"] = count_figures(nb)
            executed.append(nb)
            shutil.rmtree(workdir, ignore_errors=True)
            log(f"{page['notebook']}: {page['seconds']:.0f} s, {page['figures']} figures, "
                f"{page['widgets']} widget(s) as pictures", flush=True)
            for problem in page["figure_problems"]:
                log(f"{page['notebook']}: figure: {problem}", flush=True)
    for i, nb in enumerate(executed):
        (out / pages[i]["file"]).write_text(to_html(nb, pages, i), encoding="utf-8")
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
