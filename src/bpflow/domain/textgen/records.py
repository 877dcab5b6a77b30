"""Placed objects → the package's ``objects[]`` records (spec §1.3 h, plus explicit geometry).

Conventions written into every record and stated once in the package's ``conventions`` block:
y-up, metres; ``transform.position`` is the object's base (bottom centre), so the box spans y
to y + height; ``dimensions_est`` are the object's own width (local x), height (y) and depth
(local z); ``rotation_quaternion`` {w, x, y, z} is a yaw about +y. Each record also carries its
``obb`` (centre at mid-height, half extents, row-major ``R``) and world ``bounds``, so readers need
not re-derive geometry (and the adapter can copy the OBB into the layout).
"""

from __future__ import annotations

import math
from typing import Any

from bpflow.domain.scene.obb import Footprint, quaternion_yaw, yaw_matrix, yaw_quaternion
from bpflow.domain.textgen.model import Placed, PlannedObject
from bpflow.domain.textgen.room_catalog import ARTICULATED_ROLES, DEFORMABLE, MANIPULABLE

FLOOR_ID = "room_floor"
CONVENTIONS: dict[str, str] = {
    "up_axis": "y",
    "units": "meters",
    "position_anchor": "base",
    "position": "transform.position is the bottom centre of the object; it spans y .. y + dimensions_est.height",
    "dimensions": "width = local x, height = y, depth = local z (the object's front faces local +z)",
    "rotation": "rotation_quaternion {w,x,y,z} is a rotation about +y only (objects stand upright)",
    "obb": "obb.center is the geometric centre; obb.extents are half sizes; obb.R is row-major, local → world",
}

_CLOTH = (
    "towel",
    "cloth",
    "fabric",
    "shirt",
    "sock",
    "blanket",
    "gloves",
    "bag",
    "napkin",
    "curtain",
    "sheet",
    "scarf",
    "apron",
)
_FOAM = ("sponge", "pillow", "cushion")


def object_id(n: int) -> str:
    return f"obj_{n:03d}"


def _r(value: float, digits: int = 4) -> float:
    out = round(value, digits)
    return 0.0 if out == 0 else out


def physics_hints(obj: PlannedObject) -> dict[str, Any]:
    """Rigid-body hints, or soft-body ones for deformables (spec §1.3 h)."""
    spec = obj.spec
    if obj.sim_role == DEFORMABLE:
        kind = (
            "foam"
            if any(w in obj.category for w in _FOAM)
            else "rope"
            if any(w in obj.category for w in ("rope", "cable"))
            else "cloth"
        )
        area = max(1e-4, spec.width * spec.depth)
        return {
            "is_deformable": True,
            "soft_body_type": kind,
            "soft_body_material": spec.material,
            "mass_kg": spec.mass_kg,
            "friction_static": 0.70,
            "friction_dynamic": 0.55,
            "restitution": 0.05,
            "stiffness": {"cloth": 0.2, "foam": 0.5, "rope": 0.6}[kind],
            "damping": 0.1,
            "bend_resistance": {"cloth": 0.05, "foam": 0.4, "rope": 0.2}[kind],
            "stretch_resistance": 0.8,
            "thickness": _r(min(spec.height, 0.01) if kind == "cloth" else spec.height),
            "self_collision_enabled": True,
            "particle_resolution": 32 if kind == "cloth" else 16,
            "solver_iterations": 16,
            "mass_per_area": _r(spec.mass_kg / area),
        }
    return {
        "dynamic": obj.sim_role == MANIPULABLE,
        "mass_kg": spec.mass_kg,
        "friction_static": 0.55,
        "friction_dynamic": 0.40,
        "restitution": 0.10,
        "material_name": spec.material,
    }


def build_records(placed: list[Placed]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Records in plan order with ids ``obj_001``…, and the placed-index → id map."""
    order = sorted(range(len(placed)), key=lambda i: placed[i].index)
    ids = {pi: object_id(n) for n, pi in enumerate(order, start=1)}
    records = []
    for pi in order:
        p = placed[pi]
        obj = p.obj
        q = {k: _r(v, 6) for k, v in yaw_quaternion(p.yaw).items()}
        yaw = quaternion_yaw(q)
        x, y, z = _r(p.x), _r(p.y), _r(p.z)
        w, h, d = obj.width, obj.height, obj.depth
        fp = Footprint(x, z, w / 2, d / 2, yaw)
        x0, z0, x1, z1 = fp.aabb()
        articulated = obj.sim_role in ARTICULATED_ROLES
        records.append(
            {
                "id": ids[pi],
                "name": obj.name,
                "category": obj.category,
                "sim_role": obj.sim_role,
                "description": f"{obj.category.replace('_', ' ')} generated from text prompt",
                "transform": {
                    "position": {"x": x, "y": y, "z": z},
                    "scale": {"x": 1.0, "y": 1.0, "z": 1.0},
                    "rotation_quaternion": q,
                },
                "dimensions_est": {"width": w, "height": h, "depth": d},
                "dimensions_source": obj.dims_source,
                "physics_hints": physics_hints(obj),
                "asset_strategy": "retrieved" if articulated else "generated",
                "placement_stage": p.stage,
                "parent_support_id": ids[p.support] if p.support is not None else FLOOR_ID,
                "surface_local_se2": None
                if p.local_se2 is None
                else {"x": _r(p.local_se2[0]), "z": _r(p.local_se2[1]), "yaw_rad": _r(p.local_se2[2], 6)},
                "articulation": {
                    "required": articulated,
                    "backend_hint": "particulate_first" if articulated else "none",
                },
                "obb": {
                    "center": [x, _r(y + h / 2), z],
                    "extents": [_r(w / 2, 6), _r(h / 2, 6), _r(d / 2, 6)],
                    "R": [[_r(v, 6) for v in row] for row in yaw_matrix(yaw)],
                },
                "bounds": {"min": [_r(x0), y, _r(z0)], "max": [_r(x1), _r(y + h), _r(z1)]},
                "yaw_deg": _r(math.degrees(yaw), 3),
                "requested_in_prompt": obj.required,
            }
        )
    return records, ids
