"""Link-aware clearance for the arm: collision queries on arm configurations and a small
sampling planner in joint space, both on MuJoCo's own collision detection.

Why: the skills move the hand along straight lines, but the arm's links (elbow, wrist, fingers)
sweep through space the hand never visits. A plan is only offered when every configuration
along it keeps each link clear of everything but the arm itself — furniture, walls, the floor
and other objects — by a safety margin (``LINK_MARGIN`` for the links and the hand, ``FINGER_MARGIN``
for the fingers, which must come close to the target and its support by design). The object worked on
(and a drawer's cabinet) may be touched by the hand and fingers; the other links may come within
their margin of it (a wrist flush with the cabinet a drawer is pushed into) but never into it.

The checks run on a private copy of the scene model (margins widened there, never in the
simulated one) with the objects where they are now: the physics is not touched. A collision
query costs ~0.05 ms, so a path is checked every ``STEP_RAD`` of joint motion and a blocked
move can afford a bidirectional RRT (``connect``), seeded for determinism.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import mujoco
import numpy as np

from bpflow.domain.sim.robot import LIMIT_MARGIN_RAD, RobotHandle


class SimScene(Protocol):
    """What clearance reads of a ``scene.SimScene`` (a protocol: the scene loader itself asks
    clearance for the start pose, so clearance does not import it)."""

    model: mujoco.MjModel
    data: mujoco.MjData
    robot: RobotHandle | None
    mount: dict[str, Any]
    objects: dict[str, Any]


LINK_MARGIN = 0.015
"""Free space the arm's links keep from obstacles along a plan, metres."""
FINGER_MARGIN = 0.004
"""The fingers must slide past the target's neighbours and stop 5 mm above supports."""
SELF_MARGIN = 0.0
"""Closest two of the arm's own links (not joined to each other) may come, metres: any overlap
of their collision shapes is a fold of the arm into itself, which the physics resists (a
forearm pressed into the shoulder column stalls the 12 Nm wrist servos 0.8 rad short)."""
STEP_RAD = 0.03
"""Largest joint change between two checked configurations of a path (~2 cm at the hand)."""
RRT_ITERATIONS = 600
RRT_STEP_RAD = 0.25
BASE_LINK = "robot/panda0_link0"
JOINT_LIMIT = "its limit"
HAND_LINKS = ("robot/panda0_link7", "robot/panda0_leftfinger", "robot/panda0_rightfinger")
"""Bodies that may touch the target object (the hand and its fingers)."""
FINGERS = ("robot/panda0_leftfinger", "robot/panda0_rightfinger")


@dataclass(frozen=True)
class ArmBodies:
    """The arm's bodies in a compiled scene, and which two of them touching is the arm folding
    into itself. Shared by the plan check and the episode recorder so a plan offered as clear and
    a recorded frame count the same contacts. Exempt: a link and the one it is joined to (MuJoCo
    already skips parent-child pairs by default; kept here so a model that enables them changes
    nothing) and two parts of the hand (the fingers close against each other by design)."""

    ids: frozenset[int]
    parent: dict[int, int]
    hand: frozenset[int]

    @classmethod
    def of(cls, model: mujoco.MjModel, robot: RobotHandle) -> ArmBodies:
        return cls(
            ids=robot.body_ids,
            parent={b: int(model.body_parentid[b]) for b in robot.body_ids},
            hand=frozenset(b for b in robot.body_ids if model.body(b).name in HAND_LINKS),
        )

    def folds(self, b1: int, b2: int) -> bool:
        """Whether a contact between bodies ``b1`` and ``b2`` is the arm touching itself."""
        if b1 not in self.ids or b2 not in self.ids or b1 == b2:
            return False
        if self.parent.get(b1) == b2 or self.parent.get(b2) == b1:
            return False
        return not (b1 in self.hand and b2 in self.hand)


@dataclass(frozen=True)
class Hit:
    """An arm link too close to (or in) another body."""

    arm_link: str
    other: str

    def __str__(self) -> str:
        return f"{self.arm_link.removeprefix('robot/')} x {self.other}"


