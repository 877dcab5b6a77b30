"""Affordances per object, from what the simulation knows of it: category, kind, geometry.

* ``grasp`` — a free body the Panda's gripper can pinch from above: narrowest horizontal width
  ≤ 7.6 cm and ≥ 3 cm tall (the task rules of ``domain.sim.tasks``; reach is a property of
  the robot's mount, not of the object, so it is not required here);
* ``open`` — an articulated object, one per joint (slide → drawer pull, hinge → door swing),
  with the joint's limits;
* ``place_on`` — a static or articulated object with a free, roughly horizontal top a small
  object can stand on (top ≥ 15 × 15 cm, below 1.6 m), or one of the supporting categories.

``refine_with_llm`` may add or drop affordance *types* per object when an LLM is configured
(``USE_LLM_AFFORDANCES`` and a key): the geometry stays the source of the parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpflow.domain.sim.placement import GRIPPER_SPAN, narrowest
from bpflow.domain.sim.scene import SimScene
from bpflow.domain.sim.tasks import MIN_HEIGHT

SUPPORT_CATEGORIES = frozenset(
    {
        "table",
        "counter",
        "countertop",
        "desk",
        "shelf",
        "cabinet",
        "island",
        "nightstand",
        "dresser",
        "sideboard",
        "workbench",
    }
)
MIN_TOP = 0.15
MAX_TOP_Z = 1.6


def object_affordances(sim: SimScene, object_id: str) -> list[dict[str, Any]]:
    o = sim.objects[object_id]
    out: list[dict[str, Any]] = []
    size = [round(float(v), 4) for v in o.size]
    if o.dynamic:
        pts = sim.world_points(object_id)
        width, yaw = narrowest(pts) if len(pts) else (float(min(o.size[:2])), 0.0)
        if width <= GRIPPER_SPAN and float(o.size[2]) >= MIN_HEIGHT:
            out.append(
                {
                    "type": "grasp",
                    "approach": "top_down",
                    "grasp_width_m": round(float(width), 4),
                    "grasp_yaw_rad": round(float(yaw), 4),
                    "mass_kg": round(float(o.mass), 4),
                }
            )
    for j in o.joints:
        out.append(
            {
                "type": "open",
                "joint": j.name,
                "joint_type": j.type,
                "motion": "pull" if j.type == "slide" else "swing",
                "range": [round(float(j.range[0]), 4), round(float(j.range[1]), 4)],
            }
        )
    if not o.dynamic:
        pts = sim.world_points(object_id)
        top = float(pts[:, 2].max()) if len(pts) else float(sim.position(object_id)[2] + o.size[2] / 2)
        wide = float(o.size[0]) >= MIN_TOP and float(o.size[1]) >= MIN_TOP
        if (wide and top <= MAX_TOP_Z) or o.category.lower() in SUPPORT_CATEGORIES:
            out.append({"type": "place_on", "surface_height_m": round(top, 4), "surface_size_m": size[:2]})
    return out


def scene_affordances(sim: SimScene) -> dict[str, list[dict[str, Any]]]:
    return {oid: object_affordances(sim, oid) for oid in sorted(sim.objects)}


def refine_with_llm(objects: dict[str, dict[str, Any]], ask: Any) -> dict[str, list[str]]:
    """Ask the LLM (``ask(prompt) -> str``) which of grasp/open/place_on fit each object by its
    category and size; returns ``{object_id: [types]}`` for the objects it answered, parsed
    strictly (anything else is ignored, and the geometry's answer stands)."""
    import json

    rows = [
        {"id": oid, "category": o["category"], "size_m": o["size_m"], "kind": o["kind"]} for oid, o in objects.items()
    ]
    prompt = (
        "For each object, list which robot affordances apply, from exactly: grasp, open, place_on. "
        'Answer only JSON: {"<id>": ["grasp", ...], ...}.\nObjects: ' + json.dumps(rows)
    )
    try:
        answer = json.loads(ask(prompt))
    except (ValueError, TypeError):
        return {}
    if not isinstance(answer, dict):
        return {}
    allowed = {"grasp", "open", "place_on"}
    return {k: [t for t in v if t in allowed] for k, v in answer.items() if k in objects and isinstance(v, list)}


def centre(sim: SimScene, object_id: str) -> list[float]:
    pts = sim.world_points(object_id)
    c = (pts.min(axis=0) + pts.max(axis=0)) / 2 if len(pts) else sim.position(object_id)
    return [round(float(v), 4) for v in np.asarray(c)]
