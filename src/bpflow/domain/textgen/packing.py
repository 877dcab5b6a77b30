"""Put every planned object somewhere it could really be: a deterministic, seeded packing solver.

The guarantees (checked again, independently, by ``physics.check_layout``):
- every object lies inside the room, at least ``WALL_CLEARANCE`` from each wall;
- every object rests on the floor (y = 0) or on the top face of a supporting object
  (y = support top, footprint inside the top face), so nothing floats and nothing overhangs;
- no two objects' oriented boxes interpenetrate: floor objects keep ``FURNITURE_GAP`` between
  footprints, objects on one surface keep ``ITEM_GAP``;
- the door's clearance zone stays free.
An object that fits nowhere is dropped and reported, never forced in.

Strategy: furniture first (largest footprint first, the prompt's own objects before filler):
wall furniture backs onto a wall and faces the room (a nightstand beside the bed on the same
wall); seats go beside the table or desk they serve, facing it; the rest stands free. Each object tries seeded random candidates, then a
deterministic grid sweep, so a free spot is found whenever the sweep's resolution can see it.
Then small objects go onto the top faces of supports their category likes (a monitor on a desk,
a pillow on a bed), falling back to any work surface, then to the floor. The same
``random.Random`` drives every choice, so (prompt, seed) → the same scene in any process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bpflow.domain.scene.obb import Footprint, contains, footprints_clear, normalize_angle
from bpflow.domain.textgen.model import Placed, PlannedObject
from bpflow.domain.textgen.room import RoomLayout
from bpflow.domain.textgen.room_catalog import FLOOR, SURFACE

WALL_CLEARANCE = 0.03
FURNITURE_GAP = 0.05
ITEM_GAP = 0.01
SURFACE_MARGIN = 0.02
COMPANION_GAP = 0.08
HEADROOM = 0.05
MAX_SUPPORT_TOP = 1.5
RANDOM_FLOOR_TRIES = 40
RANDOM_SURFACE_TRIES = 16
GRID_STEP = 0.15
YAW_STEP_DEG = 15

#: Supports any small object may use when its preferred ones are full or absent.
GENERIC_TOPS = frozenset(
    {
        "table",
        "desk",
        "counter",
        "island",
        "coffee_table",
        "side_table",
        "shelf",
        "workbench",
        "lab_bench",
        "dresser",
        "nightstand",
        "tv_stand",
        "checkout_counter",
        "medical_cart",
        "vanity",
        "tool_cabinet",
    }
)

WALLS: dict[str, float] = {"south": 0.0, "north": math.pi, "west": math.pi / 2, "east": -math.pi / 2}
RIGHT_ANGLES = (0.0, math.pi / 2, math.pi, -math.pi / 2)


@dataclass(frozen=True)
class _Candidate:
    fp: Footprint
    wall: str | None = None
    facing: int | None = None


@dataclass
class PlacementResult:
    placed: list[Placed]
    dropped: list[tuple[PlannedObject, str]]
    stats: dict[str, Any] = field(default_factory=dict)


def footprint_of(obj: PlannedObject, x: float, z: float, yaw: float) -> Footprint:
    return Footprint(x, z, obj.width / 2.0, obj.depth / 2.0, yaw)


def matches_any(obj: PlannedObject, categories: Sequence[str]) -> bool:
    base = obj.name.rsplit("_", 1)[0] if obj.name.rsplit("_", 1)[-1].isdigit() else obj.name
    return obj.category in categories or obj.name in categories or base in categories


class Solver:
    """One scene's placement. Not reusable: it accumulates the objects it placed."""

    def __init__(self, layout: RoomLayout, rng: random.Random) -> None:
        self.layout = layout
        self.rng = rng
        b = layout.box
        self.room = Footprint((b.min_x + b.max_x) / 2, (b.min_z + b.max_z) / 2, b.width / 2, b.depth / 2, 0.0)
        self.zones = [
            Footprint(
                (z.min_x + z.max_x) / 2, (z.min_z + z.max_z) / 2, (z.max_x - z.min_x) / 2, (z.max_z - z.min_z) / 2
            )
            for z in layout.keep_clear()
        ]
        self.placed: list[Placed] = []
        self.floor: list[tuple[int, Footprint]] = []
        self.on_support: dict[int, list[Footprint]] = {}
        self.tries: dict[str, int] = {"floor_candidates": 0, "surface_candidates": 0, "grid_sweeps": 0}

    # -- public ----------------------------------------------------------------------------
    def place_all(self, objects: Sequence[PlannedObject]) -> PlacementResult:
        def order(item: tuple[int, PlannedObject]) -> tuple[bool, float, int]:
            return (not item[1].required, -(item[1].width * item[1].depth), item[0])

        floor = sorted(((i, o) for i, o in enumerate(objects) if o.spec.placement == FLOOR), key=order)
        surface = sorted(((i, o) for i, o in enumerate(objects) if o.spec.placement == SURFACE), key=order)
        dropped: list[tuple[PlannedObject, str]] = []
        for index, obj in floor:
            if not self._place_floor(index, obj, "furniture"):
                dropped.append((obj, "no_floor_space"))
        for index, obj in surface:
            if not self._place_on_support(index, obj) and not self._place_floor(index, obj, "manipulands"):
                dropped.append((obj, "no_support_or_floor_space"))
        return PlacementResult(self.placed, dropped, dict(self.tries))

    # -- floor -----------------------------------------------------------------------------
    def _floor_ok(self, fp: Footprint, height: float) -> bool:
        self.tries["floor_candidates"] += 1
        if height > self.layout.box.height - HEADROOM:
            return False
        if not contains(self.room, fp, margin=WALL_CLEARANCE):
            return False
        if any(not footprints_clear(zone, fp, 0.0) for zone in self.zones):
            return False
        return all(footprints_clear(other, fp, FURNITURE_GAP) for _, other in self.floor)

    def _commit_floor(self, index: int, obj: PlannedObject, fp: Footprint, stage: str, cand: _Candidate) -> None:
        self.floor.append((len(self.placed), fp))
        self.placed.append(
            Placed(obj, index, fp.cx, 0.0, fp.cz, normalize_angle(fp.yaw), stage, None, None, cand.wall, cand.facing)
        )

    def _place_floor(self, index: int, obj: PlannedObject, stage: str) -> bool:
        for cand in self._floor_candidates(obj):
            if self._floor_ok(cand.fp, obj.height):
                self._commit_floor(index, obj, cand.fp, stage, cand)
                return True
        self.tries["grid_sweeps"] += 1
        for fp in self._grid(obj):
            if self._floor_ok(fp, obj.height):
                self._commit_floor(index, obj, fp, stage, _Candidate(fp))
                return True
        return False

    def _floor_candidates(self, obj: PlannedObject) -> list[_Candidate]:
        out: list[_Candidate] = []
        if obj.spec.near and obj.spec.wall:
            out += self._beside_candidates(obj)
        elif obj.spec.near:
            out += self._companion_candidates(obj)
        if obj.spec.wall:
            out += self._wall_candidates(obj)
        out += [_Candidate(fp) for fp in self._free_candidates(obj)]
        if not obj.spec.wall:
            out += self._wall_candidates(obj)
        return out

    def _wall_range(self, obj: PlannedObject, wall: str) -> tuple[float, float, float] | None:
        """(fixed coordinate, along-wall min, along-wall max) for an object backed onto ``wall``."""
        b = self.layout.box
        half_w, half_d = obj.width / 2, obj.depth / 2
        c = WALL_CLEARANCE + 1e-3
        if wall in ("north", "south"):
            fixed = b.max_z - c - half_d if wall == "north" else b.min_z + c + half_d
            lo, hi = b.min_x + c + half_w, b.max_x - c - half_w
        else:
            fixed = b.max_x - c - half_d if wall == "east" else b.min_x + c + half_d
            lo, hi = b.min_z + c + half_w, b.max_z - c - half_w
        return (fixed, lo, hi) if lo <= hi else None

    def _along_wall(self, obj: PlannedObject, wall: str, t: float) -> _Candidate | None:
        rng_ = self._wall_range(obj, wall)
        if rng_ is None or not rng_[1] <= t <= rng_[2]:
            return None
        x, z = (t, rng_[0]) if wall in ("north", "south") else (rng_[0], t)
        return _Candidate(footprint_of(obj, x, z, WALLS[wall]), wall=wall)

    def _next_to(self, fp: Footprint, wall: str, obj: PlannedObject, side: float) -> float:
        """The along-wall coordinate that puts ``obj`` just beside ``fp`` (on the same wall)."""
        centre = fp.cx if wall in ("north", "south") else fp.cz
        return centre + side * (fp.hx + FURNITURE_GAP + 1e-3 + obj.width / 2)

    def _beside_candidates(self, obj: PlannedObject) -> list[_Candidate]:
        """Wall furniture that belongs beside another (a nightstand by the bed): the same wall,
        just left or right of it."""
        out = []
        for i, fp in self.floor:
            wall = self.placed[i].anchor_wall
            if wall is None or not matches_any(self.placed[i].obj, obj.spec.near):
                continue
            sides = [-1.0, 1.0]
            self.rng.shuffle(sides)
            out += [c for side in sides if (c := self._along_wall(obj, wall, self._next_to(fp, wall, obj, side)))]
        return out

    def _wall_candidates(self, obj: PlannedObject) -> list[_Candidate]:
        """Backed onto each wall in turn (seeded order): at the corners, beside what already
        stands there (runs of counters), then at random points along the wall."""
        walls = list(WALLS)
        self.rng.shuffle(walls)
        out: list[_Candidate] = []
        for wall in walls:
            rng_ = self._wall_range(obj, wall)
            if rng_ is None:
                continue
            _, lo, hi = rng_
            along = [lo, hi]
            for i, fp in self.floor:
                if self.placed[i].anchor_wall == wall:
                    along += [self._next_to(fp, wall, obj, side) for side in (-1.0, 1.0)]
            self.rng.shuffle(along)
            along += [self.rng.uniform(lo, hi) for _ in range(8)]
            out += [c for t in along if (c := self._along_wall(obj, wall, t)) is not None]
        return out

    def _free_candidates(self, obj: PlannedObject) -> list[Footprint]:
        b = self.layout.box
        out = []
        for _ in range(RANDOM_FLOOR_TRIES):
            yaw = self.rng.choice(RIGHT_ANGLES)
            out.append(footprint_of(obj, self.rng.uniform(b.min_x, b.max_x), self.rng.uniform(b.min_z, b.max_z), yaw))
        return out

    def _companion_candidates(self, obj: PlannedObject) -> list[_Candidate]:
        anchors = [(i, fp) for i, fp in self.floor if matches_any(self.placed[i].obj, obj.spec.near)]
        self.rng.shuffle(anchors)
        out = []
        for anchor_index, anchor in anchors[:4]:
            (ax, az), (bx, bz) = anchor.axes()
            sides = [
                ((bx, bz), anchor.hz, anchor.hx, (ax, az)),
                ((-bx, -bz), anchor.hz, anchor.hx, (ax, az)),
                ((ax, az), anchor.hx, anchor.hz, (bx, bz)),
                ((-ax, -az), anchor.hx, anchor.hz, (bx, bz)),
            ]
            for (nx, nz), reach, slide, (sx, sz) in sides:
                offset = reach + COMPANION_GAP + obj.depth / 2
                yaw = math.atan2(-nx, -nz)  # the seat's front (local +z) faces the anchor
                for _ in range(2):
                    t = self.rng.uniform(-slide, slide) * 0.8
                    fp = footprint_of(obj, anchor.cx + nx * offset + sx * t, anchor.cz + nz * offset + sz * t, yaw)
                    out.append(_Candidate(fp, facing=anchor_index))
        return out

    def _grid(self, obj: PlannedObject) -> list[Footprint]:
        b = self.layout.box
        out = []
        for yaw in (0.0, math.pi / 2):
            x = b.min_x + WALL_CLEARANCE
            while x <= b.max_x:
                z = b.min_z + WALL_CLEARANCE
                while z <= b.max_z:
                    out.append(footprint_of(obj, x, z, yaw))
                    z += GRID_STEP
                x += GRID_STEP
        return out

    # -- supports --------------------------------------------------------------------------
    def _supports_for(self, obj: PlannedObject) -> list[int]:
        room_h = self.layout.box.height
        usable = [
            i
            for i, _ in self.floor
            if self.placed[i].obj.spec.support
            and self.placed[i].obj.height <= MAX_SUPPORT_TOP
            and self.placed[i].obj.height + obj.height <= room_h - HEADROOM
        ]
        preferred = [i for i in usable if matches_any(self.placed[i].obj, obj.spec.rests_on)]
        generic = [i for i in usable if i not in preferred and matches_any(self.placed[i].obj, tuple(GENERIC_TOPS))]
        out = []
        for group in (preferred, generic):
            keyed = [(len(self.on_support.get(i, [])), self.rng.random(), i) for i in group]
            out += [i for _, _, i in sorted(keyed)]
        return out

    def _place_on_support(self, index: int, obj: PlannedObject) -> bool:
        aligned = not obj.sim_role.endswith("_object")  # static things (a TV, a monitor) face the room
        for support_index in self._supports_for(obj):
            support = self.placed[support_index]
            top = Footprint(
                support.x,
                support.z,
                support.obj.width / 2 - SURFACE_MARGIN,
                support.obj.depth / 2 - SURFACE_MARGIN,
                support.yaw,
            )
            if top.hx <= 0 or top.hz <= 0:
                continue
            for k in range(RANDOM_SURFACE_TRIES):
                if aligned:
                    rel = (0.0, math.pi, math.pi / 2, -math.pi / 2)[k % 4]
                elif k % 4 == 3:
                    rel = RIGHT_ANGLES[(k // 4) % 4]
                else:
                    rel = math.radians(self.rng.randrange(0, 360, YAW_STEP_DEG))
                hx, hz = obj.width / 2, obj.depth / 2
                ex = abs(hx * math.cos(rel)) + abs(hz * math.sin(rel))
                ez = abs(hx * math.sin(rel)) + abs(hz * math.cos(rel))
                if ex > top.hx or ez > top.hz:
                    continue
                u = self.rng.uniform(-(top.hx - ex), top.hx - ex)
                v = self.rng.uniform(-(top.hz - ez), top.hz - ez)
                self.tries["surface_candidates"] += 1
                x, z = top.to_world(u, v)
                fp = footprint_of(obj, x, z, support.yaw + rel)
                if not contains(top, fp):
                    continue
                neighbours = self.on_support.setdefault(support_index, [])
                if all(footprints_clear(other, fp, ITEM_GAP) for other in neighbours):
                    neighbours.append(fp)
                    y = support.y + support.obj.height
                    self.placed.append(
                        Placed(
                            obj,
                            index,
                            x,
                            y,
                            z,
                            normalize_angle(fp.yaw),
                            "manipulands",
                            support_index,
                            (u, v, normalize_angle(rel)),
                        )
                    )
                    return True
        return False


def place_objects(layout: RoomLayout, objects: Sequence[PlannedObject], rng: random.Random) -> PlacementResult:
    """Place ``objects`` in ``layout``'s room; see the module docstring for the guarantees."""
    return Solver(layout, rng).place_all(objects)
