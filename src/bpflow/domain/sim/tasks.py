"""Tasks derived from the scene's objects.

* ``pick_place`` for every *pickable* object: dynamic, narrow enough for the Panda's 8 cm
  gripper across its narrowest horizontal direction (≤ 7.6 cm), tall enough for the pads to
  grip from above (≥ 3 cm), and within the arm's reach from the mount. The
  place target is a free spot of the same support surface: inside its top (5 cm from the
  edges), 15–25 cm from the object's start, its footprint 4 cm clear of every other object's, reachable.
  Weight is *not* filtered: a too-heavy object is attempted and the physics records the failed
  lift, which is the honest outcome.

* ``close_drawer`` for every drawer (a slide joint of an articulated object) whose front the
  arm can reach: the drawer starts 70–90 % open and the closed fingers push it shut along its
  axis. Opening (pulling) and doors are not derived: the parts have no handles to grasp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpflow.domain.sim.placement import GRIPPER_SPAN, narrowest
from bpflow.domain.sim.robot import REACH_M
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.usd_read import aabb

MAX_GRASP_WIDTH = GRIPPER_SPAN
MIN_REACH = 0.25
HOVER_CLEARANCE = 0.25
"""Free height the hand needs above an object's top for the vertical approach and retreat."""
MIN_HEIGHT = 0.03
"""The finger pads grip a band ≥ 1.5 cm above their tips, which stay 5 mm off the surface."""
PLACE_CLEARANCE = 0.04


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
        return {"task_id": self.task_id, "kind": self.kind, "object_id": self.object_id, "description": self.description, "place_xy": list(self.place_xy) if self.place_xy else None, "joint": self.joint}


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


def grasp_width(sim: SimScene, object_id: str) -> float:
    return grasp_axis(sim, object_id)[1]


