"""Bounded JSON: a document nested deeper than any real bpflow document is refused, not crashed on.

``json.loads`` of ``[[[[...]]]]`` a few thousand levels deep raises ``RecursionError`` (a 500 in
the API, a traceback in ``bpflow status``), and a few hundred levels pass the parser only to blow
up whichever recursive code walks the value next (a validator, a renderer). Every JSON that
comes from outside (an HTTP body, an object of the bucket) is read through :func:`loads_bounded`.
"""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.errors import ValidationFailed

#: Deeper than any document bpflow writes or reads (scene requests nest ~5 levels).
MAX_JSON_DEPTH = 64


class JsonTooDeep(ValidationFailed):
    code = "json_too_deep"


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), counted without recursion; stops
    counting once past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def loads_bounded(raw: bytes | str, *, field: str = "body", limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises :class:`JsonTooDeep` (field ``field``) instead of recursing
    without end; other parse errors stay ``ValueError`` as with ``json.loads``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested too deeply (more than {limit} levels)", field=field) from None
    if json_depth(value, limit) > limit:
        raise JsonTooDeep(f"JSON nested too deeply (more than {limit} levels)", field=field)
    return value
