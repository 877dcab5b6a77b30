"""A 3D-RE-GEN reconstruction becomes the Stage-1 contracts (spec-stages-assets-usd §1.5).

Input: per object a mesh, an optional pose (4x4 ``transform_matrix``, object → world, y up),
optional local bounds (``min/max/center/size``; else the mesh's own), an optional label. Objects
whose bounds are not finite and positive are dropped (and reported); ones larger than a room
are flagged as outliers. The metric scale is auto-calibrated with the class height priors when
any object has one (``domain.imagegen.scale``), else ``SCALE_FACTOR`` is used. Output: the
canonical manifest, the scaled layout and the semantic inventory, all in metres, y up, and
consistent with each other (every manifest object is in the layout, at the same centre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpflow.domain.imagegen.scale import scale_samples
from bpflow.domain.textgen.room_catalog import canonical_token, default_role

OUTLIER_SIZE_M = 15.0
ROOM_MARGIN_M = 0.5
IDENTITY = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


@dataclass
class ReconObject:
    """One reconstructed object as read from ``regen3d/objects/<dir>/`` (or ``background/``)."""

    dir: str
    mesh_ext: str
    transform: list[list[float]] | None = None
    bounds: dict[str, Any] | None = None
    label: str | None = None
    is_floor_contact: bool | None = None
    background: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _finite(v: Any, n: int) -> list[float] | None:
    if not isinstance(v, (list, tuple)) or len(v) != n:
        return None
    try:
        out = [float(x) for x in v]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(x) for x in out) else None


def local_box(bounds: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(centre, size) of the local bounds, or None when invalid; absent bounds = unit cube."""
    if bounds is None:
        return np.zeros(3), np.ones(3)
    lo, hi = _finite(bounds.get("min"), 3), _finite(bounds.get("max"), 3)
    if lo is not None and hi is not None:
        center, size = (np.add(lo, hi) / 2), np.subtract(hi, lo)
    else:
        c, s = _finite(bounds.get("center"), 3), _finite(bounds.get("size"), 3)
        if c is None or s is None:
            return None
        center, size = np.asarray(c), np.asarray(s)
    return (center, size) if (size > 0).all() else None


