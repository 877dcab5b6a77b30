"""Tasks derived from the scene's objects.

* ``pick_place`` for every *pickable* object: dynamic, narrow enough for the Panda's 8 cm
  gripper across its narrowest horizontal direction (≤ 7.6 cm), tall enough for the pads to
  grip from above (≥ 3 cm), and within the arm's reach from the mount. The place target is a
  free spot of the support surface (5 cm inside its edges) or of a level top beside it, 10–25 cm
  from the object's start (twice the 5 cm tolerance at least: a vanity or washer top has room
  for no longer move), its footprint 4 cm clear of every other object's, on a real top (rays),
  reachable; when no spot is free (a washer under a towel) or the arm can carry it to none, the
  object is to be lifted and set down where it stood. Offered only when the arm can plan it (IK for every waypoint, every link clear:
  ``skills.plan_pick_place``). Weight is *not* filtered: a too-heavy object is attempted and
  the physics records the failed lift, which is the honest outcome.

* ``close_drawer`` for every drawer (a slide joint of an articulated object) whose front the
  arm can reach and push home with a plan that is clear: the drawer starts 70–90 % open and the
  closed fingers push it shut along its axis. Opening (pulling) and doors are not derived: the parts have no handles to grasp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpflow.domain.sim import skills
from bpflow.domain.sim.clearance import Clearance
from bpflow.domain.sim.placement import GRIPPER_SPAN
from bpflow.domain.sim.robot import REACH_M, IKSolver
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks_model import Task as Task  # re-exported: the task list's callers import it from here
from bpflow.domain.sim.tasks_model import grasp_axis, surface_top
from bpflow.domain.sim.usd_read import aabb

MAX_GRASP_WIDTH = GRIPPER_SPAN
MIN_REACH = 0.18
"""Closest an object may stand to the arm's base axis; whether the folded arm really gets there
without touching itself or the surface is the plan's check (IK + clearance), not this number."""
HOVER_CLEARANCE = 0.25
"""Free height the hand needs above an object's top for the vertical approach and retreat."""
MIN_HEIGHT = 0.03
"""The finger pads grip a band ≥ 1.5 cm above their tips, which stay 5 mm off the surface."""
PLACE_CLEARANCE = 0.04
SIZE_EPS = 1e-4
"""Sizes come through float32 USD transforms: a 3 cm object must not read as 2.9999 cm."""
PLACE_MIN_M, PLACE_MAX_M = 0.10, 0.25
SUPPORT_RAY_M = 0.05
LEVEL_M = 0.02
"""Another top this close in height to the work surface takes placed objects too."""
PLACE_TRIES = 3
"""Place spots tried per object before the task is refused for its plan."""


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


