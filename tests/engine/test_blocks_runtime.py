"""run_job, scene locks and marker waits on the real runtime: retries across a runner outage,
rollback after a start failure, timeouts, lock expiry and takeover, fresh-marker waits."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.blocks.lock import release, try_acquire
from bpflow.blocks.wait import wait_for_marker
from bpflow.core.engine.registry import Run
from bpflow.core.errors import MarkerTimeout
from bpflow.core.storage.local import LocalBucket
from tests.conftest import wait_until

FAST_RETRY = "max_retries: 3\nbase_delay_seconds: 0.3\nmax_delay_seconds: 2\nbackoff_factor: 2\n"


@pytest.fixture
def fast_policy(tmp_path: Path) -> dict[str, str]:
    d = tmp_path / "policy"
    d.mkdir()
    (d / "retry_policy.yaml").write_text(FAST_RETRY)
    return {"BPFLOW_POLICY_DIR": str(d), "BPFLOW_RUNNER_DOWN_FILE": str(tmp_path / "runner-down")}


def _seed_outputs(b: Any, scene: str) -> None:
    b.write_json(f"scenes/{scene}/test/input.json", {"x": 1})
    b.write(f"scenes/{scene}/test/out/stale_mesh.obj", "old data")
    b.write(f"scenes/{scene}/test/out/locks/keep.lock", "{}")
    b.write(f"scenes/{scene}/test/out/.circuit_breaker.json", "{}")


def _result(run_id: str, timeout: float = 60) -> Any:
    return (
        DBOS.retrieve_workflow(run_id).get_result(polling_interval_sec=0.05)
        if wait_until(
            lambda: (
                DBOS.get_workflow_status(run_id) and DBOS.get_workflow_status(run_id).status in ("SUCCESS", "ERROR")
            ),
            timeout,
        )
        else None
    )


def test_runner_down_then_up_within_budget_succeeds(make_runtime: Any, fast_policy: dict[str, str]) -> None:
    rt = make_runtime(**fast_policy)
    down = Path(fast_policy["BPFLOW_RUNNER_DOWN_FILE"])
    down.write_text("outage")
    _seed_outputs(rt.bucket, "up1")
    run_id = rt.dispatcher.start_manual("test-job-outputs", {"scene_id": "up1"}).run_ids[0]

    def refused_once() -> bool:
        steps = DBOS.list_workflow_steps(run_id) if DBOS.get_workflow_status(run_id) else []
        return any(
            s["function_name"] == "job test-copy-job attempt 1" and "start_error" in (s["output"] or {}) for s in steps
        )

    wait_until(refused_once, timeout=30)
    down.unlink()  # the outage ends while retries remain
    result = _result(run_id)
    assert result["status"] == "SUCCESS" and result["exit_code"] == 0
    assert result["attempts"] >= 2
    assert rt.bucket.exists("scenes/up1/test/out/output.json")
    assert rt.bucket.exists("scenes/up1/test/out/stale_mesh.obj")  # no rollback: the job did start


def test_runner_down_past_budget_rolls_back_and_fails(make_runtime: Any, fast_policy: dict[str, str]) -> None:
    rt = make_runtime(**fast_policy)
    Path(fast_policy["BPFLOW_RUNNER_DOWN_FILE"]).write_text("outage")
    _seed_outputs(rt.bucket, "down1")
    run_id = rt.dispatcher.start_manual("test-job-outputs", {"scene_id": "down1"}).run_ids[0]
    wait_until(lambda: DBOS.get_workflow_status(run_id).status == "ERROR", timeout=60)
    b = rt.bucket
    assert not b.exists("scenes/down1/test/out/stale_mesh.obj")  # the stage's data outputs: rolled back
    assert b.exists("scenes/down1/test/out/locks/keep.lock")  # control objects: kept
    assert b.exists("scenes/down1/test/out/.circuit_breaker.json")
    assert b.exists("scenes/down1/test/input.json")
    failed = b.read_json("scenes/down1/test/out/.failed")
    assert failed["status"] == "failed" and failed["error"]["code"] == "test_copy_start_failed"
    assert failed["error"]["message"] == "runner unavailable"
    assert failed["context"]["workflow_execution_id"] == run_id
    steps = [s["function_name"] for s in DBOS.list_workflow_steps(run_id)]
    assert sum(1 for s in steps if s.startswith("job test-copy-job attempt")) == 4  # 1 + 3 retries


def test_unknown_job_is_not_retried(make_runtime: Any, fast_policy: dict[str, str]) -> None:
    from bpflow.jobs import JOBS

    rt = make_runtime(**fast_policy)
    saved = JOBS.pop("test-copy-job")
    try:
        run_id = rt.dispatcher.start_manual("test-job-outputs", {"scene_id": "unk"}).run_ids[0]
        wait_until(lambda: DBOS.get_workflow_status(run_id).status == "ERROR", timeout=30)
    finally:
        JOBS["test-copy-job"] = saved
    steps = [s["function_name"] for s in DBOS.list_workflow_steps(run_id)]
    assert sum(1 for s in steps if s.startswith("job test-copy-job attempt")) == 1
    assert rt.bucket.read_json("scenes/unk/test/out/.failed")["error"]["message"].startswith("unknown job")


def test_job_timeout_is_reported_not_retried(runtime: Any) -> None:
    runtime.bucket.write_json("scenes/slowjob/test/input.json", {})
    run_id = runtime.dispatcher.start_manual(
        "test-job-outputs", {"scene_id": "slowjob", "timeout": 1, "sleep": 30}
    ).run_ids[0]
    result = _result(run_id)
    assert result["timed_out"] is True and result["attempts"] == 1


def test_lock_conflict_skips_and_leaves_the_holders_lock(runtime: Any) -> None:
    b = runtime.bucket
    holder = try_acquire(
        b,
        "scenes/held/locks/test-stage-a.lock",
        scene_id="held",
        workflow="test-stage-a",
        run_id="someone-else",
        ttl_seconds=600,
    )
    assert holder["acquired"]
    info = b.write_json("scenes/held/test/input.json", {})
    run_id = f"test-stage-a:scenes/held/test/input.json@{info.generation}"
    result = _result(run_id)
    assert result["status"] == "SKIPPED"
    assert result["message"] == "Lock already exists for scene held at scenes/held/locks/test-stage-a.lock"
    assert b.read_json("scenes/held/locks/test-stage-a.lock")["run_id"] == "someone-else"


def test_expired_lock_is_taken_over_by_exactly_one(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path / "bucket")
    key = "scenes/s/locks/x.lock"
    assert try_acquire(b, key, scene_id="s", workflow="w", run_id="dead-run", ttl_seconds=0.01)["acquired"]
    time.sleep(0.05)
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(8)

    def contender(i: int) -> None:
        barrier.wait()
        results.append(try_acquire(b, key, scene_id="s", workflow="w", run_id=f"run-{i}", ttl_seconds=60))

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r["acquired"]]
    assert len(winners) == 1 and winners[0]["taken_over"] and winners[0]["previous"]["run_id"] == "dead-run"
    # The dead run cannot release the lock it lost; the winner can.
    assert release(b, key, 1) is False
    assert release(b, key, winners[0]["generation"]) is True
    assert not b.exists(key)


def test_own_lock_is_reacquired_after_a_crash(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path / "bucket")
    first = try_acquire(b, "scenes/s/locks/x.lock", scene_id="s", workflow="w", run_id="r1", ttl_seconds=600)
    again = try_acquire(b, "scenes/s/locks/x.lock", scene_id="s", workflow="w", run_id="r1", ttl_seconds=600)
    assert first["acquired"] and again["acquired"] and again["generation"] == first["generation"]


def test_wait_for_marker_needs_a_fresh_marker(runtime: Any) -> None:
    b = runtime.bucket
    run = Run(run_id="", workflow="test", payload={"scene_id": "w1"})
    b.write_json("scenes/w1/m/.done", {"old": True})
    since = time.time() + 0.01
    time.sleep(0.02)
    with pytest.raises(MarkerTimeout) as err:
        wait_for_marker(run, "scenes/w1/m/.done", delays=[0.02] * 3, newer_than=since)
    assert err.value.details["checks"] == 4
    threading.Timer(0.1, lambda: b.write_json("scenes/w1/m/.done", {"new": True})).start()
    info = wait_for_marker(run, "scenes/w1/m/.done", delays=[0.05] * 40, newer_than=since)
    assert info["updated"] >= since


def test_wait_for_marker_respects_its_deadline(runtime: Any) -> None:
    run = Run(run_id="", workflow="test", payload={"scene_id": "w2"})
    t0 = time.monotonic()
    with pytest.raises(MarkerTimeout):
        wait_for_marker(run, "scenes/w2/never", policy="regen3d_marker", deadline_seconds=0.3, newer_than=0)
    assert time.monotonic() - t0 < 5


def test_job_invocation_and_retry_exhausted_events(
    make_runtime: Any, fast_policy: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import json as _json
    import logging

    caplog.set_level(logging.INFO, logger="bpflow.metrics")
    rt = make_runtime(**fast_policy)
    rt.bucket.write_json("scenes/ev1/test/input.json", {})
    ok = rt.dispatcher.start_manual("test-job-outputs", {"scene_id": "ev1"}).run_ids[0]
    _result(ok)
    Path(fast_policy["BPFLOW_RUNNER_DOWN_FILE"]).write_text("outage")
    bad = rt.dispatcher.start_manual("test-job-outputs", {"scene_id": "ev2"}).run_ids[0]
    wait_until(lambda: DBOS.get_workflow_status(bad).status == "ERROR", timeout=60)

    records = [_json.loads(r.getMessage()) for r in caplog.records if r.name == "bpflow.metrics"]
    complete = [
        r for r in records if r["bp_metric"] == "job_invocation" and r["event"] == "complete" and r["run_id"] == ok
    ]
    assert len(complete) == 1
    rec = complete[0]
    assert rec["status"] == "SUCCEEDED" and rec["job"] == "test-copy-job" and rec["workflow"] == "test-job-outputs"
    assert rec["timeout_seconds"] == 60 and 0 <= rec["timeout_usage_ratio"] < 1 and rec["timed_out"] is False
    exhausted = [r for r in records if r["bp_metric"] == "job_retry_exhausted" and r["scene_id"] == "ev2"]
    assert len(exhausted) == 1 and exhausted[0]["retry_max"] == 3 and exhausted[0]["error"] == "runner unavailable"
