"""Crash recovery and scale-out with real processes: `bpflow up` killed with SIGKILL and
restarted; two `bpflow worker` processes sharing one PostgreSQL queue."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bpflow.core.engine.runtime import Runtime
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from tests.conftest import runtime_env, wait_until

BPFLOW = [sys.executable, "-m", "bpflow.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _log_says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


def dispatch_as_client(base: dict[str, str], bucket: LocalBucket, objects: list[tuple[str, Any]]) -> None:
    """Write each object and dispatch its event from a client runtime in this test process, as a
    CLI or another machine's front would: the runs go to the shared queues, never to this process."""
    infos = [bucket.write_json(key, body) for key, body in objects]
    dispatch_events(
        base, [ObjectEvent(bucket=bucket.url, name=i.key, generation=i.generation, source="test") for i in infos]
    )


def dispatch_events(base: dict[str, str], events: list[ObjectEvent]) -> None:
    """Dispatch ``events`` as they are (duplicates, stale generations) from a client runtime."""
    saved = dict(os.environ)
    try:
        client = Runtime(env=base).launch(role="client")
        try:
            for event in events:
                client.dispatcher.dispatch_object(event)
        finally:
            client.shutdown()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_sigkill_after_first_step_then_restart_completes_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = runtime_env(home, BPFLOW_SCAN_INTERVAL_SECONDS="1")
    bucket = LocalBucket(home / "bucket")
    log = tmp_path / "up.log"
    args = [*BPFLOW, "up", "--port", str(_free_port())]

    with _process(args, env, log) as first:
        wait_until(lambda: _log_says(log, "bpflow up:"), timeout=60)
        bucket.write_json("scenes/crash/test/three.json", {})
        wait_until(lambda: bucket.exists("scenes/crash/test/three/.step1_complete"), timeout=30)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    side_effects = (home / "side_effects.log").read_text().splitlines()
    assert len(side_effects) == 1
    first_pid = bucket.read_json("scenes/crash/test/three/.step1_complete")["pid"]

    with _process(args, env, log) as second:
        wait_until(lambda: _log_says(log, "bpflow up:") and second.poll() is None, timeout=60)
        bucket.write_json("scenes/crash/test/three/release", {})
        wait_until(lambda: bucket.exists("scenes/crash/test/three/.three_complete"), timeout=60)

    done = bucket.read_json("scenes/crash/test/three/.three_complete")
    assert done["first_pid"] == first_pid  # step 1's recorded result was replayed, not re-run
    assert done["final_pid"] != first_pid  # steps 2-3 ran in the restarted process
    assert (home / "side_effects.log").read_text().splitlines() == side_effects


def test_two_workers_on_postgres_share_twenty_runs(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    base = runtime_env(
        home, BPFLOW_DATABASE_URL=postgres_url, BPFLOW_WORKER_CONCURRENCY="2", BPFLOW_QUEUE_POLL_SECONDS="0.05"
    )
    bucket = LocalBucket(home / "bucket")
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    with _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "worker-1"}, logs[0]) as w1:
        wait_until(lambda: _log_says(logs[0], "bpflow worker:") or w1.poll() is not None, timeout=60)
        assert w1.poll() is None, logs[0].read_text()
        with _process([*BPFLOW, "worker"], {**base, "BPFLOW_EXECUTOR_ID": "worker-2"}, logs[1]) as w2:
            wait_until(lambda: _log_says(logs[1], "bpflow worker:") or w2.poll() is not None, timeout=60)
            assert w2.poll() is None, logs[1].read_text()

            dispatch_as_client(base, bucket, [(f"scenes/share{i:02d}/test/slow.json", {"i": i}) for i in range(20)])
            keys = [f"scenes/share{i:02d}/test/slow_done.json" for i in range(20)]

            wait_until(lambda: all(bucket.exists(k) for k in keys), timeout=120)

    executors = [bucket.read_json(k)["executor"] for k in keys]
    assert set(executors) == {"worker-1", "worker-2"}, executors
    runs = [bucket.read_json(k)["run_id"] for k in keys]
    assert len(set(runs)) == 20


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    proc = subprocess.run([*BPFLOW, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "PostgreSQL" in proc.stderr and "Traceback" not in proc.stderr
