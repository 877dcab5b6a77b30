"""Door swing against the room: a hinged part may open only as far as the room lets it.

A cabinet backed into a corner cannot open its door 110°: the door would pass through the side
wall (or the fridge next to it). Once the scene is assembled, every revolute joint's part is
swept from closed toward its open limit in small steps; the first step at which a point of the
part leaves the room or enters another object's box is where a real door would stop, so the
limit is set just before it (written as an override in ``scene.usda``). Drawers (prismatic
joints) are swept the same way along their slide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdPhysics

STEP_DEG = 2.0
STEP_M = 0.01
MARGIN_DEG = 2.0
#: How far a swept point may pass a wall or neighbour box before it counts as a hit (m).
TOLERANCE = 0.005


@dataclass(frozen=True)
class Clamp:
    object_id: str
    joint: str
    before_deg: float
    after_deg: float
    blocked_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "joint": self.joint,
            "before_deg": round(self.before_deg, 3),
            "after_deg": round(self.after_deg, 3),
            "blocked_by": self.blocked_by,
        }


def _points(bbox: Gf.BBox3d, spacing: float = 0.03) -> np.ndarray:
    """A grid over an oriented box (at most ``spacing`` apart, corners included), in world space:
    dense enough that a neighbour's corner cannot slip between two samples of a door."""
    rng, m = bbox.GetRange(), bbox.GetMatrix()
    lo, hi = np.array(list(rng.GetMin())), np.array(list(rng.GetMax()))
    axes = [np.linspace(lo[i], hi[i], max(2, min(40, int(np.ceil((hi[i] - lo[i]) / spacing)) + 1))) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    mat = np.array(m, dtype=float)  # row-vector convention
    world: np.ndarray = np.hstack([grid, np.ones((len(grid), 1))]) @ mat[:, :3]
    return world


def _rotate(points: np.ndarray, pivot: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    v = points - pivot
    c, s = math.cos(angle), math.sin(angle)
    rotated: np.ndarray = pivot + v * c + np.cross(k, v) * s + np.outer(v @ k, k) * (1 - c)
    return rotated


def _hit(
    points: np.ndarray,
    room_lo: np.ndarray,
    room_hi: np.ndarray,
    horizontal: list[int],
    others: dict[str, tuple[np.ndarray, np.ndarray]],
) -> str | None:
    for axis in horizontal:
        if (points[:, axis] < room_lo[axis] - TOLERANCE).any() or (points[:, axis] > room_hi[axis] + TOLERANCE).any():
            return "wall"
    for oid, (lo, hi) in others.items():
        inside = ((points > lo + TOLERANCE) & (points < hi - TOLERANCE)).all(axis=1)
        if inside.any():
            return oid
    return None


def _units_per_metre(stage: Usd.Stage) -> float:
    return 1.0 / float(UsdGeom.GetStageMetersPerUnit(stage) or 1.0)


def clamp_swings(
    stage: Usd.Stage,
    objects: dict[str, str],
    articulated: set[str],
    room_lo: tuple[float, float, float],
    room_hi: tuple[float, float, float],
    up_axis: str,
) -> list[Clamp]:
    """Limit every revolute joint of the ``articulated`` objects (``objects``: id → prim path)
    to the swing the room allows; returns what was changed."""
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    xf = UsdGeom.XformCache()
    boxes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for oid, path in objects.items():
        rng = cache.ComputeWorldBound(stage.GetPrimAtPath(path)).ComputeAlignedRange()
        boxes[oid] = (np.array(list(rng.GetMin())), np.array(list(rng.GetMax())))
    horizontal = [0, 2] if up_axis == "Y" else [0, 1]
    lo, hi = np.array(room_lo, dtype=float), np.array(room_hi, dtype=float)
    out: list[Clamp] = []
    for oid in sorted(articulated):
        prim = stage.GetPrimAtPath(objects[oid])
        joints = prim.GetChild("Joints")
        others = {k: v for k, v in boxes.items() if k != oid}
        for jp in joints.GetChildren() if joints else []:
            revolute = jp.IsA(UsdPhysics.RevoluteJoint)
            if not revolute and not jp.IsA(UsdPhysics.PrismaticJoint):
                continue
            joint = UsdPhysics.RevoluteJoint(jp) if revolute else UsdPhysics.PrismaticJoint(jp)
            body0, body1 = joint.GetBody0Rel().GetTargets(), joint.GetBody1Rel().GetTargets()
            if not body0 or not body1:
                continue
            base, part = stage.GetPrimAtPath(body0[0]), stage.GetPrimAtPath(body1[0])
            to_world = xf.GetLocalToWorldTransform(base)
            pivot = np.array(list(to_world.Transform(Gf.Vec3d(*joint.GetLocalPos0Attr().Get()))))
            letter = str(joint.GetAxisAttr().Get() or "X")
            axis = np.array(list(to_world.TransformDir(Gf.Vec3d(*(1.0 if c == letter else 0.0 for c in "XYZ")))))
            lower, upper = float(joint.GetLowerLimitAttr().Get()), float(joint.GetUpperLimitAttr().Get())
            opening = upper if abs(upper) >= abs(lower) else lower
            points = _points(cache.ComputeWorldBound(part))
            step = STEP_DEG if revolute else STEP_M * _units_per_metre(stage)
            margin = MARGIN_DEG if revolute else 0.0
            allowed, blocker = abs(opening), ""
            amount = step
            while amount <= abs(opening) + 1e-9:
                signed = math.copysign(amount, opening)
                moved = (
                    _rotate(points, pivot, axis, math.radians(signed))
                    if revolute
                    else points + axis / np.linalg.norm(axis) * signed
                )
                what = _hit(moved, lo, hi, horizontal, others)
                if what is not None:
                    allowed, blocker = max(0.0, amount - step - margin), what
                    break
                amount += step
            if allowed < abs(opening):
                limit = math.copysign(allowed, opening)
                (joint.GetUpperLimitAttr() if opening == upper else joint.GetLowerLimitAttr()).Set(float(limit))
                out.append(Clamp(oid, jp.GetName(), opening, limit, blocker))
    return out
