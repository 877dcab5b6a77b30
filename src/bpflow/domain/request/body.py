"""Step 0 of reading a scene request: bytes → one JSON document, or the reason it is not one.

Why separate and strict: a request is written by people and by other tools, and whatever is
ambiguous here (a BOM, a duplicate key, ``NaN``, a lone surrogate, 100 000 nested brackets)
would otherwise surface later as a crash in a worker or a file no downstream writer can store.
Every rejection is a :class:`~bpflow.core.contracts.Problem` that names the field when it can.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bpflow.core.contracts import Problem, format_path, show

__all__ = ["MAX_DEPTH", "MAX_REQUEST_BYTES", "decode_request", "unstorable_value"]

CODE = "invalid_scene_request"
MAX_REQUEST_BYTES = 256 * 1024
#: Oversized requests up to this size are still parsed, only to name the field at fault.
ATTRIBUTION_CAP = 8 * 1024 * 1024
MAX_DEPTH = 32


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _largest_field(raw: bytes) -> tuple[str, int]:
    """Which top-level field makes an oversized request too large (so the error can name it);
    ``$`` when the document cannot tell (not JSON, not an object, or far too large to parse)."""
    if len(raw) > ATTRIBUTION_CAP:
        return "$", len(raw)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return "$", len(raw)
    if not isinstance(doc, dict) or not doc:
        return "$", len(raw)
    key, size = max(((k, len(json.dumps(v))) for k, v in doc.items()), key=lambda kv: kv[1])
    return format_path([key]), size


def decode_request(raw: bytes) -> tuple[Any, Problem | None]:
    """``(document, None)`` or ``(None, problem)``."""

    def bad(message: str, where: str = "$") -> tuple[Any, Problem]:
        return None, Problem(where, message, CODE)

    if len(raw) > MAX_REQUEST_BYTES:
        where, size = _largest_field(raw)
        alone = f"; {where} alone is {size} bytes" if where != "$" else ""
        return bad(f"request is {len(raw)} bytes; the limit is {MAX_REQUEST_BYTES} (256 KiB){alone}", where)
    if raw.startswith(b"\xef\xbb\xbf"):
        return bad("starts with a UTF-8 byte-order mark; save the file as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(f"not UTF-8 text: invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        return bad(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except _DuplicateKey as exc:
        return bad(f"not valid JSON: key {show(exc.key)} appears more than once in one object", format_path([exc.key]))
    except RecursionError:
        return bad("not valid JSON: nested too deeply")
    except ValueError as exc:
        reason = "a number has more than 4300 digits" if "digits" in str(exc) else str(exc)[:160]
        return bad(f"not valid JSON: {reason}")
    problem = unstorable_value(doc, [])
    return (None, problem) if problem is not None else (doc, None)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_value(value: Any, path: list[str | int]) -> Problem | None:
    """Values no downstream writer can store: lone surrogates (not encodable as UTF-8) and
    structures nested deeper than :data:`MAX_DEPTH`."""
    if len(path) > MAX_DEPTH:
        return Problem(format_path(path), f"nested deeper than {MAX_DEPTH} levels", CODE)
    if isinstance(value, str):
        if not _encodable(value):
            return Problem(format_path(path), "contains an unpaired surrogate escape (\\ud800-\\udfff)", CODE)
        return None
    items: Iterator[tuple[str | int, Any]]
    if isinstance(value, dict):
        if not all(_encodable(key) for key in value):
            return Problem(format_path(path), "a key contains an unpaired surrogate escape (\\ud800-\\udfff)", CODE)
        items = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return None
    for key, item in items:
        problem = unstorable_value(item, [*path, key])
        if problem is not None:
            return problem
    return None
