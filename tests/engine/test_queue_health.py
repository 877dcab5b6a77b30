"""Queued work that is not progressing shows: /healthz, `bpflow status` and a metric report queued
and running runs per queue and how long the oldest queued run has waited."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bpflow.api.app import create_app
from bpflow.core.engine.queues import STALL_SECONDS, queue_health
from bpflow.ops.runs import RunReader
from tests.conftest import runtime_env, wait_until
from tests.engine.test_processes import BPFLOW


def test_queue_health_counts_and_flags_a_stall() -> None:
    now = 10_000.0
    rows = [
        ("bpflow-runs", "PENDING", now - 5),
        ("bpflow-runs", "ENQUEUED", now - STALL_SECONDS - 1),
        ("bpflow-runs", "ENQUEUED", now - 2),
        ("bpflow-requests", "PENDING", now - 1),
        ("other-queue", "ENQUEUED", now - 9999),
    ]
    health = {q.queue: q for q in queue_health(rows, now)}
    runs = health["bpflow-runs"]
    assert (runs.queued, runs.running, runs.stalled) == (2, 1, True)
    assert runs.oldest_queued_age_seconds == STALL_SECONDS + 1
    requests = health["bpflow-requests"]
    assert (requests.queued, requests.running, requests.oldest_queued_age_seconds, requests.stalled) == (
        0,
        1,
        None,
        False,
    )
    assert set(health) == {"bpflow-runs", "bpflow-scenes", "bpflow-requests"}


def test_healthz_status_and_metrics_show_queued_work(make_runtime: Any, tmp_path: Path) -> None:
    rt = make_runtime(BPFLOW_WORKER_CONCURRENCY="1")
    for scene in ("held1", "held2"):  # each waits for its release marker: one runs, one queues
        rt.bucket.write_json(f"scenes/{scene}/test/three.json", {})
    reader = RunReader(rt)
    wait_until(
        lambda: [q for q in reader.queue_health() if q.queue == "bpflow-runs" and q.queued == 1 and q.running == 1]
    )

    client = TestClient(create_app(rt), base_url="http://127.0.0.1")  # a loopback Host (DNS-rebinding check)
    body = client.get("/healthz").json()
    runs = body["queues"]["bpflow-runs"]
    assert runs["queued"] == 1 and runs["running"] == 1 and runs["oldest_queued_age_seconds"] >= 0
    assert body["status"] == "ok" and runs["stalled"] is False
    metrics = client.get("/metrics").text
    assert 'bpflow_queue_runs{queue="bpflow-runs",status="queued"} 1.0' in metrics
    assert 'bpflow_queue_oldest_queued_age_seconds{queue="bpflow-runs"}' in metrics

    env = runtime_env(tmp_path / "home", BPFLOW_WORKER_CONCURRENCY="1")
    out = subprocess.run([*BPFLOW, "status", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    queues = json.loads(out.stdout)["queues"]
    assert queues["bpflow-runs"]["queued"] == 1 and queues["bpflow-runs"]["running"] == 1

    for scene in ("held1", "held2"):
        rt.bucket.write_json(f"scenes/{scene}/test/three/release", {})
    wait_until(
        lambda: all(rt.bucket.exists(f"scenes/{s}/test/three/.three_complete") for s in ("held1", "held2")), timeout=60
    )
    assert next(q for q in reader.queue_health() if q.queue == "bpflow-runs").queued == 0
