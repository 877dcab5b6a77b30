"""The documents variation-gen writes besides the USD: catalogue, manifest, report.

``variation_assets.json`` is what later stages consume (the Genie Sim export counts and filters
its objects; the Isaac refresh lists them), so its object shape is the artifact catalogue's
(spec-text-stage1-and-artifacts.md §3.2, §4C row 9) plus the variant sets. ``scene_manifest.json``
under the variation prefix describes the same objects in the scene-manifest shape, so the
Stage-2 simready job can run on the variants exactly as it runs on the scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.domain.variation.palette import COLOR_SET, MATERIAL_SET, SCALE_SET, VariantPlan
from bpflow.domain.variation.requests import VariationRequest
from bpflow.domain.variation.sources import SourceObject

SOURCE = "variation-gen-job"
UNKNOWN_LICENSE = "unknown"


@dataclass(frozen=True)
class Generated:
    """One asset that has a variant file (written now, or by an earlier run when resuming)."""

    request: VariationRequest
    source: SourceObject
    plan: VariantPlan
    variants_key: str
    source_key: str
    license: str
    resumed: bool = False

    @property
    def category(self) -> str:
        return self.request.category if self.request.category != "object" else self.source.category


def variant_list(plan: VariantPlan) -> list[dict[str, Any]]:
    """Every variant with the opinion it authors, so a reader need not open the USD to know."""
    # Mass goes with volume: simready computes it for the default (scale 1) selection, so a
    # consumer that picks another size multiplies the mass by ``mass_factor`` (= scale³).
    out: list[dict[str, Any]] = [
        {"variant_set": SCALE_SET, "name": n, "scale": f, "mass_factor": round(f**3, 6)} for n, f in plan.scales
    ]
    out += [{"variant_set": COLOR_SET, "name": n, "display_color": list(rgb)} for n, rgb in plan.colors]
    out += [
        {
            "variant_set": MATERIAL_SET,
            "name": n,
            "material_path": f"/Root/Looks/{n}",
            "diffuse_color": list(look.diffuse),
            "roughness": look.roughness,
            "metallic": look.metallic,
            "opacity": look.opacity,
        }
        for n, look in plan.materials
    ]
    return out


def _physics_hints(g: Generated) -> dict[str, Any]:
    return {**g.source.physics_hints, **g.request.physics_hints, "material": g.plan.defaults()[MATERIAL_SET]}


def catalog_object(g: Generated) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": g.request.id,
        "name": g.request.name,
        "category": g.category,
        "short_description": g.request.description or f"{g.category} variant of scene object {g.source.id}",
        "sim_role": g.source.sim_role,
        "must_be_separate_asset": True,
        "semantic_class": g.request.semantic_class or g.category,
        "priority": g.request.priority,
        "source_object_id": g.source.id,
        "transform": g.source.transform,
        "physics_hints": _physics_hints(g),
        "asset": {
            "path": g.variants_key,
            "format": "usda",
            "source": SOURCE,
            "license": g.license,
            "source_asset": g.source_key,
        },
        "variant_sets": g.plan.names(),
        "default_variants": g.plan.defaults(),
        "variants": variant_list(g.plan),
    }
    if g.source.dimensions_est is not None:
        obj["dimensions_est"] = g.source.dimensions_est
    return obj


def variation_assets_doc(scene_id: str, generated_at: str, done: list[Generated]) -> dict[str, Any]:
    objects = [catalog_object(g) for g in done]
    variant_count = sum(len(o["variants"]) for o in objects)
    return {
        "scene_id": scene_id,
        "generated_at": generated_at,
        "source": SOURCE,
        "objects": objects,
        "metadata": {
            "total_objects": len(objects),
            "total_variants": variant_count,
            "generation_type": "variation_assets",
        },
    }


def variation_scene_manifest(scene_id: str, base_manifest: dict[str, Any], done: list[Generated]) -> dict[str, Any]:
    """The variants as a scene manifest (version, scene block of the real scene, one object each)."""
    return {
        "version": str(base_manifest.get("version") or "1.0.0"),
        "scene_id": scene_id,
        "scene": base_manifest.get("scene")
        if isinstance(base_manifest.get("scene"), dict)
        else {"coordinate_frame": "y_up", "meters_per_unit": 1.0},
        "objects": [
            {
                "id": g.request.id,
                "name": g.request.name,
                "category": g.category,
                "description": g.request.description or f"{g.category} variant of scene object {g.source.id}",
                "sim_role": g.source.sim_role,
                "asset": {"path": g.variants_key, "source": SOURCE, "format": "usda"},
                "transform": g.source.transform,
                **({"dimensions_est": g.source.dimensions_est} if g.source.dimensions_est is not None else {}),
                "physics_hints": _physics_hints(g),
                "must_be_separate_asset": True,
                "variation_candidate": True,
            }
            for g in done
        ],
        "metadata": {"source_pipeline": SOURCE, "variation_of_scene": scene_id},
    }
