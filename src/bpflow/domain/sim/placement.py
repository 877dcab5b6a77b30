"""Where the robot stands: on a pedestal at the edge of the work surface, facing it.

The work surface is the static object (or articulated base) under the target objects; with
none under them (objects on the floor) the floor is the surface. Each of the surface's four
edges is a candidate: the base goes 0.15 m outside the edge, level with the surface, at the
point of the edge nearest the targets' centroid. The chosen edge keeps every target within
reach and the pedestal's footprint clear of other objects and walls and inside the room; among those, an
edge whose base stands ``ARM_WALL_CLEARANCE`` clear of every wall beats one next to a wall (the
arm's elbow swings out sideways and would press into the wall, stalling the reach), then the
one with the nearest farthest target wins. Deterministic: ties keep the first edge. A target
nearer the base than ``NEAR_M`` moves the base back from the edge; a cabinet's drawers keep it
``DRAWER_ROOM`` beyond their whole travel. These are geometric candidates only: which of them
gives the arm tasks it can plan is ``workcell``'s choice.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from bpflow.domain.sim.robot import REACH_M
from bpflow.domain.sim.usd_read import ObjectSpec, SceneReadError, SceneSpec, aabb, outline

STANDOFF_M = 0.13
GRIPPER_SPAN = 0.076
"""Widest object (across its narrowest horizontal direction) the Panda's 8 cm gripper takes."""
PEDESTAL_HALF = 0.11
NEAR_M = 0.3
"""Nearest a target stands to the base: closer, the elbow folds onto its limit to get the hand
down beside the base, so the base steps back from the edge (while the farthest stays in reach)."""
DRAWER_ROOM = 0.25
"""Beyond a drawer's whole travel, the room the arm keeps from it: enough for a level hand to
push the pulled-out front home with the forearm behind the hand (a hand pointing down over
stacked drawers puts the wrist into the drawer above)."""
ARM_WALL_CLEARANCE = 0.3
"""Horizontal room the Panda's elbow needs on every side of its base while it reaches down to a
surface beside it; a base nearer a wall than this gets the arm pinned against the wall."""


def narrowest(points: np.ndarray) -> tuple[float, float]:
    """(width, yaw) of a point set across its narrowest horizontal direction (7.5° steps)."""
    if len(points) == 0:
        return 0.0, 0.0
    best = (np.inf, 0.0)
    for yaw in np.linspace(0.0, np.pi, 24, endpoint=False):
        w = float(np.ptp(points[:, :2] @ np.array([np.cos(yaw), np.sin(yaw)])))
        if w < best[0] - 1e-6:
            best = (w, float(yaw))
    return best


def support_of(scene: SceneSpec, target: ObjectSpec) -> ObjectSpec | None:
    """The non-dynamic object the target rests on: under its footprint's centre, the highest
    whose top is at (or just under) the target's bottom; failing that, a compound piece whose
    box spans the target's bottom (a counter with a faucet or a wall cabinet over it: the top of
    its box is not the top it holds things on)."""
    lo, hi = aabb(target)
    centre = (lo + hi) / 2
    best, best_top = None, -np.inf
    spanning, spanning_lo = None, -np.inf
    for o in scene.objects:
        if o.dynamic or o.id == target.id:
            continue
        olo, ohi = aabb(o)
        if not (olo[0] <= centre[0] <= ohi[0] and olo[1] <= centre[1] <= ohi[1]):
            continue
        if ohi[2] <= lo[2] + 0.03 and ohi[2] > best_top:
            best, best_top = o, ohi[2]
        elif olo[2] < lo[2] - 0.05 < lo[2] < ohi[2] and olo[2] > spanning_lo:
            spanning, spanning_lo = o, olo[2]
    return best if best is not None else spanning


def _room_box(scene: SceneSpec) -> tuple[np.ndarray, np.ndarray] | None:
    if not scene.room:
        return None
    pts = []
    for c in scene.room:
        if c.kind == "box" and c.half is not None:
            pts.append(c.pos - np.abs(c.rot) @ c.half)
            pts.append(c.pos + np.abs(c.rot) @ c.half)
    if not pts:
        return None
    allp = np.vstack(pts)
    return allp.min(axis=0), allp.max(axis=0)


