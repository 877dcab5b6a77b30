"""variation-assets-pipeline on the real runtime: trigger → jobs → gate → marker, and its failure paths.

Stage-2 outputs are prepared through a second bucket handle (no listeners), so only the trigger
object the test writes starts anything. Every job is the real one, except where a test needs a
job to fail: then the simready job is swapped for the runner tests' fixture job for that test.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.core.engine.dispatcher import _Memo
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.variation.paths import Stage3Paths
from bpflow.jobs import JOBS
from tests.conftest import wait_until
from tests.stage3.stage2_fixture import replicator_complete, write_stage2_outputs

WF = "variation-assets-pipeline"
MODULES = "tests.fixtures.chain,tests.stage3.orchestrate"
FAST_RETRY = "max_retries: 2\nbase_delay_seconds: 0.2\nmax_delay_seconds: 1\nbackoff_factor: 2\n"


def prepare(rt: Any, scene: str, **kw: Any) -> Stage3Paths:
    write_stage2_outputs(LocalBucket(rt.bucket.root), scene, **kw)
    return Stage3Paths(scene)


def trigger(rt: Any, scene: str) -> str:
    key, body = replicator_complete(scene)
    info = rt.bucket.write_json(key, body)
    return f"{WF}:{key}@{info.generation}"


def finish(run_id: str, timeout: float = 120) -> tuple[str, Any]:
    wait_until(
        lambda: (st := DBOS.get_workflow_status(run_id)) is not None and st.status in ("SUCCESS", "ERROR"), timeout
    )
    st = DBOS.get_workflow_status(run_id)
    if st.status == "SUCCESS":
        return st.status, DBOS.retrieve_workflow(run_id).get_result()
    return st.status, st.error


def manual(rt: Any, scene: str, **flags: Any) -> str:
    key, _ = replicator_complete(scene)
    payload = {"data": {"bucket": rt.bucket.url, "name": key, "generation": rt.bucket.stat(key).generation}, **flags}
    return rt.dispatcher.start_manual(WF, payload).run_ids[0]


def events(caplog: pytest.LogCaptureFixture, scene: str, metric: str = "pipeline_invocation") -> list[dict[str, Any]]:
    out = []
    for rec in caplog.records:
        record = getattr(rec, "bp_record", None)
        if record and record.get("bp_metric") == metric and record.get("scene_id") == scene:
            out.append(record)
    return out


def steps(run_id: str, prefix: str) -> int:
    return sum(1 for s in DBOS.list_workflow_steps(run_id) if s["function_name"].startswith(prefix))


@pytest.fixture
def metrics_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="bpflow.metrics")
    return caplog


def test_trigger_runs_every_stage_once_and_writes_the_marker_once(
    make_runtime: Any, metrics_log: pytest.LogCaptureFixture
) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    p = prepare(rt, "wf1", baseline_isaac=False)
    run_id = trigger(rt, "wf1")
    status, result = finish(run_id)
    assert status == "SUCCESS", result
    assert result["status"] == "SUCCESS" and result["markers"] == [p.complete_marker]
    assert (
        result["simready_state"] == "SUCCEEDED"
        and result["isaac_refresh_state"] == "SUCCEEDED"
        and not result["baseline_present"]
    )
    b = rt.bucket
    marker = b.read_text(p.complete_marker)
    assert marker.startswith("Completed at ") and f"run_id: {run_id}" in marker and "status: SUCCESS" in marker
    assert len(b.read_json(p.assets_json)["objects"]) == 2
    # simready ran on the variants (the Stage-2 job, with the variation prefix)
    simready = b.read_json(p.simready_marker)
    assert set(simready["simready_assets"]) == {"mug_variants", "table_variants"}
    refresh = b.read_json(p.isaac_refresh_marker)
    assert refresh["status"] == "complete" and refresh["mode"] == "refresh_only" and refresh["run_id"] == run_id
    assert refresh["variation_assets_summary"]["variation_assets_available"] == 2
    progress = b.read_json(p.progress)
    assert progress["stages_completed"] == ["variation_gen", "simready"] and progress["variation_asset_count"] == 2
    assert not b.exists(p.failed_marker)
    # the same event again, past the in-process memo: attaches to the same run, writes nothing new
    gen = b.stat(p.complete_marker).generation  # type: ignore[union-attr]
    key, _ = replicator_complete("wf1")
    rt.dispatcher._memo = _Memo()
    rt.dispatcher.dispatch_object(ObjectEvent(bucket=b.url, name=key, generation=b.stat(key).generation, source="http"))  # type: ignore[union-attr]
    assert finish(run_id)[0] == "SUCCESS"
    assert b.stat(p.complete_marker).generation == gen  # type: ignore[union-attr]
    assert [w.workflow_id for w in DBOS.list_workflows(name=WF)] == [run_id]
    for job in ("variation-gen-job", "simready-job", "isaac-lab-refresh-job"):
        assert steps(run_id, f"job {job} attempt") == 1
    assert steps(run_id, "write completion marker") == 1
    statuses = [(e["event"], e["status"]) for e in events(metrics_log, "wf1")]
    assert statuses == [("start", "STARTED"), ("complete", "SUCCESS")]


def test_orchestrator_and_trigger_start_stage3_once(make_runtime: Any) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    p = prepare(rt, "wf2")
    run_id = trigger(rt, "wf2")
    orch = rt.dispatcher.start_manual("test-stage3-orchestrator", {"scene_id": "wf2"}).run_ids[0]
    status, result = finish(orch)
    assert status == "SUCCESS" and result["stage_run"] == run_id and result["stage_status"] == "SUCCESS"
    assert finish(run_id)[0] == "SUCCESS"
    assert [w.workflow_id for w in DBOS.list_workflows(name=WF)] == [run_id]
    assert steps(run_id, "job variation-gen-job attempt") == 1
    assert rt.bucket.exists(p.complete_marker)


def test_gate_statuses(make_runtime: Any, metrics_log: pytest.LogCaptureFixture) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    b = rt.bucket
    # SUCCESS_NO_ASSETS: nothing needs generating; the marker is still written, simready never runs
    p = prepare(rt, "noassets", variation_assets=[{"name": "chair", "category": "chair", "source_hint": "library"}])
    status, result = finish(trigger(rt, "noassets"))
    assert status == "SUCCESS" and result["status"] == "SUCCESS_NO_ASSETS", result
    assert (
        result["variation_asset_count"] == 0
        and result["simready_state"] == "SKIPPED"
        and result["isaac_refresh_state"] == "SKIPPED"
    )
    assert b.exists(p.complete_marker) and not b.exists(p.assets_json) and not b.exists(p.simready_marker)
    assert events(metrics_log, "noassets")[-1]["status"] == "SUCCESS_NO_ASSETS"

    # FAILED_REQUIRED_ISAAC: no baseline and the refresh turned off by the payload
    p = prepare(rt, "noisaac", baseline_isaac=False)
    key, body = replicator_complete("noisaac")
    LocalBucket(b.root).write_json(key, body)  # no event: started by hand below, with flags
    status, error = finish(manual(rt, "noisaac", enable_stage3_isaac_refresh=False, require_isaac=True))
    assert (
        status == "ERROR"
        and "No successful Isaac pass for scene noisaac (baseline_present=false, refresh_state=SKIPPED, require_isaac=true)"
        in str(error)
    )
    assert not b.exists(p.complete_marker)
    failed = b.read_json(p.failed_marker)
    assert failed["error"]["code"] == "failed_required_isaac" and failed["scene_id"] == "noisaac"
    last = events(metrics_log, "noisaac")[-1]
    assert last["status"] == "FAILED_REQUIRED_ISAAC" and last["baseline_present"] is False

    # the same scene with require_isaac off ("1" is not "true": the reference's flag rule) passes,
    # and clears the earlier failure marker
    status, result = finish(manual(rt, "noisaac", enable_stage3_isaac_refresh=False, require_isaac="1"))
    assert status == "SUCCESS" and result["status"] == "SUCCESS" and result["isaac_refresh_state"] == "SKIPPED"
    assert b.exists(p.complete_marker) and not b.exists(p.failed_marker)

    # a baseline alone satisfies the gate when the refresh is off
    p = prepare(rt, "baseline", baseline_isaac=True)
    LocalBucket(b.root).write_json(*replicator_complete("baseline"))
    status, result = finish(manual(rt, "baseline", enable_stage3_isaac_refresh="false"))
    assert status == "SUCCESS" and result["baseline_present"] and result["isaac_refresh_state"] == "SKIPPED"
    assert not b.exists(p.isaac_refresh_marker)


def test_simready_failure_is_tolerated(
    make_runtime: Any, metrics_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(JOBS, "simready-job", "tests.runners.jobs_fixture")
    # Jobs get an allowlist of the service env: the fixture's switches are passed on by name.
    rt = make_runtime(
        BPFLOW_WORKFLOW_MODULES=MODULES,
        FIXTURE_MODE="exit",
        FIXTURE_EXIT_CODE="3",
        BPFLOW_JOB_ENV_PASSTHROUGH="FIXTURE_MODE,FIXTURE_EXIT_CODE",
    )
    b = rt.bucket
    p = prepare(rt, "srfail", baseline_isaac=True)
    status, result = finish(trigger(rt, "srfail"))
    assert status == "SUCCESS" and result["status"] == "SUCCESS", result
    assert result["simready_state"] == "FAILED" and result["isaac_refresh_state"] == "SKIPPED"  # refresh needs simready
    assert b.exists(p.complete_marker) and b.exists(p.assets_json)
    assert "stages_completed" not in b.read_json(p.progress)
    warnings = events(metrics_log, "srfail", "stage_warning")
    assert warnings and warnings[0]["job"] == "simready-job" and warnings[0]["exit_code"] == 3
    # without a baseline the same failure leaves no Isaac pass
    p = prepare(rt, "srfail2", baseline_isaac=False)
    status, error = finish(trigger(rt, "srfail2"))
    assert status == "ERROR" and "refresh_state=SKIPPED" in str(error)
    assert not b.exists(p.complete_marker)


def test_variation_gen_failure_writes_failed_and_no_marker(
    make_runtime: Any, metrics_log: pytest.LogCaptureFixture
) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    b = rt.bucket
    p = prepare(rt, "vgfail", variation_assets=[{"name": "mug", "priority": "urgent"}])
    status, error = finish(trigger(rt, "vgfail"))
    assert status == "ERROR" and "Variation generation job FAILED for scene vgfail" in str(error)
    failed = b.read_json(p.failed_marker)
    assert failed["error"]["code"] == "variation_gen_failed" and failed["job_name"] == "variation-gen-job"
    assert "validation_failed [assets[0].priority]: assets[0].priority must be one of" in failed["error"]["message"]
    assert not b.exists(p.complete_marker)
    assert events(metrics_log, "vgfail")[-1]["status"] == "FAILED"
    assert all(k.key.startswith("scenes/vgfail/") for k in b.list("scenes/"))  # nothing outside the scene


def test_variation_gen_start_failure_rolls_back(make_runtime: Any, tmp_path: Path) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "retry_policy.yaml").write_text(FAST_RETRY)
    down = tmp_path / "runner-down"
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES, BPFLOW_POLICY_DIR=str(policy), BPFLOW_RUNNER_DOWN_FILE=str(down))
    b = rt.bucket
    p = prepare(rt, "vgdown")
    LocalBucket(b.root).write(f"{p.variation_assets}/obj_old/variants.usda", "#usda 1.0\n")  # an earlier run's output
    down.write_text("outage")
    status, error = finish(trigger(rt, "vgdown"))
    assert status == "ERROR" and "runner unavailable" in str(error)
    assert not b.exists(f"{p.variation_assets}/obj_old/variants.usda")
    failed = b.read_json(p.failed_marker)
    assert failed["error"]["code"] == "variation_gen_start_failed"
    assert failed["context"]["config_context"] == {"variation_assets_prefix": p.variation_assets}
    assert not b.exists(p.complete_marker)


def test_non_trigger_objects_are_skipped(make_runtime: Any) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    run_id = rt.dispatcher.start_manual(
        WF, {"data": {"bucket": rt.bucket.url, "name": "scenes/x/replicator/other.json"}}
    ).run_ids[0]
    status, result = finish(run_id)
    assert status == "SUCCESS" and result["status"] == "SKIPPED"
    assert result["message"] == "Not a replicator completion marker: scenes/x/replicator/other.json"
    assert not list(rt.bucket.list("scenes/x/"))
