"""The per-item processors without the runtime: the reference's result shapes and quirks decided."""

from __future__ import annotations

from pathlib import Path

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.assets_queue.embedding import embed_item
from bpflow.domain.assets_queue.replication import replicate_item
from bpflow.domain.retrieval.asset_catalog import Catalog
from bpflow.domain.retrieval.embeddings import LocalHashEmbedder


def test_replication_refuses_a_malformed_item_whole_and_reports_missing_files(tmp_path: Path) -> None:
    src, dst = LocalBucket(tmp_path / "a"), LocalBucket(tmp_path / "b")
    src.write("scenes/s/assets/o/model.usd", b"usd")
    ok = {"path": "scenes/s/assets/o/model.usd", "target_key": "assets/scenes/s/assets/o/model.usd"}
    # quirk 9: a non-object asset entry aborted the reference's whole run; here it fails its item only
    bad = replicate_item({"assets": ["oops", {"files": [ok]}]}, source=src, target=dst, target_url="x", dry_run=False)
    assert bad["errors"] == ["invalid_asset_entry"] and bad["uploaded"] == 0 and list(dst.list("")) == []
    assert replicate_item({"assets": "no"}, source=src, target=dst, target_url="x", dry_run=False)["errors"] == [
        "invalid_assets_payload"
    ]
    missing = {"path": "scenes/s/assets/o/gone.usd"}
    res = replicate_item(
        {"assets": [{"files": [ok, missing, {"path": ""}]}]}, source=src, target=dst, target_url="x", dry_run=False
    )
    assert (
        res["uploaded"] == res["verified"] == 1
        and res["skipped"] == 1
        and res["errors"] == ["missing_file:scenes/s/assets/o/gone.usd"]
    )
    import hashlib

    assert res["files"][0]["sha256"] == hashlib.sha256(b"usd").hexdigest()
    dry = replicate_item(
        {"assets": [{"files": [ok]}]}, source=src, target=LocalBucket(tmp_path / "c"), target_url="x", dry_run=True
    )
    assert dry["uploaded"] == 1 and not (tmp_path / "c" / "assets").exists()


def test_embedding_dedupes_within_an_item_and_skips_what_is_already_embedded(tmp_path: Path) -> None:
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'cat.sqlite'}")
    try:
        entry = {
            "asset_id": "text::s::mug",
            "descriptor_text": "a blue mug",
            "usd_path": "scenes/s/assets/mug/model.usd",
        }
        body = {"assets": [entry, dict(entry), {"asset_id": "", "descriptor_text": "x"}, "not an object"]}
        first = embed_item(
            body,
            queue_object="q/a.json",
            catalog=catalog,
            embedder=LocalHashEmbedder(),
            namespace="ns",
            batch_size=8,
            dry_run=False,
        )
        assert (first["processed"], first["upserted"], first["skipped"], first["errors"]) == (3, 1, 2, [])
        again = embed_item(
            {"assets": [entry]},
            queue_object="q/b.json",
            catalog=catalog,
            embedder=LocalHashEmbedder(),
            namespace="ns",
            batch_size=8,
            dry_run=False,
        )
        assert again["upserted"] == 0 and again["skipped"] == 1  # same model, same descriptor: nothing to do
        assert embed_item(
            {"assets": []},
            queue_object="q",
            catalog=catalog,
            embedder=LocalHashEmbedder(),
            namespace="ns",
            batch_size=8,
            dry_run=False,
        )["errors"] == ["invalid_assets_payload"]
    finally:
        catalog.close()
