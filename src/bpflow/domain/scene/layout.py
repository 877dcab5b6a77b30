"""The scene layout (``layout/scene_layout_scaled.json``, else ``scene_layout.json``).

The layout, not the manifest transform, places objects in the USD (spec text §3.2). It is in
the manifest's units; ``unit`` (metres per unit) converts it to metres as it is read, except
``wall_thickness_m``, which says metres in its name. Each object
may carry an ``obb`` (``center`` = geometric centre, ``extents`` = half sizes, ``R`` = rotation
rows) and/or ``center3d`` (base-anchored on the text path: the object's bottom, not its centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.domain.scene.fields import Problems, matrix3, number, parse_json_object, quat_wxyz, vec3

CODE = "invalid_layout"
LAYOUT_FILES = ("scene_layout_scaled.json", "scene_layout.json")
DEFAULT_WALL_THICKNESS = 0.12
MIN_WALL_THICKNESS = 0.06

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Obb:
    center: Vec3
    extents: Vec3
    """Half sizes along the box's own axes."""
    rotation: tuple[Vec3, Vec3, Vec3]
    """Rows of R; a box point p maps to ``center + R @ p`` (column-vector convention)."""


@dataclass(frozen=True)
class LayoutObject:
    id: str
    center3d: Vec3 | None
    obb: Obb | None
    rotation_wxyz: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class Layout:
    objects: dict[str, LayoutObject]
    room_min: Vec3 | None
    room_max: Vec3 | None
    wall_thickness: float
    openings: tuple[dict[str, Any], ...]


IDENTITY: tuple[Vec3, Vec3, Vec3] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _m(v: Vec3 | None, k: float) -> Vec3 | None:
    return None if v is None else (v[0] * k, v[1] * k, v[2] * k)


def _obb(raw: Any, path: str, problems: Problems, unit: float) -> Obb | None:
    if not isinstance(raw, dict):
        problems.add(path, "must be an object with center, extents and R")
        return None
    center = vec3(raw.get("center"), f"{path}.center", problems)
    extents = vec3(raw.get("extents"), f"{path}.extents", problems, positive=True)
    rot = matrix3(raw["R"], f"{path}.R", problems) if raw.get("R") is not None else IDENTITY
    if center is None or extents is None or rot is None:
        return None
    return Obb(center=_m(center, unit), extents=_m(extents, unit), rotation=rot)  # type: ignore[arg-type]


def parse_layout(raw: bytes, *, document: str = "scene_layout_scaled.json", unit: float = 1.0) -> Layout:
    data = parse_json_object(raw, document, CODE)
    problems = Problems(document)
    objects: dict[str, LayoutObject] = {}
    raw_objects = data.get("objects")
    if not isinstance(raw_objects, list):
        problems.add("objects", "must be a list")
        raw_objects = []
    for i, item in enumerate(raw_objects):
        path = f"objects[{i}]"
        if not isinstance(item, dict):
            problems.add(path, "must be an object")
            continue
        oid = item.get("id")
        if not isinstance(oid, str) or not oid:
            problems.add(f"{path}.id", "must be a non-empty string")
            continue
        if oid in objects:
            problems.add(f"{path}.id", f"duplicate layout id {oid!r}")
            continue
        center3d = (
            _m(vec3(item["center3d"], f"{path}.center3d", problems), unit) if item.get("center3d") is not None else None
        )
        obb = _obb(item["obb"], f"{path}.obb", problems, unit) if item.get("obb") is not None else None
        rot = (
            quat_wxyz(item["rotation_quaternion"], f"{path}.rotation_quaternion", problems)
            if item.get("rotation_quaternion") is not None
            else None
        )
        objects[oid] = LayoutObject(id=oid, center3d=center3d, obb=obb, rotation_wxyz=rot)
    room_min = room_max = None
    box = data.get("room_box")
    if box is not None:
        if not isinstance(box, dict):
            problems.add("room_box", "must be an object with min and max")
        else:
            room_min = vec3(box.get("min"), "room_box.min", problems)
            room_max = vec3(box.get("max"), "room_box.max", problems)
            if room_min and room_max and any(hi <= lo for lo, hi in zip(room_min, room_max)):
                problems.add("room_box", "max must exceed min on every axis")
                room_min = room_max = None
    thickness = DEFAULT_WALL_THICKNESS
    if data.get("wall_thickness_m") is not None:
        thickness = max(
            MIN_WALL_THICKNESS,
            number(data["wall_thickness_m"], "wall_thickness_m", problems, positive=True) or DEFAULT_WALL_THICKNESS,
        )
    openings = data.get("openings") or []
    if not isinstance(openings, list):
        problems.add("openings", "must be a list")
        openings = []
    problems.raise_if_any(CODE)
    return Layout(
        objects=objects,
        room_min=_m(room_min, unit),
        room_max=_m(room_max, unit),
        wall_thickness=thickness,
        openings=tuple(o for o in openings if isinstance(o, dict)),
    )
