"""``make bench`` (automation): queue throughput and a 20-scene batch, on the real runtime.

- embed_items_per_s: queue objects (2 assets each) filed per second by the embedding consumer,
  200 objects dropped at once, local hash embedder;
- replicate_items_per_s: queue objects (2 assets, 4 files each) copied and verified per second
  to a second local folder, 100 objects;
- scene_batch_20_wall_s: a 20-scene manifest through scene-batch (max_concurrent 3), offline Stage 1,
  every stage this build has.
Merged into bench/results.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OFFLINE = {
    "TEXT_GEN_USE_LLM": "false",
    "TEXT_ASSET_RETRIEVAL_MODE": "lexical_primary",
    "TEXT_ASSET_GENERATION_ENABLED": "false",
    "TEXT_ASSET_REPLICATION_ENABLED": "false",
    "TEXT_BACKEND_DEFAULT": "internal",
}
PROMPTS = [
    "a kitchen with a fridge, a table and two mugs",
    "an office with a desk, a chair and a monitor",
    "a bedroom with a bed, a nightstand and a lamp",
    "a living room with a sofa, a coffee table and a book",
]


def wait_for(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark timed out")
        time.sleep(0.05)


def filed(bucket: Any, root: str) -> int:
    return sum(1 for _ in bucket.list(f"{root}/processed/")) + sum(1 for _ in bucket.list(f"{root}/failed/"))


def main() -> int:
    only = sys.argv[1] if len(sys.argv) > 1 else "all"  # "queues" skips the (slow) batch
    home = Path(tempfile.mkdtemp(prefix="bpflow-bench-auto-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFLOW_")}
    env.update(
        OFFLINE,
        BPFLOW_HOME=str(home),
        BPFLOW_SCAN_INTERVAL_SECONDS="0",
        BPFLOW_LOG_LEVEL="WARNING",
        ENABLE_ASSET_EMBEDDING="true",
        ENABLE_ASSET_REPLICATION="true",
        TEXT_ASSET_EMBEDDING_BACKEND="local",
        ASSET_REPLICATION_TARGET=str(home / "replica"),
    )
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    from dbos import DBOS

    from bpflow.core.engine.runtime import Runtime

    results: dict[str, Any] = {}
    rt = Runtime(env=env).launch(role="all", watch=False)
    try:
        b = rt.bucket
        n = 200
        t0 = time.perf_counter()
        for i in range(n):
            assets = [
                {
                    "asset_id": f"text::e{i}::o{j}",
                    "descriptor_text": f"{PROMPTS[(i + j) % 4]} object {j}",
                    "usd_path": f"scenes/e{i}/assets/o{j}/model.usd",
                }
                for j in range(2)
            ]
            b.write_json(f"automation/asset_embedding/queue/{i:05d}.json", {"scene_id": f"e{i}", "assets": assets})
        wait_for(lambda: filed(b, "automation/asset_embedding") == n, 900)
        results["embed_items_per_s"] = round(n / (time.perf_counter() - t0), 1)

        n = 100
        for i in range(n):
            for j in range(2):
                for name in ("model.usd", "metadata.json"):
                    b.write(f"scenes/r{i}/assets/o{j}/{name}", f"{i}/{j}/{name}".encode() * 200)
        t0 = time.perf_counter()
        for i in range(n):
            files = [
                {"path": f"scenes/r{i}/assets/o{j}/{name}", "target_key": f"assets/scenes/r{i}/assets/o{j}/{name}"}
                for j in range(2)
                for name in ("model.usd", "metadata.json")
            ]
            b.write_json(
                f"automation/asset_replication/queue/{i:05d}.json", {"scene_id": f"r{i}", "assets": [{"files": files}]}
            )
        wait_for(lambda: filed(b, "automation/asset_replication") == n, 900)
        results["replicate_items_per_s"] = round(n / (time.perf_counter() - t0), 1)
        # Let the runs of the duplicate-free events settle (skips after the work) before going on.
        wait_for(lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"]), 300)

        if only != "queues":
            scenes = [
                {
                    "schema_version": "v1",
                    "scene_id": f"bench_b20_{i:02d}",
                    "source_mode": "text",
                    "text_backend": "internal",
                    "prompt": PROMPTS[i % 4],
                    "quality_tier": "standard",
                    "seed_count": 1,
                }
                for i in range(20)
            ]
            b.write_json("batches/bench20/manifest.json", {"scenes": scenes})
            t0 = time.perf_counter()
            run_id = rt.dispatcher.start_manual(
                "scene-batch", {"manifest_object": "batches/bench20/manifest.json", "poll_seconds": 1}
            ).run_ids[0]
            try:
                DBOS.retrieve_workflow(run_id).get_result()
            except Exception as exc:  # noqa: BLE001 - a failed scene still gives a wall time; the count says so
                print(f"batch ended with an error: {exc}")
            results["scene_batch_20_wall_s"] = round(time.perf_counter() - t0, 1)
            report = b.read_json("batches/bench20/batch_report.json")
            results["scene_batch_20_failed"] = report["failed"]
    finally:
        rt.shutdown()
    out = HERE / "results.json"
    data = json.loads(out.read_text()) if out.exists() else {}
    data.update(results)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    for key in sorted(results):
        print(f"{key:34s} {results[key]}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
