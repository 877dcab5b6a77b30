"""A contract problem and the helpers that word it, in a module of their own: the schema checks
(``bpflow.core.contracts``) and the rules checked in code (``bpflow.core.contracts.rules``) both
build problems, and neither should have to import the other for it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Messages quote offending values; a 1 MB string must not become a 1 MB message.
_MAX_SHOWN = 60
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*\Z")


@dataclass(frozen=True)
class Problem:
    """One contract violation: where (a JSON path), what is wrong, and a stable code."""

    field: str
    message: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


def format_path(parts: Any) -> str:
    """``["objects", 2, "transform"]`` → ``objects[2].transform``; the document itself is ``$``.

    Keys that are not plain identifiers are quoted (``constraints["a.b"]``) so a path never
    becomes ambiguous.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "$"


def show(value: Any) -> str:
    """A short, safe rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


#: JSON's names for Python values (bool before int: ``True`` is an ``int`` in Python).
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, for messages such as "must be a string, got array"."""
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)
