"""A small, deterministic Stage-2 output set: the inputs Stage 3 reads (spec text §4C rows 3–8).

A kitchen with a fridge, a table, two mugs and a cabinet: the scene manifest, one real mesh USD
per object (``assets/obj_<id>/model.usd``), the layout, the replicator's variation manifest and,
optionally, the Isaac Lab baseline marker. Writing goes through whatever Bucket the test passes;
tests on a running runtime pass a second handle on the same directory, which has no listeners,
so preparing the fixture starts no workflow: only the trigger the test writes does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import trimesh
from pxr import Gf, Usd, UsdGeom

from bpflow.core.storage import Bucket

# id, category, sim_role, (width, height, depth) m, base position (x, y_bottom, z), colour
OBJECTS: tuple[
    tuple[str, str, str, tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]], ...
] = (
    ("fridge_0", "fridge", "articulated_appliance", (0.8, 1.8, 0.7), (-2.0, 0.0, -2.2), (0.85, 0.85, 0.85)),
    ("table_0", "table", "static", (1.4, 0.75, 0.8), (0.5, 0.0, 0.0), (0.55, 0.35, 0.2)),
    ("mug_0", "mug", "manipulable_object", (0.08, 0.1, 0.08), (0.3, 0.75, 0.1), (0.9, 0.9, 0.9)),
    ("mug_1", "mug", "manipulable_object", (0.08, 0.1, 0.08), (0.7, 0.75, -0.1), (0.2, 0.3, 0.7)),
    ("cabinet_0", "cabinet", "articulated_furniture", (1.0, 0.9, 0.6), (2.0, 0.0, -2.3), (0.6, 0.45, 0.3)),
)


def _mesh(category: str, size: tuple[float, float, float]) -> trimesh.Trimesh:
    """A centred, y-up mesh of the object's size: a cylinder for mugs, a box otherwise."""
    w, h, d = size
    if category == "mug":
        mesh = trimesh.creation.cylinder(radius=w / 2, height=h, sections=24)
        mesh.apply_transform(trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0]))  # z axis → y
        return mesh
    return trimesh.creation.box(extents=[w, h, d])


def model_usd(
    category: str, size: tuple[float, float, float], color: tuple[float, float, float], *, author_color: bool = True
) -> str:
    """``#usda`` text of a Root Xform with one triangle Mesh child, metres, y up."""
    mesh = _mesh(category, size)
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/Root")
    stage.SetDefaultPrim(root.GetPrim())
    geom = UsdGeom.Mesh.Define(stage, "/Root/Geom")
    v = np.asarray(mesh.vertices, dtype=float)
    geom.CreatePointsAttr([Gf.Vec3f(*map(float, p)) for p in v])
    geom.CreateFaceVertexCountsAttr([3] * len(mesh.faces))
    geom.CreateFaceVertexIndicesAttr([int(i) for i in np.asarray(mesh.faces).reshape(-1)])
    geom.CreateExtentAttr([Gf.Vec3f(*map(float, v.min(axis=0))), Gf.Vec3f(*map(float, v.max(axis=0)))])
    if author_color:
        geom.CreateDisplayColorAttr([Gf.Vec3f(*color)])
    return str(stage.GetRootLayer().ExportToString())


def scene_manifest(scene_id: str) -> dict[str, Any]:
    objects = []
    for oid, category, role, (w, h, d), (x, y, z), _ in OBJECTS:
        objects.append(
            {
                "id": oid,
                "name": oid,
                "category": category,
                "description": f"a {category}",
                "sim_role": role,
                "asset": {
                    "path": f"scenes/{scene_id}/assets/obj_{oid}/model.usd",
                    "source": "text_scene_gen",
                    "format": "usd",
                },
                "transform": {"position": {"x": x, "y": y, "z": z}, "scale": {"x": 1.0, "y": 1.0, "z": 1.0}},
                "dimensions_est": {"width": w, "height": h, "depth": d},
                "physics_hints": {"material": "ceramic"} if category == "mug" else {},
                "articulation": {"required": False, "candidate": role.startswith("articulated")},
            }
        )
    return {
        "version": "1.0.0",
        "scene_id": scene_id,
        "scene": {
            "coordinate_frame": "y_up",
            "meters_per_unit": 1.0,
            "environment_type": "kitchen",
            "room": {"bounds": {"width": 6.0, "depth": 6.0, "height": 3.0}, "origin": [0.0, 0.0, 0.0]},
        },
        "objects": objects,
        "metadata": {"source": {"type": "text", "provider": "fixture", "seed": 1}},
    }


