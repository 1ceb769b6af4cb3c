"""Find figures a student cannot read without the code: untitled panels, unlabelled plot axes.

Issue 13 asks that every figure be titled and labelled. :func:`figure_problems`
inspects one Matplotlib figure after it was drawn; :func:`install` makes every
figure the inline backend shows (or ``savefig`` writes) in a kernel report its
problems to a JSON-lines file, which is how tools/build_site.py audits every
notebook while it builds the site (tests/test_site.py asserts none).

The rules, per axes that shows something (an image, a line, markers, bars):

* it has a title (its own, left, centre or right) or the figure has a suptitle;
* a *plot* (no image in it) names each axis that shows numeric tick labels,
  with its own label, a label on an axes it shares that axis with, or the
  figure's ``supxlabel``/``supylabel``. Axes without ticks (``axis("off")``,
  pictures in pixel coordinates) and categorical axes (bar names) need none.

Colour bars are left alone: they belong to the panel they explain.
"""

from __future__ import annotations

import json
import os

__all__: list[str] = []  # private: used by tools/build_site.py and the tests

ENV = "SEGTUTOR_FIGURE_AUDIT"


def _text(artist) -> str:
    return artist.get_text().strip() if artist is not None and artist.get_visible() else ""


def _figure_title(fig) -> str:
    return _text(getattr(fig, "_suptitle", None))


def _shows_ticks(axis) -> bool:
    return axis.get_visible() and any(t.get_visible() and t.get_text().strip() for t in axis.get_ticklabels())


def _numeric(axis) -> bool:
    from matplotlib.category import StrCategoryConverter

    converter = axis.get_converter() if hasattr(axis, "get_converter") else axis.converter
    return not isinstance(converter, StrCategoryConverter)


def _axis_label(ax, which: str, fig) -> str:
    own = (ax.get_xlabel() if which == "x" else ax.get_ylabel()).strip()
    if own:
        return own
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    for sibling in group.get_siblings(ax):
        label = (sibling.get_xlabel() if which == "x" else sibling.get_ylabel()).strip()
        if label:
            return label
    for owner in {id(f): f for f in (ax.get_figure(), fig)}.values():  # a subfigure's, then the figure's
        label = _text(getattr(owner, "_supxlabel" if which == "x" else "_supylabel", None))
        if label:
            return label
    return ""


def _describe(ax, i: int) -> str:
    title = ax.get_title().strip()
    return f"axes {i}" + (f" ({title!r})" if title else "")


def figure_problems(fig) -> list[str]:
    """What keeps ``fig`` from being read on its own: one sentence per problem, empty if none.

    Call it after the figure was drawn (tick labels are only known then).

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    list of str

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1], [1, 0]); fig.canvas.draw()
    >>> figure_problems(fig)
    ['axes 0: no title (set_title, or fig.suptitle)', 'axes 0: numeric x axis without a label', 'axes 0: numeric y axis without a label']
    >>> plt.close(fig)
    """
    from matplotlib.collections import QuadMesh
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    problems = []
    suptitle = _figure_title(fig)
    for i, ax in enumerate(fig.get_axes()):
        if not ax.get_visible() or hasattr(ax, "_colorbar") or ax.get_label() == "<colorbar>":
            continue
        images = list(ax.images) + [c for c in ax.collections if isinstance(c, QuadMesh)]
        marks = list(ax.lines) + [c for c in ax.collections if not isinstance(c, QuadMesh)] + list(ax.patches)
        if not images and not marks:
            continue  # an empty or text-only panel
        titled = (any(ax.get_title(loc=loc).strip() for loc in ("center", "left", "right"))
                  or suptitle or _figure_title(ax.get_figure()))
        if not titled:
            problems.append(f"{_describe(ax, i)}: no title (set_title, or fig.suptitle)")
        if images or not ax.axison:
            continue
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if _shows_ticks(axis) and _numeric(axis) and not _axis_label(ax, which, fig):
                problems.append(f"{_describe(ax, i)}: numeric {which} axis without a label")
    return problems


_INSTALLED = False


def _current_cell() -> str | None:
    """First line of the cell IPython is running, or None outside IPython.

    Not the execution count: the inline backend shows a cell's figures in its
    post-execute hook, when some IPython versions have already counted on.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if not raw:
        return None
    lines = raw[-1].strip().splitlines()
    return lines[0][:80] if lines else None


def install(path=None) -> None:
    """Report the problems of every figure rendered from now on in this process to ``path`` (JSON lines).

    ``path`` defaults to the file named by the environment variable
    ``SEGTUTOR_FIGURE_AUDIT``; without either, nothing is installed. Each line
    is ``{"cell": first line of the running cell or null, "problems": [...]}``
    for a figure with problems. Rendering itself is unchanged.
    """
    global _INSTALLED
    path = path if path is not None else os.environ.get(ENV)
    if not path or _INSTALLED:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    original = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        try:
            problems = figure_problems(self.figure)
        except Exception as exc:  # the audit must never break a student's figure
            problems = [f"audit failed: {type(exc).__name__}: {exc}"]
        if problems:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"cell": _current_cell(), "problems": problems}) + "\n")
        return result

    FigureCanvasBase.print_figure = print_figure
    _INSTALLED = True
