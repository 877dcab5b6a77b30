"""isaac-lab-refresh-job: the variation assets become spawnable in the Isaac Lab task package."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.jobkit import job_context
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.variation.isaac_refresh import available_spawns, cfg_module, refresh_result
from bpflow.domain.variation.paths import Stage3Paths
from bpflow.jobs import isaac_lab_refresh, simready, variation_gen
from tests.stage3.stage2_fixture import write_stage2_outputs

SCENE = "kitchen2"
P = Stage3Paths(SCENE)


def _run(module: Any, bucket: LocalBucket, **env: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with job_context({"BPFLOW_BUCKET_URL": bucket.url, "SCENE_ID": SCENE, **env}, stdout=out, stderr=err):
        code = module.main()
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    b = LocalBucket(tmp_path / "bucket")
    write_stage2_outputs(b, SCENE)
    assert _run(variation_gen, b)[0] == 0
    return b


def test_refresh_writes_plan_config_and_metadata(bucket: LocalBucket) -> None:
    bucket.write_json(f"{P.isaac_lab}/generation_metadata.json", {"task_name": "baseline", "keep": 1})
    bucket.write_json(
        f"{P.isaac_lab}/task_spawn_plan_baseline.json",
        {
            "policy_id": "dexterous_pick_place",
            "tasks": [
                {"task_id": "pick_mug_0", "target_object": "mug_0"},
                {"task_id": "open_fridge", "target_object": "fridge_0"},
            ],
        },
    )
    code, out, err = _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="run-1", ISAAC_REFRESH_ONLY="true")
    assert code == 0, err
    plan = bucket.read_json(f"{P.isaac_lab}/task_spawn_plan_refresh.json")
    assert plan["run_id"] == "run-1" and plan["mode"] == "refresh_only" and plan["policy_id"] == "dexterous_pick_place"
    assert plan["variation_assets_summary"]["variation_assets_available"] == 2
    assert plan["feasibility_gate"]["passed"] and not plan["feasibility_gate"]["blocking"]
    assert {t["task_id"]: t["variation_asset_ids"] for t in plan["tasks"]} == {
        "pick_mug_0": ["mug_variants"],
        "open_fridge": [],
    }
    spawn = {s["asset_id"]: s for s in plan["variation_spawns"]}["mug_variants"]
    assert (
        spawn["replaces"] == "mug_0"
        and spawn["usd_key"].endswith("obj_mug_variants/variants.usda")
        and spawn["variant_prim"] == ""
    )
    # no usd_assembly_manifest.json here: the manifest position, turned into Isaac's z-up world
    assert spawn["pose"]["source"] == "manifest" and spawn["pose"]["position"] == [0.3, 0.75, 0.1]
    assert spawn["pose"]["isaac_position"] == pytest.approx([0.3, -0.1, 0.75])
    assert bucket.read_json(f"{P.isaac_lab}/task_spawn_plan.json") == plan
    meta = bucket.read_json(f"{P.isaac_lab}/generation_metadata.json")
    assert meta["keep"] == 1 and meta["refresh"]["run_id"] == "run-1"
    source = bucket.read_text(f"{P.isaac_lab}/variation_assets_cfg.py")
    tree = ast.parse(source)
    assigned = {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    assert {"MUG_VARIANTS_CFG", "TABLE_VARIANTS_CFG", "VARIATION_ASSETS", "VARIANT_CHOICES", "REPLACES"} <= assigned
    assert '"../variation_assets/obj_mug_variants/variants.usda"' in source
    assert 'variants={"color": "red", "material": "ceramic", "scale": "medium"}' in source
    fields = refresh_result(bucket, P, "run-1")
    assert fields is not None and fields["status"] == "complete" and fields["mode"] == "refresh_only"
    assert fields["task_spawn_plan_refresh_path"] == f"{P.isaac_lab}/task_spawn_plan_refresh.json"
    assert refresh_result(bucket, P, "another-run") is None  # a plan left by an earlier run never counts


def test_simready_assets_are_spawned_with_physics(bucket: LocalBucket) -> None:
    assert (
        _run(simready, bucket, ASSETS_PREFIX=P.variation_assets, SIMREADY_PHYSICS_MODE="deterministic")[0] == 0
    )  # Stage 2's job, on the variants
    listed = bucket.read_json(P.simready_marker)["simready_assets"]
    bucket.write_json(
        P.simready_marker, {"status": "complete", "simready_assets": {"mug_variants": listed["mug_variants"]}}
    )  # only the mug made it
    assert _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="r")[0] == 0
    plan = bucket.read_json(f"{P.isaac_lab}/task_spawn_plan_refresh.json")
    [spawn] = plan["variation_spawns"]
    assert (spawn["asset_id"], spawn["simready"], spawn["usd_key"].rsplit("/", 1)[-1]) == (
        "mug_variants",
        True,
        "simready.usda",
    )
    assert spawn["variant_prim"] == "Geom/Asset"  # inside simready.usda, which references variants.usda
    source = bucket.read_text(f"{P.isaac_lab}/variation_assets_cfg.py")
    assert "variants=None" in source and '"mug_variants": "Geom/Asset"' in source


def test_unreadable_variant_file_is_not_spawned(bucket: LocalBucket) -> None:
    bucket.write(f"{P.variation_assets}/obj_table_variants/variants.usda", "not usd at all")
    assert _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="r")[0] == 0
    summary = bucket.read_json(f"{P.isaac_lab}/task_spawn_plan_refresh.json")["variation_assets_summary"]
    assert summary["available_ids"] == ["mug_variants"] and summary["unusable_ids"] == ["table_variants"]


def test_strict_infeasible_refresh_fails(bucket: LocalBucket) -> None:
    bucket.write_json(f"{P.variation_assets}/.simready_complete", {"simready_assets": {"something_else": "x"}})
    code, out, _ = _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="r")
    assert code == 1 and "refresh_infeasible" in out
    assert refresh_result(bucket, P, "r") is None
    assert not bucket.exists(f"{P.isaac_lab}/variation_assets_cfg.py")
    code, _, _ = _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="r2", AFFORDANCE_FEASIBILITY_MODE="warn")
    assert code == 0
    fields = refresh_result(bucket, P, "r2")
    assert fields is not None and fields["feasibility_gate"]["passed"] is False


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"ISAAC_REFRESH_ONLY": "false"}, "ISAAC_REFRESH_ONLY"),
        ({"AFFORDANCE_FEASIBILITY_MODE": "maybe"}, "AFFORDANCE_FEASIBILITY_MODE"),
        ({"ISAAC_LAB_PREFIX": "scenes/elsewhere/isaac_lab"}, "ISAAC_LAB_PREFIX"),
        ({"VARIATION_ASSETS_PREFIX": f"scenes/{SCENE}/nothing_here"}, "VARIATION_ASSETS_PREFIX"),
    ],
)
def test_bad_parameters(bucket: LocalBucket, env: dict[str, str], field: str) -> None:
    before = {i.key: i.generation for i in bucket.list(P.isaac_lab + "/")}
    code, _, err = _run(isaac_lab_refresh, bucket, **env)
    assert code == 2
    assert json.loads(err.strip().splitlines()[-1])["error"]["field"] == field
    assert {i.key: i.generation for i in bucket.list(P.isaac_lab + "/")} == before


def test_pose_follows_the_assembled_placement(bucket: LocalBucket) -> None:
    half = 0.5**0.5
    bucket.write_json(
        f"scenes/{SCENE}/usd/usd_assembly_manifest.json",
        {
            "up_axis": "Y",
            "objects": [
                {"id": "mug_0", "center": [0.3, 0.8, 0.1], "rotation_wxyz": [half, 0.0, half, 0.0], "fit_scale": 0.9}
            ],
        },
    )
    assert _run(isaac_lab_refresh, bucket, BPFLOW_RUN_ID="r")[0] == 0
    spawns = {
        s["asset_id"]: s for s in bucket.read_json(f"{P.isaac_lab}/task_spawn_plan_refresh.json")["variation_spawns"]
    }
    pose = spawns["mug_variants"]["pose"]
    assert pose["source"] == "usd_assembly" and pose["position"] == [0.3, 0.8, 0.1] and pose["scale"] == 0.9
    assert pose["isaac_position"] == pytest.approx([0.3, -0.1, 0.8])
    # Isaac's frame: +90° about x (y-up → z-up), then the object's own 90° yaw about the scene's up axis
    assert pose["isaac_orientation_wxyz"] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert spawns["table_variants"]["pose"]["source"] == "manifest"  # table_0 is not in this assembly manifest


def test_config_module_identifiers_are_valid_python() -> None:
    doc = {
        "objects": [
            {
                "id": i,
                "asset": {"path": f"scenes/s/variation_assets/obj_{i}/variants.usda"},
                "variant_sets": {"scale": ["small"]},
            }
            for i in ("class", "1mug", "a-b")
        ]
    }
    spawns, summary = available_spawns(doc, None)
    assert summary["variation_assets_available"] == 3
    compile(cfg_module("s", spawns, "scenes/s/isaac_lab"), "variation_assets_cfg.py", "exec")
