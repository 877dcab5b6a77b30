"""The canonical Stage-1 outputs (reference §2.5, shaped for the strict consumers of §4C).

- ``assets/scene_manifest.json``: objects carry only the keys the strict manifest schema
  allows; the text-specific fields go under ``placement{}`` (stage, support, surface pose),
  ``source{}`` (asset validation) and ``asset_generation{}`` (how the asset was obtained).
- ``layout/scene_layout_scaled.json``: ``center3d`` is the planner's base-anchored position and
  ``obb`` the box Stage 2 places objects by (centre = base + R·(0, h/2, 0), half extents, R).
- ``seg/inventory.json``: what the replicator reads.

The Stage-2 trigger ``assets/.regen3d_complete`` is **not** written here: the workflow writes
it after checking these outputs (DESIGN), from :func:`stage1_marker_body` of the summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bpflow.domain.retrieval.materialize import Materialized, is_thin_covering
from bpflow.domain.retrieval.planned_package import PackageObject, TextPackage
from bpflow.domain.retrieval.select import Decision

MANIFEST_NAME = "scene_manifest.json"
LAYOUT_NAME = "scene_layout_scaled.json"
INVENTORY_NAME = "inventory.json"
REPORT_NAME = ".asset_retrieval_report.json"
ADAPTER_MARKER = ".text_adapter_complete"
STAGE1_MARKER = ".regen3d_complete"
SUMMARY_NAME = "adapter_summary.json"
SOURCE_PIPELINE = "text-scene-adapter-job"
MANIPULABLE_ROLES = frozenset({"manipulable_object", "clutter"})
STAGE1_FIELDS = ("scene_id", "status", "source", "objects_count", "quality_tier", "provider", "seed", "marker_type")


# -- geometry ---------------------------------------------------------------------------------------


def rotation_matrix(q: tuple[float, float, float, float]) -> list[list[float]]:
    w, x, y, z = q
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]


def _r6(v: float) -> float:
    out = round(v, 6)
    return 0.0 if out == 0 else out


def obb(obj: PackageObject) -> dict[str, Any]:
    w, h, d = obj.dimensions
    rot = rotation_matrix(obj.rotation)
    up = [rot[i][1] * h / 2.0 for i in range(3)]
    return {
        "center": [_r6(obj.position[i] + up[i]) for i in range(3)],
        "extents": [_r6(w / 2.0), _r6(h / 2.0), _r6(d / 2.0)],
        "R": [[_r6(v) for v in row] for row in rot],
    }


# -- per-object placement fields ----------------------------------------------------------------


def placement_fields(obj: PackageObject) -> dict[str, Any]:
    """Reference §2.2 placement defaults (none for thin coverings)."""
    stage = obj.placement_stage
    parent = obj.parent_support_id
    se2 = obj.surface_local_se2
    if not is_thin_covering(obj):
        stage = stage or ("manipulands" if obj.sim_role in MANIPULABLE_ROLES | {"deformable_object"} else "furniture")
        if obj.sim_role == "manipulable_object":
            parent = parent or "room_floor"
            se2 = se2 or {"x": 0.0, "z": 0.0, "yaw_rad": 0.0}
    return {"placement_stage": stage or None, "parent_support_id": parent, "surface_local_se2": se2}


def _vec(keys: str, values: Sequence[float]) -> dict[str, float]:
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def manifest_object(pkg: TextPackage, item: Materialized) -> dict[str, Any]:
    obj = item.obj
    w, h, d = obj.dimensions
    articulation = {
        "required": obj.articulation_required,
        "backend_hint": obj.articulation.get("backend_hint")
        or ("particulate_first" if obj.articulation_required else "none"),
    }
    for key in ("candidate", "detection_source", "requirement_source"):
        if key in obj.articulation:
            articulation[key] = obj.articulation[key]
    out: dict[str, Any] = {
        "id": obj.id,
        "name": obj.name,
        "category": obj.category or "object",
        "description": obj.description,
        "sim_role": obj.sim_role,
        "asset": {"path": item.model_key, "source": "text_scene_gen", "format": "usd"},
        "transform": {
            "position": _vec("xyz", obj.position),
            "scale": _vec("xyz", obj.scale),
            "rotation_quaternion": _vec("wxyz", obj.rotation),
        },
        "dimensions_est": {"width": w, "height": h, "depth": d},
        "physics_hints": obj.physics_hints,
        "articulation": articulation,
        "source": {
            "type": pkg.source_type,
            "generation_tier": pkg.quality_tier,
            "provider": pkg.provider_used,
            "seed": pkg.seed,
            "text_backend": pkg.text_backend,
            "asset_validation": item.validation,
        },
        "placement": placement_fields(obj),
        "asset_generation": {
            "method": item.retrieval_method,
            "materialization": item.materialization,
            "model_or_library": item.model_or_library,
            "library_asset_id": item.library_asset_id,
            "source_path": item.source_path or None,
            "license": item.license or None,
            "fallback_reason": item.fallback_reason,
        },
    }
    if obj.relationships:
        out["relationships"] = obj.relationships
    if obj.dimensions_source:
        out["dimensions_source"] = obj.dimensions_source
    return out


def manifest(pkg: TextPackage, items: Sequence[Materialized], provenance: list[dict[str, Any]]) -> dict[str, Any]:
    lo, hi = pkg.room_box["min"], pkg.room_box["max"]
    return {
        "version": "1.0.0",
        "scene_id": pkg.scene_id,
        "scene": {
            "coordinate_frame": "y_up",
            "meters_per_unit": 1.0,
            "environment_type": pkg.room_type,
            "room": {
                "bounds": {"width": _r6(hi[0] - lo[0]), "depth": _r6(hi[2] - lo[2]), "height": _r6(hi[1] - lo[1])},
                "origin": [_r6((lo[0] + hi[0]) / 2.0), _r6(lo[1]), _r6((lo[2] + hi[2]) / 2.0)],
            },
        },
        "objects": [manifest_object(pkg, item) for item in items],
        "metadata": {
            "source": {
                "type": pkg.source_type,
                "request_id": pkg.scene_id,
                "seed": pkg.seed,
                "provider": pkg.provider_used,
                "generation_tier": pkg.quality_tier,
                "text_backend": pkg.text_backend,
            },
            "provenance": {"assets": provenance, "request": pkg.request, "backends": []},
            "source_pipeline": SOURCE_PIPELINE,
        },
    }


def layout(pkg: TextPackage, items: Sequence[Materialized]) -> dict[str, Any]:
    objects = []
    for item in items:
        obj = item.obj
        entry: dict[str, Any] = {
            "id": obj.id,
            "class_name": obj.class_name,
            "center3d": [float(v) for v in obj.position],
            "obb": obb(obj),
            "rotation_quaternion": _vec("wxyz", obj.rotation),
        }
        entry.update({k: v for k, v in placement_fields(obj).items() if v is not None})
        if item.validation is not None:
            entry["asset_validation"] = item.validation
        objects.append(entry)
    return {
        "scene_id": pkg.scene_id,
        "objects": objects,
        "room_box": pkg.room_box,
        "wall_thickness_m": pkg.wall_thickness_m,
        "openings": pkg.openings,
    }


def inventory(pkg: TextPackage, items: Sequence[Materialized]) -> dict[str, Any]:
    objects = []
    for item in items:
        obj = item.obj
        place = placement_fields(obj)
        objects.append(
            {
                "id": obj.id,
                "name": obj.name,
                "category": obj.category or "object",
                "sim_role": obj.sim_role,
                "description": obj.description,
                "asset_strategy": obj.asset_strategy,
                "articulation_required": obj.articulation_required,
                "placement_stage": place["placement_stage"],
                "parent_support_id": place["parent_support_id"] or "",
                "asset_validation": item.validation,
            }
        )
    return {"scene_id": pkg.scene_id, "source": "text_scene_gen", "objects": objects}


def retrieval_report(
    scene_id: str, mode: str, decisions: Sequence[Decision], library_size: int, rollout: dict[str, Any]
) -> dict[str, Any]:
    latencies = sorted(d.latency_ms for d in decisions)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    p95 = latencies[int((len(latencies) - 1) * 0.95)] if latencies else 0.0
    return {
        "schema_version": "v1",
        "scene_id": scene_id,
        "retrieval_mode": mode,
        "object_count": len(decisions),
        "library_entries_scanned": library_size,
        "method_counts": dict(Counter(d.method for d in decisions)),
        "ann_attempted_count": sum(1 for d in decisions if d.ann_attempted),
        "ann_error_count": sum(1 for d in decisions if d.ann_attempted and d.ann_error),
        "ann_candidate_count_total": sum(d.ann_candidate_count for d in decisions),
        "latency_ms": {"mean": round(mean, 4), "p95": round(p95, 4)},
        "decisions": [d.to_dict() for d in decisions],
        "rollout": rollout,
    }


def stage1_marker(pkg: TextPackage, objects_count: int) -> dict[str, Any]:
    return {
        "scene_id": pkg.scene_id,
        "status": "completed",
        "source": "text_scene_adapter",
        "objects_count": objects_count,
        "quality_tier": pkg.quality_tier,
        "provider": pkg.provider_used,
        "seed": pkg.seed,
        "marker_type": "stage1_complete",
    }


def stage1_marker_body(summary: dict[str, Any]) -> dict[str, Any]:
    """The body of ``assets/.regen3d_complete`` for the workflow to write, from ``adapter_summary.json``.

    Raises ValueError when the summary is not a completed adapter run's summary, so a workflow
    never triggers Stage 2 from a half-written or foreign file.
    """
    if not isinstance(summary, dict) or summary.get("status") != "completed":
        raise ValueError("adapter summary is missing or not completed")
    body = summary.get("regen3d_marker")
    if not isinstance(body, dict) or any(k not in body for k in STAGE1_FIELDS):
        raise ValueError("adapter summary has no complete regen3d_marker")
    return {k: body[k] for k in STAGE1_FIELDS}
