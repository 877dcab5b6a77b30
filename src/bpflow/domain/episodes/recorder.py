"""Run one scripted episode in the simulation and record it frame by frame.

Per frame (``fps``, physics in between at the model's timestep): the arm's 7 joint positions
and the gripper opening (``state``), their velocities, the end-effector pose (position + wxyz
quaternion), the commanded action (7 joint targets + gripper opening) and one RGB image per
camera. The episode's initial pose is randomised from its seed (the target object shifted up to
±2 cm and turned up to ±0.3 rad about the vertical, then settled for 1 s) so episodes of one task
differ; a variation the arm cannot plan a clear grip from is drawn again (up to
``RANDOM_TRIES``, the last without variation). Measured as it runs: frames in which the arm
touches anything but the target object, or touches itself (two links not joined to each other:
the plan check's ``clearance.ArmBodies`` rule), counted as ``collision_frames``; frames with an
arm joint outside its limits; the object's highest point.
The outcome comes from :func:`skills.judge_pick_place` — physics, not the script's opinion.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402

from bpflow.domain.sim import skills  # noqa: E402
from bpflow.domain.sim.cameras import GL_LOCK  # noqa: E402
from bpflow.domain.sim.clearance import ArmBodies  # noqa: E402
from bpflow.domain.sim.robot import IKSolver  # noqa: E402
from bpflow.domain.sim.scene import SimScene  # noqa: E402
from bpflow.domain.sim.tasks import Task  # noqa: E402

STATE_NAMES = [*(f"joint{i}" for i in range(1, 8)), "gripper"]
EE_NAMES = ["x", "y", "z", "qw", "qx", "qy", "qz"]
SHIFT_M = 0.02
TURN_RAD = 0.3
SETTLE_S = 1.0
RANDOM_TRIES = 4
"""Start-pose variations drawn per episode before falling back to the task's own pose."""


@dataclass
class RecordConfig:
    fps: int = 25
    cameras: tuple[str, ...] = ("front", "wrist")
    width: int = 128
    height: int = 128
    render: bool = True


@dataclass
class EpisodeRecord:
    task: Task
    seed: int
    state: np.ndarray
    velocity: np.ndarray
    ee_pose: np.ndarray
    action: np.ndarray
    images: dict[str, np.ndarray]
    judgement: skills.Judgement
    collision_frames: int
    joint_limit_violations: int
    sim_seconds: float
    wall_seconds: float
    initial_pose: list[float]
    ik_errors: dict[str, float] = field(default_factory=dict)
    first_contact: dict[str, str] | None = None
    """Where the arm first touched something other than its target: segment, arm link, other body."""

    @property
    def frames(self) -> int:
        return int(self.state.shape[0])


def camera_key(name: str) -> str:
    """The LeRobot feature name of a camera (``robot/wrist`` → ``observation.images.wrist``)."""
    return "observation.images." + name.split("/")[-1]


def arm_contact(sim: SimScene, arm: ArmBodies, target_body: int) -> tuple[int, int] | None:
    """The first pair of bodies in the simulation's current contacts (shapes overlapping) with the
    arm in it: (arm body, scene body) other than ``target_body``, or two of the arm's links that
    fold into each other (``ArmBodies.folds``). None when there is none."""
    m, d = sim.model, sim.data
    for i in range(d.ncon):
        c = d.contact[i]
        if c.dist >= 0:
            continue
        b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
        r1, r2 = b1 in arm.ids, b2 in arm.ids
        if r1 and r2:
            if arm.folds(b1, b2):
                return b1, b2
        elif r1 or r2:
            other = b2 if r1 else b1
            if other != target_body:
                return (b1, b2) if r1 else (b2, b1)
    return None


