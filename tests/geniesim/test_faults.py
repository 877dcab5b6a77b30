"""The Genie Sim path under faults, on the real runtime: the generation SLA breached (spec §2.1
step 16, §10.6), and the `bpflow up` running the Genie Sim job killed mid-job and restarted."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.core.storage.local import LocalBucket
from bpflow.state.circuit_breaker import CircuitBreaker
from tests.conftest import runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _free_port, _log_says, _process
from tests.engine.test_worker_faults import _job_processes
from tests.geniesim.scenes import SMALL, read, upload_scene
from tests.geniesim.test_workflows import IMPORT, NO_TRAINING, PROBE, _runtime, _trigger
from tests.stage2.helpers import finished, outcome, settle


def _submission_markers(b: Any, scene: str) -> list[dict[str, Any]]:
    return [read(b, i.key) for i in b.list(f"scenes/{scene}/geniesim/idempotency/") if "/import/" not in i.key]


def test_sla_breach_fails_after_the_submission_marker_and_a_rerun_skips(
    make_runtime: Callable[..., Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Any real job outlasts an SLA of 0 s: the branch runs on the real runtime, not on a forged job.json.
    rt = _runtime(make_runtime, GENIESIM_SLA_SECONDS="0")
    b = rt.bucket
    upload_scene(b, tmp_path, "gs-sla")
    caplog.set_level(logging.INFO, logger="bpflow.metrics")
    st = finished(_trigger(b, "gs-sla"))
    job = read(b, "scenes/gs-sla/geniesim/job.json")
    assert job["status"] == "completed" and job["job_metrics"]["duration_seconds"] > 0
    assert st.status == "ERROR" and f"Genie Sim job SLA breached for scene gs-sla (job: {job['job_id']})" in str(
        st.error
    )
    # the submission marker was written first and says completed (kept from the reference, §10.6)
    (marker,) = _submission_markers(b, "gs-sla")
    assert marker["status"] == "completed" and marker["job_id"] == job["job_id"]
    # no import, no stage marker, and the breaker is not told (a breach is no outage)
    assert not b.exists("scenes/gs-sla/geniesim/.geniesim_complete") and not b.exists(
        "scenes/gs-sla/geniesim/.geniesim_import_complete"
    )
    assert [w for w in DBOS.list_workflows(name=IMPORT) if ":gs-sla:" in w.workflow_id] == []
    assert CircuitBreaker(b, "gs-sla").state()["failure_count"] == 0
    records = [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "bpflow.metrics" and "geniesim_sla_violation" in r.getMessage()
    ]
    assert len(records) == 1 and records[0]["job_id"] == job["job_id"] and records[0]["sla_seconds"] == 0
    assert records[0]["duration_seconds"] == job["job_metrics"]["duration_seconds"]
    # a rerun of the stage (a new version of its trigger) is SKIPPED by that marker
    again = outcome(_trigger(b, "gs-sla"))
    assert again["status"] == "SKIPPED" and "Idempotency marker present" in again["message"], again
    assert read(b, "scenes/gs-sla/geniesim/job.json")["job_id"] == job["job_id"]
    settle()


def test_a_bad_sla_setting_is_a_clear_error(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = _runtime(make_runtime, GENIESIM_SLA_SECONDS="four hours")
    upload_scene(rt.bucket, tmp_path, "gs-sla-bad")
    st = finished(_trigger(rt.bucket, "gs-sla-bad"))
    assert st.status == "ERROR" and "GENIESIM_SLA_SECONDS must be a number of seconds" in str(st.error)
    settle()


def _gpu_jobs(home: Path) -> list[int]:
    return _job_processes(home, None, "genie-sim-gpu-job")


def test_worker_killed_mid_genie_sim_job_completes_once_after_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = runtime_env(home, **SMALL, **PROBE, **NO_TRAINING, BPFLOW_SCAN_INTERVAL_SECONDS="3600")
    log = tmp_path / "up.log"
    args = [*BPFLOW, "up", "--port", str(_free_port())]
    b = LocalBucket(home / "bucket")
    upload_scene(b, tmp_path, "gs-kill")
    with _process(args, env, log) as first:
        wait_until(lambda: _log_says(log, "bpflow up:"), timeout=120)
        b.write_json(
            "scenes/gs-kill/variation_assets/.variation_pipeline_complete",
            {"scene_id": "gs-kill", "status": "completed"},
        )
        jobs = wait_until(lambda: _gpu_jobs(home), timeout=300, interval=0.2)
        time.sleep(1.0)  # into the job: the simulation is running
        assert not b.exists("scenes/gs-kill/geniesim/.geniesim_import_complete")
        os.kill(first.pid, signal.SIGKILL)  # the worker only: the job must die with it
        first.wait()
        wait_until(lambda: not _gpu_jobs(home), timeout=10)
    assert jobs and not b.exists("scenes/gs-kill/geniesim/.geniesim_complete")
    with _process(args, env, log) as second:
        wait_until(lambda: b.exists("scenes/gs-kill/geniesim/.geniesim_complete"), timeout=900, interval=0.5)
        wait_until(lambda: len(list(b.list("scenes/gs-kill/test/episodes_imported/"))) >= 1, timeout=120)
        time.sleep(3.0)  # time for a duplicate to show, if there were one
        assert second.poll() is None
        listed = subprocess.run(
            [*BPFLOW, "runs", "--scene", "gs-kill", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert listed.returncode == 0, listed.stderr
    job = read(b, "scenes/gs-kill/geniesim/job.json")
    done = read(b, "scenes/gs-kill/geniesim/.geniesim_complete")
    imported = read(b, "scenes/gs-kill/geniesim/.geniesim_import_complete")
    assert job["status"] == "completed" and done["job_id"] == imported["job_id"] == job["job_id"]
    # one submission, one import, one event, one dataset holding the one job's episodes
    (marker,) = _submission_markers(b, "gs-kill")
    assert marker["job_id"] == job["job_id"]
    assert [i.key.rsplit("/", 1)[1] for i in b.list("scenes/gs-kill/geniesim/idempotency/import/")] == [
        f"{job['job_id']}.json"
    ]
    events = [read(b, i.key)["event"] for i in b.list("scenes/gs-kill/test/episodes_imported/")]
    assert (
        len(events) == 1
        and events[0]["job_id"] == job["job_id"]
        and events[0]["episode_count"] == job["job_metrics"]["episodes_collected"]
    )
    manifest = read(b, "scenes/gs-kill/geniesim/import_manifest.json")
    info = json.loads((b.root / manifest["output_dir"] / "lerobot" / "meta" / "info.json").read_text())
    assert info["total_episodes"] == job["job_metrics"]["episodes_collected"] == 1
    # the export run (which imports inline on this synchronous path) was resumed under its own id,
    # not started again; no separate import run was started
    runs = json.loads(listed.stdout)
    runs = runs["runs"] if isinstance(runs, dict) else runs
    by = {}
    for r in runs:
        by.setdefault(r["workflow"], []).append(r)
    assert [r["status"] for r in by["genie-sim-export-pipeline"]] == ["SUCCESS"], by
    assert IMPORT not in by, by