class Clearance:
    """Collision queries for arm configurations in one scene, as the objects are now."""

    def __init__(self, sim: SimScene) -> None:
        robot = sim.robot
        assert robot is not None, "clearance needs the arm mounted"
        self.sim = sim
        self.robot = robot
        self.model = copy.copy(sim.model)
        self.data = mujoco.MjData(self.model)
        m = self.model

        def name(b: int) -> str:
            return str(m.body(b).name)

        self.base = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, BASE_LINK)
        self.arm = ArmBodies.of(m, robot)
        self.hand = self.arm.hand
        for g in range(m.ngeom):
            b = int(m.geom_bodyid[g])
            if b in robot.body_ids and b != self.base:
                m.geom_margin[g] = FINGER_MARGIN if name(b) in FINGERS else LINK_MARGIN
                m.geom_gap[g] = 0.0
        self.lo = np.array([m.jnt_range[m.dof_jntid[d]][0] for d in robot.arm_dof])
        self.hi = np.array([m.jnt_range[m.dof_jntid[d]][1] for d in robot.arm_dof])
        self.sync()

    def sync(self) -> None:
        """Take the objects' (and drawers') current poses from the simulation."""
        self.data.qpos[:] = self.sim.data.qpos
        self.data.qvel[:] = 0.0

    def hits(self, q_arm: np.ndarray, grip: float, *, allow: frozenset[int] = frozenset()) -> list[Hit]:
        """Arm links within their margin of anything but the arm, the mount and ``allow``
        (bodies the hand and fingers may touch: the target object), and two links of the arm
        closer than ``SELF_MARGIN`` to each other (a reach close to the base folds the forearm
        into the shoulder; links joined to each other, and the hand's own parts, are exempt)."""
        m, d, robot = self.model, self.data, self.robot
        d.qpos[robot.arm_qpos] = q_arm
        d.qpos[robot.finger_qpos] = grip
        mujoco.mj_kinematics(m, d)
        mujoco.mj_collision(m, d)
        out: list[Hit] = []
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
            r1, r2 = b1 in robot.body_ids, b2 in robot.body_ids
            if r1 and r2:
                if c.dist < SELF_MARGIN and self.arm.folds(b1, b2):
                    out.append(Hit(m.body(b1).name, m.body(b2).name))
                continue
            if not (r1 or r2):
                continue
            arm, other = (b1, b2) if r1 else (b2, b1)
            if arm == self.base or (other in allow and (arm in self.hand or c.dist >= 0.0)):
                continue  # the hand may touch what it works on; the other links may come near it
            out.append(Hit(m.body(arm).name, m.body(other).name))
        return out

    def within_limits(self, q: np.ndarray, margin: np.ndarray | float = LIMIT_MARGIN_RAD) -> bool:
        return bool(np.all(q >= self.lo + margin) and np.all(q <= self.hi - margin))

    def limit_hit(self, q: np.ndarray) -> Hit | None:
        """The first joint closer than ``LIMIT_MARGIN_RAD`` to a limit, as a hit."""
        out = np.where((q < self.lo + LIMIT_MARGIN_RAD) | (q > self.hi - LIMIT_MARGIN_RAD))[0]
        return Hit(f"robot/panda0_joint{int(out[0]) + 1}", JOINT_LIMIT) if len(out) else None

    def first_hit(self, path: list[np.ndarray], grip: float, *, allow: frozenset[int] = frozenset()) -> Hit | None:
        """The first hit (or joint at its limit) along straight joint-space moves through
        ``path`` (checked every ``STEP_RAD``); the first configuration is taken as given."""
        if len(path) == 1:
            found = self.hits(path[0], grip, allow=allow)
            return found[0] if found else self.limit_hit(path[0])
        for a, b in zip(path, path[1:]):
            n = max(1, int(np.ceil(float(np.max(np.abs(b - a))) / STEP_RAD)))
            for k in range(1, n + 1):
                q = a + (b - a) * (k / n)
                hit = self.hits(q, grip, allow=allow)
                if hit:
                    return hit[0]
                limit = self.limit_hit(q)
                if limit is not None:
                    return limit
        return None

    def connect(
        self, q_from: np.ndarray, q_to: np.ndarray, grip: float, *, allow: frozenset[int] = frozenset(), seed: int = 0
    ) -> list[np.ndarray] | None:
        """Via configurations (excluding both ends) of a collision-free joint-space path, ``[]``
        when the straight move is free, None when none was found within the budget.

        Bidirectional RRT (RRT-Connect) inside the joint limits, then shortcutting."""
        if self.first_hit([q_from, q_to], grip, allow=allow) is None:
            return []
        rng = np.random.default_rng(seed)
        trees: tuple[list[np.ndarray], list[np.ndarray]] = ([q_from], [q_to])
        parents: tuple[list[int], list[int]] = ([-1], [-1])

        def free(a: np.ndarray, b: np.ndarray) -> bool:
            return self.first_hit([a, b], grip, allow=allow) is None

        for it in range(RRT_ITERATIONS):
            a, b = (0, 1) if it % 2 == 0 else (1, 0)
            sample = (
                rng.uniform(self.lo + LIMIT_MARGIN_RAD, self.hi - LIMIT_MARGIN_RAD)
                if rng.random() > 0.1
                else trees[b][0]
            )
            new = self._extend(trees[a], parents[a], sample, free)
            if new is None:
                continue
            target = trees[a][new]
            near = int(np.argmin([float(np.max(np.abs(q - target))) for q in trees[b]]))
            # greedy connect from the other tree towards the new node
            cur = near
            while True:
                q = trees[b][cur]
                gap = target - q
                dist = float(np.max(np.abs(gap)))
                step = q + gap * min(1.0, RRT_STEP_RAD / dist) if dist > 0 else q
                if not free(q, step):
                    break
                trees[b].append(step)
                parents[b].append(cur)
                cur = len(trees[b]) - 1
                if dist <= RRT_STEP_RAD:
                    path_a = _trace(trees[a], parents[a], new)
                    path_b = _trace(trees[b], parents[b], cur)
                    path = path_a[::-1] + path_b[1:] if a == 0 else path_b[::-1] + path_a[1:]
                    return self._shortcut(path, free, rng)[1:-1]
        return None

    def _extend(
        self,
        tree: list[np.ndarray],
        parents: list[int],
        sample: np.ndarray,
        free: Callable[[np.ndarray, np.ndarray], bool],
    ) -> int | None:
        near = int(np.argmin([float(np.max(np.abs(q - sample))) for q in tree]))
        q = tree[near]
        gap = sample - q
        dist = float(np.max(np.abs(gap)))
        if dist < 1e-6:
            return None
        step = q + gap * min(1.0, RRT_STEP_RAD / dist)
        if not free(q, step):
            return None
        tree.append(step)
        parents.append(near)
        return len(tree) - 1

    @staticmethod
    def _shortcut(
        path: list[np.ndarray],
        free: Callable[[np.ndarray, np.ndarray], bool],
        rng: np.random.Generator,
        tries: int = 60,
    ) -> list[np.ndarray]:
        path = list(path)
        for _ in range(tries):
            if len(path) <= 2:
                break
            i, j = sorted(rng.choice(len(path), size=2, replace=False))
            if j - i > 1 and free(path[i], path[j]):
                path = path[: i + 1] + path[j:]
        return path


