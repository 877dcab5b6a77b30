"""One adapter run, in the reference's order (§2.5 / §3.10), minus the Stage-2 trigger.

1. object directories → 2. manifest, layout, inventory → 3. ``assets/.text_adapter_complete``
→ 4. rollout state, retrieval report → 5. catalog → 6. embedding queue → 7. replication queue
→ 8. ``textgen/adapter_summary.json`` + ``textgen/.text_adapter_complete``.

Steps 4-7 are bookkeeping for the asset platform: their failures are recorded in the summary
and never fail the scene, as in the reference. Everything before them either succeeds or
fails the job. ``assets/.regen3d_complete`` is written by the workflow from the summary.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket
from bpflow.domain.assets import is_package_ref, resolve_package_ref
from bpflow.domain.retrieval import outputs, queues, rollout
from bpflow.domain.retrieval.ann import AnnIndex
from bpflow.domain.retrieval.asset_catalog import (
    SCENE_OBJECT,
    Catalog,
    CatalogRow,
    memory_library,
    sha256,
    sync_library,
)
from bpflow.domain.retrieval.embeddings import make_embedder
from bpflow.domain.retrieval.errors import AssetUnusable, InvalidTextPackage, MissingStageInput
from bpflow.domain.retrieval.library import LibraryEntry, scan_library
from bpflow.domain.retrieval.materialize import Materialized, Materializer, is_thin_covering
from bpflow.domain.retrieval.planned_package import TextPackage, parse_package
from bpflow.domain.retrieval.select import AnnSearcher, Decision, RetrievalSettings, select_asset
from bpflow.domain.retrieval.settle import settle_on_supports
from bpflow.state.cas_json import iso_z

log = logging.getLogger("bpflow.adapter")

#: Space kept between an object's top and the ceiling when an asset keeps its own proportions (m).
HEADROOM = 0.05


@dataclass(frozen=True)
class AdapterConfig:
    """Everything a run needs, already read from the env (see the job module for the names)."""

    scene_id: str
    bucket_name: str | None
    request_object: str
    textgen_prefix: str
    assets_prefix: str
    layout_prefix: str
    seg_prefix: str
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    requested_mode: str = "ann_shadow"
    retrieval_enabled: bool = True
    library_prefixes: tuple[str, ...] = ("scenes",)
    library_max_files: int = 2500
    cache_enabled: bool = True
    cache_prefix: str = "asset-library/generated-text"
    rollout_prefix: str = "automation/asset_retrieval_rollout"
    rule: rollout.PromotionRule = field(default_factory=rollout.PromotionRule)
    catalog_enabled: bool = True
    database_url: str | None = None
    namespace: str = "assets-v1"
    embedding_backend: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_queue_prefix: str = "automation/asset_embedding/queue"
    replication_enabled: bool = True
    replication_queue_prefix: str = "automation/asset_replication/queue"
    replication_target: str = "backblaze_b2"
    replication_target_prefix: str = "assets"
    soft_repair: bool = False


# -- inputs ------------------------------------------------------------------------------------------


def _read_json(bucket: Bucket, key: str, *, required: bool) -> Any:
    try:
        data = bucket.read(key)
    except ObjectNotFound:
        if required:
            raise MissingStageInput(f"{key} does not exist (did text-scene-gen run?)", field=key) from None
        return None
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidTextPackage(f"{key} is not valid JSON: {exc}", field=key) from None


def load_inputs(bucket: Bucket, cfg: AdapterConfig) -> TextPackage:
    request = _read_json(bucket, cfg.request_object, required=True)
    normalized = _read_json(bucket, f"{cfg.textgen_prefix}/request.normalized.json", required=False)
    package = _read_json(bucket, f"{cfg.textgen_prefix}/package.json", required=True)
    return parse_package(package, normalized if normalized is not None else request, cfg.scene_id)


# -- retrieval set-up ------------------------------------------------------------------------------------


class PathChecker:
    """Whether a library path still exists, asked at most once per path per run."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self._seen: dict[str, bool] = {}

    def __call__(self, path: str) -> bool:
        if path not in self._seen:
            if is_package_ref(path):
                self._seen[path] = resolve_package_ref(path) is not None
            else:
                try:
                    self._seen[path] = self.bucket.stat(path) is not None
                except Exception:  # noqa: BLE001 - an invalid key is a path that does not exist
                    self._seen[path] = False
        return self._seen[path]


