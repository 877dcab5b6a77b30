"""The simulation core: scene USD (+ manifest) → MuJoCo model, judged by stepping the physics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpflow.domain.sim import SceneReadError, load_scene
from tests.sim.simscenes import TABLE_TOP, first_task_episode, write_scene


@pytest.mark.parametrize("up", ["Z", "Y"])
def test_objects_map_to_bodies_in_a_z_up_world(tmp_path: Path, up: str) -> None:
    usd, manifest = write_scene(tmp_path, up=up, drawer=True, cubes=[{"id": "cube_a", "xy": (0.1, 0.05), "mass": 0.2}])
    sim = load_scene(usd, manifest)
    assert set(sim.objects) == {"table", "cube_a", "drawers"}
    assert sim.dynamic_ids() == ["cube_a"]
    cube = sim.objects["cube_a"]
    assert cube.kind == "dynamic" and cube.body == "obj_cube_a" and cube.mass == pytest.approx(0.2)
    assert sim.model.body(cube.body_id).name == "obj_cube_a"
    # the stage's up axis becomes +Z: the cube stands on the table top either way
    assert sim.position("cube_a") == pytest.approx([0.1, 0.05, TABLE_TOP + 0.026], abs=1e-3)
    assert sim.objects["table"].kind == "static"
    drawers = sim.objects["drawers"]
    assert drawers.kind == "articulated" and len(drawers.joints) == 1
    joint = drawers.joints[0]
    assert joint.type == "slide" and joint.range[1] - joint.range[0] == pytest.approx(0.3, abs=1e-6)
    assert sim.model.jnt_range[joint.joint_id] == pytest.approx(list(joint.range))


def test_settling_leaves_objects_at_rest_without_penetration(tmp_path: Path) -> None:
    usd, manifest = write_scene(
        tmp_path, cubes=[{"id": "a", "xy": (0.0, 0.0)}, {"id": "b", "xy": (0.2, -0.1), "size": 0.04}]
    )
    sim = load_scene(usd, manifest)
    before = {oid: sim.position(oid) for oid in sim.dynamic_ids()}
    sim.settle(1.0)
    for oid, p in before.items():
        assert np.linalg.norm(sim.position(oid) - p) < 0.005, oid
        assert sim.speed(oid) < 0.01
    assert sim.max_penetration() < 0.002
    sim.reset()
    assert sim.position("a") == pytest.approx(before["a"], abs=1e-9)


def test_a_drawer_moves_within_its_limits_when_pushed(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path, drawer=True, cubes=[])
    sim = load_scene(usd, manifest)
    joint = sim.objects["drawers"].joints[0]
    lo, hi = joint.range
    for force, bound in ((-40.0, lo), (40.0, hi)):
        sim.data.qfrc_applied[joint.dof_adr] = force
        sim.settle(1.0)
        assert sim.joint_value(joint) == pytest.approx(bound, abs=0.01)
    sim.data.qfrc_applied[joint.dof_adr] = 0.0
    middle = (lo + hi) / 2
    assert sim.drive_joint(joint, middle, 1.5) == pytest.approx(middle, abs=0.01)
    assert sim.drive_joint(joint, hi + 1.0, 1.5) == pytest.approx(hi, abs=0.01)  # the limit holds
    # a free cube is unaffected by forces on the drawer
    assert "drawers" not in sim.dynamic_ids()


def test_robot_is_mounted_beside_the_work_surface_with_the_seed_cameras(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path, cubes=[{"id": "a", "xy": (0.1, 0.1)}])
    sim = load_scene(usd, manifest, robot=True)
    assert sim.robot is not None and sim.mount["surface_id"] == "table"
    base = sim.mount["base"]
    assert base[2] == pytest.approx(TABLE_TOP)
    assert not (-0.6 < base[0] < 0.6 and -0.4 < base[1] < 0.4)  # outside the table's footprint
    assert np.linalg.norm(base[:2] - [0.1, 0.1]) <= 0.8
    names = {sim.model.camera(i).name for i in range(sim.model.ncam)}
    assert {"front", "left", "right", "robot/wrist"} <= names
    sim.settle(0.5)
    assert np.linalg.norm(sim.position("a") - [0.1, 0.1, TABLE_TOP + 0.026]) < 0.005  # the arm disturbs nothing


def test_objects_out_of_reach_are_refused(tmp_path: Path) -> None:
    usd, manifest = write_scene(tmp_path, cubes=[{"id": "a", "xy": (-0.55, -0.35)}, {"id": "b", "xy": (0.55, 0.35)}])
    with pytest.raises(SceneReadError) as err:  # no one place reaches both
        load_scene(usd, manifest, robot=True, target_ids=["a", "b"])
    assert err.value.code == "unreachable_objects"
    sim = load_scene(usd, manifest, robot=True)  # left to itself, the arm serves one of them
    assert len(sim.mount["target_ids"]) == 1


def test_bad_inputs_get_named_errors(tmp_path: Path) -> None:
    with pytest.raises(SceneReadError) as err:
        load_scene(tmp_path / "nope.usda")
    assert err.value.code == "usd_missing"
    junk = tmp_path / "junk.usda"
    junk.write_text("#usda 1.0\nthis is not usd {")
    with pytest.raises(SceneReadError) as err:
        load_scene(junk)
    assert err.value.code == "usd_unreadable"
    usd, manifest = write_scene(tmp_path / "s")
    manifest["objects"].append({"id": "ghost", "category": "mug", "sim_role": "manipulable_object"})
    with pytest.raises(SceneReadError) as err:
        load_scene(usd, manifest)
    assert err.value.code == "sim_object_missing" and "ghost" in err.value.message
    empty, _ = write_scene(tmp_path / "e", cubes=[], table=False)
    with pytest.raises(SceneReadError) as err:
        load_scene(empty)
    assert err.value.code == "sim_scene_empty"


def test_the_arm_is_not_mounted_against_a_wall_when_another_edge_reaches(tmp_path: Path) -> None:
    """A mug at the back of a counter pushed against the wall: the nearest edge (the counter's
    end, 15 cm from the wall) would pin the arm's elbow against the wall so the hand never gets
    down to the mug; the arm stands at the front edge instead and the pick succeeds."""
    from bpflow.domain.sim.placement import ARM_WALL_CLEARANCE, wall_distance

    usd, manifest = write_scene(
        tmp_path, cubes=[{"id": "a", "xy": (-0.45, 0.2)}], table_size=(1.2, 0.6), back_wall_y=0.35
    )
    sim = load_scene(usd, manifest, robot=True)
    base = sim.mount["base"]
    assert base[1] < -0.3  # the front edge, facing the wall
    assert wall_distance(sim.scene, base[:2]) >= ARM_WALL_CLEARANCE
    judgement, _ = first_task_episode(sim)
    assert judgement.success, judgement
