"""Reading textgen/package.json: defaults, structured errors naming the field, never a crash."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.domain.retrieval.errors import InvalidTextPackage
from bpflow.domain.retrieval.planned_package import canonical_room_type, parse_package


def test_fixture_parses_with_appendix_values(package: dict[str, Any], request_doc: dict[str, Any]) -> None:
    pkg = parse_package(package, request_doc, "scene_k")
    assert len(pkg.objects) == 12
    assert pkg.room_type == "kitchen" and pkg.seed == 1 and pkg.quality_tier == "standard"
    assert pkg.provider_used == "sage" and pkg.source_type == "text_sage"
    fridge = pkg.objects[1]
    assert (fridge.id, fridge.name, fridge.category, fridge.sim_role) == (
        "obj_002",
        "fridge",
        "refrigerator",
        "articulated_appliance",
    )
    assert fridge.position == (-0.7564, 0.0129, -2.6553)
    assert fridge.dimensions == (0.9, 1.8, 0.8)
    assert fridge.articulation_required
    assert pkg.room_box == {"min": [-3.4731, 0.0, -2.9668], "max": [3.4731, 3.1, 2.9668]}


def test_missing_values_take_reference_defaults(request_doc: dict[str, Any]) -> None:
    pkg = parse_package({"objects": [{"id": "a"}]}, request_doc, "scene_k")
    obj = pkg.objects[0]
    assert obj.dimensions == (0.25, 0.25, 0.25)
    assert obj.sim_role == "manipulable_object" and obj.name == "a" and obj.class_name == "a"
    assert obj.rotation == (1.0, 0.0, 0.0, 0.0)
    assert pkg.room_box == {"min": [-3.0, 0.0, -3.0], "max": [3.0, 3.0, 3.0]}
    assert pkg.wall_thickness_m == 0.12


def test_tiny_dimensions_are_floored(request_doc: dict[str, Any]) -> None:
    obj = parse_package(
        {"objects": [{"id": "a", "dimensions_est": {"width": 0.001, "height": 1, "depth": 1}}]}, request_doc, "scene_k"
    ).objects[0]
    assert obj.dimensions == (0.02, 1.0, 1.0)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(objects="nope"), "objects"),
        (lambda p: p["objects"][3].update(id="../x"), "objects[3].id"),
        (lambda p: p["objects"][3].update(id=""), "objects[3].id"),
        (lambda p: p["objects"][4].update(id="obj_001"), "objects[4].id"),
        (lambda p: p["objects"][0]["dimensions_est"].update(width=-1), "objects[0].dimensions_est.width"),
        (lambda p: p["objects"][0]["dimensions_est"].update(height="tall"), "objects[0].dimensions_est.height"),
        (lambda p: p["objects"][0]["dimensions_est"].update(depth=1e9), "objects[0].dimensions_est.depth"),
        (lambda p: p["objects"][2]["transform"]["position"].update(x=math.nan), "objects[2].transform.position.x"),
        (
            lambda p: p["objects"][2]["transform"].update(rotation_quaternion={"w": 0, "x": 0, "y": 0, "z": 0}),
            "objects[2].transform.rotation_quaternion",
        ),
        (lambda p: p["objects"][1].update(category=["fridge"]), "objects[1].category"),
        (lambda p: p["objects"][1].update(articulation="yes"), "objects[1].articulation"),
        (lambda p: p.update(scene_id="other_scene"), "scene_id"),
        (lambda p: p["layout_plan"].update(room_box={"min": [0, 0, 0], "max": [0, 1, 1]}), "layout_plan.room_box"),
        (lambda p: p.update(seed="1"), "seed"),
        (lambda p: p["layout_plan"].update(keep_clear={"min": [0, 0, 0]}), "layout_plan.keep_clear"),
        (
            lambda p: p["layout_plan"].update(keep_clear=[{"min": [0, 0, 0], "max": [1, 0]}]),
            "layout_plan.keep_clear[0].max",
        ),
    ],
)
def test_bad_values_name_their_field(
    package: dict[str, Any], request_doc: dict[str, Any], mutate: Any, field: str
) -> None:
    mutate(package)
    with pytest.raises(InvalidTextPackage) as err:
        parse_package(package, request_doc, "scene_k")
    assert err.value.field == field
    assert err.value.code == "invalid_text_package"
    assert field in str(err.value)


def test_zones_planning_kept_clear_are_read(package: dict[str, Any], request_doc: dict[str, Any]) -> None:
    """The internal planner's door clearance (settle keeps objects moved to the floor out of it)."""
    assert parse_package(package, request_doc, "scene_k").keep_clear == ()
    package["layout_plan"]["keep_clear"] = [{"id": "door", "min": [0.55, 0.0, -3.0], "max": [-0.55, 0.0, -2.1]}]
    assert parse_package(package, request_doc, "scene_k").keep_clear == ((-0.55, -3.0, 0.55, -2.1),)


def test_room_type_resolution_and_aliases(package: dict[str, Any], request_doc: dict[str, Any]) -> None:
    assert canonical_room_type("Dining Room") == "living_room"
    assert canonical_room_type("grocery-store") == "grocery"
    assert canonical_room_type("") == "generic_room"
    request_doc["constraints"] = {"room_type": "Laundry Room"}
    assert parse_package(package, request_doc, "scene_k").room_type == "home_laundry"
    request_doc["constraints"] = {"prompt_diversity": {"dimensions": {"archetype": "study"}}}
    del package["room_type"]
    assert parse_package(package, request_doc, "scene_k").room_type == "office"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
object_keys = st.sampled_from(
    [
        "id",
        "name",
        "category",
        "sim_role",
        "transform",
        "dimensions_est",
        "articulation",
        "physics_hints",
        "surface_local_se2",
        "parent_support_id",
        "description",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.dictionaries(object_keys, json_values, max_size=6) | json_values, max_size=4),
    st.dictionaries(
        st.sampled_from(["layout_plan", "seed", "room_type", "quality_tier", "scene_id"]), json_values, max_size=3
    ),
)
def test_fuzzed_packages_parse_or_fail_with_a_field(objects: list[Any], extra: dict[str, Any]) -> None:
    """Whatever the planner wrote, the parser returns a package or an InvalidTextPackage naming a field."""
    doc = {"objects": objects, **extra}
    try:
        pkg = parse_package(doc, {}, "scene_k")
    except InvalidTextPackage as exc:
        assert exc.field
        return
    for obj in pkg.objects:
        assert all(0.02 <= d <= 100 for d in obj.dimensions)
        assert all(math.isfinite(v) for v in obj.position)
        assert abs(sum(v * v for v in obj.rotation) - 1.0) < 1e-6