def _sidecar_reader(bucket: Bucket) -> Callable[[LibraryEntry], dict[str, Any] | None]:
    def read(entry: LibraryEntry) -> dict[str, Any] | None:
        if not entry.sidecar:
            return None
        try:
            value = bucket.read_json(entry.sidecar)
        except (ObjectNotFound, ValueError):
            return None
        return value if isinstance(value, dict) else None

    return read


def build_searcher(
    bucket: Bucket, cfg: AdapterConfig, entries: list[LibraryEntry], catalog: Catalog | None, catalog_error: str | None
) -> AnnSearcher:
    """Embedder + ANN index over the catalog's library rows; on any failure, a searcher that
    reports why (ANN attempts then record it, the run goes on)."""
    try:
        embedder = make_embedder(cfg.embedding_backend, cfg.embedding_model)
    except Exception as exc:  # noqa: BLE001 - reported per decision as ann_error
        return AnnSearcher(None, None, f"embedder_unavailable:{exc}")
    reader = _sidecar_reader(bucket)
    try:
        if cfg.catalog_enabled:
            if catalog is None:
                return AnnSearcher(embedder, None, f"catalog_unavailable:{catalog_error}")
            rows = sync_library(catalog, entries, embedder, cfg.namespace, reader)
        else:
            rows = memory_library(entries, embedder, cfg.namespace, reader)
    except Exception as exc:  # noqa: BLE001 - a database outage costs ANN, not the scene
        log.warning("catalog sync failed: %s", exc)
        return AnnSearcher(embedder, None, f"catalog_unavailable:{exc}")
    # Both library readers return embedded rows only (AnnIndex checks one vector per row).
    vectors = (
        np.stack([r.embedding for r in rows if r.embedding is not None])
        if rows
        else np.zeros((0, embedder.dimension), np.float32)
    )
    return AnnSearcher(embedder, AnnIndex(rows, vectors))


# -- the run -------------------------------------------------------------------------------------------


def materialize_all(
    pkg: TextPackage,
    cfg: AdapterConfig,
    materializer: Materializer,
    entries: list[LibraryEntry],
    searcher: AnnSearcher | None,
    exists: PathChecker,
) -> tuple[list[Materialized], list[Decision]]:
    items: list[Materialized] = []
    decisions: list[Decision] = []
    used: set[str] = set()
    for obj in pkg.objects:
        if is_thin_covering(obj):
            items.append(materializer.thin_covering(obj))
            continue
        if not cfg.retrieval_enabled:
            items.append(materializer.placeholder(obj, None, "retrieval_disabled"))
            continue
        decision = select_asset(obj, pkg.room_type, entries, searcher, cfg.retrieval, used, exists)
        decisions.append(decision)
        if decision.selected is not None:
            try:
                item = materializer.retrieved(obj, decision, decision.selected)
            except AssetUnusable as exc:
                log.warning("object %s: %s; using a placeholder", obj.id, exc)
                items.append(materializer.placeholder(obj, decision, "retrieved_asset_unusable"))
                continue
            used.add(decision.selected.path)
            items.append(item)
        else:
            items.append(materializer.placeholder(obj, decision))
    return items, decisions


def leave_out(bucket: Bucket, items: list[Materialized], dropped: set[str]) -> list[Materialized]:
    """``items`` without the dropped objects, whose object directories are deleted: every later
    output (manifest, layout, inventory, catalog, queues, the Stage-2 marker's count) and every
    later stage then sees one consistent object list."""
    kept = []
    for item in items:
        if item.obj.id not in dropped:
            kept.append(item)
            continue
        for key in item.files:
            bucket.delete(key)
    return kept


