"""A place spot close to the arm's base (a 30 cm deep shelf: load17's soap) must not be reached
by folding the forearm into the shoulder column.

Found in ``make bench-episodes``: the soap was to be set down 27 cm from the base; the planner
checked the arm's links against the scene only, so it offered a plan whose ``lower`` pressed link
5 into link 1. In the physics the wrist's 12 Nm servo stalled 0.8 rad short, the hand drifted
10 cm towards the base and the soap landed off its spot (or off the shelf). The same arm
configurations are reproduced here beside a table; the independent check is MuJoCo's own
collision detection on the simulated model (no margins), not the planner's ``Clearance``."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from bpflow.domain.episodes.recorder import RecordConfig, Recorder, arm_contact
from bpflow.domain.sim import load_scene, skills
from bpflow.domain.sim.clearance import ArmBodies, Clearance
from bpflow.domain.sim.robot import READY_Q, IKSolver
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks import Task
from tests.sim.simscenes import first_task_episode, write_scene

#: load17's plan for the soap: its ``lower`` pose (the hand 27 cm from the base), in the arm's
#: joints (it does not depend on where the base stands).
FOLDED_LOWER = np.array([1.421, -1.027, -1.76, -2.969, -1.653, 0.566, -0.22])


def _self_overlaps(sim: SimScene, q: np.ndarray, grip: float) -> list[tuple[str, str]]:
    """Pairs of the arm's bodies (not parent and child) whose collision shapes overlap at ``q``."""
    robot = sim.robot
    assert robot is not None
    m = sim.model
    d = mujoco.MjData(m)
    d.qpos[:] = sim.data.qpos
    d.qpos[robot.arm_qpos] = q
    d.qpos[robot.finger_qpos] = grip
    mujoco.mj_kinematics(m, d)
    mujoco.mj_collision(m, d)
    out = []
    for c in d.contact[: d.ncon]:
        b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
        if b1 in robot.body_ids and b2 in robot.body_ids and c.dist < 0:
            if m.body_parentid[b1] != b2 and m.body_parentid[b2] != b1:
                out.append((m.body(b1).name, m.body(b2).name))
    return out


def _sim(tmp_path: Path) -> SimScene:
    usd, manifest = write_scene(tmp_path, cubes=[{"id": "a", "xy": (0.0, 0.0)}], table_size=(1.2, 0.8))
    sim = load_scene(usd, manifest, robot=True)
    sim.reset()
    sim.settle(0.5)
    return sim


def test_a_forearm_folded_into_the_shoulder_is_a_hit(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    check = Clearance(sim)
    assert _self_overlaps(sim, FOLDED_LOWER, 0.0)  # the physics' own shapes overlap there
    hits = check.hits(FOLDED_LOWER, 0.0)
    assert any({h.arm_link, h.other} == {"robot/panda0_link1", "robot/panda0_link5"} for h in hits), hits
    # the ready pose, and a closed hand, are no fold (joined links and the fingers are exempt)
    assert check.hits(np.array(READY_Q), 0.0) == []
    assert check.hits(np.array(READY_Q), 0.04) == []


def test_a_place_spot_beside_the_base_is_not_reached_by_folding_the_arm(tmp_path: Path) -> None:
    """The cube 30 cm ahead of the base and 17 cm aside, to be set down 26 cm ahead and 7 cm to
    the other side (load17's soap, in the base's frame): whatever plan is offered keeps every
    commanded configuration free of self-overlap, and a spot derived for it can be done."""
    sim = _sim(tmp_path)
    base, yaw = np.asarray(sim.mount["base"]), float(sim.mount["yaw"])
    fwd, left = np.array([np.cos(yaw), np.sin(yaw)]), np.array([-np.sin(yaw), np.cos(yaw)])
    start = base[:2] + 0.295 * fwd - 0.171 * left
    sim.set_pose("a", np.r_[start, sim.position("a")[2]])
    sim.settle(0.5)
    place = base[:2] + 0.257 * fwd + 0.068 * left
    task = Task("pick_place_a", "pick_place", "a", "pick up the block", (float(place[0]), float(place[1])))
    plan = skills.plan_pick_place(sim, IKSolver(), task, Clearance(sim))
    for seg in plan.segments:
        for q in [*seg.via, seg.q]:
            assert not _self_overlaps(sim, q, seg.gripper), (seg.name, plan.error)
    # the tasks derived from here are done by the physics
    judgement, _ = first_task_episode(sim)
    assert judgement.success, judgement


def test_a_frame_with_the_arm_folded_into_itself_is_a_collision_frame(tmp_path: Path) -> None:
    """The recorder counts self-contact as the plan check sees it: an episode that starts folded
    (its plan refused for that) holds the pose, link 5 pressed into link 1 in the physics, and
    every frame of it is a collision frame, first contact link1 x link5; the ready pose with the
    hand closed (fingers touching, joined links touching) is none."""
    sim = _sim(tmp_path)
    robot = sim.robot
    assert robot is not None
    arm, cube = ArmBodies.of(sim.model, robot), sim.objects["a"].body_id
    sim.reset()
    sim.data.qpos[robot.finger_qpos] = 0.0
    mujoco.mj_forward(sim.model, sim.data)
    assert arm_contact(sim, arm, cube) is None

    robot.start_q = tuple(float(v) for v in FOLDED_LOWER)
    x, y, _ = sim.position("a")
    task = Task("pick_place_a", "pick_place", "a", "pick up the block", (float(x) + 0.1, float(y)))
    rec = Recorder(sim, RecordConfig(fps=25, cameras=(), render=False))
    try:
        episode = rec.run(task, 0)
    finally:
        rec.close()
    assert episode.judgement.reason.startswith("arm_collision: start pose"), episode.judgement
    assert episode.frames == 25 and episode.collision_frames == episode.frames
    assert episode.first_contact is not None
    assert {episode.first_contact["arm_link"], episode.first_contact["other"]} == {
        "robot/panda0_link1",
        "robot/panda0_link5",
    }
