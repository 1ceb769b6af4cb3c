"""Training you can watch: a live loss plot callback and a ``fit`` with sensible defaults.

:class:`LiveHistory` is an ordinary Keras callback. Pass it to
``model.fit(..., callbacks=[LiveHistory()])`` and, in a notebook, it shows a
progress bar with the latest values and time left, and a plot of every loss
and metric (training solid, validation dashed) that redraws while the model
trains. Outside a notebook it prints one line per epoch. Redrawing is rate
limited (at most once every ``min_interval`` seconds, and only at the end of
an epoch or every ``every_steps`` steps), so it costs a few milliseconds per
redraw; ``bench/bench_unet.py`` measures the overhead.

:func:`fit` is a thin helper around ``model.compile`` and ``model.fit``: Adam
(Kingma and Ba 2015) with a cosine learning-rate decay (Loshchilov and Hutter
2017), optional early stopping on a validation metric, and the live plot. It
returns Keras's own ``History``, and the notebooks show the plain
``compile``/``fit`` calls next to it so nothing is hidden.

Examples
--------
>>> import numpy as np
>>> from segtutor.training import LiveHistory
>>> live = LiveHistory(display=False)
>>> live.on_train_begin()
>>> live.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.1})     # doctest: +ELLIPSIS
epoch 1/1  loss 0.9  val_loss 1.1  (0 s, about 0 s left)
>>> live.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.7})     # doctest: +ELLIPSIS
epoch 2/2  loss 0.5  val_loss 0.7  (0 s, about 0 s left)
>>> live.history["val_loss"]
[1.1, 0.7]
>>> live.figure().axes[0].get_title()
'loss'
"""

from __future__ import annotations

import math
import time

import numpy as np


from .. import _backend
from .._validate import as_array, check_bool, check_choice, check_in_range, check_model, check_positive_int, check_str
# cosine_schedule lives with the other learning pieces so that models can use it (segtutor.training.schedules).
from ..learning import cosine_schedule

# Through the one TensorFlow gateway: this module needs Keras from its first line.
keras = _backend.keras()

__all__ = ["LiveHistory", "fit", "history_figure", "check_batch"]


def _pairs(history: dict) -> list[str]:
    """Metric names in plotting order, each plotted with its ``val_`` twin."""
    names = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base not in names and base not in ("learning_rate", "lr"):
            names.append(base)
    return names


