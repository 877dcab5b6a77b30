"""Queue pollers are woken by work (core/engine/queue_wake.py): with the safety-net poll set to a
minute, runs still start and queues still drain at once, in one process on SQLite and across
processes on PostgreSQL. A DBOS whose internals moved fails here, not silently in production."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.engine import queue_wake
from bpflow.core.engine.queue_wake import WakeableStop
from bpflow.core.engine.runtime import Runtime
from bpflow.core.storage.local import LocalBucket
from tests.conftest import REPO, runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _log_says, _process

#: Far longer than any wait below: a run that starts at all started because it was announced.
NEVER = "600"


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


def test_the_wake_is_installed_on_this_dbos(make_runtime: Any) -> None:
    make_runtime()
    import dbos._dbos as dbos_module
    from dbos._dbos import _get_dbos_instance

    assert dbos_module.queue_thread.__name__ == "queue_thread" and queue_wake._PATCHED
    assert type(_get_dbos_instance()._active_workflows_set).__name__ == "PulsingActiveRuns"
    assert any(isinstance(e, WakeableStop) for e in _get_dbos_instance().background_thread_stop_events)


def test_runs_start_and_a_full_queue_drains_without_polling(make_runtime: Any) -> None:
    """Twelve events on two slots with the poll a minute off: every run is taken the moment it is
    announced or a slot frees (a run ending wakes its queue), none waits for the poll."""
    rt = make_runtime(
        BPFLOW_QUEUE_POLL_SECONDS=NEVER,
        BPFLOW_ORCHESTRATOR_QUEUE_POLL_SECONDS=NEVER,
        BPFLOW_WORKER_CONCURRENCY="2",
    )
    scenes = [f"wake{i:02d}" for i in range(12)]
    for scene in scenes:
        rt.bucket.write(f"scenes/{scene}/test/input.json", json.dumps({"scene": scene}))
    wait_until(
        lambda: all(rt.bucket.exists(f"scenes/{s}/test/b/.b_complete") for s in scenes), timeout=120, interval=0.1
    )


@pytest.mark.timeout(600)
def test_a_run_enqueued_by_another_process_wakes_a_postgresql_worker(tmp_path: Path, postgres_url: str) -> None:
    """The client (a CLI, ``bpflow up``'s dispatcher) announces with NOTIFY; the worker, polling
    once in ten minutes, takes the run at once."""
    home = tmp_path / "home"
    base = runtime_env(
        home,
        BPFLOW_DATABASE_URL=postgres_url,
        BPFLOW_RUNNER="inprocess",
        BPFLOW_QUEUE_POLL_SECONDS=NEVER,
        BPFLOW_ORCHESTRATOR_QUEUE_POLL_SECONDS=NEVER,
        BPFLOW_WORKFLOW_MODULES="tests.fixtures.classes",
        BPFLOW_TRIGGER_FILES=str(REPO / "tests" / "fixtures" / "classes_triggers.yaml"),
        BPFLOW_EXECUTOR_ID="wake-worker",
    )
    bucket = LocalBucket(home / "bucket")
    log = tmp_path / "worker.log"
    with _process([*BPFLOW, "worker"], base, log) as worker:
        wait_until(lambda: _log_says(log, "bpflow worker:") or worker.poll() is not None, timeout=120)
        assert worker.poll() is None, log.read_text()
        saved = dict(os.environ)
        client = Runtime(env=base)
        try:
            client.launch(role="client")
            for n in range(3):  # one after the other: each is an announcement the worker must hear
                key = f"scenes/w-{n}/where/sim.json"
                started = client.dispatcher.start_manual(
                    "test-class-sim", {"scene_id": f"w-{n}"}, run_id=f"test-class-sim:wake:{n}"
                )
                assert started.run_ids, started
                wait_until(lambda k=key: bucket.exists(k), timeout=60, interval=0.1)  # type: ignore[misc]
                assert json.loads(bucket.read(key))["executor"] == "wake-worker"
        finally:
            client.shutdown()
            os.environ.clear()
            os.environ.update(saved)
