"""Every shipped contract: the schema itself is valid, documents shaped as the spec says a
conforming writer writes them pass, and each kind of breach is reported on the exact field."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bpflow.blocks.markers import failure_body
from bpflow.core.config import load_settings
from bpflow.core.contracts import Problem, assert_valid, format_path, load_schema, schema_names, validate
from bpflow.core.engine.registry import Run
from bpflow.core.errors import ValidationFailed
from bpflow.domain.request import build_request, parse_request, variants_index
from tests.conftest import wait_until

SETTINGS = load_settings({})
CONTRACTS = {
    "scene_request_v1",
    "textgen_package",
    "textgen_complete_marker",
    "scene_manifest",
    "scene_layout_scaled",
    "inventory",
    "regen3d_complete_marker",
    "asset_metadata",
    "variants_index",
    "failure_marker",
    "completion_marker",
}
# Shared by several factories: tests change documents only through deep copies.
XYZ0 = {"x": 0.0, "y": 0.0, "z": 0.0}
ONES = {"x": 1.0, "y": 1.0, "z": 1.0}
I3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


# ------------------------------------------------------------------------------------------------
# Documents as the spec says conforming writers produce them
# ------------------------------------------------------------------------------------------------


def manifest() -> dict[str, Any]:
    """Text adapter manifest (spec-text §2.5) moved to the strict shape of §4C."""
    obj = {
        "id": "obj_002",
        "name": "fridge",
        "category": "refrigerator",
        "description": "refrigerator generated from text prompt",
        "sim_role": "articulated_appliance",
        "asset": {"path": "scenes/scene_k/assets/obj_002/model.usd", "source": "text_scene_gen", "format": "usd"},
        "transform": {
            "position": {"x": -0.7564, "y": 0.0129, "z": -2.6553},
            "scale": ONES,
            "rotation_quaternion": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0},
        },
        "dimensions_est": {"width": 0.9, "height": 1.8, "depth": 0.8},
        "physics_hints": {"dynamic": False, "mass_kg": 4.0, "friction_static": 0.55},
        "articulation": {"required": True, "backend_hint": "particulate_first"},
        "source": {
            "type": "text_sage",
            "generation_tier": "standard",
            "provider": "sage",
            "seed": 1,
            "text_backend": "sage",
        },
        "placement": {
            "placement_stage": "furniture",
            "parent_support_id": None,
            "asset_validation": {"score": 0.7425, "passed": True},
        },
    }
    mug = copy.deepcopy(obj) | {"id": "obj_010", "name": "mug", "category": "mug", "sim_role": "manipulable_object"}
    return {
        "version": "1.0.0",
        "scene_id": "scene_k",
        "scene": {
            "coordinate_frame": "y_up",
            "meters_per_unit": 1.0,
            "environment_type": "kitchen",
            "room": {"bounds": {"width": 6.9462, "depth": 5.9336, "height": 3.1}, "origin": [0.0, 0.0, 0.0]},
        },
        "objects": [obj, mug],
        "metadata": {
            "source": {"type": "text_sage", "request_id": "scene_k"},
            "source_pipeline": "text-scene-adapter-job",
        },
    }


def layout() -> dict[str, Any]:
    return {
        "scene_id": "scene_k",
        "objects": [
            {
                "id": "obj_001",
                "class_name": "sink",
                "center3d": [-2.3447, 0.0171, -2.5824],
                "obb": {"center": [-2.3447, 0.4671, -2.5824], "extents": [0.3, 0.45, 0.25], "R": I3},
                "placement_stage": "furniture",
                "rotation_quaternion": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0},
            },
            {
                "id": "obj_002",
                "class_name": "mug",
                "center3d": [0.0, 0.9, 0.0],
                "obb": {
                    "center": [0.0, 0.95, 0.0],
                    "extents": [0.04, 0.05, 0.04],
                    "R": [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
                },
                "parent_support_id": "surface_obj_001_top",
            },
        ],
        "room_box": {"min": [-3.4731, 0.0, -2.9668], "max": [3.4731, 3.1, 2.9668]},
        "wall_thickness_m": 0.12,
        "openings": [
            {
                "id": "opening_door_main",
                "type": "door",
                "wall": "south",
                "center": [0.0, 0.0, -2.9668],
                "width_m": 0.9,
                "height_m": 2.05,
            },
            {
                "id": "opening_window_main",
                "type": "window",
                "wall": "east",
                "center": [3.4731, 1.5, 0.0],
                "width_m": 1.2,
                "height_m": 1.0,
                "sill_height_m": 1.0,
            },
        ],
    }


def inventory_text() -> dict[str, Any]:
    return {
        "scene_id": "scene_k",
        "source": "text_scene_gen",
        "objects": [
            {
                "id": "obj_001",
                "name": "sink",
                "category": "sink",
                "sim_role": "static",
                "description": "sink generated from text prompt",
                "asset_strategy": "generated",
                "articulation_required": False,
                "placement_stage": "furniture",
                "parent_support_id": "",
                "asset_validation": {"score": 0.7425, "passed": True},
            }
        ],
    }


def inventory_image() -> dict[str, Any]:
    return {
        "scene_id": "scene_i",
        "environment_type": "kitchen",
        "total_objects": 1,
        "objects": [
            {
                "id": "counter_0",
                "category": "counter",
                "short_description": "a counter",
                "sim_role": "static",
                "is_floor_contact": True,
            }
        ],
        "metadata": {},
    }


def package() -> dict[str, Any]:
    obj = {
        "id": "obj_001",
        "name": "mug",
        "category": "mug",
        "sim_role": "manipulable_object",
        "description": "mug generated from text prompt",
        "transform": {"position": XYZ0, "scale": ONES, "rotation_quaternion": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}},
        "dimensions_est": {"width": 0.08, "height": 0.1, "depth": 0.08},
        "physics_hints": {"dynamic": True, "mass_kg": 0.35},
        "asset_strategy": "generated",
        "placement_stage": "manipulands",
        "parent_support_id": None,
        "surface_local_se2": None,
        "articulation": {"required": False, "backend_hint": "none"},
    }
    return {
        "schema_version": "v1",
        "scene_id": "scene_k",
        "room_type": "kitchen",
        "seed": 1,
        "quality_tier": "standard",
        "provider_policy": "openrouter_qwen_primary",
        "provider_used": "openai",
        "used_llm": False,
        "llm_attempts": 0,
        "llm_failure_reason": "llm_disabled",
        "fallback_strategy": "deterministic_template",
        "prompt": "a kitchen",
        "constraints": {},
        "objects": [obj],
        "layout_plan": {
            "schema_version": "v1",
            "room_type": "kitchen",
            "room_box": {"min": [-3, 0, -3], "max": [3, 3, 3]},
            "wall_thickness_m": 0.12,
            "openings": [],
        },
        "placement_stages": [{"stage": "single_pass", "accepted_iteration": 1, "iterations": []}],
        "critic_scores": [{"stage": "single_pass", "total": 5.1}],
        "support_surfaces": [],
        "faithfulness_report": {"schema_version": "v1", "score": 0.44, "status": "warn"},
        "placement_graph": {"schema_version": "v1", "relations": []},
        "physics_hints": {"obj_001": {"dynamic": True}},
        "provenance": {"assets": [], "generation": {"strategy": "hybrid_generation_retrieval"}, "backends": []},
        "quality_gate_report": {
            "schema_version": "v1",
            "scene_id": "scene_k",
            "quality_tier": "standard",
            "provider": "openai",
            "metrics": {
                "object_count": 1,
                "collision_rate_pct": 0.0,
                "stability_pct": 100.0,
                "articulated_coverage_pct": 0.0,
            },
            "cost": {"estimated_cost_usd": 0, "llm_calls": 0, "tier": "standard"},
            "timing": {"generation_seconds": 0.01},
            "generation_mode": "deterministic_fallback",
            "status": "passed",
            "text_backend": "sage",
        },
        "text_backend": "sage",
        "backend": {"selected": "sage", "backends": [{"name": "sage"}]},
    }


def textgen_complete() -> dict[str, Any]:
    """The spec's example from a real run, verbatim in content (spec-text §1.6)."""
    return {
        "scene_id": "scene_k",
        "status": "completed",
        "source_mode": "text",
        "text_backend": "sage",
        "quality_tier": "standard",
        "provider_policy": "openrouter_qwen_primary",
        "provider_used": "sage",
        "seed": 1,
        "profile": "standard_v1",
        "retry_used": False,
        "generation_mode": "deterministic_fallback",
        "llm_attempts": 0,
        "llm_fallback_used": False,
        "llm_failure_reason": "llm_disabled",
        "action_demo": {"enabled": False, "emitted": False},
        "request_object": "scenes/scene_k/prompts/scene_request.json",
        "textgen_prefix": "scenes/scene_k/textgen",
    }


