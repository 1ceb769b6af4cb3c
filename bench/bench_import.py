"""Import time of ``segtutor`` (without TensorFlow) and of TensorFlow itself, median of 5 fresh processes."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path


def _time_import(statement: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout.strip()) for _ in range(repeats)]
    return statistics.median(times)


def run() -> list[dict]:
    return [
        {"benchmark": "import segtutor", "value": _time_import("import segtutor"), "unit": "s",
         "target": "< 0.5 s", "note": "median of 5; TensorFlow not loaded"},
        {"benchmark": "import segtutor.datasets, metrics, viz",
         "value": _time_import("import segtutor.datasets, segtutor.metrics, segtutor.viz"), "unit": "s",
         "target": "", "note": "median of 5"},
        {"benchmark": "import segtutor.models.deeplab, widgets.atrous",
         "value": _time_import("import segtutor.models.deeplab, segtutor.widgets.atrous"), "unit": "s",
         "target": "< 1 s", "note": "median of 5; the atrous picture needs no TensorFlow"},
        {"benchmark": "import tensorflow (quiet)",
         "value": _time_import("from segtutor.environment import import_tensorflow; import_tensorflow()"),
         "unit": "s", "target": "", "note": "median of 5; paid once by notebooks 03+"},
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import format_table

    print(format_table(run()))
