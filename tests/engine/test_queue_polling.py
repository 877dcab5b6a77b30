"""Queue pollers are woken by work (core/engine/queue_polling.py): with the safety-net poll set to a
minute, runs still start and queues still drain at once, in one process on SQLite and across
processes on PostgreSQL. A DBOS whose internals moved fails here, not silently in production."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.engine import queue_polling
from bpflow.core.engine.queue_polling import WakeableStop
from bpflow.core.engine.runtime import Runtime
from bpflow.core.errors import ConfigError
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from tests.conftest import runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _free_port, _log_says, _process, dispatch_as_client, dispatch_events
from tests.support.overlap import most_at_once

#: Far longer than any wait below: a run that starts at all started because it was announced.
NEVER = "600"


#: Queues polled once in ten minutes: a run that is not woken for shows up as a timeout.
NEVER_POLLED = {"BPFLOW_QUEUE_POLL_SECONDS": NEVER, "BPFLOW_ORCHESTRATOR_QUEUE_POLL_SECONDS": NEVER}


def _postgres_polling_off(home: Path, postgres_url: str) -> tuple[dict[str, str], LocalBucket]:
    """The env every process of a PostgreSQL test shares (queues never polled) and its bucket."""
    return runtime_env(home, BPFLOW_DATABASE_URL=postgres_url, **NEVER_POLLED), LocalBucket(home / "bucket")


def _waiter(stop: WakeableStop, queue: str, timeout: float, out: list[tuple[bool, float]]) -> threading.Thread:
    def wait() -> None:
        t0 = time.monotonic()
        out.append((stop.wait(timeout), time.monotonic() - t0))

    return threading.Thread(target=wait, name=f"queue-worker-{queue}")


def test_a_pulse_wakes_only_its_queue_and_is_never_lost() -> None:
    stop = WakeableStop()
    got: list[tuple[bool, float]] = []
    mine, other = _waiter(stop, "q1", 30, got), _waiter(stop, "q2", 0.5, got)
    mine.start()
    other.start()
    time.sleep(0.1)
    stop.pulse("q1")
    mine.join(10)
    other.join(10)
    woken = [g for g in got if g[1] < 10]
    assert len(got) == 2 and all(stopped is False for stopped, _ in got)
    assert len(woken) == 2 and max(t for _, t in got) < 10  # q2 ran out its own 0.5 s, q1 was woken

    # a pulse while the poller is busy (not waiting) is kept for its next wait
    stop.pulse("q1")
    late: list[tuple[bool, float]] = []
    t = _waiter(stop, "q1", 30, late)
    t.start()
    t.join(10)
    assert late and late[0][0] is False and late[0][1] < 10
    # ... once: the next wait sleeps its timeout again
    again: list[tuple[bool, float]] = []
    t = _waiter(stop, "q1", 0.3, again)
    t.start()
    t.join(10)
    assert again[0][0] is False and again[0][1] >= 0.29

    # stopping still stops, whoever waits
    waiting: list[tuple[bool, float]] = []
    t = _waiter(stop, "q1", 30, waiting)
    t.start()
    time.sleep(0.05)
    stop.set()
    t.join(10)
    assert waiting and waiting[0][0] is True


def test_a_front_that_executes_nothing_needs_postgresql(tmp_path: Path) -> None:
    rt = Runtime(env=runtime_env(tmp_path / "home", BPFLOW_WORKER_CONCURRENCY="0"))
    with pytest.raises(ConfigError) as err:
        rt.launch(role="all")
    assert err.value.field == "BPFLOW_WORKER_CONCURRENCY" and "PostgreSQL" in err.value.message


def test_the_wake_is_installed_on_this_dbos(make_runtime: Any) -> None:
    make_runtime()
    import dbos._dbos as dbos_module
    from dbos._dbos import _get_dbos_instance

    assert dbos_module.queue_thread.__name__ == "queue_thread" and queue_polling._PATCHED
    assert type(_get_dbos_instance()._active_workflows_set).__name__ == "PulsingActiveRuns"
    assert any(isinstance(e, WakeableStop) for e in _get_dbos_instance().background_thread_stop_events)


def test_runs_start_and_a_full_queue_drains_without_polling(make_runtime: Any) -> None:
    """Twelve events on two slots with the poll a minute off: every run is taken the moment it is
    announced or a slot frees (a run ending wakes its queue), none waits for the poll."""
    rt = make_runtime(**NEVER_POLLED, BPFLOW_WORKER_CONCURRENCY="2")
    scenes = [f"wake{i:02d}" for i in range(12)]
    for scene in scenes:
        rt.bucket.write(f"scenes/{scene}/test/input.json", json.dumps({"scene": scene}))
    wait_until(
        lambda: all(rt.bucket.exists(f"scenes/{s}/test/b/.b_complete") for s in scenes), timeout=120, interval=0.1
    )


@pytest.mark.timeout(600)
def test_postgresql_workers_are_woken_by_another_process_and_keep_their_own_limits(
    tmp_path: Path, postgres_url: str
) -> None:
    """Runs queued by a client (a CLI, ``bpflow up``'s dispatcher) are announced by the database
    (a trigger on DBOS's run table); two workers polling once in ten minutes take them at once,
    each within its own slot limit: the small one, started last, no longer imposes its limit on
    the big one through DBOS's shared queue row. A ``bpflow up`` with no slots runs none."""
    home = tmp_path / "home"
    base, bucket = _postgres_polling_off(home, postgres_url)
    limits = {"big": 3, "small": 1}
    logs = {name: tmp_path / f"{name}.log" for name in limits}
    env = {n: {**base, "BPFLOW_EXECUTOR_ID": n, "BPFLOW_WORKER_CONCURRENCY": str(k)} for n, k in limits.items()}
    front_log = tmp_path / "front.log"
    front_env = {**base, "BPFLOW_EXECUTOR_ID": "front", "BPFLOW_WORKER_CONCURRENCY": "0"}
    with (
        _process([*BPFLOW, "up", "--port", str(_free_port())], front_env, front_log) as front,
        _process([*BPFLOW, "worker"], env["big"], logs["big"]) as big,
    ):
        wait_until(lambda: _log_says(front_log, "bpflow up:") or front.poll() is not None, timeout=120)
        assert front.poll() is None, front_log.read_text()
        wait_until(lambda: _log_says(logs["big"], "bpflow worker:") or big.poll() is not None, timeout=120)
        with _process([*BPFLOW, "worker"], env["small"], logs["small"]) as small:
            wait_until(lambda: _log_says(logs["small"], "bpflow worker:") or small.poll() is not None, timeout=120)
            assert big.poll() is None and small.poll() is None, logs["small"].read_text()
            objects = [(f"scenes/lim{i:02d}/test/slow.json", {"i": i}) for i in range(12)]
            dispatch_as_client(base, bucket, objects)
            keys = [f"scenes/lim{i:02d}/test/slow_done.json" for i in range(12)]
            wait_until(lambda: all(bucket.exists(k) for k in keys), timeout=120, interval=0.1)

    done = [bucket.read_json(k) for k in keys]
    assert {d["executor"] for d in done} <= set(limits)  # the front (BPFLOW_WORKER_CONCURRENCY=0) ran none
    spans = {n: [(d["started"], d["ended"]) for d in done if d["executor"] == n] for n in limits}
    assert most_at_once(spans["small"]) == 1, spans
    assert 2 <= most_at_once(spans["big"]) <= 3, spans


@pytest.mark.timeout(600)
def test_postgresql_duplicates_a_stale_event_and_a_killed_worker_with_polling_off(
    tmp_path: Path, postgres_url: str
) -> None:
    """The world's events with the safety-net poll at ten minutes: 8 scenes on 2 slots, every
    event delivered twice, one scene rewritten and its older version's event delivered after the
    newer one's, and the worker SIGKILLed while runs are in their step. Restarted with the same
    executor id, DBOS puts its runs back in the queue, which the database announces: every scene
    completes once, for its newest version; the stale version does nothing; only the steps
    in flight at the kill (at most the 2 slots) ran a second time."""
    home = tmp_path / "home"
    base, bucket = _postgres_polling_off(home, postgres_url)
    worker_env = {**base, "BPFLOW_EXECUTOR_ID": "w1", "BPFLOW_WORKER_CONCURRENCY": "2"}
    log = tmp_path / "w1.log"
    side_effects = home / "side_effects.log"

    def ran() -> list[str]:
        return side_effects.read_text().splitlines() if side_effects.exists() else []

    keys = [f"scenes/kill{i:02d}/test/slow.json" for i in range(8)]
    infos = [bucket.write_json(k, {"v": 1}) for k in keys]
    stale = infos[0]
    infos[0] = bucket.write_json(keys[0], {"v": 2})  # rewritten: its v1 event arrives last
    events = [ObjectEvent(bucket=bucket.url, name=i.key, generation=i.generation, source="test") for i in infos]
    events = [e for e in events for _ in range(2)]
    events.append(ObjectEvent(bucket=bucket.url, name=stale.key, generation=stale.generation, source="test"))

    with _process([*BPFLOW, "worker"], worker_env, log) as first:
        wait_until(lambda: _log_says(log, "bpflow worker:") or first.poll() is not None, timeout=120)
        assert first.poll() is None, log.read_text()
        dispatch_events(base, events)
        wait_until(lambda: len(ran()) >= 3, timeout=120, interval=0.02)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before_kill = ran()
    assert len(before_kill) < len(keys) + 2, "the kill came after the work: nothing was in flight"

    done = [k.replace("slow.json", "slow_done.json") for k in keys]
    with _process([*BPFLOW, "worker"], worker_env, log) as second:
        wait_until(lambda: all(bucket.exists(k) for k in done), timeout=180, interval=0.1)
        assert second.poll() is None

    newest = {i.key: f"@{i.generation}" for i in infos}
    run_ids = [bucket.read_json(k)["run_id"] for k in done]
    assert all(r.endswith(newest[k]) for r, k in zip(run_ids, keys, strict=True)), run_ids
    executions = ran()
    assert set(executions) == set(run_ids), "a duplicate or the stale version started work of its own"
    twice = {r for r in run_ids if executions.count(r) == 2}
    assert all(executions.count(r) <= 2 for r in run_ids)
    assert len(twice) <= 2 and twice <= set(before_kill), (twice, before_kill)