def _trace(tree: list[np.ndarray], parents: list[int], node: int) -> list[np.ndarray]:
    out = []
    while node >= 0:
        out.append(tree[node])
        node = parents[node]
    return out


START_TURNS = (0.0, 1.2, -1.2, 2.4, -2.4)
"""Turns of the base joint tried for the start pose: the ready pose facing the work, else turned
aside (a drawer pulled out towards the arm would otherwise start inside the hand)."""


def clear_start(sim: SimScene) -> np.ndarray:
    """The first ready pose (``robot.READY_Q`` turned by ``START_TURNS``) clear of the scene as
    loaded, with the drawers of the objects the arm was mounted for pulled fully out (how a
    drawer task starts); the plain ready pose when none is (the plan then names the hit)."""
    from bpflow.domain.sim.robot import GRIPPER_OPEN, READY_Q

    check = Clearance(sim)
    for oid in sim.mount.get("target_ids") or []:
        o = sim.objects.get(oid)
        for j in o.joints if o is not None else []:
            if j.type == "slide":
                lo, hi = j.range
                check.data.qpos[j.qpos_adr] = hi if abs(hi) > abs(lo) else lo
    for turn in START_TURNS:
        q = np.array(READY_Q, dtype=float)
        q[0] = turn
        if check.within_limits(q) and not check.hits(q, GRIPPER_OPEN):
            return q
    return np.array(READY_Q, dtype=float)
