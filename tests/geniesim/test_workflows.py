"""The Genie Sim path on the live embedded runtime: real bucket, real DBOS workflows, the real
jobs (subprocess runner, MuJoCo) — export, the local Genie Sim runtime, import, poller, canary —
with the circuit breaker, the idempotency markers, canary and region routing in use."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bpflow.core.ids import manual_run_id, object_run_id
from bpflow.core.storage import Bucket
from bpflow.core.storage.local import LocalBucket
from bpflow.state.cas_json import iso_z
from tests.conftest import CHAIN_TRIGGERS, REPO, wait_until
from tests.geniesim.scenes import SMALL, read, upload_scene
from tests.stage2.helpers import finished, outcome, settle

EXPORT, IMPORT, POLLER, CANARY = (
    "genie-sim-export-pipeline",
    "genie-sim-import-pipeline",
    "genie-sim-import-poller",
    "canary-pipeline",
)
PROBE = {
    "BPFLOW_TRIGGER_FILES": f"{CHAIN_TRIGGERS},{REPO / 'tests/fixtures/geniesim_probe_triggers.yaml'}",
    "BPFLOW_WORKFLOW_MODULES": "tests.fixtures.chain,tests.fixtures.geniesim_probe",
}


#: Training is not under test here, but every import emits episodes.imported, which starts it:
#: an unknown training mode makes the training job refuse at once instead of training for minutes.
NO_TRAINING = {"TRAINING_MODE": "not-under-test"}


def _runtime(make_runtime: Callable[..., Any], **env: str) -> Any:
    return make_runtime(**SMALL, **PROBE, **NO_TRAINING, **env)


def _trigger(bucket: Bucket, scene: str) -> str:
    key = f"scenes/{scene}/variation_assets/.variation_pipeline_complete"
    info = bucket.write_json(key, {"scene_id": scene, "status": "completed"})
    return object_run_id(EXPORT, key, info.generation)


def _manual(rt: Any, workflow: str, payload: dict[str, Any]) -> str:
    run_id = manual_run_id(workflow)
    rt.dispatcher.start_run(workflow, run_id, payload)
    return run_id


def _canary_payload(bucket: Any, scene: str, **extra: Any) -> dict[str, Any]:
    """The export trigger's payload for a manual canary run. The trigger object is written
    through a second handle on the bucket, which the runtime does not hear (no watcher in these
    tests), so only the canary run exports the scene."""
    key = f"scenes/{scene}/variation_assets/.variation_pipeline_complete"
    info = bucket.stat(key) or LocalBucket(bucket.root).write_json(key, {"scene_id": scene})
    return {"data": {"bucket": "local", "name": key, "generation": str(info.generation)}, **extra}


def test_text_scene_to_geniesim_complete_with_region_failover_and_duplicates(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "regions").mkdir(parents=True)
    (home / "regions" / "us-central1.down").write_text("drained for the test")
    rt = _runtime(make_runtime)
    b = rt.bucket
    upload_scene(b, tmp_path, "gs-ok", cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "b", "xy": (-0.12, -0.08)}])
    result = outcome(_trigger(b, "gs-ok"))
    assert result["status"] == "SUCCESS", result
    assert result["region"] == "us-east1"  # the primary is unhealthy
    job = read(b, "scenes/gs-ok/geniesim/job.json")
    assert job["status"] == "completed" and job["runtime"]["region"] == "us-east1"
    assert job["job_metrics"]["episodes_collected"] == 2
    done = read(b, "scenes/gs-ok/geniesim/.geniesim_complete")
    assert done["job_id"] == job["job_id"] and done["ready_for_geniesim"] is True
    imported = read(b, "scenes/gs-ok/geniesim/.geniesim_import_complete")
    assert imported["job_id"] == job["job_id"]
    manifest = read(b, "scenes/gs-ok/geniesim/import_manifest.json")
    assert manifest["episodes"]["passed_validation"] == 2 and manifest["delivery"]["marker_exists"] is False
    root = b.root / manifest["output_dir"] / "lerobot"
    assert json.loads((root / "meta/info.json").read_text())["total_episodes"] == 2
    # the training event was emitted once
    wait_until(lambda: len(list(b.list("scenes/gs-ok/test/episodes_imported/"))) == 1, timeout=60)
    event = read(b, next(iter(b.list("scenes/gs-ok/test/episodes_imported/"))).key)["event"]
    assert event == {
        "job_id": job["job_id"],
        "scene_id": "gs-ok",
        "output_path": manifest["gcs_output_path"],
        "episode_count": 2,
    }
    # duplicate import (the poller, an operator): the import marker turns it into SKIPPED
    again = outcome(_manual(rt, IMPORT, {"job_id": job["job_id"], "scene_id": "gs-ok", "status": "completed"}))
    assert again["status"] == "SKIPPED" and "already completed" in again["message"]
    # ... and so does the custom event manual.geniesim.job.completed (payload under data)
    from bpflow.core.events.model import CustomEvent
    from bpflow.core.ids import event_run_id

    rt.dispatcher.dispatch_custom(
        CustomEvent(
            type="manual.geniesim.job.completed",
            id="op-1",
            data={"job_id": job["job_id"], "scene_id": "gs-ok", "status": "completed"},
        )
    )
    by_event = outcome(event_run_id(IMPORT, "manual.geniesim.job.completed", "op-1"))
    assert by_event["status"] == "SKIPPED" and by_event["job_id"] == job["job_id"]
    # duplicate export event after the stage marker is gone: the submission marker skips the GPU job
    b.delete("scenes/gs-ok/geniesim/.geniesim_complete")
    dup = outcome(_trigger(b, "gs-ok"))
    assert dup["status"] == "SKIPPED" and "Idempotency marker present" in dup["message"], dup
    assert read(b, "scenes/gs-ok/geniesim/job.json")["job_id"] == job["job_id"]
    settle()
    assert len(list(b.list("scenes/gs-ok/test/episodes_imported/"))) == 1
    # LeRobot itself loads a Genie Sim dataset in tests/test_demo.py (the text request's own)
    from tests.episodes.checks import check_dataset

    assert check_dataset(root)["total_episodes"] == 2


def test_breaker_opens_after_three_failures_refuses_then_one_trial_closes_it(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    rt = _runtime(make_runtime)
    b = rt.bucket
    # a scene with nothing the arm can pick: the export job fails every time
    upload_scene(b, tmp_path, "gs-cb", cubes=[{"id": "crate", "xy": (0.0, 0.0), "size": 0.2}])
    key = "scenes/gs-cb/geniesim/.circuit_breaker.json"
    for n in (1, 2, 3):
        r = outcome(_trigger(b, "gs-cb"))
        assert r["status"] == "FAILED" and r["job_error"]["code"] == "no_tasks"
        state = read(b, key)
        assert state["failure_count"] == n and state["last_failure_reason"] == "geniesim_export_failed"
        assert state["status"] == ("open" if n == 3 else "closed")
    assert read(b, "scenes/gs-cb/geniesim/.failed")["error"]["code"] == "geniesim_export_failed"
    refused = outcome(_trigger(b, "gs-cb"))
    assert (
        refused["status"] == "SKIPPED"
        and refused["message"] == "Circuit breaker open for scene gs-cb. Skipping Genie Sim export."
    )
    assert read(b, key)["failure_count"] == 3
    # move the clock: the breaker opened longer ago than the recovery time (600 s)
    state = read(b, key)
    state["opened_at"] = iso_z(datetime.now(UTC) - timedelta(seconds=601))
    b.write_json(key, state)
    upload_scene(b, tmp_path, "gs-cb")  # the operator fixed the scene
    trial = outcome(_trigger(b, "gs-cb"))
    assert trial["status"] == "SUCCESS", trial
    state = read(b, key)
    assert state["status"] == "closed" and state["failure_count"] == 0 and state["last_probe_at"] is not None
    settle()


def test_failed_canary_writes_rollback_marker_and_next_export_runs_stable(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    rt = _runtime(make_runtime, CANARY_TAGS="fast")
    b = rt.bucket
    # an asset under a non-commercial licence: the provenance gate fails the canary job
    upload_scene(
        b,
        tmp_path,
        "gs-can",
        cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "nc", "xy": (-0.12, -0.08)}],
        licences={"nc": "CC-BY-NC-4.0"},
        tags=["fast"],
    )
    not_canary = outcome(_manual(rt, CANARY, _canary_payload(b, "gs-none")))
    assert not_canary["status"] == "SKIPPED"
    first = outcome(_manual(rt, CANARY, _canary_payload(b, "gs-can")))
    assert first["status"] == "SUCCESS" and first["reasons"] == ["tag_match"]
    st = finished(first["export_run"])
    assert st.status == "ERROR" and "Genie Sim submission failed" in str(st.error)
    job = read(b, "scenes/gs-can/geniesim/job.json")
    assert job["status"] == "failed" and job["failure_reason"] == "Asset provenance blocked submission"
    assert job["canary"]["is_canary"] is True and job["canary"]["release_channel"] == "canary"
    rollback = read(b, "scenes/gs-can/geniesim/.canary_rollback")
    assert rollback["job_id"] == job["job_id"] and rollback["assignment"]["matched_tags"] == ["fast"]
    failed = read(b, "scenes/gs-can/geniesim/.failed")
    assert failed["job_name"] == "genie-sim-submit-job" and failed["error"]["code"] == "geniesim_submit_failed"
    # the licence is fixed; the next canary export of the scene is routed to the stable image
    upload_scene(
        b, tmp_path, "gs-can", cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "nc", "xy": (-0.12, -0.08)}], tags=["fast"]
    )
    second = outcome(_manual(rt, CANARY, _canary_payload(b, "gs-can", allow_idempotent_retry="1")))
    result = outcome(second["export_run"])
    assert result["status"] == "SUCCESS" and result["image_tag"] == "isaacsim", result
    job2 = read(b, "scenes/gs-can/geniesim/job.json")
    assert (
        job2["status"] == "completed"
        and job2["canary"]["enabled"] is False
        and job2["canary"]["release_channel"] == "stable"
    )
    settle()


def test_async_job_completes_through_the_poller(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    # TRIGGER_TRAINING: episode-generation hands its own dataset to training, so this import must
    # not start a second training for the scene (docs/decisions.md, "one training per scene").
    rt = _runtime(make_runtime, GENIESIM_ASYNC="true", TRIGGER_TRAINING="true")
    b = rt.bucket
    upload_scene(b, tmp_path, "gs-async")
    first = outcome(_trigger(b, "gs-async"))
    assert first["status"] == "SUCCESS" and first["job_status"] == "submitted"
    sub = read(b, "scenes/gs-async/geniesim/.geniesim_submitted")
    assert sub["job_id"] == first["job_id"]
    assert not b.exists("scenes/gs-async/geniesim/.geniesim_complete")
    # the detached runtime finishes on its own
    wait_until(lambda: read(b, "scenes/gs-async/geniesim/job.json")["status"] == "completed", timeout=240, interval=0.5)
    # a second scene's job.json is not JSON: the poll still imports gs-async, then reports it
    b.write("scenes/gs-junk/geniesim/job.json", b"{not json")
    poll = _manual(rt, POLLER, {"bucket": "local"})
    st = finished(poll)
    assert st.status == "ERROR" and "scenes/gs-junk/geniesim/job.json" in str(st.error)
    imp = outcome(f"{IMPORT}:gs-async:{first['job_id']}")
    assert imp["status"] == "SUCCESS" and imp["episodes_imported"] == 1
    assert read(b, "scenes/gs-async/geniesim/.geniesim_complete")["job_id"] == first["job_id"]
    settle()
    assert list(b.list("scenes/gs-async/test/episodes_imported/")) == []  # one training per scene
    # the next poll finds nothing to do for it
    b.delete("scenes/gs-junk/geniesim/job.json")
    again = outcome(_manual(rt, POLLER, {"bucket": "local"}))
    assert again["started"] == []
    # a duplicate export event (stage marker removed): the bundle is unchanged, the submission
    # marker still says "submitted", so the GPU job is launched again and finds its own job
    # (same idempotency key): SKIPPED; the import marker skips the import
    b.delete("scenes/gs-async/geniesim/.geniesim_complete")
    dup = outcome(_trigger(b, "gs-async"))
    assert dup["status"] == "SUCCESS" and dup["job_id"] == first["job_id"], dup
    gpu_logs = [p.read_text() for p in (rt.settings.home / "logs" / "jobs").glob("genie-sim-gpu-job-*.log")]
    assert len(gpu_logs) == 2 and sum('"status": "SKIPPED"' in t for t in gpu_logs) == 1
    settle()


def test_bad_inputs_end_in_the_reference_markers(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = _runtime(make_runtime, GENIESIM_RUNTIME="remote")
    b = rt.bucket
    upload_scene(b, tmp_path, "gs-noman", manifest=False)
    st = finished(_trigger(b, "gs-noman"))
    assert st.status == "ERROR" and "Pre-flight failed: scene_manifest.json missing for gs-noman" in str(st.error)
    failed = read(b, "scenes/gs-noman/geniesim/.failed")
    assert failed["error"]["code"] == "PREFLIGHT_MISSING_SCENE_MANIFEST"
    assert sorted(i.key for i in b.list("scenes/gs-noman/geniesim/")) == ["scenes/gs-noman/geniesim/.failed"]
    # the remote runtime is not configured here: a clear start failure, rolled back
    upload_scene(b, tmp_path, "gs-remote")
    st = finished(_trigger(b, "gs-remote"))
    assert st.status == "ERROR" and "GENIESIM_RUNTIME=remote" in str(st.error)
    failed = read(b, "scenes/gs-remote/geniesim/.failed")
    assert failed["error"]["code"] == "geniesim_gpu_start_failed" and "not configured" in failed["error"]["message"]
    assert not b.exists("scenes/gs-remote/geniesim/task_config.json")  # rolled back
    assert (
        read(b, "scenes/gs-remote/geniesim/.circuit_breaker.json")["last_failure_reason"] == "geniesim_gpu_start_failed"
    )
    assert not [i.key for i in b.list("scenes/") if not i.key.startswith(("scenes/gs-noman/", "scenes/gs-remote/"))]
    # not the trigger, Genie Sim disabled by the scene, an import nobody can resolve
    other = outcome(_manual(rt, EXPORT, {"data": {"bucket": "local", "name": "scenes/gs-x/usd/.usd_complete"}}))
    assert other["status"] == "SKIPPED" and other["message"].startswith("Not a replicator completion marker file")
    b.write_json("scenes/gs-remote/config.json", {"use_geniesim": False})
    off = outcome(_trigger(b, "gs-remote"))
    assert off["status"] == "SKIPPED" and "Genie Sim disabled" in off["message"]
    st = finished(_manual(rt, IMPORT, {"status": "completed"}))
    assert st.status == "ERROR" and "job_id is required and could not be resolved" in str(st.error)
    st = finished(_manual(rt, IMPORT, {"job_id": "j", "scene_id": "../etc", "status": "completed"}))
    assert st.status == "ERROR" and "not a valid scene id" in str(st.error)
    settle()


def test_a_job_whose_episodes_all_fail_is_blocked_by_the_quality_gate(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    rt = _runtime(make_runtime)
    b = rt.bucket
    # too heavy to lift: the runtime records the failed grasp, honestly
    upload_scene(b, tmp_path, "gs-heavy", cubes=[{"id": "anvil", "xy": (0.1, 0.05), "mass": 8.0}])
    st = finished(_trigger(b, "gs-heavy"))
    assert st.status == "ERROR" and "Quality gate failed" in str(st.error)
    job = read(b, "scenes/gs-heavy/geniesim/job.json")
    assert job["status"] == "completed" and job["job_metrics"]["quality_pass_rate"] == 0.0
    blocked = read(b, "scenes/gs-heavy/geniesim/.failed")
    assert (
        blocked["error"]["code"] == "quality_gate_failed"
        and "none of the job's 1 episode certificates passed" in blocked["error"]["reason"]
    )
    # the report's address in the local bucket's own scheme, never gs://file:///… or gs:///…
    assert blocked["error"]["report_path"] == f"{b.url}/scenes/gs-heavy/episode-generation-job/quality_gate_report.json"
    assert not b.exists("scenes/gs-heavy/geniesim/.geniesim_import_complete")
    assert not b.exists("scenes/gs-heavy/geniesim/.geniesim_complete")
    settle()
