"""Closed-loop trials: the policy acts every frame, the physics judges the outcome.

A trial mirrors a recorded episode: the same scene reset, the same initial-pose randomisation
(the target shifted/turned from the trial's seed, then settled; ``Recorder._randomise``), the
same frame rate and observation features as the dataset (joint state + gripper, velocities,
end-effector pose, camera images at the policy's training resolution), the action applied as
the recorder applies it (7 joint targets + gripper opening). It ends at the frame budget — 1.5×
the scripted expert's length for that task — or earlier, once the physics judge says success
(checked every half second after a lift). The scripted expert runs from the same seeds so its
success rate stands beside the policy's."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from bpflow.domain.episodes.recorder import RecordConfig, Recorder, camera_key
from bpflow.domain.sim import skills
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks import Task

BUDGET_FACTOR = 1.5


class Policy(Protocol):
    def reset(self) -> None: ...

    def act(self, observation: dict[str, np.ndarray], task: str) -> np.ndarray: ...


@dataclass
class Trial:
    task_id: str
    seed: int
    success: bool
    frames: int
    reason: str
    judgement: dict[str, Any]
    wall_seconds: float
    frames_rgb: np.ndarray | None = field(default=None, repr=False)


def observe(
    sim: SimScene, rec: Recorder, image_keys: dict[str, str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The dataset's observation features for the current state, and the rendered images."""
    import mujoco

    robot = sim.robot
    assert robot is not None
    d = sim.data
    pos, rot = robot.ee_pose(d)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rot.reshape(9))
    obs = {
        "observation.state": np.r_[d.qpos[robot.arm_qpos], float(d.qpos[robot.finger_qpos].sum())].astype(np.float32),
        "observation.velocity": np.r_[d.qvel[robot.arm_dof], float(d.qvel[robot.finger_dof].sum())].astype(np.float32),
        "observation.ee_pose": np.r_[pos, quat].astype(np.float32),
    }
    images = {}
    if rec.renderer is not None:
        for key, cam in image_keys.items():
            rec.renderer.update_scene(d, camera=cam)
            images[key] = rec.renderer.render().copy()
    return obs, images


class Evaluator:
    """One scene, one renderer at the policy's image size; runs policy and expert trials."""

    def __init__(self, sim: SimScene, *, image_size: tuple[int, int], cameras: list[str], fps: int = 25) -> None:
        self.sim = sim
        self.fps = fps
        self.rec = Recorder(
            sim,
            RecordConfig(
                fps=fps, cameras=tuple(cameras), width=image_size[1], height=image_size[0], render=bool(cameras)
            ),
        )
        self.image_keys = {camera_key(c): c for c in self.rec.cameras}
        self.expert = Recorder(sim, RecordConfig(fps=fps, cameras=(), render=False))

    def close(self) -> None:
        self.rec.close()
        self.expert.close()

    def expert_trial(self, task: Task, seed: int) -> Trial:
        r = self.expert.run(task, seed)
        return Trial(
            task.task_id, seed, r.judgement.success, r.frames, r.judgement.reason, r.judgement.to_dict(), r.wall_seconds
        )

    def policy_trial(
        self,
        policy: Policy,
        task: Task,
        seed: int,
        *,
        budget: int,
        keep_video: bool = True,
        wanted: set[str] | None = None,
    ) -> Trial:
        sim = self.sim
        started = time.monotonic()
        sim.reset()
        self.rec._randomise(task, np.random.default_rng(seed))  # the recorder's own randomisation
        policy.reset()
        substeps = max(1, int(round(1.0 / self.fps / sim.model.opt.timestep)))
        start = sim.position(task.object_id)
        max_z = float(start[2])
        video: list[np.ndarray] = []
        judgement = None
        frames = 0
        for frames in range(1, budget + 1):
            obs, images = observe(sim, self.rec, self.image_keys)
            if wanted is not None:
                obs = {k: v for k, v in obs.items() if k in wanted}
            if keep_video and images:
                video.append(next(iter(images.values())))
            action = policy.act({**obs, **images}, task.description)
            skills.apply_action(sim, action)
            sim.step(substeps)
            max_z = max(max_z, float(sim.position(task.object_id)[2]))
            if frames % (self.fps // 2 or 1) == 0 and max_z - start[2] >= skills.LIFT_MIN:
                judgement = skills.judge_pick_place(sim, task, start=start, max_z=max_z, plan_error=None)
                if judgement.success:
                    break
        judgement = skills.judge_pick_place(sim, task, start=start, max_z=max_z, plan_error=None)
        return Trial(
            task.task_id,
            seed,
            judgement.success,
            frames,
            judgement.reason,
            judgement.to_dict(),
            time.monotonic() - started,
            np.asarray(video, dtype=np.uint8) if video else None,
        )