def history_figure(history, *, panel_size: float = 3.0, max_columns: int = 4, x_label: str = "epoch"):
    """Plot every loss and metric of a training history, one panel each.

    Parameters
    ----------
    history : dict of list of float, or keras.callbacks.History
        ``{"loss": [...], "val_loss": [...], "dice": [...], ...}``.
    panel_size : float
        Height of one panel in inches.
    max_columns : int
        Panels per row.
    x_label : str
        What one point on the x axis is.

    Returns
    -------
    matplotlib.figure.Figure
        Training curves solid, validation curves dashed, axes labelled.

    Examples
    --------
    >>> fig = history_figure({"loss": [1.0, 0.5], "val_loss": [1.2, 0.8], "dice": [0.3, 0.6]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'dice']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            f"history should be a dict of lists such as {{'loss': [0.9, 0.5]}} or what model.fit returns; "
            f"got {type(history).__name__}."
        )
    panel_size = check_in_range(panel_size, "panel_size", 0.5, 20.0)
    max_columns = check_positive_int(max_columns, "max_columns")
    names = _pairs(logs)
    cols = min(len(names), max_columns)
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(1.45 * panel_size * cols, panel_size * rows), layout="constrained")
    FigureCanvasAgg(fig)  # a canvas of its own: drawing it never touches pyplot's state
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, style, label in ((name, "-", "training"), ("val_" + name, "--", "validation")):
            values = np.asarray(logs.get(key, []), dtype=float)
            if values.size:
                ax.plot(np.arange(1, values.size + 1), values, style, marker="o", markersize=2.5, label=label)
        ax.set_title(name)
        ax.set_xlabel(x_label)
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveHistory(keras.callbacks.Callback):
    """A Keras callback: progress bar, latest values and a live plot of every metric.

    Parameters
    ----------
    every_steps : int, optional
        Also redraw every this many training steps (within an epoch the plot
        shows the running average of the epoch so far). None: only at the end
        of each epoch.
    min_interval : float
        Never redraw more often than this, in seconds, so that a fast model
        does not spend its time drawing.
    display : bool, optional
        Show the widget. Default: only inside a Jupyter kernel; elsewhere one
        line per epoch is printed instead.
    panel_size : float
        Height of each plot panel in inches.

    Attributes
    ----------
    history : dict of list of float
        Every value Keras logged at the end of each epoch.
    seconds : list of float
        Wall time from the start of training to the end of each epoch.
    """

    def __init__(self, *, every_steps: int | None = None, min_interval: float = 1.0, display: bool | None = None,
                 panel_size: float = 2.6):
        super().__init__()
        if every_steps is not None:
            every_steps = check_positive_int(every_steps, "every_steps")
        self.every_steps = every_steps
        self.min_interval = check_in_range(min_interval, "min_interval", 0.0, 3600.0)
        self.display = _in_notebook() if display is None else check_bool(display, "display")
        self.panel_size = check_in_range(panel_size, "panel_size", 0.5, 20.0)
        self.history: dict[str, list[float]] = {}
        self.seconds: list[float] = []
        self.draw_seconds = 0.0
        self._widgets = None

    # -- Keras hooks ---------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._last_draw = -math.inf
        self._epochs = (getattr(self, "params", None) or {}).get("epochs")
        self._steps = (getattr(self, "params", None) or {}).get("steps")
        if self.display and self._widgets is None:
            self._make_widgets()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.display and self.every_steps and (batch + 1) % self.every_steps == 0:
            self._update(logs or {}, partial=(self._epoch, batch + 1))

    def on_epoch_end(self, epoch, logs=None):
        if not hasattr(self, "_start"):
            self.on_train_begin()
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.seconds.append(time.perf_counter() - self._start)
        self._epoch = epoch
        if self.display:
            self._update({}, partial=None, force=True)
        else:
            print(self._status(epoch + 1), flush=True)

    def on_train_end(self, logs=None):
        if self.display and self.history:
            self._draw(partial_logs=None)

    # -- drawing -------------------------------------------------------------
    def _make_widgets(self):
        import ipywidgets as w
        from IPython.display import display

        self._bar = w.IntProgress(min=0, max=max(self._epochs or 1, 1), description="epoch",
                                  layout=w.Layout(width="340px"))
        self._text = w.HTML("")
        self._image = w.Image(format="png", layout=w.Layout(max_width="100%", align_self="flex-start"))
        self._widgets = w.VBox([w.HBox([self._bar, self._text]), self._image])
        self._widgets.add_class("segtutor-live-history")
        display(self._widgets)
        from ..widgets import note_displayed

        note_displayed(self)  # a static page (tools/build_site.py) shows the final plot instead

    def _status(self, epochs_done: int) -> str:
        elapsed = self.seconds[-1] if self.seconds else 0.0
        total = self._epochs or epochs_done
        left = elapsed / max(epochs_done, 1) * (total - epochs_done)
        values = "  ".join(f"{k} {v[-1]:.4g}" for k, v in self.history.items() if k not in ("learning_rate", "lr"))
        return f"epoch {epochs_done}/{total}  {values}  ({elapsed:.0f} s, about {left:.0f} s left)"

    def _update(self, logs: dict, partial, force: bool = False):
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._draw(partial_logs=(logs, partial) if partial else None)
        self._last_draw = time.perf_counter()

    #: What a static page (tools/build_site.py) says under the final plot.
    static_note = "Live training plot, shown as it was when training ended."

    def static_picture(self):
        """``(picture, alt text, status)`` of the finished training, for a page without a kernel."""
        from ..viz import figure_to_rgb

        rgb = figure_to_rgb(self.figure()) if self.history else np.full((8, 8, 3), 255, np.uint8)
        alt = "Training curves: " + ", ".join(self.history) + " per epoch." if self.history else "No epochs yet."
        return rgb, alt, self._status(len(self.seconds)) if self.seconds else ""

    def figure(self):
        """The current plot, as a Matplotlib figure (also what the widget shows)."""
        return history_figure(self.history, panel_size=self.panel_size)

    def _draw(self, partial_logs):
        from ..viz import figure_to_rgb, to_png_bytes

        start = time.perf_counter()
        epochs_done = len(self.seconds)
        if partial_logs is not None:
            logs, (epoch, step) = partial_logs
            text = f"epoch {epoch + 1}, step {step}/{self._steps or '?'}: " + "  ".join(
                f"{k} {float(v):.4g}" for k, v in logs.items())
            self._text.value = text
            self._bar.value = epoch
        else:
            self._bar.value = epochs_done
            self._text.value = self._status(epochs_done)
        if self.history:
            self._image.value = to_png_bytes(figure_to_rgb(self.figure()))
        self.draw_seconds += time.perf_counter() - start


def check_batch(model, images, targets) -> None:
    """Check one batch against a model before training, with errors that say what to fix.

    Parameters
    ----------
    model : keras.Model
    images : array_like, shape (N, H, W, C)
    targets : array_like, shape (N, H, W) or (N, H, W, 1) for a one-class model, class ids for K classes

    Raises
    ------
    ValueError
        Empty batch, wrong channel count, NaN or infinite pixels, a size the
        model cannot take, or target values outside the model's classes.
    """
    check_model(model)
    x = as_array(images, "images")
    y = as_array(targets, "targets")
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"images should be a non-empty batch (N, H, W, C), got shape {x.shape}. "
                         "For one image use image[None, ..., None].")
    want = model.input_shape[-1]
    if x.shape[-1] != want:
        raise ValueError(f"the model takes {want} channel(s) but the images have {x.shape[-1]}; "
                         + ("use one channel of the images (images[..., :1]) or a grayscale version."
                            if want == 1 else f"build the model with input_shape=(None, None, {x.shape[-1]})."))
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values; the loss would be NaN from the first step.")
    for side, size in zip(("height", "width"), x.shape[1:3]):
        expected = model.input_shape[1 + ("height", "width").index(side)]
        if expected is not None and expected != size:
            raise ValueError(f"the model expects {side} {expected}, the images have {size}.")
    classes = model.output_shape[-1]
    values = np.unique(y)
    allowed = (0, 1) if classes == 1 else range(classes)
    if not np.isin(values, allowed).all():
        raise ValueError(
            f"targets hold values {values[:8].tolist()}, but a model with {classes} output channel(s) needs "
            + ("0 and 1 (background and foreground); for instance labels pass labels > 0."
               if classes == 1 else f"class ids 0..{classes - 1}.")
        )


def fit(model, train, *, validation=None, epochs: int, steps_per_epoch: int, loss, metrics=(),
        learning_rate: float = 2e-3, patience: int | None = None, monitor: str = "val_loss",
        live: bool | None = None, verbose: int = 0, callbacks=()):
    """Compile with Adam and a cosine schedule, then ``model.fit`` with the live plot.

    Parameters
    ----------
    model : keras.Model
    train : tf.data.Dataset
        Batches of (images, targets), repeating.
    validation : tuple or tf.data.Dataset, optional
    epochs, steps_per_epoch : int
    loss : callable or str
        A loss for ``model.compile``.
    metrics : sequence
        Metrics for ``model.compile``.
    learning_rate : float
        Adam's starting rate; it decays to 0 by the last step.
    patience : int, optional
        Stop after this many epochs without improvement of ``monitor`` and
        keep the best weights (early stopping). None: train all epochs.
    live : bool, optional
        Show :class:`LiveHistory` (default: in notebooks).
    verbose : int
        Keras's own progress output (0: none; the live plot replaces it).
    callbacks : sequence
        More Keras callbacks.

    Returns
    -------
    keras.callbacks.History
    """
    check_model(model)
    epochs = check_positive_int(epochs, "epochs")
    steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    if epochs > 100_000 or steps_per_epoch > 1_000_000:
        raise ValueError(f"epochs={epochs:,} and steps_per_epoch={steps_per_epoch:,} would train for days; "
                         "the course uses at most a few hundred epochs.")
    if not (isinstance(loss, str) or callable(loss)):
        raise TypeError(f"loss should be a Keras loss name or a loss function, got {type(loss).__name__}.")
    if isinstance(loss, str):
        try:
            keras.losses.get(loss)
        except ValueError:
            raise ValueError(f"loss {loss!r} is not a Keras loss name; use e.g. 'binary_crossentropy' or "
                             "segtutor.losses.keras_loss('bce_dice').") from None
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics should be a list of metrics, e.g. ['accuracy'], got {metrics!r:.80}.")
    if isinstance(callbacks, str) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks should be a list of keras.callbacks.Callback, got {callbacks!r:.80}.")
    check_str(monitor, "monitor")
    verbose = int(check_choice(verbose, "verbose", (0, 1, 2)))
    if live is not None:
        live = check_bool(live, "live")
    if validation is not None and not (isinstance(validation, tuple) and len(validation) == 2) \
            and not hasattr(validation, "element_spec"):
        raise TypeError(f"validation should be (images, targets) or a tf.data.Dataset, got {type(validation).__name__}.")
    try:
        first_images, first_targets = next(iter(train))
    except (TypeError, ValueError, StopIteration) as exc:
        raise TypeError(f"train should yield (images, targets) batches (a tf.data.Dataset), got "
                        f"{type(train).__name__} ({exc}).") from None
    check_batch(model, first_images, first_targets)
    if validation is not None and isinstance(validation, tuple):
        check_batch(model, validation[0], validation[1])
    schedule = cosine_schedule(learning_rate, epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=list(metrics), jit_compile=False)
    extra = list(callbacks)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
        mode = "max" if any(word in monitor for word in ("dice", "iou", "accuracy")) else "min"
        extra.append(keras.callbacks.EarlyStopping(monitor, patience=patience, mode=mode, restore_best_weights=True))
    if live is None or live:
        extra.append(LiveHistory(display=live))
    return model.fit(train, validation_data=validation, epochs=epochs, steps_per_epoch=steps_per_epoch,
                     callbacks=extra, verbose=verbose)
