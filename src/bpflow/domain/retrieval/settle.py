"""Put every object that stands on another one onto that support's real surface.

Planning knows supports only as boxes, so it puts a bowl at the oven's box top (its back panel)
and a pillow at the bed's headboard height. Once the assets are materialized their meshes are
known: each supported object's footprint is laid on the support's height field
(``domain.scene.surfaces``) and dropped to the height it really rests at. When the surface under
it is not a stable seat (a ridge, a burner edge, an overhang), the object slides to the nearest
spot on the same support where it is, clear of what already stands there.

A retrieved support can be smaller than its planned box (an asset fitted with its own proportions
keeps its footprint inside the planned one: a 1.2 m dresser becomes a 0.6 m drawer cabinet), so
what planning spread over the planned top may not all fit on the real one. An object with no
stable, clear spot left on its support is never left hanging where the planned top was (it would
fall in the physics gate): it moves to the nearest free spot on another support of the scene, else
to the floor beside, clear of everything standing there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bpflow.domain.retrieval.materialize import Materialized
from bpflow.domain.scene.obb import Footprint, contains, footprints_clear
from bpflow.domain.scene.surfaces import HeightField, Rest
from bpflow.domain.textgen.packing import GENERIC_TOPS

log = logging.getLogger("bpflow.adapter.settle")

#: Gap kept between two objects on one surface (m), as planning keeps it.
ITEM_GAP = 0.01
#: Spacing of the search for a stable spot (m).
SEARCH_STEP = 0.02
FLOOR_IDS = frozenset({"room_floor", "floor", ""})
FLOOR_ID = "room_floor"
#: Gap kept to furniture and walls by an object moved down to the floor (m), as planning keeps it.
FLOOR_GAP = 0.05
WALL_CLEARANCE = 0.03
#: Spacing of the search for a free floor spot (m).
FLOOR_STEP = 0.05


@dataclass(frozen=True)
class Settled:
    object_id: str
    support_id: str
    dy: float
    moved_m: float
    stable: bool
    planned_support_id: str | None = None
    """The support planning chose, when the object had to move to another one (or the floor)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object_id": self.object_id,
            "support_id": self.support_id,
            "dy": round(self.dy, 4),
            "moved_m": round(self.moved_m, 4),
            "stable": self.stable,
        }
        if self.planned_support_id is not None:
            out["planned_support_id"] = self.planned_support_id
        return out


def yaw_of(q: Sequence[float]) -> float:
    """The yaw of a (w, x, y, z) rotation about +y (the only rotation planning writes)."""
    w, _, y, _ = q
    return 2.0 * math.atan2(y, w)


def yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (math.cos(yaw / 2), 0.0, math.sin(yaw / 2), 0.0)


def model_triangles(model: Path) -> np.ndarray:
    """The triangles of a written ``model.usd`` in its own frame (metres, y up, centred)."""
    from pxr import Usd

    from bpflow.domain.usd.meshes import usd_parts

    stage = Usd.Stage.Open(str(model))
    parts = usd_parts(stage, "Y", stage.GetDefaultPrim())
    return np.vstack([p.triangles for p in parts]) if parts else np.zeros((0, 3, 3))


#: A seat is flat when the surface under the whole footprint varies by at most this (m).
FLAT_TOL = 0.004


def _ok(rest: Rest) -> bool:
    return rest.covered and rest.stable


def _flat(rest: Rest) -> bool:
    """The best seat: the whole footprint on one level (a bbox footprint may hold a narrower base
    than the box, so a seat that is only stable around the box centre can still tip the object)."""
    return rest.covered and rest.spread <= FLAT_TOL


def _search(
    field: HeightField, u: float, v: float, hx: float, hz: float, rel: float, taken: list[Footprint]
) -> tuple[float, float, Rest] | None:
    """The nearest (u, v) to the planned spot where the footprint rests stably and clear."""
    us = np.arange(field.x0, field.x0 + field.nx * field.cell, SEARCH_STEP)
    vs = np.arange(field.z0, field.z0 + field.nz * field.cell, SEARCH_STEP)
    grid = np.array([(a, b) for a in us for b in vs])
    if grid.size == 0:
        return None
    order = np.argsort(np.hypot(grid[:, 0] - u, grid[:, 1] - v))
    fallback: tuple[float, float, Rest] | None = None
    for a, b in grid[order]:
        fp = Footprint(float(a), float(b), hx, hz, rel)
        if not all(footprints_clear(fp, other, ITEM_GAP) for other in taken):
            continue
        rest = field.rest(float(a), float(b), hx, hz, rel)
        if _flat(rest):
            return float(a), float(b), rest
        if fallback is None and _ok(rest):
            fallback = (float(a), float(b), rest)
    return fallback


