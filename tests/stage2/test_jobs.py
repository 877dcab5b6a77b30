"""The Stage-2 jobs doing their real work on a bucket: the composed scene meets the acceptance
checks, and every intermediate product (converted meshes, physics, joints, replicator bundle,
Isaac Lab package) is what it claims to be."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pxr import Usd, UsdGeom, UsdPhysics, UsdShade

from bpflow.core.storage.local import LocalBucket
from tests.stage2.acceptance import check_scene
from tests.stage2.jobrun import run, run_chain
from tests.stage2.stage1_fixture import KITCHEN, write_stage1_scene

SCENE = "kitchen1"


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalBucket, dict[str, float]]:
    bucket = LocalBucket(tmp_path_factory.mktemp("stage2") / "bucket")
    write_stage1_scene(bucket, SCENE)
    return bucket, run_chain(bucket, SCENE)


def _doc(bucket: LocalBucket, rel: str) -> Any:
    return bucket.read_json(f"scenes/{SCENE}/{rel}")


def _stage(bucket: LocalBucket, rel: str) -> Usd.Stage:
    stage = Usd.Stage.Open(str(bucket.path_for(f"scenes/{SCENE}/{rel}")))
    assert stage is not None
    return stage


def test_composed_scene_meets_the_acceptance_checks(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    bucket, _ = kitchen
    report = check_scene(
        bucket.path_for(f"scenes/{SCENE}/usd/scene.usda"),
        _doc(bucket, "assets/scene_manifest.json"),
        _doc(bucket, "layout/scene_layout_scaled.json"),
    )
    assert report["objects"] == len(KITCHEN)
    assert report["joints"]["fridge_0"] == 1 and report["joints"]["cabinet_0"] == 3  # a door; three drawers
    assert report["joints"]["table_0"] == 0 and report["joints"]["mug_0"] == 0


def test_scene_has_room_physics_scene_and_default_prim(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    stage = _stage(kitchen[0], "usd/scene.usda")
    assert stage.GetDefaultPrim().GetPath() == "/World"
    scenes = [p for p in stage.Traverse() if p.IsA(UsdPhysics.Scene)]
    assert len(scenes) == 1
    assert tuple(UsdPhysics.Scene(scenes[0]).GetGravityDirectionAttr().Get()) == (0, -1, 0)
    room = stage.GetPrimAtPath("/World/Room")
    parts = {p.GetName() for p in room.GetChildren()}
    assert {"Floor", "Wall_minus_x", "Wall_plus_x", "Wall_minus_depth", "Wall_plus_depth"} <= parts
    assert all(p.HasAPI(UsdPhysics.CollisionAPI) for p in room.GetChildren())
    floor_top = (
        UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"])
        .ComputeWorldBound(stage.GetPrimAtPath("/World/Room/Floor"))
        .ComputeAlignedRange()
        .GetMax()[1]
    )
    assert floor_top == pytest.approx(0.0, abs=1e-9)  # objects stand on the floor's top face


def test_objects_stand_where_the_layout_says_with_base_on_support(
    kitchen: tuple[LocalBucket, dict[str, float]],
) -> None:
    stage = _stage(kitchen[0], "usd/scene.usda")
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default", "render"])
    bottoms = {}
    for prim in stage.GetPrimAtPath("/World/Objects").GetChildren():
        rng = cache.ComputeWorldBound(prim).ComputeAlignedRange()
        bottoms[prim.GetAttribute("bp:object_id").Get()] = rng.GetMin()[1]
    # center3d is base-anchored: the geometry's bottom lands on it (floor or table top)
    for spec in KITCHEN:
        assert bottoms[spec.id] == pytest.approx(spec.base[1], abs=1e-4), spec.id


def test_convert_writes_a_usdz_for_the_glb_and_skips_it_when_up_to_date(
    kitchen: tuple[LocalBucket, dict[str, float]],
) -> None:
    bucket, _ = kitchen
    usdz = f"scenes/{SCENE}/assets/obj_mug_1/asset.usdz"
    stage = Usd.Stage.Open(str(bucket.path_for(usdz)))
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert len(meshes) == 2  # wall and bottom of the GLB
    rng = (
        UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"])
        .ComputeWorldBound(stage.GetDefaultPrim())
        .ComputeAlignedRange()
    )
    size = rng.GetMax() - rng.GetMin()
    assert (size[0], size[1], size[2]) == pytest.approx((0.08, 0.1, 0.08), abs=1e-3)
    before = bucket.stat(usdz).generation
    result = run(bucket, SCENE, "usd-assembly-job", CONVERT_ONLY="true")
    assert result.exit_code == 0
    assert bucket.stat(usdz).generation == before
    conversions = {c["id"]: c["outcome"] for c in _doc(bucket, "usd/usd_assembly_manifest.json")["conversions"]}
    assert conversions == {
        "fridge_0": "usd_given",
        "cabinet_0": "usd_given",
        "table_0": "usd_given",
        "mug_0": "usd_given",
        "mug_1": "up_to_date",
    }


def test_simready_mass_collision_and_material(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    bucket, _ = kitchen
    physics = {o["id"]: o for o in _doc(bucket, "assets/simready_physics.json")["objects"]}
    fridge, mug, table = physics["fridge_0"], physics["mug_0"], physics["table_0"]
    # fridge: a closed box mesh, bulk density × envelope = 90 kg/m³ × 0.8×1.8×0.7 m³
    assert fridge["volume_source"] == "mesh" and fridge["mass_kg"] == pytest.approx(90 * 0.8 * 1.8 * 0.7, rel=1e-4)
    # a modelled mug is a thin ceramic shell: its measured volume × ceramic density ≈ a real mug
    assert mug["density_basis"] == "material" and mug["material"] == "ceramic" and 0.15 < mug["mass_kg"] < 0.6
    assert 10 < table["mass_kg"] < 60
    assert mug["collision_approximation"] == "convexDecomposition" and fridge["collision_approximation"] == "convexHull"
    assert fridge["kinematic"] is True and mug["kinematic"] is False
    marker = _doc(bucket, "assets/.simready_complete")
    assert marker["status"] == "complete" and marker["count"] == len(KITCHEN)
    stage = _stage(bucket, "assets/obj_mug_0/simready.usda")
    root = stage.GetDefaultPrim()
    assert root.HasAPI(UsdPhysics.RigidBodyAPI) and UsdPhysics.MassAPI(root).GetMassAttr().Get() == pytest.approx(
        mug["mass_kg"], rel=1e-5
    )
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert meshes and all(p.HasAPI(UsdPhysics.CollisionAPI) for p in meshes)
    assert {UsdPhysics.MeshCollisionAPI(p).GetApproximationAttr().Get() for p in meshes} == {"convexDecomposition"}
    material, _ = UsdShade.MaterialBindingAPI(meshes[0]).ComputeBoundMaterial("physics")
    phys = UsdPhysics.MaterialAPI(material.GetPrim())
    assert phys.GetStaticFrictionAttr().Get() == pytest.approx(
        0.55
    ) and phys.GetRestitutionAttr().Get() == pytest.approx(0.15)


def test_interactive_joints_swing_out_of_the_front_within_limits(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    bucket, _ = kitchen
    marker = _doc(bucket, "assets/.interactive_complete")
    assert marker["status"] == "success" and marker["summary"]["required_failures"] == []
    assert sorted(marker["summary"]["articulated_objects"]) == ["cabinet_0", "fridge_0"]
    stage = _stage(bucket, "assets/interactive/obj_fridge_0/interactive.usda")
    joint = UsdPhysics.RevoluteJoint(stage.GetPrimAtPath("/Root/Joints/door_joint"))
    assert joint.GetAxisAttr().Get() == "Y" and (joint.GetLowerLimitAttr().Get(), joint.GetUpperLimitAttr().Get()) == (
        0.0,
        110.0,
    )
    body0, body1 = joint.GetBody0Rel().GetTargets()[0], joint.GetBody1Rel().GetTargets()[0]
    assert stage.GetPrimAtPath(body0).HasAPI(UsdPhysics.RigidBodyAPI) and stage.GetPrimAtPath(body1).HasAPI(
        UsdPhysics.RigidBodyAPI
    )
    # the hinge sits on the front face (+z) at the right edge; +angle sends the door's free edge to +z
    pivot = np.array(joint.GetLocalPos0Attr().Get())
    assert pivot[0] == pytest.approx(0.4) and pivot[2] == pytest.approx(0.35)
    door_center = np.array(stage.GetPrimAtPath(body1).GetAttribute("xformOp:translate").Get())
    arm = door_center - pivot
    turned = (
        np.array(
            [
                [math.cos(math.radians(90)), 0, math.sin(math.radians(90))],
                [0, 1, 0],
                [-math.sin(math.radians(90)), 0, math.cos(math.radians(90))],
            ]
        )
        @ arm
    )
    assert turned[2] > 0.3  # opened 90°, the door points out of the front
    cabinet = _stage(bucket, "assets/interactive/obj_cabinet_0/interactive.usda")
    drawers = UsdPhysics.PrismaticJoint(cabinet.GetPrimAtPath("/Root/Joints/drawer_1_joint"))
    assert (
        drawers.GetAxisAttr().Get() == "Z"
        and drawers.GetLowerLimitAttr().Get() == 0
        and 0 < drawers.GetUpperLimitAttr().Get() < 0.6
    )


def test_replicator_bundle(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    bucket, _ = kitchen
    meta = _doc(bucket, "replicator/bundle_metadata.json")
    assert meta["policies"] == ["object_placement", "articulation_state", "lighting", "appearance"]
    graph = _doc(bucket, "replicator/affordance_graph.json")
    on = {(e["source"], e["target"]) for e in graph["edges"]}
    assert on == {("mug_0", "table_0"), ("mug_1", "table_0")}
    nodes = {n["object_id"]: n["affordances"] for n in graph["nodes"]}
    assert (
        "graspable" in nodes["mug_0"]
        and "container" in nodes["mug_0"]
        and "openable" in nodes["fridge_0"]
        and "pullable" in nodes["cabinet_0"]
    )
    regions = {r["id"]: r for r in graph["regions"]}
    assert set(regions) == {"table_0_top", "cabinet_0_top", "floor"} and regions["table_0_top"][
        "height"
    ] == pytest.approx(0.75, abs=1e-6)
    stage = _stage(bucket, "replicator/placement_regions.usda")
    assert sorted(p.GetName() for p in stage.GetDefaultPrim().GetChildren()) == sorted(regions)
    variations = _doc(bucket, "replicator/variation_assets/manifest.json")
    assert [a["name"] for a in variations["assets"]] == ["mug_0", "mug_1"] and variations["total_assets"] == 2
    assert variations["assets"][0]["source_asset"] == f"scenes/{SCENE}/assets/obj_mug_0/simready.usda"
    for name in ["replicator_master.py", *(f"policies/{p}.py" for p in meta["policies"])]:
        compile(bucket.read_text(f"scenes/{SCENE}/replicator/{name}"), name, "exec")
    assert not bucket.exists(f"scenes/{SCENE}/replicator/.replicator_complete")  # the workflow's to write


def _footprint_distance(point: np.ndarray, obb: dict[str, Any]) -> float:
    """Floor-plane distance from a point to a layout OBB (y-up), in the box's own frame."""
    r = np.asarray(obb["R"])
    local = r.T @ (np.array([point[0], obb["center"][1], point[1]]) - np.asarray(obb["center"]))
    ext = np.asarray(obb["extents"])
    d = np.maximum(np.abs(local) - ext, 0.0)
    return float(math.hypot(d[0], d[2]))


