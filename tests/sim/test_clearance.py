"""Link-aware planning: every configuration a plan commands keeps the arm's links clear of the
scene (``domain.sim.clearance``), and a task the arm cannot do cleanly is never offered.

The scene: a cube 5.5 cm from a wall at the back of a table. Opening the fingers towards the
wall puts the hand (20 cm across its fingers' travel) into it; along the wall the grip is clear."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpflow.domain.sim import load_scene, skills
from bpflow.domain.sim.clearance import LIMIT_MARGIN_RAD, Clearance
from bpflow.domain.sim.robot import IKSolver
from bpflow.domain.sim.tasks import derive_tasks
from tests.sim.simscenes import write_scene


def _scene(tmp_path: Path) -> tuple[object, object]:
    usd, manifest = write_scene(
        tmp_path, cubes=[{"id": "a", "xy": (0.0, 0.22)}], table_size=(1.2, 0.6), back_wall_y=0.30
    )
    sim = load_scene(usd, manifest, robot=True)
    sim.reset()
    sim.settle(1.0)
    return sim, manifest


def test_a_grip_into_the_wall_is_refused_and_the_offered_plan_is_clear(tmp_path: Path) -> None:
    sim, _ = _scene(tmp_path)
    tasks, skipped = derive_tasks(sim)
    assert [t.object_id for t in tasks] == ["a"], skipped
    ik, check = IKSolver(), Clearance(sim)
    target = frozenset({sim.objects["a"].body_id})
    # fingers opening along y, towards the wall: the planner names the hand and the wall
    towards_wall = skills._plan_with_yaw(sim, ik, tasks[0], np.pi / 2, check)
    assert towards_wall.error is not None and towards_wall.error.startswith("arm_collision"), towards_wall.error
    assert "link7 x room" in towards_wall.error
    # the plan offered instead: each commanded configuration clear and inside the joint limits
    plan = skills.plan_pick_place(sim, ik, tasks[0], check)
    assert plan.error is None
    for seg in plan.segments:
        for q in [*seg.via, seg.q]:
            assert not check.hits(q, seg.gripper, allow=target), seg.name
            assert check.within_limits(q, LIMIT_MARGIN_RAD - 1e-6), seg.name  # servos never aimed at a limit


def test_connect_goes_round_a_block_in_the_way(tmp_path: Path) -> None:
    """The cube is put (in the checker's copy of the scene) where the hand passes halfway
    through a straight joint-space move: that move is refused, the planner's path is clear."""
    sim, _ = _scene(tmp_path)
    assert sim.robot is not None
    check = Clearance(sim)
    ik = IKSolver()
    rot = sim.robot.rot_to_base(np.diag([1.0, -1.0, -1.0]))
    start = np.array(sim.robot.start_q)
    left, _ = ik.solve(sim.robot.to_base(np.array([-0.3, -0.1, 0.95])), rot, start)
    right, _ = ik.solve(sim.robot.to_base(np.array([0.3, -0.1, 0.95])), rot, start)
    assert check.connect(left, right, 0.04) == []  # nothing in the way yet: the straight move
    check.hits((left + right) / 2, 0.04)  # the hand halfway (the checker computes its kinematics)
    middle = check.data.site_xpos[sim.robot.site_id].copy()
    adr = sim.objects["a"].qpos_adr
    assert adr is not None
    check.data.qpos[adr : adr + 3] = middle + np.array([0.0, 0.0, 0.08])  # in the palm
    assert check.first_hit([left, right], 0.04) is not None
    path = check.connect(left, right, 0.04, seed=3)
    assert path, "no way round"
    assert check.first_hit([left, *path, right], 0.04) is None
