"""What a requested variation asset is a variant *of*: a scene object and its USD geometry.

Variants here are authored on the scene's own assets (the reference generated new images
and, optionally, meshes through paid services; this build varies the geometry it already has).
A request names its source object explicitly (``source_object_id``), by name, or only by
category; the first rule that matches wins, and a request nothing matches fails on its own
without stopping the others. The scene manifest is validated by Stage 2's reader, so both
stages accept and refuse the same manifests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bpflow.core.storage import Bucket
from bpflow.domain.scene.manifest import Manifest, SceneObject, parse_manifest
from bpflow.domain.usd.object_files import list_object_files, usd_visual
from bpflow.domain.variation.requests import VariationRequest


class SourceMissing(Exception):
    """This request has nothing to vary; the reason goes into the generation report."""


@dataclass(frozen=True)
class SourceObject:
    """A scene-manifest object as Stage 3 carries it over: validated fields plus the raw
    ``transform`` and ``asset`` blocks, copied unchanged into the variation catalogue."""

    id: str
    category: str
    sim_role: str
    manifest_object: SceneObject
    transform: dict[str, Any]
    asset: dict[str, Any]
    physics_hints: dict[str, Any]
    dimensions_est: dict[str, Any] | None


def source_objects(raw: bytes, scene_id: str, document: str) -> tuple[Manifest, dict[str, Any], list[SourceObject]]:
    """(validated manifest, raw document, objects). Raises ValidationFailed naming the field."""
    manifest = parse_manifest(raw, document=document, expected_scene=scene_id)
    doc = json.loads(raw)
    raw_by_id = {o["id"]: o for o in doc["objects"]}
    out = []
    for obj in manifest.objects:
        r = raw_by_id[obj.id]
        out.append(
            SourceObject(
                id=obj.id,
                category=obj.category,
                sim_role=obj.sim_role,
                manifest_object=obj,
                transform=dict(r.get("transform") or {}),
                asset=dict(r.get("asset") or {}),
                physics_hints=dict(obj.physics_hints),
                dimensions_est=dict(r["dimensions_est"]) if isinstance(r.get("dimensions_est"), dict) else None,
            )
        )
    return manifest, doc, out


def match_object(req: VariationRequest, objects: Sequence[SourceObject]) -> SourceObject:
    """The scene object ``req`` varies: explicit id, then name, then category."""
    by_id = {o.id: o for o in objects}
    if req.source_object_id is not None:
        if req.source_object_id in by_id:
            return by_id[req.source_object_id]
        raise SourceMissing(f"source object {req.source_object_id!r} is not in the scene manifest")
    for key in (req.name, req.id):
        if key in by_id:
            return by_id[key]
    for obj in objects:
        if obj.category == req.category:
            return obj
    raise SourceMissing(f"no scene object of category {req.category!r} to make variants of")


def find_visual(bucket: Bucket, obj: SourceObject, assets_prefix: str, scene_root: str) -> str:
    """The object's USD visual, found the way Stage 2 finds it (same folders, same order)."""
    key = usd_visual(list_object_files(bucket, assets_prefix, scene_root, obj.manifest_object))
    if key is None:
        raise SourceMissing(
            f"object {obj.id!r} has no USD visual under {assets_prefix}/obj_{obj.id}/ (nor at its manifest asset.path)"
        )
    return key
