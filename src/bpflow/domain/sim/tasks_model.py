"""What a task is, and the scene geometry both the planner (``skills``) and task derivation
(``tasks``) read: a module of its own so ``skills`` needs nothing from ``tasks``, which plans with
``skills`` to decide which tasks to offer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpflow.domain.sim.placement import narrowest
from bpflow.domain.sim.scene import SimScene


@dataclass(frozen=True)
class Task:
    task_id: str
    kind: str
    object_id: str
    description: str
    place_xy: tuple[float, float] | None = None
    joint: str | None = None
    """For ``close_drawer``: the MuJoCo name of the drawer's slide joint."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "object_id": self.object_id,
            "description": self.description,
            "place_xy": list(self.place_xy) if self.place_xy else None,
            "joint": self.joint,
        }


def grasp_axis(sim: SimScene, object_id: str) -> tuple[float, float, np.ndarray]:
    """The horizontal direction (yaw) across which the object is narrowest, that width, and
    the centre of the object's outline in that frame (where the fingers should close)."""
    pts = sim.world_points(object_id)
    if len(pts) == 0:
        return 0.0, 0.0, sim.position(object_id)
    width, yaw = narrowest(pts)
    d = np.array([np.cos(yaw), np.sin(yaw)])
    n = np.array([-d[1], d[0]])
    a, b = pts[:, :2] @ d, pts[:, :2] @ n
    centre_xy = d * (a.min() + a.max()) / 2 + n * (b.min() + b.max()) / 2
    return yaw, width, np.array([centre_xy[0], centre_xy[1], (pts[:, 2].min() + pts[:, 2].max()) / 2])


def surface_top(sim: SimScene) -> float:
    return float(sim.mount.get("surface_top", 0.0))