def test_isaac_package_spawns_clear_of_every_obstacle(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    bucket, _ = kitchen
    files = {p.name for p in bucket.path_for(f"scenes/{SCENE}/isaac_lab").iterdir()}
    assert {
        "env_cfg.py",
        "task_pick_place.py",
        "reward_functions.py",
        "randomizations.py",
        "__init__.py",
        "train_cfg.yaml",
        "env_cfg.yaml",
        "task_catalog.json",
        "task_spawn_plan.json",
        "task_spawn_plan_baseline.json",
        "generation_metadata.json",
    } <= files
    for name in files:
        if name.endswith(".py"):
            compile(bucket.read_text(f"scenes/{SCENE}/isaac_lab/{name}"), name, "exec")
    cfg = yaml.safe_load(bucket.read_text(f"scenes/{SCENE}/isaac_lab/env_cfg.yaml"))
    env_py = bucket.read_text(f"scenes/{SCENE}/isaac_lab/env_cfg.py")
    assert (
        "ManagerBasedRLEnvCfg" in env_py
        and "FRANKA_PANDA_CFG" in env_py
        and "RewTerm(" in env_py
        and "DoneTerm(" in env_py
    )
    scene_usd = (bucket.path_for(f"scenes/{SCENE}/isaac_lab") / cfg["scene_usd_relative"]).resolve()
    assert scene_usd == bucket.path_for(f"scenes/{SCENE}/usd/scene.usda")
    assert {o["id"] for o in cfg["task_objects"]} == {"fridge_0", "cabinet_0", "mug_0", "mug_1"}
    layout = {o["id"]: o for o in _doc(bucket, "layout/scene_layout_scaled.json")["objects"]}
    plan = _doc(bucket, "isaac_lab/task_spawn_plan.json")
    radius = plan["robot"]["footprint_radius_m"]
    assert len(plan["tasks"]) == 6 and all(t["feasible"] for t in plan["tasks"])
    for task in plan["tasks"]:
        base = np.array(task["robot"]["base_position"])
        p2 = np.array([base[0], base[2]])
        assert base[1] == 0.0
        for oid, obj in layout.items():
            assert _footprint_distance(p2, obj["obb"]) >= radius, f"{task['task_id']}: robot overlaps {oid}"
        assert -2.5 + radius <= p2[0] <= 2.5 - radius and -2.0 + radius <= p2[1] <= 2.0 - radius
        target = np.array(task["target_point"])
        assert math.dist(p2, (target[0], target[2])) <= 0.855
        yaw = task["robot"]["yaw_rad"]
        facing = np.array([math.cos(yaw), -math.sin(yaw)])  # +x turned about +y, in (x, z)
        to_target = np.array([target[0], target[2]]) - p2
        assert facing @ (to_target / np.linalg.norm(to_target)) == pytest.approx(1.0, abs=1e-6)
    gate = _doc(bucket, "isaac_lab/generation_metadata.json")["feasibility_gate"]
    assert gate["passed"] and gate["tracks"] == {"articulation": 4, "manipulation": 2}


def test_jobs_are_fast(kitchen: tuple[LocalBucket, dict[str, float]]) -> None:
    """Not a timing assertion: records per-job wall time for the report (printed with -s)."""
    _, durations = kitchen
    print(json.dumps({k: round(v, 3) for k, v in durations.items()}))
    assert len(durations) == 6


def test_z_up_scene(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    write_stage1_scene(bucket, "zup", coordinate_frame="z_up")
    run_chain(bucket, "zup")
    manifest = bucket.read_json("scenes/zup/assets/scene_manifest.json")
    report = check_scene(
        bucket.path_for("scenes/zup/usd/scene.usda"),
        manifest,
        bucket.read_json("scenes/zup/layout/scene_layout_scaled.json"),
    )
    assert report["joints"]["cabinet_0"] == 3
    stage = Usd.Stage.Open(str(bucket.path_for("scenes/zup/assets/interactive/obj_fridge_0/interactive.usda")))
    joint = UsdPhysics.RevoluteJoint(stage.GetPrimAtPath("/Root/Joints/door_joint"))
    assert joint.GetAxisAttr().Get() == "Z"
    assert joint.GetLocalPos0Attr().Get()[1] == pytest.approx(-0.35)  # the front of a z-up asset is -y
    cabinet = Usd.Stage.Open(str(bucket.path_for("scenes/zup/assets/interactive/obj_cabinet_0/interactive.usda")))
    drawer = UsdPhysics.PrismaticJoint(cabinet.GetPrimAtPath("/Root/Joints/drawer_0_joint"))
    assert (
        drawer.GetAxisAttr().Get() == "Y"
        and drawer.GetUpperLimitAttr().Get() == 0
        and drawer.GetLowerLimitAttr().Get() < 0
    )
    cfg = yaml.safe_load(bucket.read_text("scenes/zup/isaac_lab/env_cfg.yaml"))
    assert cfg["scene_rotation_wxyz"] == [1.0, 0.0, 0.0, 0.0]


def _to_centimetres(manifest: dict[str, Any], layout: dict[str, Any]) -> None:
    manifest["scene"]["meters_per_unit"] = 0.01
    room = manifest["scene"]["room"]
    room["bounds"] = {k: v * 100 for k, v in room["bounds"].items()}
    room["origin"] = [v * 100 for v in room["origin"]]
    for o in manifest["objects"]:
        o["transform"]["position"] = {k: v * 100 for k, v in o["transform"]["position"].items()}
        o["dimensions_est"] = {k: v * 100 for k, v in o["dimensions_est"].items()}
    for o in layout["objects"]:
        o["center3d"] = [v * 100 for v in o["center3d"]]
        o["obb"]["center"] = [v * 100 for v in o["obb"]["center"]]
        o["obb"]["extents"] = [v * 100 for v in o["obb"]["extents"]]
    layout["room_box"] = {k: [v * 100 for v in vs] for k, vs in layout["room_box"].items()}


def test_a_centimetre_manifest_is_assembled_in_metres(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    write_stage1_scene(bucket, "cm")
    metres = (
        bucket.read_json("scenes/cm/assets/scene_manifest.json"),
        bucket.read_json("scenes/cm/layout/scene_layout_scaled.json"),
    )
    cm = json.loads(json.dumps(metres))
    _to_centimetres(*cm)
    bucket.write_json("scenes/cm/assets/scene_manifest.json", cm[0])
    bucket.write_json("scenes/cm/layout/scene_layout_scaled.json", cm[1])
    run_chain(bucket, "cm")
    check_scene(bucket.path_for("scenes/cm/usd/scene.usda"), *metres)  # the same scene, in metres
    assert bucket.read_json("scenes/cm/usd/usd_assembly_manifest.json")["manifest_meters_per_unit"] == 0.01
