"""Embedding and replication queue objects (maintenance spec §2.2 and §2.5), written at the end of a run.

One JSON object per scene and queue, named ``<prefix>/<YYYYmmddTHHMMSSZ>-<scene_id>-<h10>.json``;
the object's creation is what starts the consumer workflow. A side marker under the scene's
assets records where the request went. Decisions: the embedding request still needs ANN
enabled and catalog rows (no switch of its own, reference quirk 4: a vector of an asset the
catalog does not know has nowhere to go); thin coverings are replicated like every other
object (the reference left them out only because it listed no files for them, quirk 16).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bpflow.core.storage import Bucket
from bpflow.domain.retrieval.materialize import Materialized
from bpflow.state.cas_json import iso_z

SOURCE_PIPELINE = "text-scene-adapter-job"
EMBEDDING_MARKER = ".asset_embedding_enqueued"
REPLICATION_MARKER = ".asset_replication_enqueued"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def queue_object_name(prefix: str, scene_id: str, now: datetime, count: int) -> str:
    st = stamp(now)
    return f"{prefix.strip('/')}/{st}-{scene_id}-{_sha(f'{scene_id}|{st}|{count}')[:10]}.json"


def gcs_uri(bucket_name: str | None, path: str) -> str:
    return f"gs://{bucket_name}/{path}" if bucket_name else ""


def embedding_asset(
    item: Materialized, scene_id: str, bucket_name: str | None, model: str, prompt: str
) -> dict[str, Any]:
    """One queue entry; the catalog row of a scene object is published from the same fields."""
    obj = item.obj
    class_name = obj.category or obj.name or "object"
    roles = [obj.sim_role or "manipulable_object"]
    tags = [obj.category, obj.name]
    pieces = [class_name, obj.description, " ".join(roles), " ".join(tags), prompt]
    descriptor = " ".join(p.strip() for p in pieces if p and p.strip())
    descriptor_hash = _sha(descriptor)
    asset_id = f"text::{scene_id}::{obj.id}"
    usd_path = item.model_key
    w, h, d = obj.dimensions
    return {
        "asset_id": asset_id,
        "descriptor_text": descriptor,
        "descriptor_hash": descriptor_hash,
        "idempotency_key": _sha(f"{asset_id}|{model}|{descriptor_hash}"),
        "class_name": class_name,
        "sim_roles": roles,
        "usd_path": usd_path,
        "gcs_uri": gcs_uri(bucket_name, usd_path),
        "source": f"text_{item.source}",
        "tags": tags,
        "dimensions": {"width": w, "height": h, "depth": d},
    }


def enqueue_embedding(
    bucket: Bucket,
    *,
    enabled: bool,
    catalog_assets: Sequence[str],
    items: Sequence[Materialized],
    scene_id: str,
    assets_prefix: str,
    bucket_name: str | None,
    model: str,
    prompt: str,
    queue_prefix: str,
    now: datetime,
) -> dict[str, Any]:
    """Write the embedding request for the objects the catalog published; returns the status."""
    if not enabled:
        return {"enabled": False, "queued": False}
    if not catalog_assets:
        return {"enabled": True, "queued": False, "error": "no_catalog_assets"}
    if not queue_prefix.strip("/"):
        return {"enabled": True, "queued": False, "error": "missing_queue_prefix"}
    published = set(catalog_assets)
    assets = [embedding_asset(i, scene_id, bucket_name, model, prompt) for i in items]
    assets = [a for a in assets if a["asset_id"] in published]
    if not assets:
        return {"enabled": True, "queued": False, "error": "no_valid_assets"}
    key = queue_object_name(queue_prefix, scene_id, now, len(catalog_assets))
    created = iso_z(now)
    bucket.write_json(
        key,
        {
            "schema_version": "v1",
            "scene_id": scene_id,
            "created_at": created,
            "embedding_model": model,
            "source_pipeline": SOURCE_PIPELINE,
            "assets_prefix": assets_prefix,
            "assets": assets,
        },
    )
    bucket.write_json(
        f"{assets_prefix}/{EMBEDDING_MARKER}",
        {
            "scene_id": scene_id,
            "queue_object": key,
            "assets_count": len(assets),
            "embedding_model": model,
            "status": "queued",
            "timestamp": created,
        },
    )
    return {"enabled": True, "queued": True, "queue_object": key, "assets_count": len(assets), "embedding_model": model}


def replication_asset(item: Materialized, scene_id: str, bucket_name: str | None, target_prefix: str) -> dict[str, Any]:
    prefix = target_prefix.strip("/")
    return {
        "asset_id": f"text::{scene_id}::{item.obj.id}",
        "object_id": item.obj.id,
        "source": item.source,
        "model_or_library": item.model_or_library,
        "materialization": item.materialization,
        "files": [
            {
                "path": path,
                "gcs_uri": gcs_uri(bucket_name, path) or None,
                "target_key": f"{prefix}/{path}" if prefix else path,
            }
            for path in sorted(item.files)
        ],
    }


def enqueue_replication(
    bucket: Bucket,
    *,
    enabled: bool,
    items: Sequence[Materialized],
    scene_id: str,
    assets_prefix: str,
    bucket_name: str | None,
    queue_prefix: str,
    target: str,
    target_prefix: str,
    now: datetime,
) -> dict[str, Any]:
    if not enabled:
        return {"enabled": False, "queued": False}
    if not queue_prefix.strip("/"):
        return {"enabled": True, "queued": False, "error": "missing_queue_prefix"}
    assets = [replication_asset(i, scene_id, bucket_name, target_prefix) for i in items if i.files]
    key = queue_object_name(queue_prefix, scene_id, now, len(items))
    created = iso_z(now)
    bucket.write_json(
        key,
        {
            "schema_version": "v1",
            "scene_id": scene_id,
            "created_at": created,
            "source_pipeline": SOURCE_PIPELINE,
            "storage_mode": "gcs_hot_with_async_replication",
            "primary_storage": {"provider": "gcs", "bucket": bucket_name or "", "assets_prefix": assets_prefix},
            "replication_target": {"provider": target, "target_prefix": target_prefix.strip("/")},
            "assets": assets,
        },
    )
    bucket.write_json(
        f"{assets_prefix}/{REPLICATION_MARKER}",
        {
            "scene_id": scene_id,
            "queue_object": key,
            "assets_count": len(assets),
            "status": "queued",
            "target": target,
            "timestamp": created,
        },
    )
    return {"enabled": True, "queued": True, "queue_object": key, "assets_count": len(assets), "target": target}
