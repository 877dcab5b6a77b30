"""Checking a Stage-1 output set before its completion marker is written.

``assets/.regen3d_complete`` starts Stage 2, so it is written only once every output Stage 2
reads is present and valid against its contract (DESIGN: completion markers are written once,
by the workflow, after it checked the outputs). The same check serves the text path and the
image path, whose reconstruction bundle has the same shape.
"""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.errors import ObjectNotFound
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket

MAX_PROBLEMS = 25

#: Outputs every Stage-1 set has, and the contract each must satisfy.
COMMON_OUTPUTS = (
    ("assets/scene_manifest.json", "scene_manifest"),
    ("layout/scene_layout_scaled.json", "scene_layout_scaled"),
    ("seg/inventory.json", "inventory"),
)
#: Outputs only the text path has (written by text-scene-gen-job).
TEXT_OUTPUTS = (
    ("textgen/package.json", "textgen_package"),
    (STAGES["text-scene-gen"].complete[0], "textgen_complete_marker"),
)


def _problem(field: str, message: str, code: str) -> dict[str, str]:
    return {"field": field, "message": message, "code": code}


def _validate(schema: str, obj: Any) -> list[dict[str, str]]:
    from bpflow.core.contracts import validate

    return [{"field": p.field, "message": p.message, "code": p.code} for p in validate(schema, obj)]


class _Checker:
    def __init__(self, bucket: Bucket, scene_id: str) -> None:
        self.bucket = bucket
        self.prefix = f"scenes/{scene_id}/"
        self.problems: list[dict[str, str]] = []

    def load(self, rel: str, schema: str | None) -> Any:
        try:
            raw = self.bucket.read(self.prefix + rel)
        except ObjectNotFound:
            self.problems.append(_problem(rel, "missing", "missing_output"))
            return None
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            self.problems.append(_problem(rel, f"not valid JSON: {exc}", "invalid_json"))
            return None
        if schema is not None:
            for p in _validate(schema, obj):
                self.problems.append(
                    _problem(f"{rel}:{p['field']}" if p["field"] else rel, p["message"], p["code"] or "schema")
                )
        return obj

    def asset_key(self, obj: dict[str, Any]) -> str:
        """The object's model file: the manifest's bucket-relative path, or the §4C default."""
        path = (obj.get("asset") or {}).get("path") if isinstance(obj.get("asset"), dict) else None
        if isinstance(path, str) and path.startswith("scenes/"):
            return path
        if isinstance(path, str) and path and not path.startswith("/"):
            return self.prefix + path.lstrip("./")
        return f"{self.prefix}assets/obj_{obj.get('id')}/model.usd"

    def check_assets(self, manifest: dict[str, Any]) -> None:
        for i, obj in enumerate(manifest.get("objects") or []):
            if not isinstance(obj, dict):
                continue
            model = self.asset_key(obj)
            info = self.bucket.stat(model)
            if info is None or info.size == 0:
                self.problems.append(
                    _problem(
                        f"assets/scene_manifest.json:objects[{i}].asset.path",
                        f"model file {model} is missing or empty",
                        "missing_asset",
                    )
                )
                continue
            meta_key = model.rsplit("/", 1)[0] + "/metadata.json"
            self.load(meta_key.removeprefix(self.prefix), "asset_metadata")

    def check_layout_matches(self, manifest: dict[str, Any], layout: dict[str, Any]) -> None:
        ids = {o.get("id") for o in manifest.get("objects") or [] if isinstance(o, dict)}
        placed = {o.get("id") for o in layout.get("objects") or [] if isinstance(o, dict)}
        missing = sorted(str(i) for i in ids - placed)
        if missing:
            self.problems.append(
                _problem(
                    "layout/scene_layout_scaled.json:objects",
                    f"objects missing from the layout: {', '.join(missing[:10])}",
                    "layout_mismatch",
                )
            )

    def text_marker(self, scene_id: str, objects_count: int) -> dict[str, Any] | None:
        """The adapter's own ``.regen3d_complete`` body (from its summary), checked against the
        scene and the manifest it describes."""
        from bpflow.domain.retrieval.outputs import stage1_marker_body

        rel = "textgen/adapter_summary.json"
        summary = self.load(rel, None)
        if summary is None:
            return None
        try:
            body = stage1_marker_body(summary)
        except ValueError as exc:
            self.problems.append(_problem(rel, str(exc), "invalid_summary"))
            return None
        if body.get("scene_id") != scene_id or body.get("objects_count") != objects_count:
            self.problems.append(
                _problem(
                    f"{rel}:regen3d_marker",
                    f"describes scene {body.get('scene_id')!r} with {body.get('objects_count')} objects; the manifest has {objects_count} for {scene_id!r}",
                    "summary_mismatch",
                )
            )
        for p in _validate("regen3d_complete_marker", body):
            self.problems.append(_problem(f"{rel}:regen3d_marker.{p['field']}", p["message"], p["code"]))
        return body


def check_stage1_outputs(bucket: Bucket, scene_id: str, *, text: bool) -> dict[str, Any]:
    """Plain data (a step's output): ``problems`` (field, message, code), and the facts the
    ``.regen3d_complete`` body needs (objects_count, provider)."""
    checker = _Checker(bucket, scene_id)
    loaded = {rel: checker.load(rel, schema) for rel, schema in COMMON_OUTPUTS + (TEXT_OUTPUTS if text else ())}
    manifest = loaded["assets/scene_manifest.json"]
    layout = loaded["layout/scene_layout_scaled.json"]
    objects_count = 0
    provider = None
    if isinstance(manifest, dict):
        checker.check_assets(manifest)
        objects_count = len(manifest.get("objects") or [])
        source = (
            ((manifest.get("metadata") or {}).get("source") or {}) if isinstance(manifest.get("metadata"), dict) else {}
        )
        provider = source.get("provider") if isinstance(source, dict) else None
        if isinstance(layout, dict):
            checker.check_layout_matches(manifest, layout)
    marker = checker.text_marker(scene_id, objects_count) if text else None
    return {
        "problems": checker.problems[:MAX_PROBLEMS],
        "problem_count": len(checker.problems),
        "objects_count": objects_count,
        "provider": provider,
        "marker": marker,
    }


def regen3d_marker_fields(
    *, source: str, objects_count: int, quality_tier: str | None, provider: str | None, seed: int
) -> dict[str, Any]:
    """The §2.5 body of ``assets/.regen3d_complete`` (scene_id, status and timestamp are added
    by the marker writer)."""
    return {
        "source": source,
        "objects_count": objects_count,
        "quality_tier": quality_tier,
        "provider": provider,
        "seed": seed,
        "marker_type": "stage1_complete",
    }


def summarize(problems: list[dict[str, str]], total: int) -> str:
    shown = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    more = f" (+{total - 5} more)" if total > 5 else ""
    return shown + more
