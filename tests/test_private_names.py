"""No module of segtutor uses another module's private (underscore) names.

A name that starts with an underscore is free to change with its module; a
name two modules share is public in the module that owns it. This walks the
syntax tree of every module and fails on ``from x import _name`` and on
``x._name`` where ``x`` is another segtutor module. Importing a private
*module* from inside its own package (``from . import _checks``) is fine;
import-linter's private-modules contract (tests/test_layers.py) checks that
those stay inside their package.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "segtutor"



def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of segtutor (so importing it is importing a module)."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def private_uses(path: Path) -> list[str]:
    """``"importer:line uses module._name"`` for every use of another module's private name in ``path``."""
    importer = module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    aliases: dict[str, str] = {}  # local name -> segtutor module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(importer, path.name == "__init__.py", node)
            if not source.startswith("segtutor"):
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if is_module(target):
                    aliases[alias.asname or alias.name] = target
                elif private(alias.name) and source != importer:
                    found.append(f"{importer}:{node.lineno} uses {target}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("segtutor"):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.asname and alias.name or "segtutor"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr) and isinstance(node.value, ast.Name):
            owner = aliases.get(node.value.id)
            if owner and owner != importer and not is_module(f"{owner}.{node.attr}"):
                found.append(f"{importer}:{node.lineno} uses {owner}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 80
    found = [use for p in paths for use in private_uses(p)]
    assert not found, "make these names public in the module that owns them:\n" + "\n".join(found)


def test_the_check_sees_both_spellings(tmp_path, monkeypatch):
    # The check itself, on a two-module package: a private name imported, and one reached as an attribute.
    package = tmp_path / "segtutor"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "owner.py").write_text("def _helper():\n    pass\n")
    (package / "user.py").write_text("from .owner import _helper\nfrom . import owner\nowner._helper()\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", package)
    assert private_uses(package / "user.py") == ["segtutor.user:1 uses segtutor.owner._helper",
                                                 "segtutor.user:3 uses segtutor.owner._helper"]
    assert private_uses(package / "owner.py") == []
