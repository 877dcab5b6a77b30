"""bpflow's import graph, read from the source with ``ast`` (no import side effects).

Imports inside functions and under ``TYPE_CHECKING`` count too: a deferred import is still a
dependency. Used by the import-layer and import-cycle tests.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent.parent / "src" / "bpflow"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in SRC.rglob("*.py"))


def imports(path: Path) -> set[str]:
    """Every ``bpflow…`` module the file imports (``from a import b`` counts ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "bpflow")
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (the layout rule reads absolute ones)"
            module = node.module or ""
            if module.split(".")[0] != "bpflow":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in modules() else module)
    return found


@cache
def edges() -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        importer = module_name(path)
        out += [(importer, imported) for imported in sorted(imports(path))]
    return tuple(out)
