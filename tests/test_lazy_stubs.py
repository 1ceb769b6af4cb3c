"""The lazy public names of segtutor's packages, read from ``.pyi`` stubs by lazy_loader.

A package's ``__init__.py`` calls ``lazy_loader.attach_stub(__name__, __file__)``
(as scikit-image does): its ``__init__.pyi`` lists the submodules and the
names each submodule gives, and nothing is imported until it is used. These
tests check that every name a stub lists resolves to what the stub says,
that the stubs are the only lists (no hand-written ``__getattr__`` table
left), and that ``import segtutor`` stays light: no TensorFlow, no Keras and
none of the lazy submodules.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "segtutor"
STUBS = sorted(PACKAGE.rglob("__init__.pyi"))


def package_of(stub: Path) -> str:
    return ".".join(stub.parent.relative_to(PACKAGE.parent).parts)


def stub_entries(stub: Path) -> list[tuple[str, str | None]]:
    """``(name, submodule)`` for each ``from .sub import name``; ``(submodule, None)`` for ``from . import sub``."""
    entries = []
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1, f"{stub}: only `from . import x` and `from .x import y` are read by lazy_loader"
            entries += [(alias.name, node.module) for alias in node.names]
    return entries


def test_the_packages_with_lazy_names_have_stubs():
    assert {package_of(s) for s in STUBS} == {"segtutor", "segtutor.datasets", "segtutor.grading", "segtutor.training",
                                              "segtutor.widgets"}


def test_no_hand_written_getattr_tables():
    # The stubs are the one list: a package that wants lazy names gets an __init__.pyi.
    found = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
             if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in ast.parse(p.read_text()).body)]
    assert not found, f"replace these module __getattr__ functions by an __init__.pyi and lazy_loader: {found}"


@pytest.mark.parametrize("stub", STUBS, ids=package_of)
def test_every_name_of_the_stub_resolves(stub):
    package = importlib.import_module(package_of(stub))
    entries = stub_entries(stub)
    assert entries, f"{stub} lists nothing"
    for name, submodule in entries:
        value = getattr(package, name)
        if submodule is None:
            assert isinstance(value, types.ModuleType), f"{package.__name__}.{name} should be a submodule"
            assert value.__name__ == f"{package.__name__}.{name}"
        else:
            where = importlib.import_module(f"{package.__name__}.{submodule}")
            assert value is getattr(where, name), f"{package.__name__}.{name} is not {where.__name__}.{name}"
    # __all__ and dir() come from the stub, so a name added to the stub is public at once.
    assert {name for name, _ in entries} <= set(package.__all__) <= set(dir(package))


def test_an_unknown_name_is_an_attribute_error():
    import segtutor.datasets

    with pytest.raises(AttributeError):
        segtutor.datasets.make_squares  # noqa: B018
    assert not hasattr(importlib.import_module("segtutor"), "no_such_module")


def test_import_segtutor_is_light():
    # A fresh interpreter: the top-level import loads the environment helpers and nothing lazy.
    lazy = sorted(name for name, sub in stub_entries(PACKAGE / "__init__.pyi") if sub is None and name != "environment")
    code = ("import sys, segtutor\n"
            f"loaded = [m for m in ['tensorflow', 'keras'] + ['segtutor.' + n for n in {lazy!r}] if m in sys.modules]\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", f"import segtutor loaded {result.stdout.strip()}"
