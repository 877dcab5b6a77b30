"""Scripted skills: joint-space trajectories through IK waypoints, judged by physics afterwards.

Pick-and-place, as segments of the end-effector site (world frame):

1. ``approach`` — 15 cm above the object, fingers open across its narrow side;
2. ``descend`` — straight down to the grasp height (the palm 1 cm above the object's top,
   the finger tips at least 5 mm above the support);
3. ``close`` — close the fingers and hold;
4. ``lift`` — straight up 15 cm;
5. ``carry`` — across to 15 cm above the place spot (vertical approach and retreat keep the
   hand clear of neighbours, the collision-aware part of the path);
6. ``lower`` / ``open`` / ``retreat`` — set it down, let go, go back up.

Each waypoint is solved by IK (``robot.IKSolver``) from the previous one, then followed with a
minimum-jerk profile by the arm's position servos. A waypoint IK cannot reach within 1 cm stops
the skill (``ik_unreachable``). Whether the task *succeeded* is never decided here: see
:func:`judge_pick_place`, which only reads the simulated state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpflow.domain.sim.robot import GRIPPER_CLOSED, GRIPPER_OPEN, HOME_Q, IKSolver, grasp_rotation
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks import Task, grasp_axis, surface_top

HOVER = 0.15
TIP_BELOW_SITE = 0.05
PALM_ABOVE_SITE = 0.037
"""The hand's underside is 3.7 cm above the site; the pads reach 4.5 cm below the palm's level."""
IK_TOLERANCE = 0.01
JOINT_SPEED = 0.8
"""rad/s the shoulder joints sustain against their damping within their torque limits."""
CATCH_UP_S = 1.5
CATCH_UP_RAD = 0.003
LIFT_MIN = 0.05
PLACE_TOLERANCE = 0.05
REST_SPEED = 0.03


@dataclass
class Segment:
    name: str
    q: np.ndarray
    gripper: float
    duration: float
    via: list[np.ndarray] = field(default_factory=list)
    """IK solutions along the straight line to ``q`` (the path stays straight in space)."""


@dataclass
class Plan:
    segments: list[Segment]
    error: str | None = None
    ik_errors: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


def _min_jerk(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * t * (10 - 15 * t + 6 * t * t)


def plan_pick_place(sim: SimScene, ik: IKSolver, task: Task) -> Plan:
    """Joint waypoints for the task from the arm's current commanded pose.

    The fingers open across the object's narrow side; the two yaws doing so are tried in turn
    (one may run the wrist into its joint limit)."""
    yaw = grasp_axis(sim, task.object_id)[0]
    plan = Plan([])
    for candidate in (yaw, yaw + np.pi):
        plan = _plan_with_yaw(sim, ik, task, candidate)
        if plan.error is None:
            return plan
    return plan


def _plan_with_yaw(sim: SimScene, ik: IKSolver, task: Task, yaw: float) -> Plan:
    robot = sim.robot
    assert robot is not None and task.place_xy is not None
    _, _, pos = grasp_axis(sim, task.object_id)
    size = sim.objects[task.object_id].size
    top = surface_top(sim)
    half_h = float(size[2]) / 2
    top_z = float(sim.world_points(task.object_id)[:, 2].max())
    # the palm stays 1 cm above the object's top, the finger tips 5 mm above the support
    grasp_z = max(top_z + PALM_ABOVE_SITE - 0.01 - 0.045, top + TIP_BELOW_SITE + 0.005)
    rot = robot.rot_to_base(grasp_rotation(yaw))
    place = np.array([task.place_xy[0], task.place_xy[1], 0.0])
    place_z = grasp_z - pos[2] + (top + half_h)  # same grip height above the resting centre
    waypoints = [
        ("approach", np.array([pos[0], pos[1], grasp_z + HOVER]), GRIPPER_OPEN, 1.6),
        ("descend", np.array([pos[0], pos[1], grasp_z]), GRIPPER_OPEN, 1.5),
        ("close", None, GRIPPER_CLOSED, 0.8),
        ("lift", np.array([pos[0], pos[1], grasp_z + HOVER]), GRIPPER_CLOSED, 1.0),
        ("carry", np.array([place[0], place[1], place_z + HOVER]), GRIPPER_CLOSED, 1.6),
        ("lower", np.array([place[0], place[1], place_z + 0.005]), GRIPPER_CLOSED, 1.0),
        ("open", None, GRIPPER_OPEN, 1.0),
        ("retreat", np.array([place[0], place[1], place_z + HOVER]), GRIPPER_OPEN, 1.2),
    ]
    q = sim.data.ctrl[robot.arm_act].copy()
    plan = Plan([])
    here: np.ndarray | None = None
    for name, target, grip, dur in waypoints:
        via: list[np.ndarray] = []
        if target is not None:
            if here is not None and name != "carry":  # vertical moves: straight lines, 2 cm steps
                steps = int(np.ceil(np.linalg.norm(target - here) / 0.02))
                for k in range(1, steps):
                    q, _ = ik.solve(robot.to_base(here + (target - here) * k / steps), rot, q, iterations=60)
                    via.append(q.copy())
            q_new, err = ik.solve(robot.to_base(target), rot, q)
            if err > IK_TOLERANCE:  # a local minimum: start again from the home pose (and variants)
                q_new, err = ik.solve_robust(robot.to_base(target), rot, np.asarray(HOME_Q), tol=IK_TOLERANCE)
                via = []
            plan.ik_errors[name] = round(err, 4)
            if err > IK_TOLERANCE:
                plan.error = f"ik_unreachable: {name} waypoint {np.round(target, 3).tolist()} missed by {err:.3f} m"
                return plan
            q = q_new
            here = target
        plan.segments.append(Segment(name, q.copy(), grip, dur, via))
    return plan


def actions(sim: SimScene, plan: Plan, fps: int, *, hold: float = 0.4) -> Iterator[tuple[str, np.ndarray]]:
    """Per frame: the segment name and the 8-d action (7 arm joint targets + gripper opening)."""
    robot = sim.robot
    assert robot is not None
    q_prev = sim.data.ctrl[robot.arm_act].copy()
    g_prev = float(sim.data.ctrl[robot.finger_act[0]])
    for seg in plan.segments:
        path = [q_prev, *seg.via, seg.q]
        travel = float(sum(np.max(np.abs(b - a)) for a, b in zip(path, path[1:])))
        # the arm's joint damping caps its speed near JOINT_SPEED: long moves get more time
        n = max(1, int(round(max(seg.duration, travel / JOINT_SPEED) * fps)))
        for i in range(1, n + 1):
            s = _min_jerk(i / n) * (len(path) - 1)
            k = min(int(s), len(path) - 2)
            q = path[k] + (path[k + 1] - path[k]) * (s - k)
            g = g_prev + (seg.gripper - g_prev) * min(1.0, 2.0 * i / n)
            yield seg.name, np.r_[q, g]
        # then hold the target until the servos caught up (bounded), so the next move starts there
        for _ in range(int(CATCH_UP_S * fps)):
            if float(np.max(np.abs(sim.data.qpos[robot.arm_qpos] - seg.q))) < CATCH_UP_RAD:
                break
            yield seg.name, np.r_[seg.q, seg.gripper]
        q_prev, g_prev = seg.q, seg.gripper
    for _ in range(int(round(hold * fps))):
        yield "hold", np.r_[q_prev, g_prev]


def apply_action(sim: SimScene, action: np.ndarray) -> None:
    robot = sim.robot
    assert robot is not None
    sim.data.ctrl[robot.arm_act] = action[:7]
    sim.data.ctrl[robot.finger_act] = action[7]


@dataclass
class Judgement:
    success: bool
    lifted: bool
    placed: bool
    at_rest: bool
    lift_height: float
    place_error: float
    final_speed: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def judge_pick_place(sim: SimScene, task: Task, *, start: np.ndarray, max_z: float, plan_error: str | None) -> Judgement:
    """Success from the simulated state only: lifted ≥ 5 cm, within 5 cm of the spot, at rest."""
    assert task.place_xy is not None
    final = sim.position(task.object_id)
    pts = sim.world_points(task.object_id)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2 if len(pts) else final
    lift = float(max_z - start[2])
    err = float(np.linalg.norm(centre[:2] - np.asarray(task.place_xy)))
    speed = sim.speed(task.object_id)
    on_surface = abs(final[2] - start[2]) < 0.03
    lifted = bool(lift >= LIFT_MIN)
    placed = bool(err <= PLACE_TOLERANCE and on_surface)
    at_rest = bool(speed <= REST_SPEED)
    ok = lifted and placed and at_rest and plan_error is None
    if plan_error:
        reason = plan_error
    elif not lifted:
        reason = f"not lifted (rose {lift * 100:.1f} cm, needs {LIFT_MIN * 100:.0f} cm)"
    elif not placed:
        reason = f"not placed ({err * 100:.1f} cm from the spot, height change {abs(final[2] - start[2]) * 100:.1f} cm)"
    elif not at_rest:
        reason = f"not at rest ({speed:.3f} m/s)"
    else:
        reason = "ok"
    return Judgement(ok, lifted, placed, at_rest, lift, err, speed, reason)


# -- drawers -----------------------------------------------------------------------------------

CLOSED_TOLERANCE = 0.015


def _drawer_ends(sim: SimScene, task: Task) -> tuple[Any, float, float]:
    """(joint, closed value, open value): closed is the end of the range nearest zero."""
    assert task.joint is not None
    j = sim.joint_by_name(task.joint)
    lo, hi = j.range
    closed, opened = (lo, hi) if abs(lo) <= abs(hi) else (hi, lo)
    return j, closed, opened


def open_drawer(sim: SimScene, task: Task, fraction: float) -> float:
    """Set the drawer ``fraction`` of the way open (a kinematic set-up, then forward)."""
    j, closed, opened = _drawer_ends(sim, task)
    value = closed + (opened - closed) * fraction
    sim.data.qpos[j.qpos_adr] = value
    sim.data.qvel[j.dof_adr] = 0.0
    sim.reset_forward()
    return value


def _front(sim: SimScene, task: Task) -> tuple[np.ndarray, np.ndarray, float]:
    """The drawer front's centre (world), its outward direction (the way it opens, horizontal)
    and how far it now is from closed."""
    j, closed, opened = _drawer_ends(sim, task)
    body = int(sim.model.jnt_bodyid[j.joint_id])
    axis = sim.data.xmat[body].reshape(3, 3) @ sim.model.jnt_axis[j.joint_id]
    out = axis * np.sign(opened - closed)
    out[2] = 0.0
    out = out / (np.linalg.norm(out) or 1.0)
    pts = sim.body_points(body)
    proj = pts @ out
    face = pts[proj > proj.max() - 0.005]
    return face.mean(axis=0), out, abs(sim.joint_value(j) - closed)


def plan_push(sim: SimScene, ik: IKSolver, task: Task) -> Plan:
    """Closed fingers, flat against the drawer's front, push it along its axis until shut."""
    robot = sim.robot
    assert robot is not None
    centre, out, travel = _front(sim, task)
    yaw = float(np.arctan2(out[1], out[0])) + np.pi / 2  # the fingers' flat side faces the front
    site_z = centre[2] + 0.02
    start = np.array([centre[0], centre[1], site_z]) + out * 0.06
    end = np.array([centre[0], centre[1], site_z]) - out * (travel + 0.01)
    waypoints = [
        ("approach", start + np.array([0.0, 0.0, HOVER]), GRIPPER_CLOSED, 1.6),
        ("descend", start, GRIPPER_CLOSED, 1.0),
        ("push", end, GRIPPER_CLOSED, 1.5),
        ("back", end + out * 0.08, GRIPPER_CLOSED, 0.8),
        ("retreat", end + out * 0.08 + np.array([0.0, 0.0, 0.06]), GRIPPER_CLOSED, 0.8),
    ]
    best = Plan([])
    for candidate in (yaw, yaw + np.pi):
        plan = _follow(sim, ik, waypoints, robot.rot_to_base(grasp_rotation(candidate)))
        if plan.error is None:
            return plan
        best = plan
    return best