class Recorder:
    """Owns one scene, its IK solver and its renderer; runs episodes one after another."""

    def __init__(self, sim: SimScene, config: RecordConfig) -> None:
        self.sim = sim
        self.config = config
        self.ik = IKSolver()
        self.renderer = None
        if config.render and config.cameras:
            with GL_LOCK:
                self.renderer = mujoco.Renderer(sim.model, config.height, config.width)
        names = {sim.model.camera(i).name for i in range(sim.model.ncam)}
        self.cameras = [c if c in names else f"robot/{c}" for c in config.cameras]
        missing = [c for c in self.cameras if c not in names]
        if missing:
            raise ValueError(f"unknown cameras {missing}; the scene has {sorted(names)}")
        assert sim.robot is not None
        m = sim.model
        self.arm_range = np.array([m.jnt_range[m.dof_jntid[d]] for d in sim.robot.arm_dof])
        self.arm = ArmBodies.of(m, sim.robot)

    def close(self) -> None:
        if self.renderer is not None:
            with GL_LOCK:
                self.renderer.close()

    def _randomise(self, task: Task, rng: np.random.Generator, scale: float = 1.0) -> list[float]:
        sim = self.sim
        pos = sim.position(task.object_id)
        quat = sim.quat(task.object_id)
        shift = rng.uniform(-SHIFT_M, SHIFT_M, size=2) * scale
        turn = rng.uniform(-TURN_RAD, TURN_RAD) * scale
        dq = np.array([np.cos(turn / 2), 0.0, 0.0, np.sin(turn / 2)])
        new_q = np.zeros(4)
        mujoco.mju_mulQuat(new_q, dq, quat)
        new_pos = pos + np.array([shift[0], shift[1], 0.002])
        sim.set_pose(task.object_id, new_pos, new_q)
        sim.settle(SETTLE_S)
        return [float(v) for v in np.r_[sim.position(task.object_id), sim.quat(task.object_id)]]

    def run(self, task: Task, seed: int) -> EpisodeRecord:
        sim, cfg = self.sim, self.config
        robot = sim.robot
        assert robot is not None
        started = time.monotonic()
        sim.reset()
        rng = np.random.default_rng(seed)
        if task.kind == "close_drawer":
            sim.settle(SETTLE_S)
            start_value = skills.open_drawer(sim, task, float(rng.uniform(0.7, 0.9)))
            initial = [start_value]
            plan = skills.plan_push(sim, self.ik, task)
            target_body = int(sim.model.jnt_bodyid[sim.joint_by_name(str(task.joint)).joint_id])
        else:
            # a start pose the arm can plan from: a variation that puts the object where no
            # clear grip exists (tight between neighbours) is drawn again, the last try is the
            # task's own pose (which its derivation planned); the physics still judges the rest
            for attempt in range(RANDOM_TRIES):
                if attempt:
                    sim.reset()
                initial = self._randomise(task, rng, 1.0 if attempt < RANDOM_TRIES - 1 else 0.0)
                plan = skills.plan_pick_place(sim, self.ik, task)
                if plan.error is None:
                    break
            target_body = sim.objects[task.object_id].body_id
        substeps = max(1, int(round(1.0 / cfg.fps / sim.model.opt.timestep)))
        start = sim.position(task.object_id)
        max_z = float(start[2])
        rows: dict[str, list[np.ndarray]] = {"state": [], "velocity": [], "ee": [], "action": []}
        images: dict[str, list[np.ndarray]] = {c: [] for c in self.cameras}
        collisions = violations = 0
        first_contact: dict[str, str] | None = None
        steps = (
            skills.actions(sim, plan, cfg.fps)
            if plan.error is None
            else iter([("hold", np.r_[sim.data.ctrl[robot.arm_act], sim.data.ctrl[robot.finger_act[0]]])] * cfg.fps)
        )
        for name, action in steps:
            d = sim.data
            q = d.qpos[robot.arm_qpos]
            grip = float(d.qpos[robot.finger_qpos].sum())
            rows["state"].append(np.r_[q, grip])
            rows["velocity"].append(np.r_[d.qvel[robot.arm_dof], float(d.qvel[robot.finger_dof].sum())])
            pos, rot = robot.ee_pose(d)
            quat = np.zeros(4)
            mujoco.mju_mat2Quat(quat, rot.reshape(9))
            rows["ee"].append(np.r_[pos, quat])
            rows["action"].append(np.asarray(action, dtype=float))
            if self.renderer is not None:
                with GL_LOCK:  # one GL user at a time in this process
                    for cam in self.cameras:
                        self.renderer.update_scene(d, camera=cam)
                        images[cam].append(self.renderer.render().copy())
            skills.apply_action(sim, action)
            sim.step(substeps)
            max_z = max(max_z, float(sim.position(task.object_id)[2]))
            touching = arm_contact(sim, self.arm, target_body)
            if touching is not None:
                collisions += 1
                if first_contact is None:
                    first_contact = {
                        "segment": name,
                        "arm_link": sim.model.body(touching[0]).name,
                        "other": sim.model.body(touching[1]).name,
                    }
            if np.any(d.qpos[robot.arm_qpos] < self.arm_range[:, 0] - 1e-3) or np.any(
                d.qpos[robot.arm_qpos] > self.arm_range[:, 1] + 1e-3
            ):
                violations += 1
        if task.kind == "close_drawer":
            judgement = skills.judge_close(sim, task, start_value=initial[0], plan_error=plan.error)
        else:
            judgement = skills.judge_pick_place(sim, task, start=start, max_z=max_z, plan_error=plan.error)
        n = len(rows["state"])
        return EpisodeRecord(
            task=task,
            seed=seed,
            state=np.asarray(rows["state"], dtype=np.float32).reshape(n, 8),
            velocity=np.asarray(rows["velocity"], dtype=np.float32).reshape(n, 8),
            ee_pose=np.asarray(rows["ee"], dtype=np.float32).reshape(n, 7),
            action=np.asarray(rows["action"], dtype=np.float32).reshape(n, 8),
            images={camera_key(c): np.asarray(v, dtype=np.uint8) for c, v in images.items()}
            if self.renderer is not None
            else {},
            judgement=judgement,
            collision_frames=collisions,
            joint_limit_violations=violations,
            sim_seconds=n / cfg.fps,
            wall_seconds=time.monotonic() - started,
            initial_pose=initial,
            ik_errors=plan.ik_errors,
            first_contact=first_contact,
        )
