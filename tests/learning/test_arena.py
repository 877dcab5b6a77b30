"""arena-export-pipeline on the real runtime: the package compiles, references only files that
exist, its registry matches the scene, its tasks are the evaluation's; the three triggers, the
skip for other keys, and PARTIAL_SUCCESS when the job fails."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bpflow.core.ids import object_run_id
from bpflow.core.storage import Bucket
from bpflow.domain.evaluation.scene_tasks import load_scene_with_tasks
from tests.learning.helpers import upload_scene
from tests.stage2.helpers import outcome

WF = "arena-export-pipeline"
CUBES = [{"id": "light", "xy": (0.1, 0.05), "mass": 0.1}, {"id": "crate", "xy": (-0.2, 0.1), "size": 0.2}]


def _trigger(bucket: Bucket, key: str) -> str:
    info = bucket.write_json(key, {"status": "completed"})
    return object_run_id(WF, key, info.generation)


def _download(bucket: Bucket, prefix: str, root: Path) -> None:
    for info in bucket.list(prefix):
        p = root / info.key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bucket.read(info.key))


def _import(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_arena_package_compiles_matches_the_scene_and_shares_the_evaluation_tasks(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    rt = make_runtime(ENABLE_HUB_REGISTRATION="true")
    b = rt.bucket
    upload_scene(b, tmp_path, "ar", CUBES, drawer=True)
    result = outcome(_trigger(b, "scenes/ar/isaac_lab/.isaac_lab_complete"), timeout=600)
    assert result["status"] == "SUCCESS" and result["trigger_source"] == "isaac_lab", result
    done = b.read_json("scenes/ar/arena/.arena_export_complete")
    assert done["status"] == "complete" and done["scene_id"] == "ar" and done["premium_analytics_enabled"] is False
    root = tmp_path / "dl"
    _download(b, "scenes/ar/", root)
    arena = root / "scenes/ar/arena"
    assert set(done["files_generated"]) == {
        p.relative_to(arena).as_posix() for p in arena.rglob("*") if p.is_file() and not p.name.startswith(".")
    }
    for py in arena.rglob("*.py"):
        compile(py.read_text(), str(py), "exec")
    module = _import(arena / "scene_module.py", "arena_scene_ar")
    assert module.USD_PATH.is_file() and module.SCENE_ID == "ar"
    registry = json.loads((arena / "asset_registry.json").read_text())
    manifest = b.read_json("scenes/ar/assets/scene_manifest.json")
    assert set(registry["objects"]) == {o["id"] for o in manifest["objects"]} == set(module.OBJECTS)
    for oid, o in registry["objects"].items():
        assert o["usd_prim"] and o["category"] == next(m["category"] for m in manifest["objects"] if m["id"] == oid)
    types = {oid: {a["type"] for a in o["affordances"]} for oid, o in registry["objects"].items()}
    assert "grasp" in types["light"] and "grasp" not in types["crate"]  # the crate is wider than the gripper
    assert "place_on" in types["table"] and any("open" in t for t in types.values())  # the drawer unit
    assert done["affordance_count"] == sum(len(o["affordances"]) for o in registry["objects"].values())
    arena_manifest = json.loads((arena / "arena_manifest.json").read_text())
    # one source of truth: the tasks the evaluation would run on this scene
    sim, tasks, _ = load_scene_with_tasks(b, "ar", root / "scenes/ar/usd/scene.usda", manifest)
    assert [t["task_id"] for t in arena_manifest["tasks"]] == [t.task_id for t in tasks] == module.TASKS
    assert done["task_count"] == len(tasks) >= 1
    for t in tasks:
        mod = _import(arena / "tasks" / f"{t.task_id}.py", f"arena_task_{t.task_id}")
        assert mod.TASK["object_id"] == t.object_id and mod.TASK["place_xy"] == list(t.place_xy)
        px, py_ = t.place_xy
        assert mod.success(0.8, 0.9, (px, py_, 0.8), 0.0) and not mod.success(0.8, 0.81, (px, py_, 0.8), 0.0)
    hub = (arena / "hub_config.yaml").read_text()
    assert 'namespace: "blueprint-robotics"' in hub and "scene_module: scene_module.py" in hub


def test_other_keys_skip_and_a_failing_job_is_partial_success(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime()
    b = rt.bucket
    run_id = f"{WF}:manual:submitted"
    rt.dispatcher.start_manual(
        WF, {"data": {"bucket": "b", "name": "scenes/x/geniesim/.geniesim_submitted"}}, run_id=run_id
    )
    skipped = outcome(run_id)
    assert (
        skipped["status"] == "SKIPPED"
        and skipped["message"] == "Not an Arena trigger marker file: scenes/x/geniesim/.geniesim_submitted"
    )
    upload_scene(b, tmp_path, "nomani")
    b.delete("scenes/nomani/assets/scene_manifest.json")
    result = outcome(_trigger(b, "scenes/nomani/geniesim/.geniesim_complete"), timeout=600)
    assert result["status"] == "PARTIAL_SUCCESS" and result["trigger_source"] == "geniesim"
    assert (
        result["message"]
        == "Arena export FAILED for scene nomani - scene is available but without Arena evaluation support"
    )
    assert result["failure_details"]["code"] == "manifest_missing" and result["outputs"] == {
        "scene_usda": "scenes/nomani/usd/scene.usda"
    }
    assert not b.exists("scenes/nomani/arena/.failed") and not b.exists("scenes/nomani/arena/.arena_export_complete")