def _follow(sim: SimScene, ik: IKSolver, waypoints: list[tuple[str, np.ndarray | None, float, float]], rot: np.ndarray) -> Plan:
    robot = sim.robot
    assert robot is not None
    q = sim.data.ctrl[robot.arm_act].copy()
    plan = Plan([])
    here: np.ndarray | None = None
    for name, target, grip, dur in waypoints:
        via: list[np.ndarray] = []
        if target is not None:
            if here is not None:
                steps = int(np.ceil(np.linalg.norm(target - here) / 0.02))
                for k in range(1, steps):
                    q, _ = ik.solve(robot.to_base(here + (target - here) * k / steps), rot, q, iterations=60)
                    via.append(q.copy())
            q_new, err = ik.solve(robot.to_base(target), rot, q)
            if err > IK_TOLERANCE:
                q_new, err = ik.solve_robust(robot.to_base(target), rot, np.asarray(HOME_Q), tol=IK_TOLERANCE)
                via = []
            plan.ik_errors[name] = round(err, 4)
            if err > IK_TOLERANCE:
                plan.error = f"ik_unreachable: {name} waypoint {np.round(target, 3).tolist()} missed by {err:.3f} m"
                return plan
            q, here = q_new, target
        plan.segments.append(Segment(name, q.copy(), grip, dur, via))
    return plan


def judge_close(sim: SimScene, task: Task, *, start_value: float, plan_error: str | None) -> Judgement:
    """Closed within 1.5 cm of its closed end, having moved there from where it started."""
    j, closed, _ = _drawer_ends(sim, task)
    final = sim.joint_value(j)
    gap = abs(final - closed)
    moved = abs(final - start_value)
    ok = plan_error is None and gap <= CLOSED_TOLERANCE
    reason = plan_error or ("ok" if ok else f"not closed ({gap * 100:.1f} cm still open)")
    return Judgement(ok, False, bool(gap <= CLOSED_TOLERANCE), True, moved, gap, 0.0, reason)
