"""Embedding and replication queue objects, in the maintenance spec's formats (§2.2, §2.5)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.materialize import Materialized, Materializer
from bpflow.domain.retrieval.planned_package import parse_object
from bpflow.domain.retrieval.queues import enqueue_embedding, enqueue_replication, queue_object_name

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ASSETS = "scenes/s1/assets"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[LocalBucket, list[Materialized]]:
    bucket = LocalBucket(tmp_path / "bucket")
    m = Materializer(bucket, ASSETS, "kitchen", tmp_path / "work")
    mug = parse_object(
        {
            "id": "obj_001",
            "name": "mug",
            "category": "mug",
            "description": "mug generated from text prompt",
            "dimensions_est": {"width": 0.08, "height": 0.1, "depth": 0.08},
        },
        0,
    )
    rug = parse_object({"id": "obj_002", "name": "rug", "category": "rug", "sim_role": "static"}, 1)
    return bucket, [m.placeholder(mug, None), m.thin_covering(rug)]


def test_queue_object_name() -> None:
    name = queue_object_name("automation/asset_embedding/queue/", "s1", NOW, 2)
    assert name == f"automation/asset_embedding/queue/20260304T050607Z-s1-{sha('s1|20260304T050607Z|2')[:10]}.json"
    assert re.fullmatch(r"automation/asset_embedding/queue/\d{8}T\d{6}Z-s1-[0-9a-f]{10}\.json", name)


def test_embedding_request(setup: tuple[LocalBucket, list[Materialized]]) -> None:
    bucket, items = setup
    status = enqueue_embedding(
        bucket,
        enabled=True,
        catalog_assets=["text::s1::obj_001", "text::s1::obj_002"],
        items=items,
        scene_id="s1",
        assets_prefix=ASSETS,
        bucket_name="b1",
        model="text-embedding-3-small",
        prompt="a kitchen",
        queue_prefix="automation/asset_embedding/queue",
        now=NOW,
    )
    assert status["queued"] and status["assets_count"] == 2
    body = bucket.read_json(status["queue_object"])
    assert {
        k: body[k] for k in ("schema_version", "scene_id", "embedding_model", "source_pipeline", "assets_prefix")
    } == {
        "schema_version": "v1",
        "scene_id": "s1",
        "embedding_model": "text-embedding-3-small",
        "source_pipeline": "text-scene-adapter-job",
        "assets_prefix": ASSETS,
    }
    mug = body["assets"][0]
    descriptor = "mug mug generated from text prompt manipulable_object mug mug a kitchen"
    assert mug == {
        "asset_id": "text::s1::obj_001",
        "descriptor_text": descriptor,
        "descriptor_hash": sha(descriptor),
        "idempotency_key": sha(f"text::s1::obj_001|text-embedding-3-small|{sha(descriptor)}"),
        "class_name": "mug",
        "sim_roles": ["manipulable_object"],
        "usd_path": f"{ASSETS}/obj_obj_001/model.usd",
        "gcs_uri": f"gs://b1/{ASSETS}/obj_obj_001/model.usd",
        "source": "text_generated",
        "tags": ["mug", "mug"],
        "dimensions": {"width": 0.08, "height": 0.1, "depth": 0.08},
    }
    marker = bucket.read_json(f"{ASSETS}/.asset_embedding_enqueued")
    assert marker["queue_object"] == status["queue_object"] and marker["status"] == "queued"
    assert marker["assets_count"] == 2 and marker["embedding_model"] == "text-embedding-3-small"


def test_embedding_request_outcomes(setup: tuple[LocalBucket, list[Materialized]]) -> None:
    bucket, items = setup
    common = dict(items=items, scene_id="s1", assets_prefix=ASSETS, bucket_name=None, model="m", prompt="p", now=NOW)
    assert enqueue_embedding(bucket, enabled=False, catalog_assets=["x"], queue_prefix="q", **common) == {
        "enabled": False,
        "queued": False,
    }
    assert (
        enqueue_embedding(bucket, enabled=True, catalog_assets=[], queue_prefix="q", **common)["error"]
        == "no_catalog_assets"
    )
    assert (
        enqueue_embedding(bucket, enabled=True, catalog_assets=["x"], queue_prefix="/", **common)["error"]
        == "missing_queue_prefix"
    )
    assert (
        enqueue_embedding(bucket, enabled=True, catalog_assets=["x"], queue_prefix="q", **common)["error"]
        == "no_valid_assets"
    )
    assert not list(bucket.list("q/"))


def test_replication_request(setup: tuple[LocalBucket, list[Materialized]]) -> None:
    bucket, items = setup
    status = enqueue_replication(
        bucket,
        enabled=True,
        items=items,
        scene_id="s1",
        assets_prefix=ASSETS,
        bucket_name=None,
        queue_prefix="automation/asset_replication/queue",
        target="backblaze_b2",
        target_prefix="/assets/",
        now=NOW,
    )
    assert status == {
        "enabled": True,
        "queued": True,
        "queue_object": status["queue_object"],
        "assets_count": 2,
        "target": "backblaze_b2",
    }
    body = bucket.read_json(status["queue_object"])
    assert body["storage_mode"] == "gcs_hot_with_async_replication"
    assert body["primary_storage"] == {"provider": "gcs", "bucket": "", "assets_prefix": ASSETS}
    assert body["replication_target"] == {"provider": "backblaze_b2", "target_prefix": "assets"}
    mug = body["assets"][0]
    assert (mug["asset_id"], mug["object_id"], mug["materialization"]) == (
        "text::s1::obj_001",
        "obj_001",
        "placeholder_usd",
    )
    assert mug["files"] == [
        {
            "path": f"{ASSETS}/obj_obj_001/metadata.json",
            "gcs_uri": None,
            "target_key": f"assets/{ASSETS}/obj_obj_001/metadata.json",
        },
        {
            "path": f"{ASSETS}/obj_obj_001/model.usd",
            "gcs_uri": None,
            "target_key": f"assets/{ASSETS}/obj_obj_001/model.usd",
        },
    ]
    assert body["assets"][1]["materialization"] == "thin_covering_usd"  # replicated too (decision)
    assert bucket.read_json(f"{ASSETS}/.asset_replication_enqueued")["target"] == "backblaze_b2"
    assert enqueue_replication(
        bucket,
        enabled=False,
        items=items,
        scene_id="s1",
        assets_prefix=ASSETS,
        bucket_name=None,
        queue_prefix="q",
        target="t",
        target_prefix="",
        now=NOW,
    ) == {"enabled": False, "queued": False}