def _floor_spot(
    obj: Any, standing: list[Footprint], room: Footprint | None, near: tuple[float, float]
) -> Footprint | None:
    """The free floor spot nearest ``near`` for ``obj``'s footprint (its own yaw), inside the room
    and ``FLOOR_GAP`` clear of everything standing on the floor; None when there is none."""
    hx, hz, yaw = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0, yaw_of(obj.rotation)
    if room is None:  # no walls known: search the floor around the furniture only
        boxes = [fp.aabb() for fp in standing] or [(near[0], near[1], near[0], near[1])]
        lo_x, lo_z = min(b[0] for b in boxes) - 1.0, min(b[1] for b in boxes) - 1.0
        hi_x, hi_z = max(b[2] for b in boxes) + 1.0, max(b[3] for b in boxes) + 1.0
    else:
        lo_x, lo_z, hi_x, hi_z = room.aabb()
    xs = np.arange(lo_x, hi_x + 1e-9, FLOOR_STEP)
    zs = np.arange(lo_z, hi_z + 1e-9, FLOOR_STEP)
    grid = np.array([(a, b) for a in xs for b in zs])
    if grid.size == 0:
        return None
    for a, b in grid[np.argsort(np.hypot(grid[:, 0] - near[0], grid[:, 1] - near[1]))]:
        fp = Footprint(float(a), float(b), hx, hz, yaw)
        if room is not None and not contains(room, fp, margin=WALL_CLEARANCE):
            continue
        if all(footprints_clear(fp, other, FLOOR_GAP) for other in standing):
            return fp
    return None


