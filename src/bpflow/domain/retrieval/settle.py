"""Put every object that stands on another one onto that support's real surface.

Planning knows supports only as boxes, so it puts a bowl at the oven's box top (its back panel)
and a pillow at the bed's headboard height. Once the assets are materialized their meshes are
known: each supported object's footprint is laid on the support's height field
(``domain.scene.surfaces``) and dropped to the height it really rests at. When the surface under
it is not a stable seat (a ridge, a burner edge, an overhang), the object slides to the nearest
spot on the same support where it is, clear of what already stands there.
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
from bpflow.domain.scene.obb import Footprint, footprints_clear
from bpflow.domain.scene.surfaces import HeightField, Rest

log = logging.getLogger("bpflow.adapter.settle")

#: Gap kept between two objects on one surface (m), as planning keeps it.
ITEM_GAP = 0.01
#: Spacing of the search for a stable spot (m).
SEARCH_STEP = 0.02
FLOOR_IDS = frozenset({"room_floor", "floor", ""})


@dataclass(frozen=True)
class Settled:
    object_id: str
    support_id: str
    dy: float
    moved_m: float
    stable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "support_id": self.support_id,
            "dy": round(self.dy, 4),
            "moved_m": round(self.moved_m, 4),
            "stable": self.stable,
        }


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


def settle_on_supports(items: list[Materialized], model_of: Callable[[Materialized], Path]) -> list[Settled]:
    """Move every supported object (in place) to rest on its support's mesh; returns what moved."""
    by_id = {item.obj.id: item for item in items}
    fields: dict[str, HeightField | None] = {}
    taken: dict[str, list[Footprint]] = {}
    out: list[Settled] = []
    pending: dict[str, dict[str, Footprint]] = {}
    for item in items:  # every supported object's planned spot, in its support's frame
        sid = item.obj.parent_support_id or ""
        if sid in by_id and sid not in FLOOR_IDS:
            sup = by_id[sid].obj
            frame = Footprint(sup.position[0], sup.position[2], 0.0, 0.0, yaw_of(sup.rotation))
            pu, pv = frame.to_local(item.obj.position[0], item.obj.position[2])
            pending.setdefault(sid, {})[item.obj.id] = Footprint(
                pu,
                pv,
                item.obj.dimensions[0] / 2,
                item.obj.dimensions[2] / 2,
                yaw_of(item.obj.rotation) - yaw_of(sup.rotation),
            )
    for item in items:
        obj = item.obj
        support_id = obj.parent_support_id or ""
        if support_id in FLOOR_IDS or support_id not in by_id:
            continue
        support = by_id[support_id]
        if support_id not in fields:
            tris = model_triangles(model_of(support))
            fields[support_id] = HeightField(tris) if len(tris) else None
        field = fields[support_id]
        if field is None:
            continue
        s_yaw = yaw_of(support.obj.rotation)
        sx, sy, sz = support.obj.position
        top_of_frame = sy + support.obj.dimensions[1] / 2.0  # the model's y = 0 in the world
        frame = Footprint(sx, sz, 0.0, 0.0, s_yaw)
        u, v = frame.to_local(obj.position[0], obj.position[2])
        rel = yaw_of(obj.rotation) - s_yaw
        hx, hz = obj.dimensions[0] / 2.0, obj.dimensions[2] / 2.0
        settled = taken.setdefault(support_id, [])
        # clear of what already settled here, and of where the others on this support still stand
        mine = settled + [fp for oid, fp in pending.get(support_id, {}).items() if oid != obj.id]
        rest = field.rest(u, v, hx, hz, rel)
        nu, nv = u, v
        if not _flat(rest) or not all(footprints_clear(Footprint(u, v, hx, hz, rel), o, ITEM_GAP) for o in mine):
            found = _search(field, u, v, hx, hz, rel, mine)
            if found is not None:
                nu, nv, rest = found
            else:
                log.warning(
                    "object %s: no stable spot on %s; resting at the highest point under it", obj.id, support_id
                )
        if not math.isfinite(rest.height):
            continue
        settled.append(Footprint(nu, nv, hx, hz, rel))
        pending.get(support_id, {}).pop(obj.id, None)
        wx, wz = frame.to_world(nu, nv)
        y = top_of_frame + rest.height
        se2 = {"x": round(nu, 6), "z": round(nv, 6), "yaw_rad": round(rel, 6)}
        item.obj = replace(obj, position=(wx, y, wz), surface_local_se2=se2)
        out.append(
            Settled(
                obj.id,
                support_id,
                y - obj.position[1],
                math.hypot(wx - obj.position[0], wz - obj.position[2]),
                _ok(rest),
            )
        )
    return out