def pose(transform: list[list[float]] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(rotation 3x3, per-axis scale, translation) of an affine object → world matrix."""
    m = np.eye(4) if transform is None else np.asarray(transform, float)
    if m.shape != (4, 4) or not np.isfinite(m).all():
        return None
    lin = m[:3, :3]
    scale = np.linalg.norm(lin, axis=0)
    if (scale <= 0).any():
        return None
    rot = lin / scale
    if np.linalg.det(rot) < 0:
        rot[:, 0], scale[0] = -rot[:, 0], -scale[0]
    return rot, np.abs(scale), m[:3, 3]


def quaternion_wxyz(r: np.ndarray) -> list[float]:
    """Unit quaternion of a rotation matrix (Shepperd's method)."""
    t = float(np.trace(r))
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k]) * 2
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (r[k, j] - r[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (r[j, i] + r[i, j]) / s
        q[1 + k] = (r[k, i] + r[i, k]) / s
    n = math.sqrt(sum(x * x for x in q))
    return [round(x / n, 9) for x in q]


def _v(x: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in x]


def adapt(
    scene_id: str,
    objects: list[ReconObject],
    info: dict[str, Any],
    *,
    environment_type: str,
    scale_factor: float,
    assets_rel: str = "assets",
) -> dict[str, Any]:
    """``{manifest, layout, inventory, report}`` for the valid objects (ids = their dir names)."""
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, str]] = []
    outliers: list[str] = []
    for obj in objects:
        box, p = local_box(obj.bounds), pose(obj.transform)
        if box is None or p is None:
            dropped.append({"id": obj.dir, "reason": "invalid_bounds" if box is None else "invalid_pose"})
            continue
        rot, scl, t = p
        center, size = box
        world_center = rot @ (center * scl) + t
        world_size = size * scl
        if world_size.max() > OUTLIER_SIZE_M and not obj.background:
            outliers.append(obj.dir)
        category = canonical_token(obj.label or "") or ("background" if obj.background else "object")
        kept.append(
            {
                "obj": obj,
                "rot": rot,
                "scale": scl,
                "t": t,
                "center": world_center,
                "size": world_size,
                "category": category,
            }
        )
    provisional = {
        "objects": [
            {"id": k["obj"].dir, "class_name": k["category"], "obb": {"extents": _v(k["size"] / 2)}}
            for k in kept
            if not k["obj"].background
        ]
    }
    calibration = scale_samples(provisional, {})
    factor = float(calibration["factor"]) if calibration["source"] != "none" else float(scale_factor)
    mpu = float(info.get("meters_per_unit") or 1.0)
    s = factor * mpu
    man_objs, lay_objs, inv_objs = [], [], []
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for k in kept:
        obj = k["obj"]
        center, size = k["center"] * s, k["size"] * s
        position, obj_scale = k["t"] * s, k["scale"] * s
        role = "background" if obj.background else default_role(k["category"], k["category"])
        floor = bool(obj.is_floor_contact) if obj.is_floor_contact is not None else False
        oid = obj.dir
        man_objs.append(
            {
                "id": oid,
                "name": oid,
                "category": k["category"],
                "description": f"reconstructed {k['category'].replace('_', ' ')}",
                "sim_role": role,
                "transform": {
                    "position": dict(zip("xyz", _v(position), strict=True)),
                    "scale": dict(zip("xyz", _v(obj_scale), strict=True)),
                    "rotation_quaternion": dict(zip("wxyz", quaternion_wxyz(k["rot"]), strict=True)),
                },
                "asset": {
                    "path": f"scenes/{scene_id}/{assets_rel}/obj_{oid}/asset.glb",
                    "format": "glb",
                    "source": "3d-re-gen",
                },
                "dimensions_est": {
                    "width": round(float(size[0]), 6),
                    "height": round(float(size[1]), 6),
                    "depth": round(float(size[2]), 6),
                },
                "semantics": {"label": obj.label} if obj.label else {},
                "physics": {},
                "physics_hints": {},
                "relationships": [],
                "variation_candidate": False,
            }
        )
        if not obj.background:
            lo, hi = np.minimum(lo, center - size / 2), np.maximum(hi, center + size / 2)
        lay_objs.append(
            {
                "id": oid,
                "class_name": k["category"],
                "center3d": _v(center),
                "obb": {"center": _v(center), "extents": _v(size / 2), "R": [_v(row) for row in k["rot"]]},
                "bounds": {"min": _v(center - size / 2), "max": _v(center + size / 2)},
                "is_floor_contact": floor,
            }
        )
        inv_objs.append(
            {
                "id": oid,
                "category": k["category"],
                "short_description": f"reconstructed {k['category'].replace('_', ' ')}",
                "sim_role": role,
                "is_floor_contact": floor,
            }
        )
    if not np.isfinite(lo).all():
        lo, hi = np.array([-2.0, 0.0, -2.0]), np.array([2.0, 2.7, 2.0])
    room_min = [float(lo[0] - ROOM_MARGIN_M), min(0.0, float(lo[1])), float(lo[2] - ROOM_MARGIN_M)]
    room_max = [float(hi[0] + ROOM_MARGIN_M), max(2.7, float(hi[1]) + ROOM_MARGIN_M), float(hi[2] + ROOM_MARGIN_M)]
    dims = [room_max[i] - room_min[i] for i in range(3)]
    manifest = {
        "version": "1.0.0",
        "scene_id": scene_id,
        "scene": {
            "coordinate_frame": "y_up",
            "meters_per_unit": 1.0,
            "environment_type": environment_type,
            "room": {
                "bounds": {"width": round(dims[0], 6), "depth": round(dims[2], 6), "height": round(dims[1], 6)},
                "origin": _v((np.asarray(room_min) + np.asarray(room_max)) / 2 * [1, 0, 1]),
            },
        },
        "objects": man_objs,
        "assets": {"asset_root": f"scenes/{scene_id}/{assets_rel}"},
        "metadata": {
            "source_pipeline": "3d-re-gen",
            "scale_factor": factor,
            "scale_calibration": calibration,
            "bounds_validation": {"dropped": dropped, "outliers": outliers},
            "source_image_path": info.get("source_image_path"),
        },
    }
    layout = {
        "scene_id": scene_id,
        "objects": lay_objs,
        "room_box": {"min": _v(np.asarray(room_min)), "max": _v(np.asarray(room_max))},
        "scale_factor": factor,
        "meters_per_unit": 1.0,
        "coordinate_frame": "y_up",
        "metadata": {"source": "3d-re-gen", "scaled": True},
    }
    inventory = {
        "scene_id": scene_id,
        "environment_type": environment_type,
        "total_objects": len(inv_objs),
        "objects": inv_objs,
        "metadata": {"source": "3d-re-gen"},
    }
    report = {
        "scene_id": scene_id,
        "objects_in": len(objects),
        "objects_kept": len(lay_objs),
        "dropped": dropped,
        "outliers": outliers,
        "scale_factor": factor,
        "scale_source": calibration["source"] if calibration["source"] != "none" else "SCALE_FACTOR",
    }
    return {"manifest": manifest, "layout": layout, "inventory": inventory, "report": report}
