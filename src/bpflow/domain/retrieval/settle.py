"""Put every object that stands on another one onto that support's real surface.

Planning knows supports only as boxes, so it puts a bowl at the oven's box top (its back panel)
and a pillow at the bed's headboard height. Once the assets are materialized their meshes are
known: each supported object's footprint is laid on the support's height field
(``domain.scene.surfaces``) and dropped to the height it really rests at. When the surface under
it is not a stable seat (a ridge, a burner edge, an overhang), the object slides to the nearest
spot on the same support where it is, clear of what already stands there.

A retrieved support can be smaller than its planned box (the fit keeps an asset's proportions:
a 1.2 m dresser becomes a 0.6 m drawer cabinet), so what planning spread over the planned top may
not all fit on the real one. Such an object is never left where the planned top was (it would
fall in the physics gate), and it never costs another support its tasks; in this order it goes:

1. onto another support planning could have chosen for it, only when that support is near
   (the new spot within ``NEAR_SUPPORT_M`` of the planned one and ``MAX_RISE`` of its height),
   keeps ``RELOCATE_GAP`` around
   what stands there and stays at most ``MAX_FILL`` covered (room left to place things on it);
2. onto the floor right beside its own support (within ``BESIDE_M``), inside the room, clear of
   everything standing there, out of the zones planning kept clear (the way in) and out of every
   support's or articulated object's approach side (the band in front of it where a robot
   stands and drawers and doors sweep);
3. out of the scene: a :class:`Dropped` entry says why (a missing lamp costs one object; a lamp
   that falls fails the whole scene's physics gate). What stood on a dropped object goes too, and
   so does every relationship a kept object has to a dropped one (an "on" or "next_to" naming an
   object the manifest no longer lists would send a consumer looking for it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bpflow.domain.retrieval.materialize import Materialized
from bpflow.domain.retrieval.planned_package import PackageObject
from bpflow.domain.scene.obb import Footprint, contains, footprints_clear
from bpflow.domain.scene.surfaces import HeightField, Rest
from bpflow.domain.textgen.packing import GENERIC_TOPS
from bpflow.domain.textgen.room_catalog import spec_for

log = logging.getLogger("bpflow.adapter.settle")

#: Gap kept between two objects on one surface (m), as planning keeps it.
ITEM_GAP = 0.01
#: Spacing of the search for a stable spot (m).
SEARCH_STEP = 0.02
FLOOR_IDS = frozenset({"room_floor", "floor", ""})
FLOOR_ID = "room_floor"

#: How far from its planned spot an object may move onto another support (m): the next cabinet
#: along a wall, never across the room (that support's tasks were planned without it).
NEAR_SUPPORT_M = 1.5
#: ... and at most this far above or below the height it was planned at (m): its tasks were
#: planned for a top at that height (a robot's reach over a 1 m cabinet is not over a pallet).
MAX_RISE = 0.35
#: Clearance kept around what already stands on a support that takes another's object (m): a
#: gripper closing on either must not touch the other.
RELOCATE_GAP = 0.05
#: Share of a support's top its objects may cover once it took another's: the rest stays free
#: for placing things there.
MAX_FILL = 0.5
#: An object moved down to the floor stands at most this far from its own support (m).
BESIDE_M = 0.3
#: Gap kept to furniture by an object on the floor (m), as planning keeps it, and to the walls.
FLOOR_GAP = 0.05
WALL_CLEARANCE = 0.03
#: Spacing of the search for a free floor spot (m).
FLOOR_STEP = 0.05
#: The approach side of a support or an articulated object: the band in front of it (its local
#: +z) where a robot's base stands (Franka: 0.25 m radius + 0.05 m clearance) and where drawers
#: and doors sweep (~0.4 m); a little wider than the object so a base fits at its corners.
APPROACH_DEPTH = 0.7
APPROACH_SIDE = 0.15

#: Reasons of a :class:`Dropped` entry.
NO_ROOM = "no_room_near_planned_support"
SUPPORT_DROPPED = "support_dropped"


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


@dataclass(frozen=True)
class Dropped:
    """An object left out of the assembled scene, and why."""

    object_id: str
    category: str
    planned_support_id: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Settlement:
    """What settling did: the objects it moved (in place) and those it left out of the scene."""

    moved: list[Settled] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    relationships_removed: int = 0
    """Relationship entries of kept objects removed because they named a dropped object."""

    @property
    def dropped_ids(self) -> set[str]:
        return {d.object_id for d in self.dropped}


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
    field: HeightField,
    u: float,
    v: float,
    hx: float,
    hz: float,
    rel: float,
    taken: list[Footprint],
    gap: float = ITEM_GAP,
) -> tuple[float, float, Rest] | None:
    """The nearest (u, v) to the planned spot where the footprint rests stably and ``gap`` clear."""
    us = np.arange(field.x0, field.x0 + field.nx * field.cell, SEARCH_STEP)
    vs = np.arange(field.z0, field.z0 + field.nz * field.cell, SEARCH_STEP)
    grid = np.array([(a, b) for a in us for b in vs])
    if grid.size == 0:
        return None
    order = np.argsort(np.hypot(grid[:, 0] - u, grid[:, 1] - v))
    fallback: tuple[float, float, Rest] | None = None
    for a, b in grid[order]:
        fp = Footprint(float(a), float(b), hx, hz, rel)
        if not all(footprints_clear(fp, other, gap) for other in taken):
            continue
        rest = field.rest(float(a), float(b), hx, hz, rel)
        if _flat(rest):
            return float(a), float(b), rest
        if fallback is None and _ok(rest):
            fallback = (float(a), float(b), rest)
    return fallback


def footprint_of(obj: PackageObject) -> Footprint:
    """An object's rectangle on the floor plane (world frame)."""
    return Footprint(
        obj.position[0], obj.position[2], obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0, yaw_of(obj.rotation)
    )


