"""One way to reach TensorFlow: segtutor._backend, and only where it is needed.

Every module reaches TensorFlow and Keras through ``_backend.tensorflow()``
and ``_backend.keras()`` (quiet, lazy, cached), never with its own
``import tensorflow`` or ``import keras``; and importing a module that only
draws or computes in NumPy does not load TensorFlow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "segtutor"
GATEWAY = PACKAGE / "_backend.py"


def direct_imports(path: Path) -> list[str]:
    """``"file:line"`` for each ``import tensorflow``/``import keras``/``from keras import x`` in ``path``.

    Deep imports of a submodule (``from tensorflow.core.framework import summary_pb2``) are allowed:
    they need the package already loaded, which only the gateway does.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        if any(name in ("tensorflow", "keras") for name in names):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_only_the_gateway_imports_tensorflow_and_keras():
    paths = [p for p in PACKAGE.rglob("*.py") if p != GATEWAY]
    found = [hit for p in sorted(paths) for hit in direct_imports(p)]
    assert not found, "use segtutor._backend.keras() / .tensorflow() instead:\n" + "\n".join(found)
    assert direct_imports(GATEWAY), "the gateway itself imports TensorFlow and Keras"


def test_every_module_that_calls_the_gateway_imports_it():
    # A module-level `from . import _backend`: an import inside one function does not serve the others.
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        uses = any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "_backend"
                   for n in ast.walk(tree))
        bound = any(isinstance(n, ast.ImportFrom) and any(a.name == "_backend" for a in n.names) for n in tree.body)
        if uses and not bound:
            missing.append(str(path.relative_to(PACKAGE.parent)))
    assert not missing, f"these modules call _backend without importing it at the top: {missing}"


def test_numpy_modules_import_without_tensorflow():
    # A fresh interpreter: the modules a notebook imports before it trains, and DeepLab's module, whose
    # atrous picture (notebook 07's widget) is NumPy; none of them may load TensorFlow.
    modules = ["segtutor", "segtutor.viz", "segtutor.metrics", "segtutor.datasets", "segtutor.dense",
               "segtutor.learning", "segtutor.losses", "segtutor.pseudo_labels", "segtutor.models.deeplab",
               "segtutor.models.unet", "segtutor.models.cnn", "segtutor.widgets.atrous", "segtutor.semi",
               "segtutor.maskrcnn.box_coding", "segtutor.maskrcnn.inference"]
    code = (f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
            "    assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, m + ' loaded TensorFlow'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_gateway_is_quiet_and_cached():
    code = ("import os, sys\nfrom segtutor import _backend\nkeras = _backend.keras()\n"
            "assert keras is sys.modules['keras'] and _backend.keras() is keras\n"
            "assert _backend.tensorflow() is sys.modules['tensorflow']\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['KERAS_BACKEND'])\n")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", "tensorflow"]


_EAGER_PROBE = """
from segtutor import _backend
tf = _backend.tensorflow()
print(bool(tf.function(lambda: tf.executing_eagerly())()))
"""


def test_segtutor_eager_runs_tensorflow_functions_eagerly_and_only_when_set():
    import os

    def probe(value):
        env = {k: v for k, v in os.environ.items() if k != "SEGTUTOR_EAGER"}
        if value is not None:
            env["SEGTUTOR_EAGER"] = value
        done = subprocess.run([sys.executable, "-c", _EAGER_PROBE], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            return done.stderr
        return done.stdout.split()[-1]

    assert probe("1") == "True"
    assert probe(None) == "False"
    assert probe("off") == "False"
    # read through segtutor.modes.read_flag, like SEGTUTOR_FAST: a typo is an error, not a silent "off"
    assert "SEGTUTOR_EAGER='maybe' is not understood" in probe("maybe")
