"""Job classes across workers on a shared PostgreSQL: one ``bpflow up`` taking ``cpu`` and two
``bpflow worker`` processes taking ``sim`` and ``train``. Each run executes only on a worker of
its class, and the ``gpu`` run, which no worker takes, is reported (queued, no consumer)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from bpflow.core.engine.runtime import Runtime
from bpflow.core.errors import ConfigError
from bpflow.core.job_classes import check_class, parse_classes
from bpflow.core.storage.local import LocalBucket
from tests.conftest import REPO, runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _free_port, _log_says, _process


def _get(url: str) -> str | None:
    """The body, or None while the server is not listening yet (its log line comes first)."""
    try:
        return urllib.request.urlopen(url, timeout=30).read().decode()  # type: ignore[no-any-return]
    except OSError:
        return None


WORKERS = {"cls-up": "cpu", "cls-sim": "sim", "cls-train": "train"}


def test_worker_classes_are_parsed_strictly() -> None:
    assert parse_classes(" sim,gpu , sim") == ("sim", "gpu")
    with pytest.raises(ConfigError):
        parse_classes("sim,quantum")
    with pytest.raises(ConfigError):
        parse_classes(" , ")
    assert check_class("train") == "train"


@pytest.mark.timeout(600)
def test_each_run_goes_to_a_worker_of_its_class(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    port = _free_port()
    base = runtime_env(
        home,
        BPFLOW_DATABASE_URL=postgres_url,
        BPFLOW_RUNNER="inprocess",
        BPFLOW_QUEUE_POLL_SECONDS="0.1",
        BPFLOW_WORKFLOW_MODULES="tests.fixtures.classes",
        BPFLOW_TRIGGER_FILES=str(REPO / "tests" / "fixtures" / "classes_triggers.yaml"),
    )
    bucket = LocalBucket(home / "bucket")
    procs = {
        "cls-up": ([*BPFLOW, "up", "--port", str(port)], "bpflow up:"),
        "cls-sim": ([*BPFLOW, "worker"], "bpflow worker:"),
        "cls-train": ([*BPFLOW, "worker"], "bpflow worker:"),
    }
    logs = {name: tmp_path / f"{name}.log" for name in procs}
    env = {name: {**base, "BPFLOW_EXECUTOR_ID": name, "BPFLOW_WORKER_CLASSES": WORKERS[name]} for name in procs}
    with (
        _process(procs["cls-up"][0], env["cls-up"], logs["cls-up"]) as up,
        _process(procs["cls-sim"][0], env["cls-sim"], logs["cls-sim"]) as sim,
        _process(procs["cls-train"][0], env["cls-train"], logs["cls-train"]) as train,
    ):
        for name, proc in (("cls-up", up), ("cls-sim", sim), ("cls-train", train)):
            wait_until(lambda: _log_says(logs[name], procs[name][1]) or proc.poll() is not None, timeout=120)
            assert proc.poll() is None, logs[name].read_text()
        saved = dict(os.environ)
        client = Runtime(env=base)
        try:
            client.launch(role="client")
            started = {
                c: client.dispatcher.start_manual(
                    f"test-class-{c}", {"scene_id": f"c-{c}"}, run_id=f"test-class-{c}:manual:1"
                )
                for c in ("cpu", "sim", "train", "gpu")
            }
            assert all(d.run_ids for d in started.values()), started

            where = {c: f"scenes/c-{c}/where/{c}.json" for c in ("cpu", "sim", "train")}
            wait_until(lambda: all(bucket.exists(k) for k in where.values()), timeout=180, interval=0.5)
            ran_on = {c: json.loads(bucket.read(k))["executor"] for c, k in where.items()}
            assert ran_on == {"cpu": "cls-up", "sim": "cls-sim", "train": "cls-train"}

            # the gpu run waits in its class queue, and says so instead of waiting silently
            health = json.loads(wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz"), timeout=60))
            gpu = health["queues"]["bpflow-runs-gpu"]
            assert gpu["queued"] == 1 and gpu["consumers"] == 0 and gpu["no_consumer"] is True
            assert health["status"] == "no_consumer" and any("bpflow-runs-gpu" in p for p in health["problems"])
            assert (
                health["queues"]["bpflow-runs-sim"]["consumers"] == 1
                and not health["queues"]["bpflow-runs"]["no_consumer"]
            )
            metrics = _get(f"http://127.0.0.1:{port}/metrics")
            assert 'bpflow_queue_no_consumer{queue="bpflow-runs-gpu"} 1.0' in metrics
            out = subprocess.run([*BPFLOW, "status", "--json"], env=base, capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["queues"]["bpflow-runs-gpu"]["no_consumer"] is True
            assert not bucket.exists("scenes/c-gpu/where/gpu.json")
        finally:
            if client.client is not None:
                client.client.cancel_workflow("test-class-gpu:manual:1")  # leave nothing queued in the shared database
                client.shutdown()
            os.environ.clear()
            os.environ.update(saved)
