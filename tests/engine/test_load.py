"""More text requests at once than there are run slots, on the real runtime and the real jobs.

An orchestrator holds its slot while it waits for its stage runs; before the queue tiers
(``engine.queues``) two orchestrators filled two slots and waited for ever on stage runs that
never got one. Here every request must reach a terminal state, on SQLite in one process and on
PostgreSQL with two ``bpflow worker`` processes, and complete. On PostgreSQL through every stage,
robot data included (Genie Sim's local runtime records episodes in each room and at least one must
pass its certificate); the 20-room batch through Stage 3 (``make bench-episodes`` takes those rooms
through Stage 4).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from bench.batch import PROMPTS

from bpflow.core.storage.local import LocalBucket
from tests.conftest import THROUGH_STAGE3, runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _log_says, _process, dispatch_as_client
from tests.source.conftest import OFFLINE_STAGE1, REQUEST, request_body

#: Stage 1 offline, and jobs on threads of the worker (the real job code, without paying an
#: interpreter start and the USD imports eleven times per scene): what is under test is scheduling.
#: Robot data small: two tasks of two episodes per scene in Genie Sim, its 32² camera (conftest),
#: and training refusing at once (every import emits episodes.imported, which starts it).
SMALL = {
    **OFFLINE_STAGE1,
    "BPFLOW_RUNNER": "inprocess",
    "EPISODES_PER_TASK": "2",
    "GENIESIM_MAX_TASKS": "2",
    "TRAINING_MODE": "not-under-test",
}
#: Every stage, once per scene: a run slot is never the reason a scene stops, and none fails.
DONE_MARKERS = (
    "assets/.regen3d_complete",
    "usd/.usd_complete",
    "variation_assets/.variation_pipeline_complete",
    "geniesim/.geniesim_complete",
    "arena/.arena_export_complete",
    ".source_orchestrator_complete",
)


def _requests(count: int, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    prompts = itertools.cycle(PROMPTS)
    return [(f"{prefix}{i:02d}", request_body(f"{prefix}{i:02d}", prompt=next(prompts))) for i in range(count)]


def _settled(bucket: LocalBucket, scenes: list[str]) -> bool:
    """Every scene's orchestrator ended: complete or failed."""
    return all(
        bucket.exists(f"scenes/{s}/.source_orchestrator_failed")
        or bucket.exists(f"scenes/{s}/.source_orchestrator_complete")
        for s in scenes
    )


def _assert_all_completed(bucket: LocalBucket, scenes: list[str], *, markers: tuple[str, ...] = DONE_MARKERS) -> None:
    failed = {
        s: json.loads(bucket.read(f"scenes/{s}/.source_orchestrator_failed"))["error"]
        for s in scenes
        if bucket.exists(f"scenes/{s}/.source_orchestrator_failed")
    }
    assert failed == {}, failed
    for scene in scenes:
        for marker in markers:
            assert bucket.exists(f"scenes/{scene}/{marker}"), (scene, marker)


@pytest.mark.long(400)
@pytest.mark.timeout(1500)
def test_twenty_varied_requests_on_two_slots_all_complete(make_runtime: Any) -> None:
    """SQLite, one process, two slots per queue: 20 requests of five room types at once all
    complete (issue 8's acceptance), through Stage 3: what is under test is that no run waits on
    a run that cannot be scheduled, and Stages 1-3 hold most of the runs per scene. Stage 4 under
    load is the PostgreSQL test's, and these 20 rooms' episodes are ``make bench-episodes``'s."""
    rt = make_runtime(BPFLOW_WORKER_CONCURRENCY="2", **SMALL, **THROUGH_STAGE3)
    requests = _requests(20, "load")
    for scene, body in requests:
        rt.bucket.write_json(REQUEST.format(scene), body)
    scenes = [scene for scene, _ in requests]
    wait_until(lambda: _settled(rt.bucket, scenes), timeout=1400, interval=1.0)
    _assert_all_completed(rt.bucket, scenes, markers=DONE_MARKERS[:3] + DONE_MARKERS[-1:])


@pytest.mark.long(260)
@pytest.mark.timeout(960)
def test_ten_requests_on_two_postgres_workers_all_complete(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    base = runtime_env(
        home, BPFLOW_DATABASE_URL=postgres_url, BPFLOW_WORKER_CONCURRENCY="2", BPFLOW_QUEUE_POLL_SECONDS="0.1", **SMALL
    )
    bucket = LocalBucket(home / "bucket")
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    with (
        _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "load-1"}, logs[0]) as w1,
        _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "load-2"}, logs[1]) as w2,
    ):
        for proc, log in ((w1, logs[0]), (w2, logs[1])):
            wait_until(lambda: _log_says(log, "bpflow worker:") or proc.poll() is not None, timeout=90)
            assert proc.poll() is None, log.read_text()
        requests = _requests(10, "pgload")
        dispatch_as_client(base, bucket, [(REQUEST.format(scene), body) for scene, body in requests])
        scenes = [scene for scene, _ in requests]
        wait_until(lambda: _settled(bucket, scenes), timeout=840, interval=1.0)
    _assert_all_completed(bucket, scenes)
