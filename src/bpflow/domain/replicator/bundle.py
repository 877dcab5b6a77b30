"""The replicator bundle: where things may be placed, what to randomise, what to vary.

Derived from the composed scene (``scene_read``), deterministically (the reference asked an
LLM for a scene analysis; the rules here stand in for it and say so in ``analysis_summary``):

* **placement regions** — the top face of every supporting object (tables, counters, cabinets,
  shelves …) shrunk by an edge margin, and the free floor of the room with the furniture
  footprints listed as exclusions;
* **affordances** — graspable / placeable objects, support surfaces, openable doors and
  pullable drawers (from the interactive results), containers; ``on`` relations measured from
  the boxes (a bottom resting on a top, footprints overlapping);
* **policies** — one randomisation config per policy: object placement on the regions,
  articulation states within joint limits, lighting, and appearance of the task objects;
* **variation assets** — the manipulable objects, as candidates for Stage 3 variants.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pxr import Sdf

from bpflow.domain.scene.density import canonical_category
from bpflow.domain.scene.pose import axes_for
from bpflow.domain.usd.scene_read import SceneItem
from bpflow.domain.usd.usd_util import add_mesh, new_stage, set_custom

SUPPORTS = frozenset(
    {
        "table",
        "desk",
        "counter",
        "island",
        "cabinet",
        "drawer",
        "dresser",
        "nightstand",
        "shelf",
        "bookshelf",
        "stool",
        "bench",
        "dishwasher",
        "washing_machine",
    }
)
CONTAINERS = frozenset(
    {"mug", "cup", "bowl", "pot", "pan", "jar", "basket", "bucket", "vase", "glass", "sink", "trash_can"}
)
MANIPULABLE_ROLES = frozenset({"manipulable_object", "deformable_object"})
EDGE_MARGIN = 0.03
CONTACT_TOLERANCE = 0.02
MIN_REGION_SIDE = 0.1

DEFAULT_POLICIES = ("object_placement", "articulation_state", "lighting", "appearance")


@dataclass(frozen=True)
class Region:
    id: str
    type: str
    """``support_top`` or ``floor``."""
    parent: str | None
    height: float
    lo: tuple[float, float]
    hi: tuple[float, float]
    """Extent in the two floor axes (width axis, depth axis)."""
    exclusions: tuple[tuple[tuple[float, float], tuple[float, float]], ...] = ()

    @property
    def area(self) -> float:
        return max(0.0, self.hi[0] - self.lo[0]) * max(0.0, self.hi[1] - self.lo[1])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["area_m2"] = round(self.area, 6)
        out["lo"], out["hi"] = list(self.lo), list(self.hi)
        out["exclusions"] = [[list(a), list(b)] for a, b in self.exclusions]
        return out


def _plane(item: SceneItem, up: int) -> tuple[tuple[float, float], tuple[float, float]]:
    axes = [i for i in range(3) if i != up]
    return (item.lo[axes[0]], item.lo[axes[1]]), (item.hi[axes[0]], item.hi[axes[1]])


def support_regions(items: list[SceneItem], up_axis: str) -> list[Region]:
    up = axes_for(up_axis).up
    regions = []
    for item in items:
        if canonical_category(item.category) not in SUPPORTS:
            continue
        (a0, b0), (a1, b1) = _plane(item, up)
        lo, hi = (a0 + EDGE_MARGIN, b0 + EDGE_MARGIN), (a1 - EDGE_MARGIN, b1 - EDGE_MARGIN)
        if hi[0] - lo[0] < MIN_REGION_SIDE or hi[1] - lo[1] < MIN_REGION_SIDE:
            continue
        regions.append(Region(f"{item.id}_top", "support_top", item.id, item.hi[up], lo, hi))
    return regions


def floor_region(
    items: list[SceneItem], room_lo: tuple[float, float, float], room_hi: tuple[float, float, float], up_axis: str
) -> Region:
    up = axes_for(up_axis).up
    axes = [i for i in range(3) if i != up]
    lo = (room_lo[axes[0]] + EDGE_MARGIN, room_lo[axes[1]] + EDGE_MARGIN)
    hi = (room_hi[axes[0]] - EDGE_MARGIN, room_hi[axes[1]] - EDGE_MARGIN)
    floor_h = room_lo[up]
    footprints = tuple(_plane(i, up) for i in items if i.lo[up] <= floor_h + CONTACT_TOLERANCE)
    return Region("floor", "floor", None, floor_h, lo, hi, footprints)


def on_relations(items: list[SceneItem], up_axis: str) -> list[dict[str, str]]:
    """``A on B`` when A's bottom rests on B's top and their footprints overlap."""
    up = axes_for(up_axis).up
    edges = []
    for a in items:
        for b in items:
            if a.id == b.id or abs(a.lo[up] - b.hi[up]) > CONTACT_TOLERANCE:
                continue
            (alo, ahi), (blo, bhi) = _plane(a, up), _plane(b, up)
            if all(min(ahi[k], bhi[k]) > max(alo[k], blo[k]) for k in range(2)):
                edges.append({"source": a.id, "target": b.id, "relation": "on"})
    return edges


def affordances(item: SceneItem, joints: list[dict[str, Any]]) -> list[str]:
    cat = canonical_category(item.category)
    out = []
    if item.sim_role in MANIPULABLE_ROLES:
        out += ["graspable", "placeable"]
    if cat in SUPPORTS:
        out.append("support_surface")
    if cat in CONTAINERS:
        out.append("container")
    if any(j.get("type") == "revolute" for j in joints):
        out.append("openable")
    if any(j.get("type") == "prismatic" for j in joints):
        out.append("pullable")
    return out


def variation_candidates(
    items: list[SceneItem], manifest_objects: dict[str, Any], simready: dict[str, str]
) -> list[dict[str, Any]]:
    assets = []
    for item in items:
        if item.sim_role not in MANIPULABLE_ROLES:
            continue
        obj = manifest_objects.get(item.id)
        description = getattr(obj, "description", "") or item.category
        material = getattr(obj, "material_hint", None)
        size = [round(item.hi[i] - item.lo[i], 6) for i in range(3)]
        assets.append(
            {
                "name": item.id,
                "category": item.category,
                "description": description,
                "semantic_class": canonical_category(item.category),
                "priority": "required",
                "source_hint": "generate",
                "example_variants": [
                    f"{item.category} scaled 0.9x",
                    f"{item.category} scaled 1.1x",
                    f"{item.category} in another colour",
                    f"{item.category} in another material",
                ],
                "physics_hints": {"material": material} if material else {},
                "material_hint": material,
                "style_hint": None,
                "generation_prompt_hint": f"a {description}, about {size[0]:.2f} x {size[1]:.2f} x {size[2]:.2f} m",
                "source_object_id": item.id,
                "source_asset": simready.get(item.id),
                "source_prim_path": item.prim_path,
                "size_m": size,
            }
        )
    return assets


def policy_configs(
    policies: list[str], regions: list[Region], items: list[SceneItem], joints: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    movers = [i.id for i in items if i.sim_role in MANIPULABLE_ROLES]
    out: dict[str, dict[str, Any]] = {}
    for pid in policies:
        if pid == "object_placement":
            out[pid] = {
                "policy_id": pid,
                "objects": movers,
                "regions": [r.id for r in regions if r.type == "support_top"] or [r.id for r in regions],
                "yaw_range_deg": [-180.0, 180.0],
                "min_separation_m": 0.02,
                "max_attempts_per_object": 50,
            }
        elif pid == "articulation_state":
            out[pid] = {
                "policy_id": pid,
                "joints": [
                    {"object": oid, "part": j["part"], "type": j["type"], "range": [j["lower"], j["upper"]]}
                    for oid, js in sorted(joints.items())
                    for j in js
                ],
                "distribution": "uniform",
            }
        elif pid == "lighting":
            out[pid] = {"policy_id": pid, "dome_intensity": [600.0, 1600.0], "color_temperature_k": [2700.0, 6500.0]}
        elif pid == "appearance":
            out[pid] = {
                "policy_id": pid,
                "objects": movers,
                "display_color": {"hue": [0.0, 1.0], "saturation": [0.1, 0.8], "value": [0.4, 1.0]},
            }
        else:
            out[pid] = {"policy_id": pid, "note": "requested policy with no built-in rule; no randomisation configured"}
    return out


def write_regions_usda(path: Path, regions: list[Region], up_axis: str) -> None:
    """Each region as a guide-purpose quad at its height, with its metadata as attributes."""
    axes = axes_for(up_axis)
    stage, root = new_stage(path, up_axis, default_prim="PlacementRegions")
    for r in regions:
        corners = []
        for a, b in ((r.lo[0], r.lo[1]), (r.hi[0], r.lo[1]), (r.hi[0], r.hi[1]), (r.lo[0], r.hi[1])):
            p = [0.0, 0.0, 0.0]
            p[axes.width], p[axes.depth], p[axes.up] = a, b, r.height
            corners.append(p)
        faces = [[0, 2, 1], [0, 3, 2]] if up_axis == "Y" else [[0, 1, 2], [0, 2, 3]]
        mesh = add_mesh(stage, f"/PlacementRegions/{r.id}", corners, faces, color=(0.2, 0.8, 0.3))
        mesh.CreatePurposeAttr("guide")
        prim = mesh.GetPrim()
        set_custom(prim, "bp:region_type", r.type, Sdf.ValueTypeNames.String)
        set_custom(prim, "bp:parent_object", r.parent or "", Sdf.ValueTypeNames.String)
        set_custom(prim, "bp:area_m2", float(r.area), Sdf.ValueTypeNames.Double)
    set_custom(root, "bp:region_count", len(regions), Sdf.ValueTypeNames.Int)
    stage.GetRootLayer().Save()
