"""The text progress bar of ``segtutor train``: step, loss, metric, elapsed time and time left.

``keras.utils.Progbar`` draws one line per epoch where the output is not a
terminal (a log file, CI), and a run of ``segtutor train`` is one long
stretch of steps split into checkpoint chunks, not epochs; this bar prints a
line about every 10 % of the whole run instead, and on a terminal redraws one
line as Progbar does.

Examples
--------
>>> import io
>>> bar = ProgressBar(10, "dice", stream=io.StringIO())
>>> bar.line(0, 0.5, 0.25).startswith("[........................] step 0/10  loss 0.5000  dice 0.2500")
True
"""

from __future__ import annotations

import math
import sys
import time

from .. import _backend
from .._validate import check_positive_int

__all__ = ["ProgressBar"]


def _callback_base():
    keras = _backend.keras()

    return keras.callbacks.Callback


class ProgressBar:
    """A text progress bar: step, loss, metric, elapsed time and time left.

    On a terminal it redraws one line; elsewhere (logs, tests) it prints a
    line about every 10 % of the run.

    Parameters
    ----------
    total_steps : int
    metric : str
        The metric shown next to the loss.
    stream : file, optional
        Default ``sys.stderr``.
    """

    def __init__(self, total_steps: int, metric: str, *, stream=None, first_step: int = 0):
        self.total = check_positive_int(total_steps, "total_steps")
        self.metric = str(metric)
        self.stream = stream if stream is not None else sys.stderr
        self.first = check_positive_int(first_step, "first_step", minimum=0)
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_printed = -1

    def line(self, step: int, loss: float, metric: float | None) -> str:
        """The text shown after ``step`` steps."""
        elapsed = time.perf_counter() - self.start
        done = step - self.first
        left = elapsed / done * (self.total - step) if done > 0 else float("nan")
        width = 24
        filled = int(width * step / self.total)
        bar = "#" * filled + "." * (width - filled)
        shown = f"  {self.metric} {metric:.4f}" if metric is not None else ""
        left_text = "?" if math.isnan(left) else f"{left:.0f} s"
        return f"[{bar}] step {step}/{self.total}  loss {loss:.4f}{shown}  {elapsed:.0f} s, about {left_text} left"

    def update(self, step: int, loss: float, metric: float | None) -> None:
        text = self.line(step, loss, metric)
        if self.tty:
            self.stream.write("\r" + text)
            if step >= self.total:
                self.stream.write("\n")
        else:
            tenth = (10 * step) // self.total
            if tenth == self._last_printed and step < self.total:
                return
            self._last_printed = tenth
            self.stream.write(text + "\n")
        self.stream.flush()

    def callback(self, chunk_start: int):
        """A Keras callback that feeds this bar during one ``fit`` call."""
        bar, metric = self, self.metric

        class _Feed(_callback_base()):
            def on_train_batch_end(self, batch, logs=None):
                logs = logs or {}
                value = logs.get(metric)
                bar.update(chunk_start + batch + 1, float(logs.get("loss", float("nan"))),
                           None if value is None else float(value))

        return _Feed()
