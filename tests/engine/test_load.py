"""More text requests at once than there are run slots, on the real runtime and the real jobs.

An orchestrator holds its slot while it waits for its stage runs; before the queue tiers
(``engine.queues``) two orchestrators filled two slots and waited for ever on stage runs that
never got one. Here every request must reach a terminal state, on SQLite in one process and on
PostgreSQL with two ``bpflow worker`` processes.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from bench.batch import PROMPTS

from bpflow.core.engine.runtime import Runtime
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from tests.conftest import runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _log_says, _process
from tests.source.conftest import OFFLINE_STAGE1, REQUEST, request_body

#: Stage 1 offline, and jobs on threads of the worker (the real job code, without paying an
#: interpreter start and the USD imports eleven times per scene): what is under test is scheduling.
SMALL = {**OFFLINE_STAGE1, "BPFLOW_RUNNER": "inprocess"}
#: Every stage this build has, once per scene: a run slot is never the reason a scene stops.
DONE_MARKERS = ("assets/.regen3d_complete", "usd/.usd_complete", "variation_assets/.variation_pipeline_complete")


def _requests(count: int, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    prompts = itertools.cycle(PROMPTS)
    return [(f"{prefix}{i:02d}", request_body(f"{prefix}{i:02d}", prompt=next(prompts))) for i in range(count)]


def _stages_settled(bucket: LocalBucket, scenes: list[str]) -> bool:
    """Every scene either reached the last slot-sharing stage (variation assets) or failed.
    Stages 4-5 (robot episodes, Genie Sim, arena, training) go on after that; they take no slot
    an orchestrator waits on, and running them for 20 scenes would only make this test slow."""
    return all(
        bucket.exists(f"scenes/{s}/.source_orchestrator_failed") or all(bucket.exists(f"scenes/{s}/{m}") for m in DONE_MARKERS)
        for s in scenes
    )


#: Stages after the slot-sharing ones: a scene may fail there on its robot data (Genie Sim's
#: episode quality gate), which says nothing about scheduling.
ROBOT_DATA_STAGES = ("geniesim_export", "arena_export")


def _assert_all_completed(bucket: LocalBucket, scenes: list[str]) -> None:
    for scene in scenes:
        failed = f"scenes/{scene}/.source_orchestrator_failed"
        if bucket.exists(failed):
            cause = json.loads(bucket.read(failed))["error"].get("cause", {})
            assert cause.get("details", {}).get("stage") in ROBOT_DATA_STAGES, (scene, cause)
        for marker in DONE_MARKERS:
            assert bucket.exists(f"scenes/{scene}/{marker}"), (scene, marker)


@pytest.mark.timeout(900)
def test_twenty_varied_requests_on_two_slots_all_complete(make_runtime: Any) -> None:
    """SQLite, one process, two slots per queue: 20 requests at once, all complete."""
    rt = make_runtime(BPFLOW_WORKER_CONCURRENCY="2", **SMALL)
    requests = _requests(20, "load")
    for scene, body in requests:
        rt.bucket.write_json(REQUEST.format(scene), body)
    scenes = [scene for scene, _ in requests]
    wait_until(lambda: _stages_settled(rt.bucket, scenes), timeout=840, interval=1.0)
    _assert_all_completed(rt.bucket, scenes)


@pytest.mark.timeout(900)
def test_ten_requests_on_two_postgres_workers_all_complete(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    base = runtime_env(home, BPFLOW_DATABASE_URL=postgres_url, BPFLOW_WORKER_CONCURRENCY="2", BPFLOW_QUEUE_POLL_SECONDS="0.1", **SMALL)
    bucket = LocalBucket(home / "bucket")
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    with _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "load-1"}, logs[0]) as w1, \
            _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "load-2"}, logs[1]) as w2:
        for proc, log in ((w1, logs[0]), (w2, logs[1])):
            wait_until(lambda: _log_says(log, "bpflow worker:") or proc.poll() is not None, timeout=90)
            assert proc.poll() is None, log.read_text()
        saved = dict(os.environ)
        try:
            client = Runtime(env=base).launch(role="client")
            requests = _requests(10, "pgload")
            for scene, body in requests:
                info = bucket.write_json(REQUEST.format(scene), body)
                client.dispatcher.dispatch_object(ObjectEvent(bucket=bucket.url, name=info.key, generation=info.generation, source="test"))
            client.shutdown()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        scenes = [scene for scene, _ in requests]
        wait_until(lambda: _stages_settled(bucket, scenes), timeout=780, interval=1.0)
    _assert_all_completed(bucket, scenes)
