"""Independent physical check of a written scene: the numbers the quality gate and tests trust.

It reads package objects (the JSON the job writes, not the solver's internals), so it also
judges scenes that came from a remote backend, and a solver bug cannot hide from it. An object
is *supported* when it stands upright on the floor (y = 0) or on its ``parent_support_id``'s top
face (y = parent base + parent height, footprint inside the parent's). *Inside* means the whole
box is within the room box. Two objects *interpenetrate* when their oriented boxes overlap by
more than ``TOLERANCE`` (contact is allowed; coordinates are rounded to 0.1 mm).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bpflow.domain.scene.obb import Footprint, UprightBox, contains, quaternion_yaw, upright_penetration

TOLERANCE = 2e-4
FLOOR_IDS = (None, "", "room_floor")


@dataclass(frozen=True)
class Body:
    id: str
    box: UprightBox
    parent: str | None
    upright: bool


@dataclass
class LayoutReport:
    """What is physically wrong with a layout (empty lists: nothing)."""

    object_count: int
    interpenetrations: list[tuple[str, str, float]] = field(default_factory=list)
    outside_room: list[str] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pair_count(self) -> int:
        return self.object_count * (self.object_count - 1) // 2

    @property
    def ok(self) -> bool:
        return not (self.interpenetrations or self.outside_room or self.unsupported)

    def metrics(self) -> dict[str, Any]:
        n = self.object_count
        depths = [d for _, _, d in self.interpenetrations]
        supported = n - len({oid for oid, _ in self.unsupported})
        return {
            "collision_rate_pct": round(100.0 * len(depths) / max(1, self.pair_count), 3),
            "interpenetrating_pairs": len(depths),
            "mean_collision_depth_mm": round(1000.0 * sum(depths) / len(depths), 3) if depths else 0.0,
            "out_of_bounds_count": len(self.outside_room),
            "unsupported_count": n - supported,
            "stability_pct": round(100.0 * supported / n, 3) if n else 100.0,
            "fallen_object_rate_pct": round(100.0 * (n - supported) / n, 3) if n else 0.0,
        }


def _xyz(value: Any, keys: Sequence[str]) -> list[float]:
    if isinstance(value, Mapping):
        return [float(value.get(k, 0.0)) for k in keys]
    return [float(v) for v in value]


def body_of(obj: Mapping[str, Any]) -> Body:
    """The oriented box of a package object (base-anchored y, dimensions in its own frame)."""
    t = obj.get("transform") or {}
    x, y, z = _xyz(t.get("position") or {}, ("x", "y", "z"))
    dims = obj.get("dimensions_est") or {}
    w, h, d = (float(dims.get(k, 0.0)) for k in ("width", "height", "depth"))
    scale = t.get("scale") or {}
    if isinstance(scale, Mapping):
        w, h, d = w * float(scale.get("x", 1.0)), h * float(scale.get("y", 1.0)), d * float(scale.get("z", 1.0))
    q = t.get("rotation_quaternion") or {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}
    upright = abs(float(q.get("x", 0.0))) < 1e-6 and abs(float(q.get("z", 0.0))) < 1e-6
    fp = Footprint(x, z, w / 2.0, d / 2.0, quaternion_yaw(q))
    parent = obj.get("parent_support_id")
    return Body(str(obj.get("id")), UprightBox(fp, y, y + h), None if parent in FLOOR_IDS else str(parent), upright)


def check_layout(objects: Sequence[Mapping[str, Any]], room_box: Mapping[str, Sequence[float]]) -> LayoutReport:
    """Check every object and every pair; see the module docstring for the three rules."""
    bodies = [body_of(o) for o in objects]
    by_id = {b.id: b for b in bodies}
    lo, hi = [float(v) for v in room_box["min"]], [float(v) for v in room_box["max"]]
    room = Footprint((lo[0] + hi[0]) / 2, (lo[2] + hi[2]) / 2, (hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2)
    report = LayoutReport(len(bodies))
    for body in bodies:
        box = body.box
        if not (
            contains(room, box.footprint, tol=TOLERANCE) and box.y0 >= lo[1] - TOLERANCE and box.y1 <= hi[1] + TOLERANCE
        ):
            report.outside_room.append(body.id)
        reason = _support_problem(body, by_id, lo[1])
        if reason:
            report.unsupported.append((body.id, reason))
    for i, a in enumerate(bodies):
        for b in bodies[i + 1 :]:
            depth = upright_penetration(a.box, b.box)
            if depth > TOLERANCE:
                report.interpenetrations.append((a.id, b.id, depth))
    return report


def _support_problem(body: Body, by_id: Mapping[str, Body], floor_y: float) -> str | None:
    if not body.upright:
        return "not_upright"
    if any(math.isnan(v) for v in (body.box.y0, body.box.footprint.cx, body.box.footprint.cz)):
        return "invalid_position"
    if body.parent is None:
        return None if abs(body.box.y0 - floor_y) <= TOLERANCE else "floating_above_floor"
    parent = by_id.get(body.parent)
    if parent is None:
        return "unknown_support"
    if abs(body.box.y0 - parent.box.y1) > TOLERANCE:
        return "not_on_support_top"
    if not contains(parent.box.footprint, body.box.footprint, tol=TOLERANCE):
        return "overhangs_support"
    return None