def layout(scene_id: str) -> dict[str, Any]:
    objects = []
    for oid, category, _, (w, h, d), (x, y, z), _ in OBJECTS:
        objects.append(
            {
                "id": oid,
                "class_name": category,
                "center3d": [x, y, z],
                "obb": {
                    "center": [x, y + h / 2, z],
                    "extents": [w / 2, h / 2, d / 2],
                    "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                },
            }
        )
    return {
        "scene_id": scene_id,
        "objects": objects,
        "room_box": {"min": [-3, 0, -3], "max": [3, 3, 3]},
        "wall_thickness_m": 0.12,
        "openings": [],
    }


def variation_manifest(scene_id: str, assets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The replicator's ``variation_assets/manifest.json`` (spec §9.4 shape)."""
    if assets is None:
        assets = [
            {
                "name": "mug_variants",
                "category": "mug",
                "description": "mugs of other sizes, colours and glazes",
                "semantic_class": "mug",
                "priority": "required",
                "source_hint": "generate",
                "example_variants": ["red ceramic mug", "blue glass mug"],
                "physics_hints": {"graspable": True},
                "material_hint": "ceramic",
                "style_hint": "modern",
                "generation_prompt_hint": "a mug",
            },
            {
                "name": "table_variants",
                "category": "table",
                "priority": "optional",
                "source_hint": None,
                "material_hint": "wood",
                "example_variants": ["white table"],
            },
            {"name": "library_chair", "category": "chair", "priority": "recommended", "source_hint": "library"},
        ]
    by_priority: dict[str, list[str]] = {"required": [], "recommended": [], "optional": []}
    for a in assets:
        if isinstance(a, dict) and a.get("priority") in by_priority:
            by_priority[a["priority"]].append(a["name"])
    return {
        "scene_id": scene_id,
        "scene_type": "kitchen",
        "environment_type": "kitchen",
        "generated_at": "2024-05-01T12:00:00Z",
        "total_assets": len(assets),
        "policies": ["dexterous_pick_place"],
        "by_priority": by_priority,
        "by_category": {},
        "assets": assets,
        "generation_config": {},
    }


def write_stage2_outputs(
    bucket: Bucket, scene_id: str, *, variation_assets: list[dict[str, Any]] | None = None, baseline_isaac: bool = True
) -> None:
    """Everything Stage 3 reads, except the trigger ``replicator/.replicator_complete``."""
    root = f"scenes/{scene_id}"
    bucket.write_json(f"{root}/assets/scene_manifest.json", scene_manifest(scene_id))
    for oid, category, _, size, _, color in OBJECTS:
        bucket.write(f"{root}/assets/obj_{oid}/model.usd", model_usd(category, size, color))
        bucket.write_json(f"{root}/assets/obj_{oid}/metadata.json", {"id": oid, "class_name": category})
    bucket.write_json(f"{root}/layout/scene_layout_scaled.json", layout(scene_id))
    bucket.write_json(
        f"{root}/replicator/variation_assets/manifest.json", variation_manifest(scene_id, variation_assets)
    )
    bucket.write_json(
        f"{root}/replicator/bundle_metadata.json",
        {
            "scene_id": scene_id,
            "environment_type": "kitchen",
            "scene_type": "kitchen",
            "policies": ["dexterous_pick_place"],
        },
    )
    if baseline_isaac:
        bucket.write_json(
            f"{root}/isaac_lab/.isaac_lab_complete",
            {"status": "complete", "scene_id": scene_id, "task_name": "fixture"},
        )


def replicator_complete(scene_id: str) -> tuple[str, dict[str, Any]]:
    key = f"scenes/{scene_id}/replicator/.replicator_complete"
    return key, {
        "status": "completed",
        "scene_id": scene_id,
        "generated_at": "2024-05-01T12:00:00Z",
        "policies": ["dexterous_pick_place"],
        "affordance_graph": f"scenes/{scene_id}/replicator/affordance_graph.json",
    }