def publish_catalog(
    catalog: Catalog | None, catalog_error: str | None, cfg: AdapterConfig, pkg: TextPackage, items: list[Materialized]
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "enabled": cfg.catalog_enabled,
        "assets_upserted": 0,
        "scene_upserted": False,
        "assets_collection": "bpflow_asset_catalog",
        "scenes_collection": "bpflow_scene_catalog",
        "assets": [],
    }
    if not cfg.catalog_enabled:
        return status
    if catalog is None:
        return {**status, "error": f"catalog_unavailable:{catalog_error}"}
    rows = []
    for item in items:
        entry = queues.embedding_asset(item, cfg.scene_id, cfg.bucket_name, cfg.embedding_model, pkg.prompt)
        rows.append(
            CatalogRow(
                asset_id=entry["asset_id"],
                namespace=cfg.namespace,
                kind=SCENE_OBJECT,
                path=item.model_key,
                category=entry["class_name"],
                tags=tuple(t for t in entry["tags"] if t),
                description=item.obj.description,
                dims=entry["dimensions"],
                license=item.license,
                sim_roles=tuple(entry["sim_roles"]),
                source=entry["source"],
                descriptor=entry["descriptor_text"],
                descriptor_hash=sha256(entry["descriptor_text"]),
                extra={
                    "scene_id": cfg.scene_id,
                    "object_id": item.obj.id,
                    "asset_strategy": item.obj.asset_strategy,
                    "materialization": item.materialization,
                    "source_path": item.source_path,
                    "model_or_library": item.model_or_library,
                    "library_asset_id": item.library_asset_id,
                    "generation_tier": pkg.quality_tier,
                    "provider": pkg.provider_used,
                    "seed": pkg.seed,
                    "gcs_uri": entry["gcs_uri"],
                    "source_pipeline": outputs.SOURCE_PIPELINE,
                },
            )
        )
    try:
        catalog.upsert(rows, keep_embedding_if_same_descriptor=True)
        status.update(assets_upserted=len(rows), assets=[r.asset_id for r in rows])
        catalog.upsert_scene(
            cfg.scene_id,
            cfg.assets_prefix,
            [r.asset_id for r in rows],
            pkg.prompt,
            {
                "source_type": "text",
                "room_type": pkg.room_type,
                "seed": pkg.seed,
                "quality_tier": pkg.quality_tier,
                "provider": pkg.provider_used,
                "text_backend": pkg.text_backend,
            },
        )
        status["scene_upserted"] = True
    except Exception as exc:  # noqa: BLE001 - reference: catalog write errors are logged, not fatal
        log.warning("catalog publish failed: %s", exc)
        status["error"] = f"asset_catalog_write_failed:{exc}"
    return status