def _fixed_boxes(sim: SimScene, skip: str | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """World AABBs of everything that does not move as a whole (furniture, appliances)."""
    out = []
    for spec in sim.scene.objects:
        if spec.dynamic or spec.id == skip:
            continue
        lo, hi = aabb(spec)
        out.append((spec.id, lo, hi))
    return out


def _blocked(boxes: list[tuple[str, np.ndarray, np.ndarray]], lo: np.ndarray, hi: np.ndarray, *, margin: float, floor_z: float, ceiling_z: float) -> str | None:
    """The first fixed object intruding into the column above ``lo..hi`` (xy grown by ``margin``)
    between ``floor_z`` and ``ceiling_z``: the fingers' vertical approach would hit it."""
    for oid, blo, bhi in boxes:
        if blo[0] < hi[0] + margin and bhi[0] > lo[0] - margin and blo[1] < hi[1] + margin and bhi[1] > lo[1] - margin and bhi[2] > floor_z and blo[2] < ceiling_z:
            return oid
    return None


def pickable(sim: SimScene, object_id: str) -> tuple[bool, str]:
    o = sim.objects[object_id]
    if not o.dynamic:
        return False, "not a free body"
    if float(o.size[2]) < MIN_HEIGHT:
        return False, f"too flat to pinch from above ({float(o.size[2]):.3f} m < {MIN_HEIGHT} m)"
    if grasp_width(sim, object_id) > MAX_GRASP_WIDTH:
        return False, f"wider than the gripper ({grasp_width(sim, object_id):.3f} m > {MAX_GRASP_WIDTH} m)"
    assert sim.robot is not None
    d = float(np.linalg.norm(sim.position(object_id)[:2] - sim.robot.base_pos[:2]))
    if not MIN_REACH <= d <= REACH_M:
        return False, f"out of reach ({d:.2f} m from the arm's base)"
    pts = sim.world_points(object_id)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if lo[2] < surface_top(sim) - 0.02 or lo[2] > surface_top(sim) + 0.05:
        return False, f"not resting on the work surface (bottom at {lo[2]:.2f} m, surface at {surface_top(sim):.2f} m)"
    hit = _blocked(_fixed_boxes(sim), lo, hi, margin=0.03, floor_z=lo[2] + 0.03, ceiling_z=hi[2] + HOVER_CLEARANCE)
    if hit is not None:
        return False, f"no clear approach from above ({hit} is in the way)"
    return True, ""


def _place_spot(sim: SimScene, object_id: str, rng: np.random.Generator) -> tuple[float, float] | None:
    assert sim.robot is not None
    lo, hi = sim.mount["surface_min"], sim.mount["surface_max"]
    start = sim.position(object_id)[:2]
    others = []
    for o in sim.dynamic_ids():
        if o != object_id:
            q = sim.world_points(o)
            others.append((q.min(axis=0)[:2], q.max(axis=0)[:2]))
    base = sim.robot.base_pos[:2]
    fixed = _fixed_boxes(sim, skip=sim.mount.get("surface_id"))
    pts = sim.world_points(object_id)
    half = (pts.max(axis=0) - pts.min(axis=0))[:2] / 2
    height = float(np.ptp(pts[:, 2])) if len(pts) else 0.1
    for _ in range(400):
        p = np.array([rng.uniform(lo[0] + 0.05, hi[0] - 0.05), rng.uniform(lo[1] + 0.05, hi[1] - 0.05)])
        if not 0.15 <= np.linalg.norm(p - start) <= 0.25:
            continue
        if any(np.all(p - half - PLACE_CLEARANCE < qhi) and np.all(p + half + PLACE_CLEARANCE > qlo) for qlo, qhi in others):
            continue
        if not MIN_REACH + 0.05 <= np.linalg.norm(p - base) <= REACH_M - 0.1:
            continue
        top = surface_top(sim)
        if _blocked(fixed, np.r_[p - half, top], np.r_[p + half, top + height], margin=0.04, floor_z=top + 0.01, ceiling_z=top + height + HOVER_CLEARANCE) is not None:
            continue
        return float(p[0]), float(p[1])
    return None


KINDS = ("pick_place", "close_drawer")
DEFAULT_KINDS = ("pick_place",)
"""``close_drawer`` is opt-in (``EPISODE_TASKS``) until its mount handles drawers on the floor."""


def derive_tasks(sim: SimScene, *, seed: int = 0, max_tasks: int | None = None, kinds: tuple[str, ...] = DEFAULT_KINDS) -> tuple[list[Task], dict[str, str]]:
    """The scene's tasks and, per object that got none, why (for the report and errors)."""
    rng = np.random.default_rng(seed)
    tasks: list[Task] = []
    skipped: dict[str, str] = {}
    for oid in sorted(sim.dynamic_ids()) if "pick_place" in kinds else []:
        ok, why = pickable(sim, oid)
        if not ok:
            skipped[oid] = why
            continue
        spot = _place_spot(sim, oid, rng)
        if spot is None:
            skipped[oid] = "no free, reachable spot to place it on its support surface"
            continue
        o = sim.objects[oid]
        surface = sim.objects.get(str(sim.mount.get("surface_id")))
        where = surface.category if surface is not None else "floor"
        tasks.append(Task(f"pick_place_{oid}", "pick_place", oid, f"pick up the {o.category} and place it on the {where}", spot))
        if max_tasks is not None and len(tasks) >= max_tasks:
            return tasks, skipped
    for task, why in drawer_tasks(sim) if "close_drawer" in kinds else []:
        if task is None:
            skipped[why[0]] = why[1]
            continue
        tasks.append(task)
        if max_tasks is not None and len(tasks) >= max_tasks:
            break
    return tasks, skipped


def drawer_tasks(sim: SimScene) -> list[tuple[Task | None, tuple[str, str]]]:
    """``close_drawer`` for every slide joint of an articulated object whose front the arm can
    push along its whole travel (checked by planning it), else why not."""
    from bpflow.domain.sim import skills
    from bpflow.domain.sim.robot import IKSolver

    out: list[tuple[Task | None, tuple[str, str]]] = []
    ik: IKSolver | None = None
    for oid in sorted(sim.objects):
        o = sim.objects[oid]
        for j in o.joints:
            if j.type != "slide":
                continue
            task = Task(f"close_drawer_{oid}_{j.name.rsplit('/', 1)[-1]}", "close_drawer", oid, f"push the {o.category}'s drawer closed", joint=j.name)
            ik = ik or IKSolver()
            saved = sim.data.qpos.copy()
            skills.open_drawer(sim, task, 0.8)
            plan = skills.plan_push(sim, ik, task)
            sim.data.qpos[:] = saved
            sim.data.qvel[:] = 0.0
            sim.reset_forward()
            if plan.error:
                out.append((None, (f"{oid}/{j.name.rsplit('/', 1)[-1]}", f"drawer not reachable for a push ({plan.error})")))
            else:
                out.append((task, ("", "")))
    return out


def surface_top(sim: SimScene) -> float:
    return float(sim.mount.get("surface_top", 0.0))