def _blocked(
    boxes: list[tuple[str, np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    margin: float,
    floor_z: float,
    ceiling_z: float,
) -> str | None:
    """The first fixed object intruding into the column above ``lo..hi`` (xy grown by ``margin``)
    between ``floor_z`` and ``ceiling_z``: the fingers' vertical approach would hit it."""
    for oid, blo, bhi in boxes:
        if (
            blo[0] < hi[0] + margin
            and bhi[0] > lo[0] - margin
            and blo[1] < hi[1] + margin
            and bhi[1] > lo[1] - margin
            and bhi[2] > floor_z
            and blo[2] < ceiling_z
        ):
            return oid
    return None


def pickable(sim: SimScene, object_id: str) -> tuple[bool, str]:
    o = sim.objects[object_id]
    if not o.dynamic:
        return False, "not a free body"
    if float(o.size[2]) < MIN_HEIGHT - SIZE_EPS:
        return False, f"too flat to pinch from above ({float(o.size[2]):.3f} m < {MIN_HEIGHT} m)"
    if grasp_width(sim, object_id) > MAX_GRASP_WIDTH + SIZE_EPS:
        return False, f"wider than the gripper ({grasp_width(sim, object_id):.3f} m > {MAX_GRASP_WIDTH} m)"
    assert sim.robot is not None
    d = float(np.linalg.norm(sim.position(object_id)[:2] - sim.robot.base_pos[:2]))
    if not MIN_REACH <= d <= REACH_M:
        return False, f"out of reach ({d:.2f} m from the arm's base)"
    pts = sim.world_points(object_id)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if lo[2] < surface_top(sim) - 0.02 or lo[2] > surface_top(sim) + 0.05:
        return False, f"not resting on the work surface (bottom at {lo[2]:.2f} m, surface at {surface_top(sim):.2f} m)"
    # the surface's own box is no obstacle (a compound piece's box may rise above the top it
    # holds things on); its real shape is checked with the plan (``clearance``)
    hit = _blocked(
        _fixed_boxes(sim, skip=sim.mount.get("surface_id")),
        lo,
        hi,
        margin=0.03,
        floor_z=lo[2] + 0.03,
        ceiling_z=hi[2] + HOVER_CLEARANCE,
    )
    if hit is not None:
        return False, f"no clear approach from above ({hit} is in the way)"
    return True, ""


def _place_surfaces(sim: SimScene) -> list[tuple[np.ndarray, np.ndarray, str | None]]:
    """Where a place spot may be: the work surface, then other furniture tops level with it (a
    dryer beside the washer, a run of counters) — world boxes and their object ids."""
    lo, hi = sim.mount["surface_min"], sim.mount["surface_max"]
    surface = sim.mount.get("surface_id")
    out: list[tuple[np.ndarray, np.ndarray, str | None]] = [(lo, hi, surface)]
    if surface is None:
        return out
    top = surface_top(sim)
    for spec in sim.scene.objects:
        if spec.dynamic or spec.id == surface:
            continue
        slo, shi = aabb(spec)
        if abs(float(shi[2]) - top) <= LEVEL_M and float(np.min(shi[:2] - slo[:2])) > 0.2:
            out.append((slo, shi, spec.id))
    return out


def _place_spot(sim: SimScene, object_id: str, rng: np.random.Generator) -> tuple[float, float, str | None] | None:
    """A free spot for the object: on the work surface if it has room, else on a level top
    beside it; (x, y, the surface's object id)."""
    assert sim.robot is not None
    start = sim.position(object_id)[:2]
    others = []
    for o in sim.dynamic_ids():
        if o != object_id:
            q = sim.world_points(o)
            others.append((q.min(axis=0)[:2], q.max(axis=0)[:2]))
    base = sim.robot.base_pos[:2]
    pts = sim.world_points(object_id)
    half = (pts.max(axis=0) - pts.min(axis=0))[:2] / 2
    height = float(np.ptp(pts[:, 2])) if len(pts) else 0.1
    top = surface_top(sim)
    surfaces = _place_surfaces(sim)
    for group in (surfaces[:1], surfaces[1:]):
        if not group:
            continue
        for _ in range(400):
            lo, hi, sid = group[int(rng.integers(len(group)))]
            p = np.array([rng.uniform(lo[0] + 0.05, hi[0] - 0.05), rng.uniform(lo[1] + 0.05, hi[1] - 0.05)])
            if not PLACE_MIN_M <= np.linalg.norm(p - start) <= PLACE_MAX_M:
                continue
            if any(
                np.all(p - half - PLACE_CLEARANCE < qhi) and np.all(p + half + PLACE_CLEARANCE > qlo)
                for qlo, qhi in others
            ):
                continue
            if not MIN_REACH <= np.linalg.norm(p - base) <= REACH_M - 0.1:
                continue
            if not _supported(sim, p, half, top):
                continue
            fixed = [b for b in _fixed_boxes(sim, skip=sim.mount.get("surface_id")) if b[0] != sid]
            if (
                _blocked(
                    fixed,
                    np.r_[p - half, top],
                    np.r_[p + half, top + height],
                    margin=0.04,
                    floor_z=top + 0.01,
                    ceiling_z=top + height + HOVER_CLEARANCE,
                )
                is not None
            ):
                continue
            return float(p[0]), float(p[1]), sid
    return None


def _supported(sim: SimScene, xy: np.ndarray, half: np.ndarray, top: float) -> bool:
    """Whether a real top holds the footprint there: rays cast down from just above the surface
    height at its centre and corners all meet something at that height (a box's outline is not
    its top: a sink's basin, a counter's cut-out, the gap between two cabinets)."""
    import mujoco

    out = np.zeros(1, dtype=np.int32)
    for dx, dy in ((0.0, 0.0), (0.8, 0.8), (0.8, -0.8), (-0.8, 0.8), (-0.8, -0.8)):
        origin = np.array([xy[0] + dx * half[0], xy[1] + dy * half[1], top + SUPPORT_RAY_M])
        dist = mujoco.mj_ray(sim.model, sim.data, origin, np.array([0.0, 0.0, -1.0]), None, 1, -1, out)
        if dist < 0 or abs(dist - SUPPORT_RAY_M) > LEVEL_M:
            return False
    return True


def _return_spot(sim: SimScene, object_id: str) -> tuple[float, float, str | None]:
    """Where the object stands now: with every other spot taken (a washer under a towel), the
    task is to lift it and set it down again where it was (judged the same way)."""
    pts = sim.world_points(object_id)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2 if len(pts) else sim.position(object_id)
    return float(centre[0]), float(centre[1]), sim.mount.get("surface_id")


KINDS = ("pick_place", "close_drawer")
DEFAULT_KINDS = ("pick_place",)
"""``close_drawer`` is opt-in (``EPISODE_TASKS``) until its mount handles drawers on the floor."""


def derive_tasks(
    sim: SimScene,
    *,
    seed: int = 0,
    max_tasks: int | None = None,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    check: bool = True,
) -> tuple[list[Task], dict[str, str]]:
    """The scene's tasks and, per object that got none, why (for the report and errors).

    With ``check`` (the default) a pick-and-place is only offered when the arm can plan it from
    its home pose: every waypoint reachable by IK and the whole path clear of obstacles for the
    arm's links (``skills.plan_pick_place``); up to ``PLACE_TRIES`` place spots are tried.
    The refusal names the first blocked segment."""
    rng = np.random.default_rng(seed)
    tasks: list[Task] = []
    skipped: dict[str, str] = {}
    planner: tuple[Any, Any] | None = None
    for oid in sorted(sim.dynamic_ids()) if "pick_place" in kinds else []:
        ok, why = pickable(sim, oid)
        if not ok:
            skipped[oid] = why
            continue
        o = sim.objects[oid]
        task: Task | None = None
        spots: list[tuple[tuple[float, float, str | None], bool]] = []
        for _ in range(PLACE_TRIES if check else 1):
            spot = _place_spot(sim, oid, rng)
            if spot is None:
                break
            spots.append((spot, False))
        # with no spot free, or none the arm can carry it to, the task is to set it down again
        # where it stood (tried last: moving it somewhere is the richer demonstration)
        spots.append((_return_spot(sim, oid), True))
        for spot, back in spots:
            surface = sim.objects.get(str(spot[2]))
            where = surface.category if surface is not None else "floor"
            text = (
                f"pick up the {o.category} and put it back down on the {where}"
                if back
                else f"pick up the {o.category} and place it on the {where}"
            )
            candidate = Task(f"pick_place_{oid}", "pick_place", oid, text, (spot[0], spot[1]))
            if not check:
                task = candidate
                break
            if planner is None:
                planner = (IKSolver(), Clearance(sim))
            plan = skills.plan_pick_place(sim, planner[0], candidate, planner[1])
            if plan.error is None:
                task = candidate
                break
            why = f"no plan the arm can follow ({plan.error})"
            if len(plan.segments) < skills.PICKED_SEGMENTS:
                break  # it failed before the object was in hand: another place spot will not help
        if task is None:
            skipped[oid] = why or "no free, reachable spot to place it on its support surface"
            continue
        tasks.append(task)
        if max_tasks is not None and len(tasks) >= max_tasks:
            return tasks, skipped
    for task, why2 in drawer_tasks(sim) if "close_drawer" in kinds else []:
        if task is None:
            skipped[why2[0]] = why2[1]
            continue
        tasks.append(task)
        if max_tasks is not None and len(tasks) >= max_tasks:
            break
    return tasks, skipped


def drawer_tasks(sim: SimScene) -> list[tuple[Task | None, tuple[str, str]]]:
    """``close_drawer`` for every slide joint of an articulated object whose front the arm can
    push along its whole travel (checked by planning it), else why not."""
    out: list[tuple[Task | None, tuple[str, str]]] = []
    ik: IKSolver | None = None
    clearance: Clearance | None = None
    for oid in sorted(sim.objects):
        o = sim.objects[oid]
        if any(j.type == "slide" for j in o.joints):
            lo, hi = aabb(sim.scene.object(oid))
            base = sim.robot.base_pos[:2] if sim.robot is not None else np.zeros(2)
            if float(np.linalg.norm(np.clip(base, lo[:2], hi[:2]) - base)) > REACH_M:
                out.append((None, (oid, f"out of reach (its front is beyond the arm's {REACH_M} m)")))
                continue
        for j in o.joints:
            if j.type != "slide":
                continue
            task = Task(
                f"close_drawer_{oid}_{j.name.rsplit('/', 1)[-1]}",
                "close_drawer",
                oid,
                f"push the {o.category}'s drawer closed",
                joint=j.name,
            )
            ik = ik or IKSolver()
            clearance = clearance or Clearance(sim)
            saved = sim.data.qpos.copy()
            skills.open_drawer(sim, task, 0.8)
            plan = skills.plan_push(sim, ik, task, clearance)
            sim.data.qpos[:] = saved
            sim.data.qvel[:] = 0.0
            sim.reset_forward()
            if plan.error:
                out.append(
                    (None, (f"{oid}/{j.name.rsplit('/', 1)[-1]}", f"drawer not reachable for a push ({plan.error})"))
                )
            else:
                out.append((task, ("", "")))
    return out