def _walls(scene: SceneSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """World AABBs of the room's upright boxes (walls, not the floor/ceiling slabs)."""
    out = []
    for c in scene.room:
        if c.kind == "box" and c.half is not None:
            ext = np.abs(c.rot) @ c.half
            if ext[2] >= min(ext[0], ext[1]):
                out.append((c.pos - ext, c.pos + ext))
    return out


def wall_distance(scene: SceneSpec, xy: np.ndarray) -> float:
    """Horizontal distance from ``xy`` to the nearest wall's face (inf with no walls)."""
    best = np.inf
    for lo, hi in _walls(scene):
        best = min(best, float(np.linalg.norm(np.clip(xy, lo[:2], hi[:2]) - xy)))
    return best


def floor_top(scene: SceneSpec) -> float:
    tops = []
    for c in scene.room:
        if c.kind == "box" and c.half is not None:
            ext = np.abs(c.rot) @ c.half
            if ext[2] < min(ext[0], ext[1]):  # a slab, not a wall
                tops.append(float(c.pos[2] + ext[2]))
    return min(tops) if tops else 0.0


MIN_GRASP_HEIGHT = 0.03
"""Lowest object the fingers pinch from above (``tasks.MIN_HEIGHT``), less float32 noise."""


def target_groups(scene: SceneSpec, kinds: tuple[str, ...] | None = None) -> list[list[ObjectSpec]]:
    """Candidate sets of objects to mount the arm for, best first.

    ``kinds=None`` (any mount at all): the objects the gripper can take (narrow and tall enough;
    else every movable one; else the articulated furniture), grouped by the surface they rest on,
    the largest group first, then its ever smaller runs (down to single objects). With task
    ``kinds``: for ``pick_place`` the graspable objects grouped that way, then for
    ``close_drawer`` each cabinet with a drawer on its own. Deterministic: ties keep scene order."""
    dynamic = [o for o in scene.objects if o.dynamic]
    graspable = [
        o
        for o in dynamic
        if narrowest(outline(o.body))[0] <= GRIPPER_SPAN + 1e-4 and float(o.size[2]) >= MIN_GRASP_HEIGHT - 1e-4
    ]
    drawers = [
        o
        for o in scene.objects
        if o.kind == "articulated" and any(p.joint is not None and p.joint.type == "slide" for p in o.parts)
    ]
    if kinds is None:
        movable = graspable or dynamic or [o for o in scene.objects if o.kind == "articulated"]
        if not movable:
            raise SceneReadError(
                "the scene has no movable or articulated object to work on", code="no_task_objects", field="objects"
            )
        return _by_support(scene, movable)
    out = _by_support(scene, graspable) if "pick_place" in kinds else []
    if "close_drawer" in kinds:
        out += [[o] for o in drawers]
    return out


def _by_support(scene: SceneSpec, objects: list[ObjectSpec]) -> list[list[ObjectSpec]]:
    groups: dict[str, list[ObjectSpec]] = {}
    for o in objects:
        s = support_of(scene, o)
        groups.setdefault(s.id if s is not None else "", []).append(o)
    out = []
    for group in sorted(groups.values(), key=lambda g: -len(g)):
        for size in range(len(group), 0, -1):
            for start in range(0, len(group) - size + 1):
                out.append(group[start : start + size])
    return out


def mount_candidates(scene: SceneSpec, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Every mount :func:`target_groups` allows (one per group: its best edge), best first."""
    out = []
    for group in target_groups(scene, kinds):
        try:
            out.append(_mount(scene, group))
        except SceneReadError:
            continue
    return out


def mount_robot(scene: SceneSpec, target_ids: list[str] | None = None) -> dict[str, Any]:
    """The arm's base position, yaw and the work surface; raises when nothing is in reach.

    With ``target_ids`` every one of them must be reachable from one place. Without, the first
    of :func:`mount_candidates` (the surface with the most graspable objects, all of them
    reachable, else as many as one place reaches, down to a single object). Which mount gives
    the arm tasks it can really plan is ``workcell.load_workcell``'s choice."""
    if target_ids:
        return _mount(scene, [scene.object(t) for t in target_ids])
    candidates = mount_candidates(scene)
    if candidates:
        return candidates[0]
    movable = [o.id for g in target_groups(scene)[:1] for o in g]
    raise SceneReadError(
        f"no place beside any work surface puts one of {movable} within the arm's reach ({REACH_M} m)",
        code="unreachable_objects",
        field="objects",
    )


def _mount(scene: SceneSpec, targets: list[ObjectSpec]) -> dict[str, Any]:
    supports = [support_of(scene, t) for t in targets]
    surface = next((s for s in supports if s is not None), None)
    ground = floor_top(scene)
    if surface is not None:
        slo, shi = aabb(surface)
        # where the targets stand: the surface's box top, unless that box rises above them
        top = min(float(shi[2]), min(float(aabb(t)[0][2]) for t in targets))
    else:
        boxes = [aabb(o) for o in targets]
        slo = np.min([b[0] for b in boxes], axis=0)
        shi = np.max([b[1] for b in boxes], axis=0)
        if not any(o.kind == "articulated" for o in targets):  # loose objects on the floor
            slo, shi = slo - 0.3, shi + 0.3
        top = ground
    centres = np.array([(lambda b: (b[0] + b[1]) / 2)(aabb(t)) for t in targets])
    # a drawer the arm works on slides out towards it: stand clear of its whole travel
    travel = max(
        (
            max(abs(p.joint.lower), abs(p.joint.upper))
            for t in targets
            for p in t.parts
            if p.joint is not None and p.joint.type == "slide"
        ),
        default=0.0,
    )
    standoff = STANDOFF_M + (travel + DRAWER_ROOM if travel > 0 else 0.0)
    opens = _opening_direction(targets)
    centroid = centres.mean(axis=0)
    room = _room_box(scene)
    others = [aabb(o) for o in scene.objects if o is not surface and not o.dynamic]
    best: tuple[tuple[bool, float], dict[str, Any]] | None = None
    for axis, side in ((0, -1), (0, 1), (1, -1), (1, 1)):
        if opens is not None and side * opens[axis] < 0.7:
            continue  # a drawer is worked from the side it slides out of
        base = centroid[:2].copy()
        edge = slo[axis] if side < 0 else shi[axis]
        base[axis] = edge + side * standoff
        other = 1 - axis
        base[other] = (
            float(np.clip(centroid[other], slo[other] + 0.05, shi[other] - 0.05))
            if shi[other] - slo[other] > 0.1
            else centroid[other]
        )
        inward = np.zeros(2)
        inward[axis] = -side
        yaw = float(np.arctan2(inward[1], inward[0]))
        # movable objects are reached at their centre; furniture at its nearest face
        dists = np.array(
            [
                float(np.linalg.norm(np.clip(base, aabb(t)[0][:2], aabb(t)[1][:2]) - base))
                if t.kind == "articulated"
                else float(np.linalg.norm(c[:2] - base))
                for t, c in zip(targets, centres)
            ]
        )
        far = float(dists.max())
        near = float(dists.min())
        if near < NEAR_M and far + (NEAR_M - near) <= REACH_M:
            # an object at the very edge would fold the arm onto its joint limits: step back
            base[axis] += side * (NEAR_M - near)
            dists = dists + (NEAR_M - near)
            far = float(dists.max())
        if far > REACH_M:
            continue
        if room is not None:
            rlo, rhi = room
            if not (
                rlo[0] + PEDESTAL_HALF < base[0] < rhi[0] - PEDESTAL_HALF
                and rlo[1] + PEDESTAL_HALF < base[1] < rhi[1] - PEDESTAL_HALF
            ):
                continue
        blocked = any(
            olo[0] < base[0] + PEDESTAL_HALF
            and ohi[0] > base[0] - PEDESTAL_HALF
            and olo[1] < base[1] + PEDESTAL_HALF
            and ohi[1] > base[1] - PEDESTAL_HALF
            and ohi[2] > ground + 0.02
            for olo, ohi in others
        )
        if blocked:
            continue
        plan = {
            "base": np.array([base[0], base[1], top]),
            "yaw": yaw,
            "surface_id": surface.id if surface is not None else None,
            "surface_top": top,
            "surface_min": slo.copy(),
            "surface_max": shi.copy(),
            "floor": ground,
            "work_center": np.array([centroid[0], centroid[1], top]),
            "reach": far,
            "target_ids": [t.id for t in targets],
        }
        to_wall = wall_distance(scene, base)
        if to_wall < PEDESTAL_HALF:
            continue  # the pedestal would stand in a wall
        rank = (to_wall < ARM_WALL_CLEARANCE, far)
        if best is None or rank < best[0]:
            best = (rank, plan)
    if best is None:
        raise SceneReadError(
            f"no place beside the work surface puts {[t.id for t in targets]} within the arm's reach ({REACH_M} m)",
            code="unreachable_objects",
            field="objects",
        )
    return best[1]


def _opening_direction(targets: list[ObjectSpec]) -> np.ndarray | None:
    """The horizontal direction the first drawer of the targets slides out along, if any."""
    for t in targets:
        for p in t.parts:
            j = p.joint
            if j is not None and j.type == "slide":
                closed, opened = (j.lower, j.upper) if abs(j.lower) <= abs(j.upper) else (j.upper, j.lower)
                d = j.axis[:2] * np.sign(opened - closed)
                n = float(np.linalg.norm(d))
                if n > 1e-6:
                    direction: np.ndarray = d / n
                    return direction
    return None


def add_pedestal(spec: mujoco.MjSpec, mount: dict[str, Any]) -> None:
    base = mount["base"]
    bottom = float(mount["floor"])
    half_h = max((float(base[2]) - bottom) / 2, 0.005)
    spec.worldbody.add_geom(
        name="robot_pedestal",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[PEDESTAL_HALF, PEDESTAL_HALF, half_h],
        pos=[float(base[0]), float(base[1]), float(base[2]) - half_h],
        rgba=[0.25, 0.25, 0.28, 1.0],
    )