def approach_band(obj: PackageObject) -> Footprint:
    """The floor in front of ``obj`` (its local +z) that a robot working at it needs free."""
    w, _, d = obj.dimensions
    yaw = yaw_of(obj.rotation)
    frame = footprint_of(obj)
    cx, cz = frame.to_world(0.0, d / 2.0 + APPROACH_DEPTH / 2.0)
    return Footprint(cx, cz, w / 2.0 + APPROACH_SIDE, APPROACH_DEPTH / 2.0, yaw)


def _kind(obj: PackageObject) -> set[str]:
    """The words a support is known by (category, name, name without its counter)."""
    base = obj.name.rsplit("_", 1)[0] if obj.name.rsplit("_", 1)[-1].isdigit() else obj.name
    return {obj.category, obj.name, base} - {""}


class _Settler:
    """One scene's settling: the supports' height fields and what already stands on each."""

    def __init__(
        self,
        items: list[Materialized],
        model_of: Callable[[Materialized], Path],
        room_box: dict[str, Any] | None,
        keep_clear: Sequence[tuple[float, float, float, float]],
    ) -> None:
        self.items = items
        self.keep_clear = [
            Footprint((x0 + x1) / 2, (z0 + z1) / 2, (x1 - x0) / 2, (z1 - z0) / 2) for x0, z0, x1, z1 in keep_clear
        ]
        self.model_of = model_of
        self.by_id = {item.obj.id: item for item in items}
        self.fields: dict[str, HeightField | None] = {}
        self.taken: dict[str, list[Footprint]] = {}
        self.pending: dict[str, dict[str, Footprint]] = {}
        self.out = Settlement()
        self.room: Footprint | None = None
        self.floor_y = 0.0
        if room_box:
            lo, hi = room_box["min"], room_box["max"]
            self.room = Footprint((lo[0] + hi[0]) / 2, (lo[2] + hi[2]) / 2, (hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2)
            self.floor_y = float(lo[1])
        for item in items:  # every supported object's planned spot, in its support's frame
            sid = self.support_of(item)
            if sid is not None:
                pu, pv = self.frame(sid).to_local(item.obj.position[0], item.obj.position[2])
                self.pending.setdefault(sid, {})[item.obj.id] = Footprint(
                    pu, pv, item.obj.dimensions[0] / 2, item.obj.dimensions[2] / 2, self.rel_yaw(item.obj, sid)
                )

    # -- geometry of supports ------------------------------------------------------------------
    def support_of(self, item: Materialized) -> str | None:
        sid = item.obj.parent_support_id or ""
        return sid if sid in self.by_id and sid not in FLOOR_IDS else None

    def on_floor(self, item: Materialized) -> bool:
        return self.support_of(item) is None

    def field(self, sid: str) -> HeightField | None:
        if sid not in self.fields:
            tris = model_triangles(self.model_of(self.by_id[sid]))
            self.fields[sid] = HeightField(tris) if len(tris) else None
        return self.fields[sid]

    def frame(self, sid: str) -> Footprint:
        sup = self.by_id[sid].obj
        return Footprint(sup.position[0], sup.position[2], 0.0, 0.0, yaw_of(sup.rotation))

    def rel_yaw(self, obj: PackageObject, sid: str) -> float:
        return yaw_of(obj.rotation) - yaw_of(self.by_id[sid].obj.rotation)

    def others_on(self, sid: str, oid: str) -> list[Footprint]:
        """What already settled on ``sid``, and where the others planned there still stand."""
        return self.taken.get(sid, []) + [fp for k, fp in self.pending.get(sid, {}).items() if k != oid]

    def seat(self, obj: PackageObject, sid: str) -> tuple[float, float, Rest] | None:
        """(u, v, rest) of ``obj`` on its own support: the planned spot when that is flat and
        clear, else the nearest stable clear one wholly on the top, else the planned spot when it
        overhangs the top but holds (``overhang_holds``: a television wider than its stand);
        None when the real top has no room for it."""
        field = self.field(sid)
        assert field is not None
        u, v = self.frame(sid).to_local(obj.position[0], obj.position[2])
        rel, hx, hz = self.rel_yaw(obj, sid), obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        mine = self.others_on(sid, obj.id)
        rest = field.rest(u, v, hx, hz, rel)
        clear = all(footprints_clear(Footprint(u, v, hx, hz, rel), o, ITEM_GAP) for o in mine)
        if _flat(rest) and clear:
            return u, v, rest
        found = _search(field, u, v, hx, hz, rel, mine)
        if found is None and clear and rest.stable and self.overhang_holds(obj, field, u, v, rel):
            return u, v, rest
        return found

    @staticmethod
    def overhang_holds(obj: PackageObject, field: HeightField, u: float, v: float, rel: float) -> bool:
        """Whether an object overhanging the top stays: a rigid one whose central half lies wholly
        on it (a blanket half over the edge of a dresser slides off, a television wider than its
        stand does not)."""
        if obj.sim_role == "deformable_object":
            return False
        return field.rest(u, v, obj.dimensions[0] / 4.0, obj.dimensions[2] / 4.0, rel).covered

    # -- where an object the real top cannot hold goes -----------------------------------------
    def nearby_seat(self, obj: PackageObject, own: str) -> tuple[str, float, float, Rest] | None:
        """Another support planning could have chosen for ``obj`` (its kind of top, a work
        surface, or one like its own) with a stable spot within ``NEAR_SUPPORT_M`` of the planned
        one that keeps ``RELOCATE_GAP`` around the others there and the top at most ``MAX_FILL``
        covered. Nearest kind first: the same kind as its own, then a preferred top, then any
        work surface."""
        px, pz = obj.position[0], obj.position[2]
        own_kind = _kind(self.by_id[own].obj)
        spec, _ = spec_for(obj.name, obj.category, obj.sim_role)
        preferred = set(spec.rests_on)
        hx, hz = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        candidates: list[tuple[int, float, str]] = []
        for other in self.items:
            sup = other.obj
            if sup.id in (own, obj.id) or not self.on_floor(other) or sup.id in self.out.dropped_ids:
                continue
            kind = _kind(sup)
            rank = 0 if kind & own_kind else 1 if kind & preferred else 2 if kind & GENERIC_TOPS else None
            distance = footprint_of(sup).distance_to(px, pz)
            if rank is not None and distance <= NEAR_SUPPORT_M:
                candidates.append((rank, distance, sup.id))
        for _, _, sid in sorted(candidates):
            field = self.field(sid)
            if field is None:
                continue
            sup = self.by_id[sid].obj
            mine = self.others_on(sid, obj.id)
            covered = sum(4 * fp.hx * fp.hz for fp in mine) + 4 * hx * hz
            if covered > MAX_FILL * sup.dimensions[0] * sup.dimensions[2]:
                continue
            frame = self.frame(sid)
            u, v = frame.to_local(px, pz)
            found = _search(field, u, v, hx, hz, self.rel_yaw(obj, sid), mine, RELOCATE_GAP)
            if found is None:
                continue
            wx, wz = frame.to_world(found[0], found[1])
            rise = sup.position[1] + sup.dimensions[1] / 2.0 + found[2].height - obj.position[1]
            if math.hypot(wx - px, wz - pz) <= NEAR_SUPPORT_M and abs(rise) <= MAX_RISE:
                return sid, found[0], found[1], found[2]
        return None

    def floor_spot(self, obj: PackageObject, own: str) -> Footprint | None:
        """The free floor spot nearest the planned one, within ``BESIDE_M`` of ``obj``'s own
        support, inside the room, ``FLOOR_GAP`` clear of everything it would stand beside and out
        of every approach side; None when there is none."""
        sup = self.by_id[own].obj
        sup_fp = footprint_of(sup)
        hx, hz, yaw = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0, yaw_of(obj.rotation)
        top = self.floor_y + obj.dimensions[1]
        blocking: list[Footprint] = []
        keep_free: list[Footprint] = list(self.keep_clear)
        for item in self.items:
            o = item.obj
            if o.id == obj.id or o.id in self.out.dropped_ids:
                continue
            if o.position[1] < top and o.position[1] + o.dimensions[1] > self.floor_y:
                blocking.append(footprint_of(o))
            if self.on_floor(item) and (
                o.id == own or o.id in self.pending or o.id in self.taken or o.articulation_required
            ):
                keep_free.append(approach_band(o))
        reach = BESIDE_M + FLOOR_GAP + math.hypot(hx, hz)
        x0, z0, x1, z1 = sup_fp.aabb()
        xs = np.arange(x0 - reach, x1 + reach + 1e-9, FLOOR_STEP)
        zs = np.arange(z0 - reach, z1 + reach + 1e-9, FLOOR_STEP)
        grid = np.array([(a, b) for a in xs for b in zs])
        px, pz = obj.position[0], obj.position[2]
        for a, b in grid[np.argsort(np.hypot(grid[:, 0] - px, grid[:, 1] - pz))]:
            fp = Footprint(float(a), float(b), hx, hz, yaw)
            if footprints_clear(fp, sup_fp, BESIDE_M + FLOOR_GAP):
                continue  # not beside its support
            if self.room is not None and not contains(self.room, fp, margin=WALL_CLEARANCE):
                continue
            if all(footprints_clear(fp, o, FLOOR_GAP) for o in blocking) and all(
                footprints_clear(fp, band, 0.0) for band in keep_free
            ):
                return fp
        return None

    # -- the run -------------------------------------------------------------------------------
    def settle(self, item: Materialized) -> None:
        obj = item.obj
        own = self.support_of(item)
        if own is None or own in self.out.dropped_ids or self.field(own) is None:
            return
        self.pending.get(own, {}).pop(obj.id, None)
        placed = self.seat(obj, own)
        target = own
        if placed is None:
            nearby = self.nearby_seat(obj, own)
            if nearby is not None:
                target, placed = nearby[0], nearby[1:]
                log.info("object %s: no room on %s; moved to %s", obj.id, own, target)
        if placed is None:
            spot = self.floor_spot(obj, own)
            if spot is not None:
                log.info("object %s: no room on %s or a support near it; moved to the floor beside it", obj.id, own)
                item.obj = replace(
                    obj, position=(spot.cx, self.floor_y, spot.cz), parent_support_id=FLOOR_ID, surface_local_se2=None
                )
                self.out.moved.append(
                    Settled(
                        obj.id,
                        FLOOR_ID,
                        self.floor_y - obj.position[1],
                        math.hypot(spot.cx - obj.position[0], spot.cz - obj.position[2]),
                        True,
                        planned_support_id=own,
                    )
                )
                return
            detail = (
                f"the real {self.by_id[own].obj.category or own} has no stable clear spot for it, no support "
                f"within {NEAR_SUPPORT_M} m and {MAX_RISE} m of its height has room to spare, and the floor "
                "beside it is taken or in front of furniture"
            )
            log.warning("object %s: dropped from the scene: %s", obj.id, detail)
            self.out.dropped.append(Dropped(obj.id, obj.category, own, NO_ROOM, detail))
            return
        u, v, rest = placed
        rel, hx, hz = self.rel_yaw(obj, target), obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        self.taken.setdefault(target, []).append(Footprint(u, v, hx, hz, rel))
        sup = self.by_id[target].obj
        top_of_frame = sup.position[1] + sup.dimensions[1] / 2.0  # the model's y = 0 in the world
        wx, wz = self.frame(target).to_world(u, v)
        y = top_of_frame + rest.height
        se2 = {"x": round(u, 6), "z": round(v, 6), "yaw_rad": round(rel, 6)}
        item.obj = replace(obj, position=(wx, y, wz), surface_local_se2=se2, parent_support_id=target)
        self.out.moved.append(
            Settled(
                obj.id,
                target,
                y - obj.position[1],
                math.hypot(wx - obj.position[0], wz - obj.position[2]),
                _ok(rest),
                planned_support_id=None if target == own else own,
            )
        )

    def drop_orphans(self) -> None:
        """Whatever stood on a dropped object goes with it."""
        grew = True
        while grew:
            gone = self.out.dropped_ids
            grew = False
            for item in self.items:
                parent = item.obj.parent_support_id or ""
                if parent in gone and item.obj.id not in gone:
                    self.out.dropped.append(
                        Dropped(item.obj.id, item.obj.category, parent, SUPPORT_DROPPED, f"{parent} was dropped")
                    )
                    grew = True


def names_any(entry: Any, ids: set[str]) -> bool:
    """Whether a relationship entry names one of ``ids``. Planners shape entries their own way
    (``{"type": "on", "object_id": ...}``, ``{"relation": "next_to", "target": ...}``, a bare id),
    so any string value in it, at any depth, that is a whole object id counts; a relation's kind
    ("on") is never an object's id (ids are checked, and planners number them)."""
    if isinstance(entry, str):
        return entry in ids
    if isinstance(entry, dict):
        return any(names_any(v, ids) for v in entry.values())
    if isinstance(entry, list | tuple):
        return any(names_any(v, ids) for v in entry)
    return False


def prune_relationships(items: list[Materialized], dropped: set[str]) -> int:
    """Remove (in place) every relationship of a kept object that names a dropped one; how many."""
    removed = 0
    if not dropped:
        return removed
    for item in items:
        obj = item.obj
        if obj.id in dropped or not obj.relationships:
            continue
        kept = [r for r in obj.relationships if not names_any(r, dropped)]
        if len(kept) != len(obj.relationships):
            removed += len(obj.relationships) - len(kept)
            item.obj = replace(obj, relationships=kept)
    return removed


def settle_on_supports(
    items: list[Materialized],
    model_of: Callable[[Materialized], Path],
    room_box: dict[str, Any] | None = None,
    keep_clear: Sequence[tuple[float, float, float, float]] = (),
) -> Settlement:
    """Move every supported object (in place) to rest on a real surface; says what moved and what
    found no place (the caller leaves those out of the scene; the kept objects' relationships to
    them are already gone).

    ``room_box`` (the package's ``{"min", "max"}``) bounds the floor an object may move down to
    (without it, only the furniture around bounds it); ``keep_clear`` (the package's zones, as
    (min x, min z, max x, max z)) stay free of it."""
    settler = _Settler(items, model_of, room_box, keep_clear)
    for item in items:
        settler.settle(item)
    settler.drop_orphans()
    settler.out.relationships_removed = prune_relationships(items, settler.out.dropped_ids)
    return settler.out
