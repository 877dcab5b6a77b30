"""Metric scale of a reconstructed layout (spec-stages-assets-usd §4.5).

A reconstruction from one photo is right up to an unknown scale. The factor is the median of
every sample we can get: explicit factors, objects of known height, known room dimensions, and
class height priors (a door is about 2 m tall). The median keeps one wrong sample from
dominating. Up axis is y; extents are half sizes, so an object's height is ``2 * extents[1]``.
"""

from __future__ import annotations

import copy
import statistics
from typing import Any

#: Class height priors in metres, longest name first so "coffee table" wins over "table".
HEIGHT_PRIORS: dict[str, float] = dict(
    sorted(
        {
            "door": 2.0,
            "desk": 0.75,
            "table": 0.75,
            "coffee table": 0.45,
            "chair": 1.0,
            "stool": 0.5,
            "sofa": 0.9,
            "couch": 0.9,
            "bed": 0.6,
            "cabinet": 1.8,
            "wardrobe": 1.8,
            "bookshelf": 1.8,
            "shelf": 1.8,
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)
ROOM_AXES = {"room_width_m": 0, "room_height_m": 1, "room_depth_m": 2}


def _num(v: Any) -> float | None:
    return (
        float(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
        else None
    )


def _height(obj: dict[str, Any]) -> float | None:
    ext = (obj.get("obb") or {}).get("extents") if isinstance(obj.get("obb"), dict) else None
    h = _num(ext[1]) if isinstance(ext, list) and len(ext) == 3 else None
    return 2 * h if h and h > 0 else None


def prior_for(class_name: str) -> float | None:
    name = class_name.lower().replace("_", " ").strip()
    if name in HEIGHT_PRIORS:
        return HEIGHT_PRIORS[name]
    return next((h for k, h in HEIGHT_PRIORS.items() if k in name), None)


def scale_samples(layout: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Samples by kind, the chosen factor and its ``source`` (none|reference|scene_metric|class_priors|blend)."""
    objects = [o for o in layout.get("objects") or [] if isinstance(o, dict)]
    reference: list[float] = [s for s in (_num(v) for v in meta.get("scale_factors") or []) if s and s > 0]
    known = list(meta.get("known_heights") or []) + list(meta.get("reference_objects") or [])
    for ref in known:
        if not isinstance(ref, dict):
            continue
        target = _num(ref.get("height") or ref.get("height_m"))
        match = [
            o
            for o in objects
            if ("id" in ref and o.get("id") == ref["id"])
            or ("class_name" in ref and o.get("class_name") == ref["class_name"])
        ]
        for o in match[:1]:
            h = _height(o)
            if target and h:
                reference.append(target / h)
    metric: list[float] = []
    room = room_doc if isinstance(room_doc := layout.get("room_box"), dict) else None
    metrics = metrics_doc if isinstance(metrics_doc := meta.get("scene_metrics"), dict) else {}
    if room and isinstance(room.get("min"), list) and isinstance(room.get("max"), list):
        dims = [float(room["max"][i]) - float(room["min"][i]) for i in range(3)]
        wanted = {axis: _num(metrics.get(key)) for key, axis in ROOM_AXES.items()}
        box = metrics.get("room_box_m")
        if isinstance(box, list) and len(box) == 3:
            wanted.update({i: _num(v) for i, v in enumerate(box)})
        metric += [w / dims[axis] for axis, w in wanted.items() if w and w > 0 and dims[axis] > 0]
    priors: list[float] = []
    used: list[str] = []
    for o in objects:
        prior, h = prior_for(str(o.get("class_name") or "")), _height(o)
        if prior and h:
            priors.append(prior / h)
            used.append(str(o.get("class_name")))
    kinds = {
        name: vals
        for name, vals in (("reference", reference), ("scene_metric", metric), ("class_priors", priors))
        if vals
    }
    samples = [s for vals in kinds.values() for s in vals]
    factor = statistics.median(samples) if samples else 1.0
    source = "none" if not kinds else (next(iter(kinds)) if len(kinds) == 1 else "blend")
    return {
        "factor": factor,
        "n_samples": len(samples),
        "priors_used": sorted(set(used)),
        "reference_samples": reference,
        "source": source,
        "up_axis": "y",
    }


def _scaled(vec: Any, s: float) -> Any:
    return [float(v) * s for v in vec] if isinstance(vec, list) and all(_num(v) is not None for v in vec) else vec


def apply_scale(layout: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    """A scaled copy: room box, camera translations, object centres, boxes and bounds."""
    s = float(scale["factor"])
    out = copy.deepcopy(layout)
    room = out.get("room_box")
    if isinstance(room, dict):
        for k in ("min", "max"):
            room[k] = _scaled(room.get(k), s)
    cams = [out.get("camera")] + list(out.get("camera_trajectory") or [])
    for cam in cams:
        if isinstance(cam, dict) and isinstance(cam.get("extrinsics"), list):
            for row in cam["extrinsics"][:3]:
                if isinstance(row, list) and len(row) == 4 and _num(row[3]) is not None:
                    row[3] = float(row[3]) * s
    for o in out.get("objects") or []:
        if not isinstance(o, dict):
            continue
        o["center3d"] = _scaled(o.get("center3d"), s)
        if isinstance(o.get("obb"), dict):
            o["obb"]["center"] = _scaled(o["obb"].get("center"), s)
            o["obb"]["extents"] = _scaled(o["obb"].get("extents"), s)
        if isinstance(o.get("bounds"), dict):
            for k in ("min", "max"):
                o["bounds"][k] = _scaled(o["bounds"].get(k), s)
    out["scale"] = scale
    return out