def run_adapter(bucket: Bucket, cfg: AdapterConfig, *, now: Callable[[], datetime] | None = None) -> dict[str, Any]:
    """Adapt one scene; returns the summary it wrote to ``textgen/adapter_summary.json``."""
    clock = now or (lambda: datetime.now(UTC))
    pkg = load_inputs(bucket, cfg)
    mode = rollout.read_mode(bucket, cfg.rollout_prefix, cfg.requested_mode)
    settings = replace(cfg.retrieval, mode=mode)
    cfg = replace(cfg, retrieval=settings)
    entries = scan_library(
        bucket,
        prefixes=cfg.library_prefixes,
        cache_prefix=cfg.cache_prefix if cfg.cache_enabled else None,
        max_files=cfg.library_max_files,
        enabled=cfg.retrieval_enabled,
    )
    catalog: Catalog | None = None
    catalog_error: str | None = None
    if cfg.catalog_enabled and cfg.database_url:
        try:
            catalog = Catalog.open(cfg.database_url)
        except Exception as exc:  # noqa: BLE001 - the catalog is optional for the scene
            catalog_error = str(exc)
            log.warning("catalog unavailable: %s", exc)
    elif cfg.catalog_enabled:
        catalog_error = "no database configured"
    try:
        searcher = None
        if cfg.retrieval_enabled and settings.ann_enabled and mode in ("ann_shadow", "ann_primary"):
            searcher = build_searcher(bucket, cfg, entries, catalog, catalog_error)
        exists = PathChecker(bucket)
        with tempfile.TemporaryDirectory(prefix="bpflow-adapter-") as tmp:
            room_height = float(pkg.room_box["max"][1]) - float(pkg.room_box["min"][1])
            materializer = Materializer(
                bucket,
                cfg.assets_prefix,
                pkg.room_type,
                Path(tmp),
                soft_repair=cfg.soft_repair,
                max_height=room_height - HEADROOM,
            )
            items, decisions = materialize_all(pkg, cfg, materializer, entries, searcher, exists)
            settlement = settle_on_supports(
                items, lambda item: Path(tmp) / f"obj_{item.obj.id}" / "model.usd", pkg.room_box, pkg.keep_clear
            )
            items = leave_out(bucket, items, settlement.dropped_ids)
        provenance = [item.provenance(cfg.scene_id) for item in items]
        manifest_key = f"{cfg.assets_prefix}/{outputs.MANIFEST_NAME}"
        layout_key = f"{cfg.layout_prefix}/{outputs.LAYOUT_NAME}"
        inventory_key = f"{cfg.seg_prefix}/{outputs.INVENTORY_NAME}"
        bucket.write_json(manifest_key, outputs.manifest(pkg, items, provenance))
        bucket.write_json(layout_key, outputs.layout(pkg, items))
        bucket.write_json(inventory_key, outputs.inventory(pkg, items))
        bucket.write_json(
            f"{cfg.assets_prefix}/{outputs.ADAPTER_MARKER}", {"scene_id": cfg.scene_id, "status": "completed"}
        )

        try:
            rollout_status = rollout.record_run(bucket, cfg.rollout_prefix, decisions, cfg.requested_mode, cfg.rule)
        except Exception as exc:  # noqa: BLE001 - reference §3.10: rollout failures are reported, not raised
            log.warning("rollout update failed: %s", exc)
            rollout_status = {"error": f"rollout_update_failed:{exc}"}
        report_key = f"{cfg.assets_prefix}/{outputs.REPORT_NAME}"
        report = outputs.retrieval_report(cfg.scene_id, mode, decisions, len(entries), rollout_status)
        bucket.write_json(report_key, report)

        catalog_status = publish_catalog(catalog, catalog_error, cfg, pkg, items)
        stamp = clock()
        embedding_status = queues.enqueue_embedding(
            bucket,
            enabled=settings.ann_enabled,
            catalog_assets=catalog_status["assets"],
            items=items,
            scene_id=cfg.scene_id,
            assets_prefix=cfg.assets_prefix,
            bucket_name=cfg.bucket_name,
            model=cfg.embedding_model,
            prompt=pkg.prompt,
            queue_prefix=cfg.embedding_queue_prefix,
            now=stamp,
        )
        replication_status = queues.enqueue_replication(
            bucket,
            enabled=cfg.replication_enabled,
            items=items,
            scene_id=cfg.scene_id,
            assets_prefix=cfg.assets_prefix,
            bucket_name=cfg.bucket_name,
            queue_prefix=cfg.replication_queue_prefix,
            target=cfg.replication_target,
            target_prefix=cfg.replication_target_prefix,
            now=stamp,
        )
    finally:
        if catalog is not None:
            catalog.close()

    summary = {
        "scene_id": cfg.scene_id,
        "status": "completed",
        "bucket": cfg.bucket_name,
        "request_object": cfg.request_object,
        "textgen_prefix": cfg.textgen_prefix,
        "assets_prefix": cfg.assets_prefix,
        "layout_prefix": cfg.layout_prefix,
        "seg_prefix": cfg.seg_prefix,
        "outputs": {
            "scene_id": cfg.scene_id,
            "objects_count": len(items),
            "manifest_path": manifest_key,
            "layout_path": layout_key,
            "inventory_path": inventory_key,
            "completion_marker": f"{cfg.assets_prefix}/{outputs.STAGE1_MARKER}",
            "asset_retrieval_report": report_key,
            "retrieval_mode": mode,
            "method_counts": report["method_counts"],
            "rollout": rollout_status,
            "catalog": {k: v for k, v in catalog_status.items() if k != "assets"}
            | {"assets_count": len(catalog_status["assets"])},
            "embedding": embedding_status,
            "replication": replication_status,
            "settled_on_supports": [s.to_dict() for s in settlement.moved],
            "dropped_objects": [d.to_dict() for d in settlement.dropped],
            "relationships_removed": settlement.relationships_removed,
        },
        "regen3d_marker": outputs.stage1_marker(pkg, len(items)),
        "completed_at": iso_z(clock()),
    }
    bucket.write_json(f"{cfg.textgen_prefix}/{outputs.SUMMARY_NAME}", summary)
    bucket.write_json(f"{cfg.textgen_prefix}/{outputs.ADAPTER_MARKER}", summary)
    return summary
