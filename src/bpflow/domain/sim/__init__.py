"""Simulation core (Stage 4): the scene USD (+ manifest) as a MuJoCo model, the Panda arm,
cameras, tasks and scripted skills. Entry point: :func:`load_scene` (see ``scene``)."""

from bpflow.domain.sim.scene import SimJoint, SimObject, SimScene, load_scene
from bpflow.domain.sim.usd_read import SceneReadError

__all__ = ["SceneReadError", "SimJoint", "SimObject", "SimScene", "load_scene"]
