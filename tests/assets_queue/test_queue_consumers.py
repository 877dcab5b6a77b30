"""The two asset queues on the real runtime: claimed once, filed under processed/ or failed/.

Objects are written to a real directory bucket; the runtime's own dispatcher starts one run per
object event, and duplicates are delivered on purpose (the same event again, and an event with
another generation of the same object).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.assets_queue.queue import QueuePaths, claim, finish, pending
from bpflow.domain.retrieval.asset_catalog import Catalog
from tests.conftest import wait_until

EMB = QueuePaths.of("automation/asset_embedding/queue")
REP = QueuePaths.of("automation/asset_replication/queue")
WORDS = ["mug", "kettle", "chair", "lamp", "bottle", "plate", "bowl", "book", "vase", "box"]


def embedding_item(i: int, n_assets: int = 2) -> dict[str, Any]:
    assets = []
    for j in range(n_assets):
        word = WORDS[(i + j) % len(WORDS)]
        assets.append(
            {
                "asset_id": f"text::scene{i:03d}::obj{j}",
                "descriptor_text": f"{word} on a kitchen counter {i} {j}",
                "class_name": word,
                "sim_roles": ["manipulable_object"],
                "tags": [word],
                "usd_path": f"scenes/scene{i:03d}/assets/obj{j}/model.usd",
                "source": "text_retrieved",
            }
        )
    return {"schema_version": "v1", "scene_id": f"scene{i:03d}", "assets": assets}


def job_log_records(rt: Any, job: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for log in (Path(rt.settings.home) / "logs" / "jobs").glob(f"{job}-*.log"):
        out += [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return out


def finished_runs(workflow: str) -> list[Any]:
    return [w for w in DBOS.list_workflows(name=workflow) if w.status in ("SUCCESS", "ERROR")]


# -- unit: the claim ---------------------------------------------------------------------------------
def test_a_claim_is_taken_once_and_a_finished_item_cannot_be_claimed_again(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path)
    key = f"{EMB.queue}/a.json"
    b.write_json(key, {"assets": []})
    first = claim(b, EMB, key, owner="run-1", workflow="w", ttl_seconds=60)
    assert first is not None
    assert claim(b, EMB, key, owner="run-2", workflow="w", ttl_seconds=60) is None
    finish(b, EMB, key, first, {"result": {"errors": []}}, ok=True)
    assert not b.exists(key) and not b.exists(EMB.claim_key(key))
    assert b.read_json(f"{EMB.processed}/a.json")["status"] == "succeeded"
    assert claim(b, EMB, key, owner="run-3", workflow="w", ttl_seconds=60) is None  # gone: nothing to claim
    assert pending(b, EMB, 10) == []


def test_an_expired_claim_of_a_dead_consumer_is_taken_over(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path)
    key = f"{EMB.queue}/b.json"
    b.write_json(key, {"assets": []})
    assert claim(b, EMB, key, owner="dead", workflow="w", ttl_seconds=-1) is not None
    assert claim(b, EMB, key, owner="next", workflow="w", ttl_seconds=60) is not None


# -- embedding on the real runtime ---------------------------------------------------------------------
@pytest.fixture
def embedding_rt(make_runtime: Any) -> Any:
    return make_runtime(ENABLE_ASSET_EMBEDDING="true", TEXT_ASSET_EMBEDDING_BACKEND="local")


#: Queue objects in the duplicate-storm test: five times the runtime's concurrency limit (set to 8,
#: the default, below) is enough to keep every slot busy with runs racing for the same items; the
#: benchmark files 200 objects (``embed_items_per_s``, bench/automation.py).
STORM_ITEMS = 40


@pytest.mark.timeout(1200)  # a load-bound machine must not fail it: timing is measured in bench/
def test_queue_objects_beyond_the_concurrency_limit_with_5x_duplicate_events_are_each_embedded_once(
    make_runtime: Any,
) -> None:
    rt = make_runtime(
        ENABLE_ASSET_EMBEDDING="true", TEXT_ASSET_EMBEDDING_BACKEND="local", BPFLOW_WORKER_CONCURRENCY="8"
    )
    assert STORM_ITEMS >= 5 * rt.settings.bpflow_worker_concurrency
    b = rt.bucket
    keys = [f"{EMB.queue}/20260101T000000Z-scene{i:03d}-{i:010d}.json" for i in range(STORM_ITEMS)]
    bad = keys[17]
    for key, i in zip(keys, range(STORM_ITEMS), strict=True):
        body = embedding_item(i)
        if key == bad:
            body["assets"][0]["usd_path"] = "scenes/scene017/usd/scene.usda"  # not an asset: refused
        info = b.write_json(key, body)
        for _ in range(3):  # the same event again (same generation): attaches to the same run
            rt.dispatcher.submit(ObjectEvent(bucket=b.url, name=key, generation=info.generation, source="test-dup"))
        # a redelivery that looks like a newer version: its own run, stopped by the claim
        rt.dispatcher.submit(
            ObjectEvent(bucket=b.url, name=key, generation=info.generation + 10_000, source="test-dup")
        )

    def all_filed() -> bool:
        return len(list(b.list(EMB.processed + "/"))) + len(list(b.list(EMB.failed + "/"))) == STORM_ITEMS

    wait_until(all_filed, timeout=900, interval=0.5)
    # An event naming a version the bucket never showed, or an object already consumed, is
    # dropped by the dispatcher; the rest settle.
    wait_until(
        lambda: (
            not [w for w in DBOS.list_workflows(name="asset-embedding-pipeline") if w.status in ("PENDING", "ENQUEUED")]
        ),
        timeout=240,
        interval=0.5,
    )
    assert list(b.list(EMB.queue + "/")) == []
    assert list(b.list(EMB.claims + "/")) == []
    processed = Counter(
        r["queue_object"] for r in job_log_records(rt, "asset-embedding-job") if r.get("action") == "item_processed"
    )
    assert set(processed) == set(keys)
    assert max(processed.values()) == 1, [k for k, n in processed.items() if n > 1]

    failed = b.read_json(f"{EMB.failed}/{bad.rsplit('/', 1)[1]}")
    assert failed["status"] == "failed" and failed["queue_object"] == bad
    assert any(e.startswith("path_outside_assets:") for e in failed["result"]["errors"])
    assert len(list(b.list(EMB.failed + "/"))) == 1

    catalog = Catalog.open(rt.settings.database_url)
    try:
        rows = {r.asset_id: r for r in catalog.rows("assets-v1")}
    finally:
        catalog.close()
    assert len(rows) == (STORM_ITEMS - 1) * 2 + 1  # the bad item's good asset is embedded, the refused one is not
    row = rows["text::scene000::obj0"]
    assert row.embedding is not None and row.embedding_model == "bpflow-local-hash-v1"
    assert "text::scene017::obj0" not in rows

    errored = [w for w in finished_runs("asset-embedding-pipeline") if w.status == "ERROR"]
    # At most the bad item's own run fails (none if its event came after a drain consumed it).
    assert len(errored) <= 1 and all(bad in w.workflow_id for w in errored)


def test_a_queue_object_that_is_not_json_is_filed_as_failed_and_nothing_else_moves(embedding_rt: Any) -> None:
    rt = embedding_rt
    b = rt.bucket
    b.write("scenes/keep/assets/obj/model.usd", b"#usda 1.0\n")
    key = f"{EMB.queue}/broken.json"
    b.write(key, b"{not json")
    wait_until(lambda: b.exists(f"{EMB.failed}/broken.json"), timeout=120)
    result = b.read_json(f"{EMB.failed}/broken.json")
    assert result["result"]["errors"][0].startswith("invalid_json:")
    wait_until(lambda: finished_runs("asset-embedding-pipeline"), timeout=60)
    assert not b.exists(key)
    assert b.read("scenes/keep/assets/obj/model.usd") == b"#usda 1.0\n"


def test_objects_outside_the_queue_folder_do_not_start_the_consumer(embedding_rt: Any) -> None:
    rt = embedding_rt
    out = rt.dispatcher.dispatch_object(ObjectEvent(bucket=rt.bucket.url, name=f"{EMB.processed}/x.json", generation=1))
    assert out.run_ids == []


# -- replication ---------------------------------------------------------------------------------------
def replication_item(scene: str, objects: list[str], prefix: str = "assets") -> dict[str, Any]:
    assets = []
    for obj in objects:
        files = [f"scenes/{scene}/assets/{obj}/model.usd", f"scenes/{scene}/assets/{obj}/metadata.json"]
        assets.append(
            {
                "asset_id": f"text::{scene}::{obj}",
                "object_id": obj,
                "files": [{"path": p, "target_key": f"{prefix}/{p}"} for p in files],
            }
        )
    return {"schema_version": "v1", "scene_id": scene, "assets": assets}


def _write_assets(b: Any, scene: str, objects: list[str]) -> dict[str, bytes]:
    written = {}
    for n, obj in enumerate(objects):
        for name, data in (
            ("model.usd", f"#usda 1.0\n# {scene}/{obj}\n".encode() * (n + 1)),
            ("metadata.json", json.dumps({"object": obj}).encode()),
        ):
            key = f"scenes/{scene}/assets/{obj}/{name}"
            b.write(key, data)
            written[key] = data
    return written


@pytest.mark.services
@pytest.mark.parametrize("kind", ["s3", "gcs", "local"])
def test_50_assets_are_replicated_with_every_checksum_verified(kind: str, make_runtime: Any, make_bucket: Any) -> None:
    target = make_bucket(kind)
    target_url = target.url
    env = {"ENABLE_ASSET_REPLICATION": "true", "ASSET_REPLICATION_TARGET": target_url}
    if kind == "s3":
        env["BPFLOW_S3_ENDPOINT_URL"] = target.endpoint_url  # type: ignore[attr-defined]
        env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"})
    if kind == "gcs":
        env["STORAGE_EMULATOR_HOST"] = target.endpoint_url  # type: ignore[attr-defined]
    rt = make_runtime(**env)
    b = rt.bucket
    written: dict[str, bytes] = {}
    keys = []
    for s in range(10):  # 10 queue objects x 5 assets = 50 assets (100 files)
        scene, objects = f"rep{s:02d}", [f"obj{j}" for j in range(5)]
        written.update(_write_assets(b, scene, objects))
        key = f"{REP.queue}/20260101T000000Z-{scene}-{s:010d}.json"
        keys.append(key)
        b.write_json(key, replication_item(scene, objects))
    wait_until(
        lambda: len(list(b.list(REP.processed + "/"))) + len(list(b.list(REP.failed + "/"))) == 10,
        timeout=300,
        interval=0.5,
    )
    assert list(b.list(REP.failed + "/")) == []
    verified = 0
    for key in keys:
        result = b.read_json(f"{REP.processed}/{key.rsplit('/', 1)[1]}")["result"]
        assert result["errors"] == [] and result["uploaded"] == result["verified"] == 10
        verified += result["verified"]
        for f in result["files"]:
            assert target.read(f["target_key"]) == written[f["path"]]
    assert verified == 100
    assert sorted(i.key for i in target.list("assets/")) == sorted(f"assets/{k}" for k in written)


def test_a_replication_item_naming_a_path_outside_assets_copies_nothing(tmp_path: Path, make_runtime: Any) -> None:
    target_dir = tmp_path / "replica"
    rt = make_runtime(ENABLE_ASSET_REPLICATION="true", ASSET_REPLICATION_TARGET=str(target_dir))
    b = rt.bucket
    _write_assets(b, "evil", ["obj0"])
    b.write("scenes/evil/usd/scene.usda", b"secret")
    body = replication_item("evil", ["obj0"])
    body["assets"][0]["files"].append({"path": "scenes/evil/usd/scene.usda", "target_key": "assets/stolen.usda"})
    body["assets"][0]["files"].append({"path": "scenes/evil/assets/../usd/scene.usda", "target_key": "x"})
    key = f"{REP.queue}/evil.json"
    b.write_json(key, body)
    wait_until(lambda: b.exists(f"{REP.failed}/evil.json"), timeout=120)
    errors = b.read_json(f"{REP.failed}/evil.json")["result"]["errors"]
    assert "path_outside_assets:scenes/evil/usd/scene.usda" in errors
    assert any(e.startswith("invalid_path:") for e in errors)
    assert not target_dir.exists() or not any(p.is_file() for p in target_dir.rglob("*"))
    wait_until(lambda: finished_runs("asset-replication-pipeline"), timeout=60)
    run = finished_runs("asset-replication-pipeline")[0]
    assert run.status == "ERROR"


def test_the_minilm_consumer_writes_vectors_the_retrieval_finds_by_meaning(make_runtime: Any) -> None:
    """The real MiniLM model (offline) through the queue: the catalog's vectors rank a paraphrase first."""
    from bpflow.domain.retrieval.ann import AnnIndex
    from bpflow.domain.retrieval.embeddings import MiniLMEmbedder

    rt = make_runtime(ENABLE_ASSET_EMBEDDING="true", TEXT_ASSET_EMBEDDING_BACKEND="minilm", HF_HUB_OFFLINE="1")
    b = rt.bucket
    texts = {
        "mug": "a ceramic coffee mug with a handle",
        "fridge": "a tall steel refrigerator with two doors",
        "sofa": "a soft three seat couch for the living room",
        "plant": "a green potted houseplant",
    }
    assets = [
        {
            "asset_id": f"text::sem::{k}",
            "descriptor_text": v,
            "class_name": k,
            "usd_path": f"scenes/sem/assets/{k}/model.usd",
        }
        for k, v in texts.items()
    ]
    b.write_json(f"{EMB.queue}/sem.json", {"scene_id": "sem", "assets": assets})
    wait_until(lambda: b.exists(f"{EMB.processed}/sem.json") or b.exists(f"{EMB.failed}/sem.json"), timeout=300)
    assert b.read_json(f"{EMB.processed}/sem.json")["result"]["upserted"] == 4
    catalog = Catalog.open(rt.settings.database_url)
    try:
        rows = [r for r in catalog.rows("assets-v1") if r.asset_id.startswith("text::sem::")]
    finally:
        catalog.close()
    assert {r.embedding_model for r in rows} == {"all-MiniLM-L6-v2"} and all(r.embedding.shape == (384,) for r in rows)
    import numpy as np

    index = AnnIndex(rows, np.stack([r.embedding for r in rows]))
    embedder = MiniLMEmbedder()
    for query, expected in (
        ("a cup for drinking tea", "mug"),
        ("a fridge to keep food cold", "fridge"),
        ("somewhere comfortable to sit", "sofa"),
        ("a flower in a pot", "plant"),
    ):
        (best, _score), *_ = index.search(embedder.embed([query])[0], 1)
        assert best.asset_id == f"text::sem::{expected}", query


def test_an_item_claimed_by_a_consumer_that_died_is_taken_over_and_processed_once(embedding_rt: Any) -> None:
    """A worker killed mid-item leaves its claim and the queue object; once the claim has
    expired, the next event for the object processes it (exactly once)."""
    rt = embedding_rt
    b = rt.bucket
    key = f"{EMB.queue}/orphan.json"
    b.write_json(EMB.claim_key(key), {"run_id": "killed-worker", "expires_at": 1.0})  # long expired
    b.write_json(key, embedding_item(7))
    wait_until(lambda: b.exists(f"{EMB.processed}/orphan.json"), timeout=120)
    # the result is filed first, then the queue object removed, then the claim released:
    # both are gone once the run has finished (and the job's log is whole by then too)
    wait_until(lambda: [w for w in finished_runs("asset-embedding-pipeline") if w.status == "SUCCESS"], timeout=60)
    assert not b.exists(EMB.claim_key(key)) and not b.exists(key)
    records = [
        r
        for r in job_log_records(rt, "asset-embedding-job")
        if r.get("queue_object") == key and r.get("action") == "item_processed"
    ]
    assert len(records) == 1