def _room_footprint(room_box: dict[str, list[float]] | None) -> tuple[Footprint | None, float]:
    """The room's floor rectangle and floor height (no room box: unbounded, floor at 0)."""
    if not room_box:
        return None, 0.0
    lo, hi = room_box["min"], room_box["max"]
    room = Footprint((lo[0] + hi[0]) / 2, (lo[2] + hi[2]) / 2, (hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2)
    return room, float(lo[1])


def settle_on_supports(
    items: list[Materialized], model_of: Callable[[Materialized], Path], room_box: dict[str, list[float]] | None = None
) -> list[Settled]:
    """Move every supported object (in place) to rest on its support's mesh; returns what moved.

    ``room_box`` (the package's ``{"min", "max"}``) bounds the floor an object may be moved down
    to when no support has room for it."""
    by_id = {item.obj.id: item for item in items}
    fields: dict[str, HeightField | None] = {}
    taken: dict[str, list[Footprint]] = {}
    out: list[Settled] = []
    pending: dict[str, dict[str, Footprint]] = {}
    room, floor_y = _room_footprint(room_box)
    # what stands on the floor (real footprints), and every support planning used, in scene order
    standing = [
        Footprint(
            it.obj.position[0],
            it.obj.position[2],
            it.obj.dimensions[0] / 2,
            it.obj.dimensions[2] / 2,
            yaw_of(it.obj.rotation),
        )
        for it in items
        if (it.obj.parent_support_id or "") in FLOOR_IDS or it.obj.parent_support_id not in by_id
    ]
    supports = list(
        dict.fromkeys(
            it.obj.parent_support_id
            for it in items
            if it.obj.parent_support_id in by_id and it.obj.parent_support_id not in FLOOR_IDS
        )
    )

    def field_of(sid: str) -> HeightField | None:
        if sid not in fields:
            tris = model_triangles(model_of(by_id[sid]))
            fields[sid] = HeightField(tris) if len(tris) else None
        return fields[sid]

    def frame_of(sid: str) -> Footprint:
        sup = by_id[sid].obj
        return Footprint(sup.position[0], sup.position[2], 0.0, 0.0, yaw_of(sup.rotation))

    for item in items:  # every supported object's planned spot, in its support's frame
        sid = item.obj.parent_support_id or ""
        if sid in by_id and sid not in FLOOR_IDS:
            sup = by_id[sid].obj
            pu, pv = frame_of(sid).to_local(item.obj.position[0], item.obj.position[2])
            pending.setdefault(sid, {})[item.obj.id] = Footprint(
                pu,
                pv,
                item.obj.dimensions[0] / 2,
                item.obj.dimensions[2] / 2,
                yaw_of(item.obj.rotation) - yaw_of(sup.rotation),
            )

    def seat(obj: Any, sid: str, search: bool) -> tuple[float, float, float, Rest] | None:
        """(u, v, relative yaw, rest) of ``obj`` on support ``sid``: its planned spot when that is
        flat and clear, else (``search``) the nearest stable clear one; None when there is none."""
        field = field_of(sid)
        if field is None:
            return None
        u, v = frame_of(sid).to_local(obj.position[0], obj.position[2])
        rel = yaw_of(obj.rotation) - yaw_of(by_id[sid].obj.rotation)
        hx, hz = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        # clear of what already settled here, and of where the others on this support still stand
        mine = taken.get(sid, []) + [fp for oid, fp in pending.get(sid, {}).items() if oid != obj.id]
        rest = field.rest(u, v, hx, hz, rel)
        if _flat(rest) and all(footprints_clear(Footprint(u, v, hx, hz, rel), o, ITEM_GAP) for o in mine):
            return u, v, rel, rest
        if not search:
            return None
        found = _search(field, u, v, hx, hz, rel, mine)
        return None if found is None else (found[0], found[1], rel, found[2])

    for item in items:
        obj = item.obj
        support_id = obj.parent_support_id or ""
        if support_id in FLOOR_IDS or support_id not in by_id:
            continue
        if field_of(support_id) is None:
            continue
        pending.get(support_id, {}).pop(obj.id, None)
        placed = seat(obj, support_id, search=True)
        target = support_id
        if placed is None:  # the real top has no room left: another support that has, the same
            # kind first, then a work surface (a lamp goes to the desk rather than onto the bed), nearest first
            kind = by_id[support_id].obj.category
            others = sorted(
                (s for s in supports if s != support_id and s != obj.id),
                key=lambda s: (
                    by_id[s].obj.category != kind,
                    by_id[s].obj.category not in GENERIC_TOPS,
                    math.dist(by_id[s].obj.position[::2], obj.position[::2]),
                ),
            )
            for other in others:
                placed = seat(obj, other, search=True)
                if placed is not None:
                    target = other
                    break
        if placed is None:
            spot = _floor_spot(obj, standing, room, (obj.position[0], obj.position[2]))
            if spot is None:
                log.warning(
                    "object %s: no stable spot on %s, on any other support or on the floor; left as planned",
                    obj.id,
                    support_id,
                )
                out.append(Settled(obj.id, support_id, 0.0, 0.0, False))
                continue
            log.info("object %s: no room on %s or any other support; moved to the floor", obj.id, support_id)
            standing.append(spot)
            item.obj = replace(
                obj, position=(spot.cx, floor_y, spot.cz), parent_support_id=FLOOR_ID, surface_local_se2=None
            )
            out.append(
                Settled(
                    obj.id,
                    FLOOR_ID,
                    floor_y - obj.position[1],
                    math.hypot(spot.cx - obj.position[0], spot.cz - obj.position[2]),
                    True,
                    planned_support_id=support_id,
                )
            )
            continue
        nu, nv, rel, rest = placed
        if target != support_id:
            log.info("object %s: no room on %s; moved to %s", obj.id, support_id, target)
        hx, hz = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        taken.setdefault(target, []).append(Footprint(nu, nv, hx, hz, rel))
        sup = by_id[target].obj
        top_of_frame = sup.position[1] + sup.dimensions[1] / 2.0  # the model's y = 0 in the world
        wx, wz = frame_of(target).to_world(nu, nv)
        y = top_of_frame + rest.height
        se2 = {"x": round(nu, 6), "z": round(nv, 6), "yaw_rad": round(rel, 6)}
        item.obj = replace(obj, position=(wx, y, wz), surface_local_se2=se2, parent_support_id=target)
        out.append(
            Settled(
                obj.id,
                target,
                y - obj.position[1],
                math.hypot(wx - obj.position[0], wz - obj.position[2]),
                _ok(rest),
                planned_support_id=None if target == support_id else support_id,
            )
        )
    return out
