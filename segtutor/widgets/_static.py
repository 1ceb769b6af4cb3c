"""Widgets on a static page: what ``tools/build_site.py`` shows instead of a live widget.

A rendered HTML page has no kernel, so a widget there is a dead box. Every
course widget notes itself here when it is displayed (:func:`note_displayed`);
the site builder runs :func:`show_pending` after each cell, which displays,
for each widget the cell showed, a picture of exactly what the student would
see (:meth:`segtutor.widgets._base.Visualiser.snapshot`), with its alt text
and its status line, as one HTML figure.
"""

from __future__ import annotations

import base64
import html
import re

_PENDING: list = []


def note_displayed(widget) -> None:
    """Remember ``widget`` (anything with ``static_picture()``) for the next :func:`show_pending`."""
    if not callable(getattr(widget, "static_picture", None)):
        raise TypeError(f"widget should have a static_picture() method, got {type(widget).__name__}.")
    if all(w is not widget for w in _PENDING):
        _PENDING.append(widget)


INTERACTIVE_NOTE = "Interactive widget, shown as a picture: run the notebook in JupyterLab to move its controls."


def figure_html(rgb, alt: str, caption: str, note: str = INTERACTIVE_NOTE) -> str:
    """One ``<figure>``: the picture as an inline PNG, its alt text, a caption and a note."""
    from ..viz import to_png_bytes

    data = base64.b64encode(to_png_bytes(rgb)).decode("ascii")
    return (f"<figure class='segtutor-static-widget' style='margin: 4px 0'>"
            f"<img src='data:image/png;base64,{data}' alt='{html.escape(alt, quote=True)}' "
            f"style='max-width: 100%'>"
            f"<figcaption style='font-size: 0.9em; line-height: 1.35'>{html.escape(caption)}"
            f"<br><i>{note}</i></figcaption></figure>")


def show_pending() -> int:
    """Display a static figure for every widget noted since the last call; return how many."""
    from IPython.display import HTML, display

    shown = 0
    while _PENDING:
        widget = _PENDING.pop(0)
        rgb, alt, caption = widget.static_picture()
        note = getattr(widget, "static_note", INTERACTIVE_NOTE)
        display(HTML(figure_html(rgb, alt, caption, note)))
        shown += 1
    return shown


def plain_text(markup: str) -> str:
    """HTML status text as plain text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup or ""))
