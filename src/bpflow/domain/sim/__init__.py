"""Simulation core (Stage 4): the scene USD (+ manifest) as a MuJoCo model, the Panda arm,
cameras, tasks and scripted skills. Entry point: :func:`load_scene` (see ``scene``).

Offscreen rendering needs an OpenGL platform chosen before MuJoCo is first imported: EGL
(Mesa's llvmpipe on a machine without a GPU) unless ``MUJOCO_GL`` says otherwise."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from bpflow.domain.sim.scene import SimJoint, SimObject, SimScene, load_scene  # noqa: E402
from bpflow.domain.sim.usd_read import SceneReadError  # noqa: E402

__all__ = ["SceneReadError", "SimJoint", "SimObject", "SimScene", "load_scene"]
