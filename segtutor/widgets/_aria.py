"""An invisible helper that gives the sliders of a course widget accessible names.

ipywidgets 8.1 draws every slider with noUiSlider. Its handle, the element
that takes the keyboard focus, has ``role="slider"`` but no accessible name,
so a screen reader announces "slider, 59.99999999999999": no ``aria-label``,
and ``aria-valuetext`` is the unrounded float. No trait of ipywidgets reaches
those attributes (its slider view passes noUiSlider no ``handleAttributes``
or ``ariaFormat``), so it takes code in the browser.

Why anywidget (the options were a) anywidget, b) a JupyterLab extension of our
own, c) an ipywidgets trait): c) does not exist; b) means a node build and a
federated extension to keep working across JupyterLab releases. anywidget is
on PyPI with its JupyterLab/Voila extension prebuilt in the wheel, so nothing
is built or downloaded on a student's machine; the module below travels as a
string in the widget's state and runs in JupyterLab 4 and Voila 0.5 alike.
See ``_aria.js`` for what it does in the page. In a kernel without a front end
(pytest, nbval, the site build) it is an inert widget model.
"""

from __future__ import annotations

from pathlib import Path

_ESM = (Path(__file__).with_name("_aria.js")).read_text(encoding="utf-8")

_CLASS = None


def slider_names():
    """A new invisible widget that names the slider handles of the ``.segtutor-widget`` box it is placed in.

    Returns
    -------
    anywidget.AnyWidget
        Takes no space (``display: none``); put it anywhere inside the box.
    """
    global _CLASS
    if _CLASS is None:
        import anywidget

        class SliderNames(anywidget.AnyWidget):
            _esm = _ESM

        _CLASS = SliderNames
    import ipywidgets as w

    widget = _CLASS(layout=w.Layout(display="none"))
    widget.add_class("segtutor-aria")
    return widget
