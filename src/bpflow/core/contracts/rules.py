"""Contract rules JSON Schema cannot express, checked after a document passed its schema.

Why in code: uniqueness of ids across a list, a matrix being a rotation, ``min <= max`` and the
consistency of a variants index with its seed count decide whether a downstream stage places
the right object at the right spot, yet a schema can only describe one value at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from bpflow.core.contracts.problems import Problem, format_path, show

Rule = Callable[[Any], list[Problem]]

_ROTATION_TOLERANCE = 1e-3


def _finite_numbers(doc: Any) -> list[Problem]:
    """NaN and Infinity are not JSON; Python writes them anyway, and USD math breaks on them."""

    def walk(value: Any, path: list[str | int]) -> Iterator[Problem]:
        if isinstance(value, float) and not math.isfinite(value):
            yield Problem(format_path(path), f"must be a finite number, got {value}", "not_finite")
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, [*path, key])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, [*path, i])

    return list(walk(doc, []))


def unique_ids(list_key: str = "objects", id_key: str = "id") -> Rule:
    def rule(doc: Any) -> list[Problem]:
        seen: dict[Any, int] = {}
        out: list[Problem] = []
        for i, item in enumerate(doc.get(list_key, [])):
            value = item.get(id_key) if isinstance(item, dict) else None
            if value is None:
                continue
            if value in seen:
                out.append(
                    Problem(
                        format_path([list_key, i, id_key]),
                        f"duplicate id {show(value)} (first at {list_key}[{seen[value]}])",
                        "duplicate_id",
                    )
                )
            else:
                seen[value] = i
        return out

    return rule


def _box_ordered(*path: str) -> Rule:
    """``<path>.min[k] <= <path>.max[k]`` on every axis."""

    def rule(doc: Any) -> list[Problem]:
        box: Any = doc
        for key in path:
            box = box.get(key) if isinstance(box, dict) else None
        if not isinstance(box, dict):
            return []
        lo, hi = box.get("min"), box.get("max")
        if not (isinstance(lo, list) and isinstance(hi, list)):
            return []
        return [
            Problem(format_path([*path, "max", k]), f"max {hi[k]} is below min {lo[k]}", "box_inverted")
            for k in range(min(len(lo), len(hi)))
            if hi[k] < lo[k]
        ]

    return rule


def _rotations(doc: Any) -> list[Problem]:
    """Each ``obb.R`` must be a proper rotation (orthonormal, determinant +1)."""
    out: list[Problem] = []
    for i, obj in enumerate(doc.get("objects", [])):
        r = obj.get("obb", {}).get("R") if isinstance(obj, dict) else None
        if not isinstance(r, list) or len(r) != 3:
            continue
        err = max(
            abs(sum(r[a][k] * r[b][k] for k in range(3)) - (1.0 if a == b else 0.0)) for a in range(3) for b in range(3)
        )
        det = (
            r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
            - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0])
        )
        if not math.isfinite(err) or err > _ROTATION_TOLERANCE or abs(det - 1.0) > _ROTATION_TOLERANCE:
            out.append(
                Problem(
                    format_path(["objects", i, "obb", "R"]),
                    "must be a rotation matrix (orthonormal, det +1)",
                    "not_rotation",
                )
            )
    return out


def _variants_match_seeds(doc: Any) -> list[Problem]:
    """A variants index is written once every seed finished: ``<scene_id>-s001..sNNN`` in order."""
    scene_id, variants, count = doc["scene_id"], doc["variants"], doc["seed_count"]
    out: list[Problem] = []
    if len(variants) != count:
        out.append(Problem("variants", f"has {len(variants)} entries; seed_count is {count}", "count_mismatch"))
    for i, variant in enumerate(variants):
        want = {"scene_id": f"{scene_id}-s{i + 1:03d}", "seed": i + 1}
        for key, value in want.items():
            if variant.get(key) != value:
                out.append(
                    Problem(
                        format_path(["variants", i, key]),
                        f"must be {show(value)}; got {show(variant.get(key))}",
                        "variant_mismatch",
                    )
                )
    return out


_RULES: dict[str, list[Rule]] = {
    "scene_manifest": [unique_ids()],
    "scene_layout_scaled": [unique_ids(), _rotations, _box_ordered("room_box")],
    "inventory": [unique_ids()],
    "textgen_package": [unique_ids()],
    "variants_index": [_variants_match_seeds],
}


def extra_rules(name: str) -> list[Rule]:
    return [_finite_numbers, *_RULES.get(name, [])]
