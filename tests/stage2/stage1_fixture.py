"""A deterministic Stage-1 output set in the consumer shape of spec text §4C, for Stage-2 tests.

``write_stage1_scene(bucket, scene_id)`` writes a small kitchen (a fridge, a cabinet with
drawers, a table, two mugs on it) as the text adapter would: ``assets/scene_manifest.json``,
``layout/scene_layout_scaled.json`` with ``obb`` per object, ``seg/inventory.json``, and per
object ``assets/obj_<id>/`` with a real mesh visual (``model.usd``; one mug as ``asset.glb`` so
convert has a mesh to convert; the cabinet as the adapter's placeholder ``Cube``) and
``metadata.json``. Positions are base-anchored (y = bottom) in the manifest and ``center3d``;
``obb.center`` is the geometric centre. The trigger ``.regen3d_complete`` is left to the test.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from bpflow.core.storage import Bucket
from bpflow.domain.usd.usd_util import add_box, add_mesh, new_stage

ROOM_MIN = (-2.5, 0.0, -2.0)
ROOM_MAX = (2.5, 2.7, 2.0)


@dataclass(frozen=True)
class ObjectSpec:
    id: str
    category: str
    sim_role: str
    dims: tuple[float, float, float]
    """(width, height, depth) in metres."""
    base: tuple[float, float, float]
    """Base-anchored position (x, y of the bottom, z)."""
    shape: str
    """``box`` | ``table`` | ``mug`` | ``placeholder`` (the adapter's scaled Cube)."""
    name: str = ""
    description: str = ""
    yaw_deg: float = 0.0
    file: str = "model.usd"
    required: bool = False
    candidate: bool = False
    material: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


KITCHEN: tuple[ObjectSpec, ...] = (
    ObjectSpec(
        "fridge_0",
        "refrigerator",
        "articulated_appliance",
        (0.8, 1.8, 0.7),
        (-1.9, 0.0, -1.55),
        "box",
        "fridge",
        "a tall two-door style refrigerator",
        required=True,
        candidate=True,
    ),
    ObjectSpec(
        "cabinet_0",
        "cabinet",
        "articulated_furniture",
        (1.0, 0.9, 0.6),
        (-0.6, 0.0, -1.65),
        "placeholder",
        "drawer_cabinet",
        "a kitchen base cabinet with three drawers",
        required=True,
        candidate=True,
        material="wood",
    ),
    ObjectSpec(
        "table_0",
        "table",
        "static",
        (1.2, 0.75, 0.8),
        (0.9, 0.0, 0.4),
        "table",
        "kitchen_table",
        "a wooden kitchen table",
        material="wood",
    ),
    ObjectSpec(
        "mug_0",
        "mug",
        "manipulable_object",
        (0.08, 0.1, 0.08),
        (0.7, 0.75, 0.3),
        "mug",
        "mug",
        "a white ceramic mug",
        material="ceramic",
    ),
    ObjectSpec(
        "mug_1",
        "mug",
        "manipulable_object",
        (0.08, 0.1, 0.08),
        (1.15, 0.75, 0.55),
        "mug",
        "mug",
        "a blue ceramic mug",
        yaw_deg=90.0,
        file="asset.glb",
        material="ceramic",
    ),
)


#: y-up → z-up coordinates: the standard +90° turn about x, (x, y, z) → (x, -z, y).
TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def conv(p: tuple[float, float, float] | list[float], frame: str) -> list[float]:
    """A y-up point in the scene's frame (the fixture is designed y-up)."""
    return list(map(float, p)) if frame == "y_up" else (TO_Z_UP @ np.asarray(p, dtype=float)).tolist()


def yaw_matrix(deg: float, frame: str = "y_up") -> list[list[float]]:
    """Rotation about the up axis (rows), the layout's ``obb.R``."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    r = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return r.tolist() if frame == "y_up" else (TO_Z_UP @ r @ TO_Z_UP.T).tolist()


def yaw_quat(deg: float, frame: str = "y_up") -> dict[str, float]:
    h = math.radians(deg) / 2
    if frame == "y_up":
        return {"w": math.cos(h), "x": 0.0, "y": math.sin(h), "z": 0.0}
    return {"w": math.cos(h), "x": 0.0, "y": 0.0, "z": math.sin(h)}


def half_extents(o: ObjectSpec, frame: str) -> list[float]:
    w, h, d = o.dims
    return [w / 2, h / 2, d / 2] if frame == "y_up" else [w / 2, d / 2, h / 2]


def _mug(w: float, h: float) -> list[trimesh.Trimesh]:
    """A hollow mug (wall + bottom, both watertight), axis +y, centred on its box."""
    r = w / 2
    wall = trimesh.creation.annulus(r_min=r - 0.005, r_max=r, height=h - 0.006, sections=32)
    wall.apply_translation([0, 0, 0.003])
    bottom = trimesh.creation.cylinder(radius=r, height=0.006, sections=32)
    bottom.apply_translation([0, 0, -h / 2 + 0.003])
    parts = [wall, bottom]
    to_y_up = trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0])
    for p in parts:
        p.apply_transform(to_y_up)
    return parts


def _table(w: float, h: float, d: float) -> list[trimesh.Trimesh]:
    top_t, leg = 0.04, 0.06
    top = trimesh.creation.box(extents=[w, top_t, d])
    top.apply_translation([0, h / 2 - top_t / 2, 0])
    parts = [top]
    for sx in (-1, 1):
        for sz in (-1, 1):
            p = trimesh.creation.box(extents=[leg, h - top_t, leg])
            p.apply_translation([sx * (w / 2 - leg / 2), -top_t / 2, sz * (d / 2 - leg / 2)])
            parts.append(p)
    return parts


def _parts(spec: ObjectSpec) -> list[trimesh.Trimesh]:
    w, h, d = spec.dims
    if spec.shape == "mug":
        return _mug(w, h)
    if spec.shape == "table":
        return _table(w, h, d)
    return [trimesh.creation.box(extents=[w, h, d])]


def write_visual(spec: ObjectSpec, dest: Path) -> None:
    """The object's visual file: a mesh USD, the adapter's placeholder, or a GLB."""
    if spec.file.endswith(".glb"):
        dest.write_bytes(trimesh.Scene(_parts(spec)).export(file_type="glb"))
        return
    stage, _ = new_stage(dest, "Y")
    if spec.shape == "placeholder":
        add_box(stage, "/Root/Geom", (0.0, 0.0, 0.0), spec.dims, color=(0.7, 0.6, 0.5))
    else:
        for i, part in enumerate(_parts(spec)):
            add_mesh(stage, f"/Root/Mesh_{i}", part.vertices, part.faces, color=(0.8, 0.8, 0.8))
    stage.GetRootLayer().Save()


def _center(spec: ObjectSpec, frame: str = "y_up") -> list[float]:
    x, y, z = spec.base
    return conv([x, y + spec.dims[1] / 2, z], frame)


def manifest(scene_id: str, objects: tuple[ObjectSpec, ...], *, coordinate_frame: str = "y_up") -> dict[str, Any]:
    out = []
    for o in objects:
        w, h, d = o.dims
        entry: dict[str, Any] = {
            "id": o.id,
            "name": o.name or o.id,
            "category": o.category,
            "description": o.description or o.category,
            "sim_role": o.sim_role,
            "asset": {
                "path": f"scenes/{scene_id}/assets/obj_{o.id}/{o.file}",
                "source": "text_scene_gen",
                "format": o.file.rsplit(".", 1)[-1],
            },
            "transform": {
                "position": dict(zip("xyz", conv(o.base, coordinate_frame))),
                "scale": {"x": 1.0, "y": 1.0, "z": 1.0},
                "rotation_quaternion": yaw_quat(o.yaw_deg, coordinate_frame),
            },
            "dimensions_est": {"width": w, "height": h, "depth": d},
            "physics_hints": {"material": o.material} if o.material else {},
            "articulation": {"required": o.required, "candidate": o.candidate, "backend_hint": "particulate_first"},
            "source": {
                "type": "text",
                "generation_tier": "standard",
                "provider": "fixture",
                "seed": 1,
                "text_backend": "internal",
            },
            **o.extra,
        }
        out.append(entry)
    return {
        "version": "1.0.0",
        "scene_id": scene_id,
        "scene": {
            "coordinate_frame": coordinate_frame,
            "meters_per_unit": 1.0,
            "environment_type": "kitchen",
            "room": {
                "bounds": {
                    "width": ROOM_MAX[0] - ROOM_MIN[0],
                    "depth": ROOM_MAX[2] - ROOM_MIN[2],
                    "height": ROOM_MAX[1] - ROOM_MIN[1],
                },
                "origin": [0.0, 0.0, 0.0],
            },
        },
        "objects": out,
        "metadata": {
            "source": {
                "type": "text",
                "request_id": scene_id,
                "seed": 1,
                "provider": "fixture",
                "generation_tier": "standard",
                "text_backend": "internal",
            },
            "source_pipeline": "tests.stage2.stage1_fixture",
        },
    }


def layout(scene_id: str, objects: tuple[ObjectSpec, ...], *, coordinate_frame: str = "y_up") -> dict[str, Any]:
    corners = np.array([conv(ROOM_MIN, coordinate_frame), conv(ROOM_MAX, coordinate_frame)])
    return {
        "scene_id": scene_id,
        "objects": [
            {
                "id": o.id,
                "class_name": o.category,
                "center3d": conv(o.base, coordinate_frame),
                "obb": {
                    "center": _center(o, coordinate_frame),
                    "extents": half_extents(o, coordinate_frame),
                    "R": yaw_matrix(o.yaw_deg, coordinate_frame),
                },
            }
            for o in objects
        ],
        "room_box": {"min": corners.min(axis=0).tolist(), "max": corners.max(axis=0).tolist()},
        "wall_thickness_m": 0.12,
        "openings": [],
    }


def inventory(scene_id: str, objects: tuple[ObjectSpec, ...]) -> dict[str, Any]:
    return {
        "scene_id": scene_id,
        "source": "text_scene_gen",
        "objects": [
            {
                "id": o.id,
                "name": o.name or o.id,
                "category": o.category,
                "sim_role": o.sim_role,
                "description": o.description,
                "asset_strategy": "generated",
                "articulation_required": o.required,
                "placement_stage": "manipulands" if o.sim_role == "manipulable_object" else "furniture",
                "parent_support_id": "table_0" if o.sim_role == "manipulable_object" else "",
            }
            for o in objects
        ],
    }


def regen3d_marker(scene_id: str, objects: tuple[ObjectSpec, ...] = KITCHEN) -> dict[str, Any]:
    return {
        "scene_id": scene_id,
        "status": "completed",
        "source": "text_scene_adapter",
        "objects_count": len(objects),
        "quality_tier": "standard",
        "provider": "fixture",
        "seed": 1,
        "marker_type": "stage1_complete",
    }


def write_stage1_scene(
    bucket: Bucket, scene_id: str, objects: tuple[ObjectSpec, ...] = KITCHEN, *, coordinate_frame: str = "y_up"
) -> dict[str, Any]:
    """Write the whole Stage-1 set (not the trigger); returns the manifest written.

    With ``coordinate_frame="z_up"`` the manifest and layout are in z-up coordinates while the
    visuals stay y-up files, as mixed sources are in practice.
    """
    root = f"scenes/{scene_id}"
    with tempfile.TemporaryDirectory(prefix="stage1-fixture-") as tmp:
        for o in objects:
            local = Path(tmp) / o.id / o.file
            local.parent.mkdir(parents=True, exist_ok=True)
            write_visual(o, local)
            bucket.write(f"{root}/assets/obj_{o.id}/{o.file}", local.read_bytes())
            bucket.write_json(
                f"{root}/assets/obj_{o.id}/metadata.json",
                {
                    "id": o.id,
                    "class_name": o.category,
                    "mesh_bounds": {"export": {"center": [0.0, 0.0, 0.0], "size": list(o.dims)}},
                    "source": {"type": "text", "asset_strategy": "generated", "materialization": o.shape},
                },
            )
    m = manifest(scene_id, objects, coordinate_frame=coordinate_frame)
    bucket.write_json(f"{root}/assets/scene_manifest.json", m)
    bucket.write_json(
        f"{root}/layout/scene_layout_scaled.json", layout(scene_id, objects, coordinate_frame=coordinate_frame)
    )
    bucket.write_json(f"{root}/seg/inventory.json", inventory(scene_id, objects))
    return m


def with_object(objects: tuple[ObjectSpec, ...], spec: ObjectSpec) -> tuple[ObjectSpec, ...]:
    return (*objects, spec)


def without(objects: tuple[ObjectSpec, ...], *ids: str) -> tuple[ObjectSpec, ...]:
    return tuple(o for o in objects if o.id not in ids)


def changed(objects: tuple[ObjectSpec, ...], oid: str, **kw: Any) -> tuple[ObjectSpec, ...]:
    return tuple(replace(o, **kw) if o.id == oid else o for o in objects)
