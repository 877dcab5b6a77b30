"""Unit level: the poller's scan over a real local bucket, the bundle rules (with hypothesis)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.geniesim.contracts import (
    _version_in_range,
    backfill_tasks,
    bundle_problems,
    consistency_problems,
    schema_problems,
)
from bpflow.domain.geniesim.poller import scan


def _job(b: LocalBucket, scene: str, job_id: str, status: str = "completed") -> None:
    b.write_json(f"scenes/{scene}/geniesim/job.json", {"job_id": job_id, "scene_id": scene, "status": status})


def test_scan_finds_completed_jobs_not_yet_imported(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path / "b")
    _job(b, "due", "j1")
    _job(b, "done", "j2")
    b.write_json("scenes/done/geniesim/.geniesim_import_complete", {"job_id": "j2"})
    _job(b, "newer", "j3")
    b.write_json("scenes/newer/geniesim/.geniesim_import_complete", {"job_id": "j-old"})
    _job(b, "newer", "j4")  # a second job after the first was imported
    _job(b, "running", "j5", "submitted")
    b.write_json("scenes/noid/geniesim/job.json", {"status": "completed"})
    b.write("scenes/junk/geniesim/job.json", b"{oops")
    b.write_json("scenes/nested/x/geniesim/job.json", {"job_id": "jx", "status": "completed"})
    found = scan(b)
    assert sorted((d["scene_id"], d["job_id"]) for d in found.due) == [("due", "j1"), ("newer", "j4")]
    assert found.skipped["scenes/done/geniesim/job.json"] == "imported"
    assert found.skipped["scenes/running/geniesim/job.json"] == "status submitted"
    assert found.skipped["scenes/noid/geniesim/job.json"] == "no job_id"
    assert list(found.unreadable) == ["scenes/junk/geniesim/job.json"]


def test_scan_is_right_when_the_marker_was_restored_with_old_timestamps(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path / "b")
    b.write_json("scenes/s/geniesim/.geniesim_import_complete", {"job_id": "j1"})
    _job(b, "s", "j1")
    marker = b.root / "scenes/s/geniesim/.geniesim_import_complete"
    os.utime(marker, (1_000_000, 1_000_000))  # older than job.json: the scan reads both
    assert scan(b).due == [] and scan(b).skipped == {"scenes/s/geniesim/job.json": "imported"}


def _bundle(ids: list[str]) -> dict[str, Any]:
    scene = "s"
    assets = [
        {"asset_id": f"s_obj_{i}", "usd_path": "usd/scene.usda", "semantic_description": i, "categories": ["block"]}
        for i in ids
    ]
    nodes = [
        {
            "asset_id": f"s_obj_{i}",
            "semantic": "block",
            "size": [0.05, 0.05, 0.05],
            "pose": {"position": [0, 0, 0.8], "orientation": [1, 0, 0, 0]},
            "task_tag": [],
            "usd_path": "usd/scene.usda",
        }
        for i in ids
    ]
    tasks = [
        {
            "task_type": "pick_place",
            "target_object": f"s_obj_{i}",
            "target_position": [0.0, 0.0, 0.8],
            "difficulty": "easy",
            "priority": 1,
        }
        for i in ids
    ]
    return {
        "scene_graph": {
            "scene_id": scene,
            "coordinate_system": "z_up",
            "meters_per_unit": 1.0,
            "nodes": nodes,
            "edges": [],
        },
        "asset_index": {"assets": assets},
        "task_config": {
            "scene_id": scene,
            "environment_type": "kitchen",
            "suggested_tasks": tasks,
            "robot_config": {
                "type": "franka",
                "base_position": [0, 0, 0],
                "workspace_bounds": [[-1, -1, 0], [1, 1, 2]],
            },
        },
        "export_manifest": None,
        "completion": {
            "export_schema_version": "1.0.0",
            "geniesim_schema_version": "3.0.0",
            "schema_compatibility": {"min_geniesim_version": "3.0.0", "max_geniesim_version": "3.x.x"},
        },
    }


IDS = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), min_size=1, max_size=6, unique=True)


@settings(max_examples=25, deadline=None)
@given(ids=IDS, data=st.data())
def test_removing_assets_is_reported_exactly(ids: list[str], data: st.DataObject) -> None:
    docs = _bundle(ids)
    assert bundle_problems(docs, require_manifest=False) == []
    gone = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    docs["asset_index"]["assets"] = [
        a for a in docs["asset_index"]["assets"] if a["asset_id"] not in {f"s_obj_{g}" for g in gone}
    ]
    problems = consistency_problems(docs["scene_graph"], docs["asset_index"], backfill_tasks(docs["task_config"]))
    if not gone:
        assert problems == []
    else:
        node = next(p for p in problems if p.field == "scene_graph.json:nodes[].asset_id")
        assert str(sorted(f"s_obj_{g}" for g in gone)) in node.message
        task = next(p for p in problems if p.field.startswith("task_config.json:suggested_tasks["))
        assert str(sorted(f"s_obj_{g}" for g in gone)) in task.message


@settings(max_examples=30, deadline=None)
@given(
    cams=st.lists(
        st.sampled_from(["left", "right", "wrist", "head", "hand", "side", "overhead", "eye_in_hand", "top", "FRONT"]),
        max_size=6,
    ),
    kind=st.sampled_from(["pick_place", "STACK ", "organize", ""]),
)
def test_backfill_always_yields_a_schema_valid_task_and_is_idempotent(cams: list[str], kind: str) -> None:
    tc = {
        "scene_id": "s",
        "environment_type": "x",
        "suggested_tasks": [{"task_type": kind, "required_camera_ids": cams, "difficulty": "easy", "priority": 1}],
        "robot_config": {"type": "franka", "base_position": [0, 0, 0], "workspace_bounds": [[0, 0, 0], [1, 1, 1]]},
    }
    once = backfill_tasks(tc)
    assert schema_problems("task_config", once) == []
    assert backfill_tasks(once) == once
    t = once["suggested_tasks"][0]
    assert t["task_complexity"] == ("composite" if t["task_type"] in ("stack", "organize") else "atomic")
    assert set(t["required_camera_ids"]) >= {"left", "right", "wrist"}


def test_positions_outside_bounds_and_bad_bounds_are_named() -> None:
    docs = _bundle(["a"])
    docs["task_config"]["suggested_tasks"][0]["place_position"] = [1.5, 0.0, 0.8]
    problems = bundle_problems(docs, require_manifest=False)
    assert [p.field for p in problems] == ["task_config.json:suggested_tasks[0].place_position"]
    docs["task_config"]["suggested_tasks"][0]["workspace_bounds"] = {"width": 4, "depth": 4, "height": 2}
    assert bundle_problems(docs, require_manifest=False) == []
    docs["task_config"]["suggested_tasks"][0]["workspace_bounds"] = "everywhere"
    assert bundle_problems(docs, require_manifest=False)[0].code == "workspace_bounds"
    docs = _bundle(["a"])
    docs["completion"]["geniesim_schema_version"] = "2.1.0"
    assert bundle_problems(docs, require_manifest=False)[0].field == "_GENIESIM_EXPORT_COMPLETE:geniesim_schema_version"
    assert (
        _version_in_range("3.0.0", "3.0.0", "3.x.x")
        and not _version_in_range("3.0.0", "3.1.0", "3.x.x")
        and not _version_in_range("3.0.0", "2.0.0", "2.9.9")
    )
    assert json.dumps([p.to_dict() for p in problems])
