"""Reading untrusted JSON field by field, collecting every problem with its path.

Stage-2 inputs come from another stage (or a person), so a job reports *all* that is wrong
with them at once, each problem naming its JSON path (``objects[2].transform.position.x``),
instead of dying on the first ``KeyError`` with a traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from bpflow.core.errors import ValidationFailed


@dataclass
class Problems:
    """Problems found while reading one document; ``raise_if_any`` turns them into one error."""

    document: str
    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})

    def raise_if_any(self, code: str) -> None:
        if not self.items:
            return
        first = self.items[0]
        more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
        raise ValidationFailed(
            f"{self.document}: {first['field']}: {first['message']}{more}",
            code=code,
            field=first["field"],
            details={"document": self.document, "problems": self.items[:50]},
        )


def parse_json_object(raw: bytes, document: str, code: str) -> dict[str, Any]:
    """The document as a JSON object, or a ValidationFailed naming why it is not one."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationFailed(f"{document} is not UTF-8 text", code=code, field=document) from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{document} is not valid JSON: {exc.msg} at line {exc.lineno}", code=code, field=document
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed(
            f"{document} must be a JSON object, got {type(value).__name__}", code=code, field=document
        )
    return value


def number(
    value: Any, path: str, problems: Problems, *, positive: bool = False, minimum: float | None = None
) -> float | None:
    """A finite number (bools are not numbers here), or None after recording why not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.add(path, f"must be a finite number, got {value!r}"[:200])
        return None
    if positive and value <= 0:
        problems.add(path, f"must be > 0, got {value!r}")
        return None
    if minimum is not None and value < minimum:
        problems.add(path, f"must be >= {minimum}, got {value!r}")
        return None
    return float(value)


def vec3(
    value: Any, path: str, problems: Problems, *, positive: bool = False, keys: tuple[str, str, str] = ("x", "y", "z")
) -> tuple[float, float, float] | None:
    """A 3-vector given as ``[a, b, c]`` or ``{"x": a, "y": b, "z": c}`` (or other ``keys``)."""
    if isinstance(value, dict):
        items = [(f"{path}.{k}", value.get(k)) for k in keys]
    elif isinstance(value, (list, tuple)) and len(value) == 3:
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        problems.add(path, f"must be a 3-vector ([a, b, c] or an object with {', '.join(keys)})")
        return None
    out = [number(v, p, problems, positive=positive) for p, v in items]
    if any(v is None for v in out):
        return None
    return (out[0], out[1], out[2])  # type: ignore[return-value]


def quat_wxyz(value: Any, path: str, problems: Problems) -> tuple[float, float, float, float] | None:
    """A rotation quaternion ``{w, x, y, z}`` or ``[w, x, y, z]``, normalised; zero length is refused."""
    if isinstance(value, dict):
        items = [(f"{path}.{k}", value.get(k)) for k in ("w", "x", "y", "z")]
    elif isinstance(value, (list, tuple)) and len(value) == 4:
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        problems.add(path, "must be a quaternion ([w, x, y, z] or an object with w, x, y, z)")
        return None
    q = [v for v in [number(v, p, problems) for p, v in items] if v is not None]
    if len(q) != len(items):
        return None
    norm = math.sqrt(sum(v * v for v in q))
    if norm < 1e-9:
        problems.add(path, "must not be a zero quaternion")
        return None
    return (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm)


def matrix3(value: Any, path: str, problems: Problems) -> tuple[tuple[float, float, float], ...] | None:
    """A 3×3 rotation matrix (rows), checked to be orthonormal with determinant +1."""
    if not (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(r, (list, tuple)) and len(r) == 3 for r in value)
    ):
        problems.add(path, "must be a 3x3 matrix (three rows of three numbers)")
        return None
    rows = [[number(v, f"{path}[{i}][{j}]", problems) for j, v in enumerate(row)] for i, row in enumerate(value)]
    if any(v is None for row in rows for v in row):
        return None
    m = [[float(v) for v in row] for row in rows]  # type: ignore[arg-type]
    for i in range(3):
        for j in range(3):
            dot = sum(m[k][i] * m[k][j] for k in range(3))
            if abs(dot - (1.0 if i == j else 0.0)) > 1e-3:
                problems.add(path, "must be a rotation matrix (orthonormal)")
                return None
    det = (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )
    if det < 0:
        problems.add(path, "must be a proper rotation (determinant +1), not a reflection")
        return None
    return tuple((r[0], r[1], r[2]) for r in m)


def text(value: Any, path: str, problems: Problems, *, default: str | None = None, max_len: int = 512) -> str | None:
    """A non-empty string (or ``default`` when absent/null)."""
    if value is None:
        if default is None:
            problems.add(path, "is required")
        return default
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"must be a non-empty string, got {type(value).__name__}")
        return default
    if len(value) > max_len:
        problems.add(path, f"must be at most {max_len} characters")
        return default
    return value.strip()
