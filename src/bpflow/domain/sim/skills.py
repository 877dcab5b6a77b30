"""Scripted skills: joint-space trajectories through IK waypoints, judged by physics afterwards.

Pick-and-place, as segments of the end-effector site (world frame):

1. ``approach`` — 15 cm above the object, fingers open across it (``grasp_yaws``);
2. ``descend`` — straight down to the grasp height (the palm 1 cm above the object's top,
   the finger tips at least 5 mm above the support);
3. ``close`` — close the fingers and hold;
4. ``lift`` — straight up 15 cm;
5. ``carry`` — across to 15 cm above the place spot;
6. ``lower`` / ``open`` / ``retreat`` — set it down, let go, go back up.

Each waypoint is solved by IK (``robot.IKSolver``) from the previous one, then followed with a
minimum-jerk profile (timed by joint distance) by the arm's position servos. Every configuration
the plan commands is checked link by link against the scene (``clearance``): vertical moves along
their 2 cm IK steps, the joint-space moves (approach, carry) straight when clear, else along a
free path the RRT finds. A waypoint IK cannot reach within 1 cm stops the skill
(``ik_unreachable``), so does a link that would hit something (``arm_collision``) or a joint at
its limit (``joint_limit``); the grip is then tried turned round the object. Whether the task
*succeeded* is never decided here: see :func:`judge_pick_place`, which only reads the simulated
state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpflow.domain.sim.clearance import JOINT_LIMIT, Clearance, Hit
from bpflow.domain.sim.robot import GRIPPER_CLOSED, GRIPPER_OPEN, HOME_Q, IKSolver, grasp_rotation
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks_model import Task, grasp_axis, surface_top

HOVER = 0.15
TIP_BELOW_SITE = 0.05
PALM_ABOVE_SITE = 0.037
"""The hand's underside is 3.7 cm above the site; the pads reach 4.5 cm below the palm's level."""
IK_TOLERANCE = 0.01
LINE_STEP_RAD = 0.35
"""Largest joint change between two 2 cm IK steps of a straight move: more is a flip of the arm's
configuration, which the servos would sweep through off the line."""
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


GRASP_DIRECTIONS = 12
"""Finger directions considered per object (every 15°): a round bottle fits the gripper any way
round, and the way that clears its neighbours may be any of them."""
MAX_GRIPS = 12
#: Directions (in 15° steps from the narrowest) tried first when widths tie: square to it, then
#: the diagonals, then the rest — spread round the object rather than bunched.
_SPREAD = (6, 3, 9, 2, 4, 8, 10, 1, 5, 7, 11)


def grasp_yaws(sim: SimScene, object_id: str) -> list[float]:
    """Finger directions that fit the object, best first: across its narrowest side (both ways
    round: one may run the wrist into its limit), then every other direction (15° steps) whose
    width still fits the gripper, narrowest first (ties spread round the object) — a grip a
    neighbour blocks may be free turned a little."""
    from bpflow.domain.sim.placement import GRIPPER_SPAN

    yaw, _, _ = grasp_axis(sim, object_id)
    out = [yaw, yaw + np.pi]
    pts = sim.world_points(object_id)
    if len(pts):
        fits = []
        for k in range(1, GRASP_DIRECTIONS):
            cand = yaw + np.pi * k / GRASP_DIRECTIONS
            across = np.array([np.cos(cand), np.sin(cand)])
            width = float(np.ptp(pts[:, :2] @ across))
            if width <= GRIPPER_SPAN:
                fits.append((round(width / 0.005), _SPREAD.index(k), cand))
        for _, _, cand in sorted(fits):
            out += [cand, cand + np.pi]
    return out[:MAX_GRIPS]


def plan_pick_place(sim: SimScene, ik: IKSolver, task: Task, clearance: Clearance | None = None) -> Plan:
    """Joint waypoints for the task from the arm's current commanded pose, every configuration
    along them clear of obstacles (``clearance``; built from the scene when not given).

    Each grip of :func:`grasp_yaws` is tried in turn; the first whose whole plan is reachable and
    clear wins. Otherwise the error of the grip that got furthest is returned (``ik_unreachable``
    or ``arm_collision``, naming the segment, the arm link and what it would hit)."""
    clearance = clearance or Clearance(sim)
    clearance.sync()
    best = Plan([])
    for candidate in grasp_yaws(sim, task.object_id):
        plan = _plan_with_yaw(sim, ik, task, candidate, clearance)
        if plan.error is None:
            return plan
        if not best.error or len(plan.segments) > len(best.segments):
            best = plan
    return best


PICKED_SEGMENTS = 4
"""approach, descend, close, lift: a plan that got this far has the object in hand."""
#: Per waypoint: whether the fingers may touch the target there (it is in or between them).
_TOUCHES_TARGET = {
    "approach": False,
    "descend": True,
    "close": True,
    "lift": True,
    "carry": True,
    "lower": True,
    "open": True,
    "retreat": True,
}
#: Moves planned in joint space (free paths found by ``Clearance.connect``); the others are
#: straight vertical lines of the hand.
_FREE_MOVES = ("approach", "carry")


def _plan_with_yaw(sim: SimScene, ik: IKSolver, task: Task, yaw: float, clearance: Clearance) -> Plan:
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
    target = frozenset({sim.objects[task.object_id].body_id})
    return _follow_checked(sim, ik, waypoints, rot, clearance, target)


def _follow_checked(
    sim: SimScene,
    ik: IKSolver,
    waypoints: list[tuple[str, np.ndarray | None, float, float]],
    rot: np.ndarray,
    clearance: Clearance,
    target: frozenset[int],
    moved: dict[str, Callable[[Clearance], None]] | None = None,
) -> Plan:
    """IK for each waypoint, collision-checked: vertical moves as straight lines of the hand
    (2 cm IK steps), joint-space moves as free paths; ``target`` may touch the hand where
    ``_TOUCHES_TARGET`` says so. ``moved[name]`` updates the checked scene before that segment
    for what the hand itself moves (a drawer pushed home goes ahead of the fingers)."""
    robot = sim.robot
    assert robot is not None
    q = sim.data.ctrl[robot.arm_act].copy()
    grip_now = float(sim.data.ctrl[robot.finger_act[0]])
    plan = Plan([])
    start_hit = clearance.hits(q, grip_now)
    if start_hit:
        plan.error = f"arm_collision: start pose: {start_hit[0]}"
        return plan
    here: np.ndarray | None = None
    for name, goal, grip, dur in waypoints:
        if moved and name in moved:
            moved[name](clearance)
        allow = target if _TOUCHES_TARGET.get(name, True) else frozenset()
        via: list[np.ndarray] = []
        if goal is None:  # the fingers open or close where the hand is
            touching = clearance.hits(q, grip, allow=allow)
            if touching:
                plan.error = f"arm_collision: {name}: {touching[0]}"
                return plan
            plan.segments.append(Segment(name, q.copy(), grip, dur))
            grip_now = grip
            continue
        if name in _FREE_MOVES or here is None:
            q_new, err = _ik_clear(ik, clearance, robot.to_base(goal), rot, q, grip, allow)
            plan.ik_errors[name] = round(err, 4)
            if err > IK_TOLERANCE:
                plan.error = f"ik_unreachable: {name} waypoint {np.round(goal, 3).tolist()} missed by {err:.3f} m"
                return plan
            hit = clearance.first_hit([q_new], grip, allow=allow)
            if hit is not None:
                plan.error = _blocked_by(f"{name} pose", hit)
                return plan
            path = clearance.connect(
                q, q_new, max(grip, grip_now) if name == "approach" else grip, allow=allow, seed=len(plan.segments)
            )
            if path is None:
                hit = clearance.first_hit([q, q_new], grip, allow=allow)
                plan.error = (
                    f"arm_collision: {name}: no free path ({hit})"
                    if hit is None or hit.other != JOINT_LIMIT
                    else _blocked_by(name, hit)
                )
                return plan
            via = path
        else:  # a vertical line of the hand: IK every 2 cm from the previous solution
            steps = int(np.ceil(np.linalg.norm(goal - here) / 0.02))
            q_step = q
            worst = 0.0
            for k in range(1, steps):
                q_step, e = ik.solve(robot.to_base(here + (goal - here) * k / steps), rot, q_step, iterations=60)
                worst = max(worst, e)
                via.append(q_step.copy())
            q_new, err = ik.solve(robot.to_base(goal), rot, q_step)
            plan.ik_errors[name] = round(max(err, worst), 4)
            if err > IK_TOLERANCE:
                plan.error = f"ik_unreachable: {name} waypoint {np.round(goal, 3).tolist()} missed by {err:.3f} m"
                return plan
            path = [q, *via, q_new]
            jump = max(float(np.max(np.abs(b - a))) for a, b in zip(path, path[1:]))
            if worst > IK_TOLERANCE or jump > LINE_STEP_RAD:
                # the arm would leave the straight line (a step IK did not hold, or a branch flip)
                plan.error = f"ik_unreachable: {name}: the hand cannot keep to a straight line (off by {worst:.3f} m, a {jump:.2f} rad joint step)"
                return plan
            hit = clearance.first_hit([q, *via, q_new], grip, allow=allow)
            if hit is not None:
                plan.error = _blocked_by(name, hit)
                return plan
        plan.ik_errors[name] = plan.ik_errors.get(name, 0.0)
        q, here, grip_now = q_new, goal, grip
        plan.segments.append(Segment(name, q.copy(), grip, dur, via))
    return plan


def _blocked_by(where: str, hit: Hit) -> str:
    """The plan error for a hit: a joint at its limit, or a link too close to something."""
    if hit.other == JOINT_LIMIT:
        return f"joint_limit: {where}: {hit.arm_link.removeprefix('robot/')} at its limit"
    return f"arm_collision: {where}: {hit}"


def _ik_clear(
    ik: IKSolver,
    clearance: Clearance,
    pos_base: np.ndarray,
    rot_base: np.ndarray,
    q_seed: np.ndarray,
    grip: float,
    allow: frozenset[int],
) -> tuple[np.ndarray, float]:
    """An IK solution for the pose whose arm is clear of obstacles and inside its limits: from
    ``q_seed``, else from the IK posture turned towards the target (wrist turned either way) for
    reach, else with the elbow swung round its free circle for clearance; the best reach when
    none is clear (the caller names what is in the way)."""
    q, err = ik.solve(pos_base, rot_base, q_seed)

    def ok(q_: np.ndarray, e: float) -> bool:
        return e <= IK_TOLERANCE and clearance.within_limits(q_) and not clearance.hits(q_, grip, allow=allow)

    if ok(q, err):
        return q, err
    best = (q, err)
    turn = float(np.arctan2(pos_base[1], pos_base[0]))
    seeds = [(0.0, w) for w in (0.0, 1.5, -1.5)] + [(e, 0.0) for e in (0.7, -0.7, 1.4, -1.4)]
    for elbow, wrist in seeds:
        if elbow and best[1] > IK_TOLERANCE:
            break  # not reachable at all: another elbow will not reach either
        seed = np.array(HOME_Q, dtype=float)
        seed[0] = np.clip(turn - elbow, -2.8, 2.8)
        seed[2] = np.clip(elbow, -2.8, 2.8)
        seed[6] = np.clip(seed[6] + wrist, -2.8, 2.8)
        q, err = ik.solve(pos_base, rot_base, seed)
        if ok(q, err):
            return q, err
        if err < best[1] or (best[1] > IK_TOLERANCE >= err):
            best = (q, err)
    return best


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
        # the path is timed by its joint length, not by its number of points: a via a long
        # way from the last (the arm turning round a limit) gets the time it needs
        lengths = np.cumsum([0.0, *(float(np.max(np.abs(b - a))) for a, b in zip(path, path[1:]))])
        for i in range(1, n + 1):
            q = _along(path, lengths, _min_jerk(i / n) * lengths[-1])
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


def _along(path: list[np.ndarray], lengths: np.ndarray, s: float) -> np.ndarray:
    """The configuration ``s`` (joint-space length) along a polyline of configurations."""
    if lengths[-1] <= 0.0:
        return path[-1]
    k = int(np.clip(np.searchsorted(lengths, s, side="right") - 1, 0, len(path) - 2))
    span = float(lengths[k + 1] - lengths[k])
    frac = 0.0 if span <= 0 else min(1.0, (s - float(lengths[k])) / span)
    return np.asarray(path[k] + (path[k + 1] - path[k]) * frac, dtype=float)


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


def judge_pick_place(
    sim: SimScene, task: Task, *, start: np.ndarray, max_z: float, plan_error: str | None
) -> Judgement:
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


def push_rotation(out: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """Site orientation for a push along ``-out`` with the hand level: the approach axis
    horizontal into the front, the fingers (closed) stacked vertically (``roll`` turns them)."""
    z = -np.asarray(out, dtype=float)
    y = np.array([0.0, 0.0, 1.0])
    x = np.cross(y, z)
    rot = np.column_stack([x, y, z])
    c, s_ = np.cos(roll), np.sin(roll)
    return np.asarray(rot @ np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]]), dtype=float)


def plan_push(sim: SimScene, ik: IKSolver, task: Task, clearance: Clearance | None = None) -> Plan:
    """Closed fingers against the drawer's front, push it along its axis until shut; the
    arm's links kept clear of everything but the drawer and its cabinet.

    Two ways of holding the hand are tried: level, the finger tips pointing into the front (the
    forearm stays behind the hand, below the cabinet's top), then pointing down with the
    fingers' flat side on the front (a drawer low under a worktop)."""
    robot = sim.robot
    assert robot is not None
    centre, out, travel = _front(sim, task)
    level = [
        ("approach", centre + out * (TIP_BELOW_SITE + 0.10), GRIPPER_CLOSED, 1.6),
        ("descend", centre + out * (TIP_BELOW_SITE + 0.01), GRIPPER_CLOSED, 1.0),
        ("push", centre + out * (TIP_BELOW_SITE - travel - 0.01), GRIPPER_CLOSED, 1.5),
        ("back", centre + out * (TIP_BELOW_SITE - travel + 0.07), GRIPPER_CLOSED, 0.8),
        ("retreat", centre + out * (TIP_BELOW_SITE - travel + 0.12), GRIPPER_CLOSED, 0.8),
    ]
    yaw = float(np.arctan2(out[1], out[0])) + np.pi / 2  # the fingers' flat side faces the front
    site_z = centre[2] + 0.02
    start = np.array([centre[0], centre[1], site_z]) + out * 0.06
    end = np.array([centre[0], centre[1], site_z]) - out * (travel + 0.01)
    down = [
        ("approach", start + np.array([0.0, 0.0, HOVER]), GRIPPER_CLOSED, 1.6),
        ("descend", start, GRIPPER_CLOSED, 1.0),
        ("push", end, GRIPPER_CLOSED, 1.5),
        ("back", end + out * 0.08, GRIPPER_CLOSED, 0.8),
        ("retreat", end + out * 0.08 + np.array([0.0, 0.0, 0.06]), GRIPPER_CLOSED, 0.8),
    ]
    # the hand may touch the drawer and the cabinet it slides into, nothing else
    j = sim.joint_by_name(str(task.joint))
    part = int(sim.model.jnt_bodyid[j.joint_id])
    allow = frozenset({part, sim.objects[task.object_id].body_id})
    clearance = clearance or Clearance(sim)
    clearance.sync()
    best = Plan([])
    # pointing down: the fingers' flat side on the front, or their edge (the wrist's offset from
    # the hand then points along the front, not into the cabinet)
    ways = [(level, push_rotation(out, r)) for r in (0.0, np.pi)] + [
        (down, grasp_rotation(y)) for y in (yaw, yaw + np.pi, yaw - np.pi / 2, yaw + np.pi / 2)
    ]

    def shut(check: Clearance) -> None:
        check.data.qpos[j.qpos_adr] = closed

    _, closed, _ = _drawer_ends(sim, task)
    for waypoints, rot in ways:
        clearance.sync()
        plan = _follow_checked(sim, ik, waypoints, robot.rot_to_base(rot), clearance, allow, moved={"push": shut})
        if plan.error is None:
            return plan
        if not best.error or len(plan.segments) > len(best.segments):
            best = plan
    return best


def judge_close(sim: SimScene, task: Task, *, start_value: float, plan_error: str | None) -> Judgement:
    """Closed within 1.5 cm of its closed end, having moved there from where it started."""
    j, closed, _ = _drawer_ends(sim, task)
    final = sim.joint_value(j)
    gap = abs(final - closed)
    moved = abs(final - start_value)
    ok = plan_error is None and gap <= CLOSED_TOLERANCE
    reason = plan_error or ("ok" if ok else f"not closed ({gap * 100:.1f} cm still open)")
    return Judgement(ok, False, bool(gap <= CLOSED_TOLERANCE), True, moved, gap, 0.0, reason)