def regen3d_text() -> dict[str, Any]:
    return {
        "scene_id": "scene_k",
        "status": "completed",
        "source": "text_scene_adapter",
        "objects_count": 12,
        "quality_tier": "standard",
        "provider": "openai",
        "seed": 1,
        "marker_type": "stage1_complete",
    }


def regen3d_image() -> dict[str, Any]:
    return {
        "status": "complete",
        "scene_id": "scene_i",
        "objects_count": 7,
        "has_background": True,
        "scale_factor": 1.0,
        "environment_type": "kitchen",
        "completed_at": "2026-02-22T10:00:00Z",
        "metrics_summary": {},
    }


def asset_metadata_text() -> dict[str, Any]:
    return {
        "id": "obj_004",
        "class_name": "bowl",
        "mesh_bounds": {"export": {"center": [0, 0, 0], "size": [0.18, 0.08, 0.18]}},
        "source": {"type": "text", "asset_strategy": "generated", "materialization": "placeholder_usd"},
    }


def asset_metadata_image() -> dict[str, Any]:
    return {
        "id": "counter_0",
        "category": "counter",
        "mesh_bounds": {"export": {"center": [0.1, 0.4, 0], "size": [1.6, 0.9, 0.6]}},
        "source": "3d-re-gen",
    }


