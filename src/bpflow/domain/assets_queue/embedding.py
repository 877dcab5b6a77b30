"""Embed one queue item's assets into the catalog the retrieval searches.

The catalog (``adapter/catalog.py``) is bpflow's vector store: a row per (namespace, asset id)
with its vector. Upserting by asset id makes re-embedding idempotent across items (reference
§2.4: the deterministic vector id); within one item a repeated idempotency key is skipped. A
row that already holds a vector of this model for the same descriptor is left alone and
counted as skipped, so replaying a queue object costs nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from bpflow.domain.assets_queue.paths import asset_path_error
from bpflow.domain.retrieval.asset_catalog import SCENE_OBJECT, Catalog, CatalogRow
from bpflow.domain.retrieval.embeddings import Embedder


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _dims(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict):
        return None
    try:
        return {k: float(value[k]) for k in ("width", "height", "depth")}
    except (KeyError, TypeError, ValueError):
        return None


def plan_entries(body: dict[str, Any], model: str) -> tuple[list[dict[str, Any]], int, list[str]]:
    """The entries to embed, how many were skipped, and per-entry errors (bad paths)."""
    assets = body.get("assets")
    if not isinstance(assets, list) or not any(isinstance(a, dict) for a in assets):
        return [], 0, ["invalid_assets_payload"]
    todo: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = 0
    errors: list[str] = []
    for entry in (a for a in assets if isinstance(a, dict)):
        asset_id = str(entry.get("asset_id") or "").strip()
        text = str(entry.get("descriptor_text") or "").strip()
        if not asset_id or not text:
            skipped += 1
            continue
        usd_path = entry.get("usd_path")
        if usd_path not in (None, ""):
            bad = asset_path_error(usd_path)
            if bad:
                errors.append(f"{bad}:{asset_id}:{usd_path}")
                continue
        digest = str(entry.get("descriptor_hash") or "") or _sha(text)
        key = str(entry.get("idempotency_key") or "") or _sha(f"{asset_id}|{model}|{digest}")
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        todo.append({**entry, "asset_id": asset_id, "descriptor_text": text, "descriptor_hash": digest})
    return todo, skipped, errors


def _row(entry: dict[str, Any], namespace: str, queue_object: str) -> CatalogRow:
    return CatalogRow(
        asset_id=entry["asset_id"],
        namespace=namespace,
        kind=SCENE_OBJECT,
        path=str(entry.get("usd_path") or ""),
        category=str(entry.get("class_name") or "object"),
        tags=_strs(entry.get("tags")),
        sim_roles=_strs(entry.get("sim_roles")),
        source=str(entry.get("source") or ""),
        dims=_dims(entry.get("dimensions")),
        descriptor=entry["descriptor_text"],
        descriptor_hash=entry["descriptor_hash"],
        extra={"queue_object": queue_object, "gcs_uri": entry.get("gcs_uri") or ""},
    )


def embed_item(
    body: dict[str, Any],
    *,
    queue_object: str,
    catalog: Catalog,
    embedder: Embedder,
    namespace: str,
    batch_size: int,
    dry_run: bool,
) -> dict[str, Any]:
    """Process one queue item; the result dict of the reference's result object."""
    entries, skipped, errors = plan_entries(body, embedder.model)
    processed = (
        sum(1 for a in body.get("assets") or [] if isinstance(a, dict)) if isinstance(body.get("assets"), list) else 0
    )
    upserted = 0
    fresh: list[dict[str, Any]] = []
    known: set[str] = set()
    for entry in entries:
        existing = catalog.get(namespace, entry["asset_id"])
        if (
            existing is not None
            and existing.embedding is not None
            and existing.embedding_model == embedder.model
            and existing.descriptor_hash == entry["descriptor_hash"]
        ):
            skipped += 1
            continue
        if existing is not None:
            known.add(entry["asset_id"])
        fresh.append(entry)
    for start in range(0, len(fresh), max(1, batch_size)):
        batch = fresh[start : start + max(1, batch_size)]
        try:
            vectors = embedder.embed([e["descriptor_text"] for e in batch])
        except Exception as exc:  # noqa: BLE001 - one failing batch must not lose the others
            errors.extend(f"embedding_failed:{e['asset_id']}:{exc}" for e in batch)
            continue
        if dry_run:
            upserted += len(batch)
            continue
        try:
            # A row the adapter published keeps its own fields and only gains the vector;
            # an asset the catalog has never seen (a backfill) gets a row from the entry.
            new = [(e, v) for e, v in zip(batch, vectors, strict=True) if e["asset_id"] not in known]
            for e, v in zip(batch, vectors, strict=True):
                if e["asset_id"] in known:
                    upserted += int(catalog.set_embedding(namespace, e["asset_id"], v, embedder.model))
            upserted += catalog.upsert(
                [replace(_row(e, namespace, queue_object), embedding=v, embedding_model=embedder.model) for e, v in new]
            )
        except Exception as exc:  # noqa: BLE001
            errors.append(f"vector_upsert_failed:{exc}")
    return {
        "processed": processed,
        "upserted": upserted,
        "skipped": skipped,
        "errors": errors,
        "provider": "catalog",
        "model": embedder.model,
        "namespace": namespace,
    }
