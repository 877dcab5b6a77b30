"""Checks on a composed scene stage: what the USD quality gate (``USD_ASSEMBLED``) verifies.

For every object prim: it exists where the manifest says, sits at its placement centre, has a
rigid body with mass > 0 and at least one collider; articulated objects have limited joints;
and no two objects' world boxes interpenetrate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from pxr import Usd, UsdGeom, UsdPhysics

from bpflow.domain.scene.obb import Box, penetration
from bpflow.domain.usd.usd_util import bbox_cache, oriented_world_bound

OBJECTS_PATH = "/World/Objects"
POSITION_TOLERANCE = 1e-6
OVERLAP_TOLERANCE = 1e-3


@dataclass
class ObjectPhysics:
    rigid_bodies: int = 0
    colliders: int = 0
    masses: list[float] = field(default_factory=list)
    limited_joints: int = 0


def object_prims(stage: Usd.Stage) -> dict[str, Usd.Prim]:
    """Object prims by their ``bp:object_id``."""
    root = stage.GetPrimAtPath(OBJECTS_PATH)
    out: dict[str, Usd.Prim] = {}
    if not root:
        return out
    for prim in root.GetChildren():
        attr = prim.GetAttribute("bp:object_id")
        if attr and attr.HasValue():
            out[str(attr.Get())] = prim
    return out


def physics_of(prim: Usd.Prim) -> ObjectPhysics:
    info = ObjectPhysics()
    for p in Usd.PrimRange(prim):
        if p.HasAPI(UsdPhysics.RigidBodyAPI):
            info.rigid_bodies += 1
            mass = UsdPhysics.MassAPI(p).GetMassAttr().Get() if p.HasAPI(UsdPhysics.MassAPI) else None
            info.masses.append(float(mass) if mass is not None else 0.0)
        if p.HasAPI(UsdPhysics.CollisionAPI):
            info.colliders += 1
        for schema in (UsdPhysics.RevoluteJoint, UsdPhysics.PrismaticJoint):
            if p.IsA(schema):
                j = schema(p)
                lo, hi = j.GetLowerLimitAttr().Get(), j.GetUpperLimitAttr().Get()
                if lo is not None and hi is not None and hi > lo:
                    info.limited_joints += 1
    return info


def translation(prim: Usd.Prim) -> np.ndarray:
    m = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    t = m.ExtractTranslation()
    return np.array([t[0], t[1], t[2]])


def world_boxes(prims: dict[str, Usd.Prim]) -> dict[str, Box]:
    cache = bbox_cache()
    return {oid: Box.from_bbox3d(oriented_world_bound(p, cache)) for oid, p in prims.items()}


def overlapping_pairs(boxes: dict[str, Box], tolerance: float = OVERLAP_TOLERANCE) -> list[tuple[str, str, float]]:
    pairs = []
    for (a, ba), (b, bb) in combinations(sorted(boxes.items()), 2):
        depth = penetration(ba, bb)
        if depth > tolerance:
            pairs.append((a, b, round(depth, 6)))
    return pairs


def check_scene(
    stage: Usd.Stage,
    centers: dict[str, tuple[float, float, float]],
    articulated: set[str],
    resting: set[frozenset[str]] | None = None,
) -> list[dict[str, str]]:
    """Every problem found, as ``{"check", "object", "message"}`` dicts. ``resting`` pairs (an
    object and the support it stands on) may overlap as boxes: the object rests on the support's
    real surface, which can lie below the support's box top (a cooktop under a back panel); their
    real contact is judged by the physics acceptance test."""
    problems: list[dict[str, str]] = []
    prims = object_prims(stage)

    def bad(check: str, oid: str, message: str) -> None:
        problems.append({"check": check, "object": oid, "message": message})

    for oid, expected in centers.items():
        prim = prims.get(oid)
        if prim is None:
            bad("object_prim", oid, "no prim with this bp:object_id under /World/Objects")
            continue
        at = translation(prim)
        if float(np.max(np.abs(at - np.asarray(expected)))) > POSITION_TOLERANCE:
            bad("position", oid, f"prim at {at.tolist()} but the layout puts it at {list(expected)}")
        phys = physics_of(prim)
        if phys.rigid_bodies == 0:
            bad("rigid_body", oid, "no RigidBodyAPI on the object or its parts")
        if not phys.masses or min(phys.masses) <= 0:
            bad("mass", oid, f"rigid body masses {phys.masses} must all be > 0")
        if phys.colliders == 0:
            bad("collider", oid, "no CollisionAPI on the object's geometry")
        if oid in articulated and phys.limited_joints == 0:
            bad("articulation", oid, "articulated object without a limited revolute/prismatic joint")
    for a, b, depth in overlapping_pairs(world_boxes({k: v for k, v in prims.items() if k in centers})):
        if resting and frozenset((a, b)) in resting:
            continue
        bad("interpenetration", f"{a},{b}", f"world boxes of {a} and {b} overlap by {depth} m")
    return problems