def std_failure() -> dict[str, Any]:
    run = Run(
        "usd-assembly-pipeline:scenes/scene_k/assets/.regen3d_complete@7",
        "usd-assembly-pipeline",
        {"data": {"bucket": "b", "name": "scenes/scene_k/assets/.regen3d_complete", "generation": "7"}},
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        return failure_body(
            run, job_name="usd-assembly-job", code="usd_assembly_failed", message="exit 3", stage="usd", exc=exc
        )


def orchestrator_failure() -> dict[str, Any]:
    """The source orchestrator's variant (spec-source §2.3 G)."""
    return {
        "scene_id": "kitchen",
        "status": "failed",
        "timestamp": "2026-02-22T10:00:00Z",
        "input_object": "scenes/kitchen/prompts/scene_request.json",
        "input_generation": "12",
        "source_mode": "unknown",
        "text_backend": "scenesmith",
        "failed_stage": "source_request_validation",
        "error": {
            "code": "invalid_scene_request",
            "message": "seed_count: must be at least 1",
            "type": "source_orchestrator_failure",
            "field": "seed_count",
        },
        "context": {
            "workflow_execution_id": "x",
            "completed_variants": 0,
            "fallback_used": False,
            "lock_object": "l",
            "lock_acquired": True,
        },
    }


def completion() -> dict[str, Any]:
    return {
        "scene_id": "kitchen",
        "status": "completed",
        "source_type": "image_fallback",
        "timestamp": "2026-02-22T10:00:00.123Z",
    }


def request() -> dict[str, Any]:
    return build_request(
        "a kitchen with a fridge", scene_id="kitchen", seeds=3, settings=SETTINGS, constraints={"room_type": "kitchen"}
    )


POSITIVE: list[tuple[str, Any]] = [
    ("scene_request_v1", request),
    (
        "scene_request_v1",
        lambda: {
            "schema_version": "v1",
            "scene_id": "img",
            "source_mode": "image",
            "image": {"gcs_uri": "gs://b/scenes/img/images/a.png", "generation": "5"},
        },
    ),
    (
        "scene_request_v1",
        lambda: {
            "schema_version": "v1",
            "scene_id": "a",
            "source_mode": "auto",
            "text_backend": "hybrid_serial",
            "prompt": "p",
            "image": {"gcs_uri": "scenes/a/images/a.jpg"},
            "provider_policy": "openai_primary",
            "fallback": {"allow_image_fallback": False},
        },
    ),
    (
        "scene_request_v1",
        lambda: parse_request(
            b'{"schema_version":"v1","scene_id":"k","prompt":"p"}', scene_id_from_path="k", settings=SETTINGS
        ).to_dict(),
    ),
    ("scene_manifest", manifest),
    ("scene_layout_scaled", layout),
    ("inventory", inventory_text),
    ("inventory", inventory_image),
    ("textgen_package", package),
    ("textgen_complete_marker", textgen_complete),
    ("regen3d_complete_marker", regen3d_text),
    ("regen3d_complete_marker", regen3d_image),
    ("asset_metadata", asset_metadata_text),
    ("asset_metadata", asset_metadata_image),
    ("variants_index", lambda: variants_index(request(), settings=SETTINGS)),
    ("failure_marker", std_failure),
    ("failure_marker", orchestrator_failure),
    ("completion_marker", completion),
]


def _set(doc: Any, path: list[Any], value: Any) -> Any:
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DEL:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DEL = object()

# (contract, document factory, path to change, new value, field the problem must name, code)
NEGATIVE: list[tuple[str, Any, list[Any], Any, str, str]] = [
    (
        "scene_manifest",
        manifest,
        ["objects", 0, "placement_stage"],
        "furniture",
        "objects[0].placement_stage",
        "unknown_field",
    ),
    ("scene_manifest", manifest, ["objects", 1, "id"], "obj_002", "objects[1].id", "duplicate_id"),
    ("scene_manifest", manifest, ["objects", 0, "id"], "obj 2", "objects[0].id", "pattern"),
    ("scene_manifest", manifest, ["version"], "1.0", "version", "const"),
    ("scene_manifest", manifest, ["scene", "coordinate_frame"], "z_up", "scene.coordinate_frame", "const"),
    ("scene_manifest", manifest, ["scene", "room"], _DEL, "scene.room", "required"),
    (
        "scene_manifest",
        manifest,
        ["objects", 1, "transform", "position", "x"],
        "0",
        "objects[1].transform.position.x",
        "type",
    ),
    (
        "scene_manifest",
        manifest,
        ["objects", 1, "transform", "position", "x"],
        math.nan,
        "objects[1].transform.position.x",
        "not_finite",
    ),
    (
        "scene_manifest",
        manifest,
        ["objects", 0, "transform", "scale", "z"],
        _DEL,
        "objects[0].transform.scale.z",
        "required",
    ),
    (
        "scene_manifest",
        manifest,
        ["objects", 0, "asset", "path"],
        "../other/model.usd",
        "objects[0].asset.path",
        "pattern",
    ),
    ("scene_manifest", manifest, ["objects", 0, "asset", "path"], _DEL, "objects[0].asset.path", "required"),
    (
        "scene_manifest",
        manifest,
        ["objects", 0, "dimensions_est", "width"],
        0,
        "objects[0].dimensions_est.width",
        "exclusiveMinimum",
    ),
    ("scene_manifest", manifest, ["objects", 0, "sim_role"], "furniture", "objects[0].sim_role", "enum"),
    ("scene_manifest", manifest, ["physics"], {}, "physics", "unknown_field"),
    ("scene_layout_scaled", layout, ["objects", 1, "obb"], _DEL, "objects[1].obb", "required"),
    (
        "scene_layout_scaled",
        layout,
        ["objects", 1, "obb", "R"],
        [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "objects[1].obb.R",
        "not_rotation",
    ),
    (
        "scene_layout_scaled",
        layout,
        ["objects", 1, "obb", "R"],
        [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "objects[1].obb.R",
        "not_rotation",
    ),
    ("scene_layout_scaled", layout, ["objects", 0, "obb", "extents", 1], -0.1, "objects[0].obb.extents[1]", "minimum"),
    ("scene_layout_scaled", layout, ["objects", 0, "center3d"], [0.0, 1.0], "objects[0].center3d", "minItems"),
    ("scene_layout_scaled", layout, ["room_box", "max", 0], -4.0, "room_box.max[0]", "box_inverted"),
    ("scene_layout_scaled", layout, ["objects", 1, "id"], "obj_001", "objects[1].id", "duplicate_id"),
    ("scene_layout_scaled", layout, ["wall_thickness_m"], 0.01, "wall_thickness_m", "minimum"),
    ("inventory", inventory_text, ["objects", 0, "name"], _DEL, "objects[0].name", "required"),
    ("inventory", inventory_text, ["objects", 0, "parent_support_id"], None, "objects[0].parent_support_id", "type"),
    ("inventory", inventory_image, ["objects", 0, "category"], _DEL, "objects[0].category", "required"),
    ("textgen_package", package, ["provenance"], _DEL, "provenance", "required"),
    ("textgen_package", package, ["fallback_strategy"], "retry", "fallback_strategy", "enum"),
    ("textgen_package", package, ["objects", 0, "sim_role"], "clutter", "objects[0].sim_role", "enum"),
    ("textgen_package", package, ["objects", 0, "articulation"], {}, "objects[0].articulation.required", "required"),
    ("textgen_package", package, ["quality_gate_report", "status"], "failed", "quality_gate_report.status", "const"),
    ("textgen_complete_marker", textgen_complete, ["generation_mode"], "sage_live", "generation_mode", "enum"),
    ("textgen_complete_marker", textgen_complete, ["llm_attempts"], _DEL, "llm_attempts", "required"),
    ("regen3d_complete_marker", regen3d_text, ["marker_type"], _DEL, "marker_type", "required"),
    ("regen3d_complete_marker", regen3d_text, ["status"], "complete", "status", "const"),
    ("regen3d_complete_marker", regen3d_image, ["objects_count"], -1, "objects_count", "minimum"),
    (
        "asset_metadata",
        asset_metadata_text,
        ["mesh_bounds", "export", "size", 0],
        0,
        "mesh_bounds.export.size[0]",
        "exclusiveMinimum",
    ),
    ("asset_metadata", asset_metadata_text, ["class_name"], _DEL, "class_name", "required"),
    (
        "variants_index",
        lambda: variants_index(request(), settings=SETTINGS),
        ["variants", 1, "scene_id"],
        "kitchen-s003",
        "variants[1].scene_id",
        "variant_mismatch",
    ),
    (
        "variants_index",
        lambda: variants_index(request(), settings=SETTINGS),
        ["seed_count"],
        4,
        "variants",
        "count_mismatch",
    ),
    ("failure_marker", std_failure, ["status"], "completed", "status", "const"),
    ("failure_marker", orchestrator_failure, ["error", "code"], _DEL, "error.code", "required"),
    ("failure_marker", orchestrator_failure, ["scene_id"], "../x", "scene_id", "pattern"),
    ("completion_marker", completion, ["status"], "failed", "status", "const"),
    ("completion_marker", completion, ["source_type"], "video", "source_type", "enum"),
    ("scene_request_v1", request, ["seed_count"], "3", "seed_count", "type"),
    ("scene_request_v1", request, ["promt"], "x", "promt", "unknown_field"),
    ("scene_request_v1", request, ["prompt"], "  ", "prompt", "pattern"),
]


# ------------------------------------------------------------------------------------------------


def test_every_contract_ships_and_is_a_valid_schema() -> None:
    assert CONTRACTS | {"common"} == set(schema_names())
    for name in schema_names():
        schema = load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"urn:bpflow:contract:{name}"
    # Every contract is exercised by at least one positive document below.
    assert {name for name, _ in POSITIVE} == CONTRACTS


def test_schemas_are_package_data() -> None:
    import bpflow.core.contracts

    folder = Path(bpflow.core.contracts.__file__).parent / "schemas"
    assert {p.stem for p in folder.glob("*.json")} == set(schema_names())


@pytest.mark.parametrize(("name", "factory"), POSITIVE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(POSITIVE)])
def test_conforming_documents_pass(name: str, factory: Any) -> None:
    doc = factory()
    assert validate(name, doc) == []
    assert_valid(name, doc)


@pytest.mark.parametrize(
    ("name", "factory", "path", "value", "field", "code"),
    NEGATIVE,
    ids=[f"{n}:{f}:{c}" for n, _, _, _, f, c in NEGATIVE],
)
def test_each_breach_names_its_field(
    name: str, factory: Any, path: list[Any], value: Any, field: str, code: str
) -> None:
    doc = _set(copy.deepcopy(factory()), path, value)
    problems = validate(name, doc)
    assert Problem(field, problems[0].message, code) in problems or any(
        p.field == field and p.code == code for p in problems
    ), problems
    with pytest.raises(ValidationFailed) as info:
        assert_valid(name, doc)
    assert info.value.field == problems[0].field
    assert info.value.details["contract"] == name


def test_every_problem_is_reported_not_only_the_first() -> None:
    doc = copy.deepcopy(manifest())
    doc["objects"][0]["placement_stage"] = "furniture"
    doc["objects"][1]["transform"]["position"]["y"] = "high"
    doc["version"] = "2"
    fields = {p.field for p in validate("scene_manifest", doc)}
    assert {"objects[0].placement_stage", "objects[1].transform.position.y", "version"} <= fields


def test_messages_stay_short_for_huge_values() -> None:
    doc = copy.deepcopy(manifest())
    doc["objects"][0]["sim_role"] = "x" * 1_000_000
    doc["objects"][1]["id"] = "y " * 500_000
    problems = validate("scene_manifest", doc)
    assert {p.field for p in problems} == {"objects[0].sim_role", "objects[1].id"}
    assert all(len(p.message) < 400 for p in problems)


def test_load_schema_returns_a_copy_and_unknown_names_are_clear() -> None:
    schema = load_schema("scene_manifest")
    schema["properties"].clear()
    assert load_schema("scene_manifest")["properties"]
    assert validate("scene_manifest", manifest()) == []
    with pytest.raises(ValidationFailed) as info:
        load_schema("scene_manifests")
    assert info.value.code == "unknown_contract"
    assert "scene_manifest" in info.value.message


def test_format_path() -> None:
    assert format_path([]) == "$"
    assert format_path(["objects", 2, "transform", "position", "x"]) == "objects[2].transform.position.x"
    assert format_path(["constraints", "a.b", 0]) == 'constraints["a.b"][0]'
    assert format_path([0]) == "[0]"


def test_workflow_markers_written_by_the_blocks_match_their_contracts(runtime: Any) -> None:
    """The real marker writers (blocks.markers on a running runtime) produce contract-valid bodies."""
    bucket = runtime.bucket
    bucket.write_json("scenes/good/test/input.json", {"hello": 1})
    bucket.write_json("scenes/bad/test/input.json", {"fail": True})
    done = wait_until(lambda: bucket.read_json_or_none("scenes/good/test/a/.a_complete"), timeout=60)
    failed = wait_until(lambda: bucket.read_json_or_none("scenes/bad/test/a/.failed"), timeout=60)
    chained = wait_until(
        lambda: bucket.read_json_or_none("scenes/good/test/b/.b_complete"), timeout=60
    )  # the chain settles
    assert validate("completion_marker", done) == []
    assert validate("completion_marker", chained) == []
    assert validate("failure_marker", failed) == []
    assert failed["error"]["code"] == "test_copy_failed"
