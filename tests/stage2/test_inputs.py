"""Stage-2 inputs: manifest and layout parsing, and how a job answers bad input (a structured
error naming the field, exit 2, no traceback, nothing written)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.core.errors import ValidationFailed
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.scene.layout import parse_layout
from bpflow.domain.scene.manifest import parse_manifest
from tests.stage2.jobrun import job_error, run
from tests.stage2.stage1_fixture import KITCHEN, layout, manifest, write_stage1_scene

GOOD = manifest("s1", KITCHEN)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def test_fixture_manifest_parses() -> None:
    m = parse_manifest(json.dumps(GOOD).encode(), expected_scene="s1")
    assert m.up_axis == "Y" and m.meters_per_unit == 1.0 and [o.id for o in m.objects] == [s.id for s in KITCHEN]
    fridge = m.by_id()["fridge_0"]
    assert fridge.articulation_required and fridge.dimensions == (0.8, 1.8, 0.7) and fridge.is_static


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["objects", 1, "id"], "a/b", "objects[1].id"),
        (["objects", 2, "id"], "fridge_0", "objects[2].id"),
        (["objects", 0, "dimensions_est"], {"width": -1, "height": 1, "depth": 1}, "objects[0].dimensions_est.width"),
        (["objects", 3, "transform", "position"], {"x": 1, "y": "high", "z": 0}, "objects[3].transform.position.y"),
        (
            ["objects", 3, "transform", "rotation_quaternion"],
            {"w": 0, "x": 0, "y": 0, "z": 0},
            "objects[3].transform.rotation_quaternion",
        ),
        (["scene", "coordinate_frame"], "x_up", "scene.coordinate_frame"),
        (["scene", "meters_per_unit"], 0, "scene.meters_per_unit"),
        (["scene_id"], "other", "scene_id"),
        (["version"], "one", "version"),
        (["objects"], {"a": 1}, "objects"),
        (["objects", 4], "mug", "objects[4]"),
    ],
)
def test_bad_manifest_names_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_manifest(json.dumps(_broken(path, value)).encode(), expected_scene="s1")
    assert exc.value.code == "invalid_manifest" and exc.value.field == field


def test_every_problem_is_listed() -> None:
    doc = _broken(["objects", 1, "id"], "bad id")
    doc["scene"]["meters_per_unit"] = -1
    with pytest.raises(ValidationFailed) as exc:
        parse_manifest(json.dumps(doc).encode())
    fields = {p["field"] for p in exc.value.details["problems"]}
    assert fields == {"objects[1].id", "scene.meters_per_unit"}


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff\xfe", b'"text"'])
def test_unreadable_manifest(raw: bytes) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_manifest(raw)
    assert exc.value.code == "invalid_manifest"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_manifest_is_parsed_or_refused_cleanly(value: Any) -> None:
    try:
        parse_manifest(json.dumps(value).encode())
    except ValidationFailed as exc:
        assert exc.field
    try:
        parse_layout(json.dumps(value).encode())
    except ValidationFailed as exc:
        assert exc.field


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(range(len(KITCHEN))),
    st.sampled_from(["id", "category", "transform", "dimensions_est", "articulation", "asset", "sim_role"]),
    json_values,
)
def test_fuzzed_object_fields_never_crash(index: int, key: str, value: Any) -> None:
    doc = copy.deepcopy(GOOD)
    doc["objects"][index][key] = value
    try:
        parse_manifest(json.dumps(doc).encode())
    except ValidationFailed as exc:
        assert exc.field and exc.field.startswith(f"objects[{index}]")


def test_layout_obb_rotation_must_be_a_rotation() -> None:
    doc = layout("s1", KITCHEN)
    doc["objects"][0]["obb"]["R"] = [[2, 0, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValidationFailed) as exc:
        parse_layout(json.dumps(doc).encode())
    assert exc.value.field == "objects[0].obb.R"
    doc["objects"][0]["obb"]["R"] = [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]  # a mirror
    with pytest.raises(ValidationFailed):
        parse_layout(json.dumps(doc).encode())


def _keys(bucket: LocalBucket) -> dict[str, int]:
    return {i.key: i.generation for i in bucket.list("")}


@pytest.mark.parametrize(
    ("job", "env", "prepare", "code", "field"),
    [
        ("simready-job", {}, "no_manifest", "manifest_missing", "ASSETS_PREFIX"),
        ("usd-assembly-job", {"CONVERT_ONLY": "true"}, "bad_manifest", "invalid_manifest", "objects[1].id"),
        (
            "usd-assembly-job",
            {"CONVERT_ONLY": "true", "ASSETS_PREFIX": "scenes/other/assets"},
            None,
            "invalid_config",
            "ASSETS_PREFIX",
        ),
        (
            "usd-assembly-job",
            {"CONVERT_ONLY": "true", "USD_PREFIX": "scenes/bad1/../other/usd"},
            None,
            "invalid_config",
            "USD_PREFIX",
        ),
        ("usd-assembly-job", {"CONVERT_ONLY": "true"}, "no_asset", "asset_missing", "objects[3].asset.path"),
        ("usd-assembly-job", {}, "no_layout", "layout_missing", "LAYOUT_PREFIX"),
        (
            "simready-job",
            {"SIMREADY_PHYSICS_MODE": "gemini"},
            None,
            "simready_mode_unavailable",
            "SIMREADY_PHYSICS_MODE",
        ),
        ("replicator-job", {}, "no_inventory", "inventory_missing", "SEG_PREFIX"),
        ("isaac-lab-job", {"ROBOT_TYPE": "spot"}, None, "invalid_config", "ROBOT_TYPE"),
        ("isaac-lab-job", {}, None, "affordance_graph_missing", "REPLICATOR_PREFIX"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, job: str, env: dict[str, str], prepare: str | None, code: str, field: str
) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    write_stage1_scene(bucket, "bad1")
    root = "scenes/bad1"
    if prepare == "no_manifest":
        bucket.delete(f"{root}/assets/scene_manifest.json")
    elif prepare == "bad_manifest":
        bucket.write_json(
            f"{root}/assets/scene_manifest.json", {**_broken(["objects", 1, "id"], "../x"), "scene_id": "bad1"}
        )
    elif prepare == "no_asset":
        for info in list(bucket.list(f"{root}/assets/obj_mug_0/")):
            bucket.delete(info.key)
    elif prepare == "no_layout":
        bucket.delete(f"{root}/layout/scene_layout_scaled.json")
    elif prepare == "no_inventory":
        bucket.delete(f"{root}/seg/inventory.json")
    before = _keys(bucket)
    result = run(bucket, "bad1", job, **env)
    assert result.exit_code == 2, result.stderr_tail
    assert "Traceback" not in result.stderr_tail
    err = job_error(result)
    assert (err["code"], err.get("field")) == (code, field)
    assert _keys(bucket) == before
