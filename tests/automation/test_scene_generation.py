"""scene-generation-pipeline on the real runtime: generated scenes really reach the source
orchestrator; a dry run writes nothing; a job that cannot start clears scene-generation/ and
writes its failure marker (reference B7, kept on purpose)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbos import DBOS

from tests.conftest import wait_until
from tests.source.conftest import OFFLINE_STAGE1

WF = "scene-generation-pipeline"
FAST_RETRY = "max_retries: 2\nbase_delay_seconds: 0.2\nmax_delay_seconds: 1\nbackoff_factor: 2\n"


def run_generation(rt: Any, payload: dict[str, Any]) -> tuple[str, Any]:
    run_id = rt.dispatcher.start_manual(WF, payload).run_ids[0]
    status = wait_until(
        lambda: (s := DBOS.get_workflow_status(run_id)) and s.status in ("SUCCESS", "ERROR") and s, timeout=240
    )
    if status.status == "SUCCESS":
        return "SUCCESS", DBOS.retrieve_workflow(run_id).get_result()
    return "ERROR", status.error


def test_generated_scenes_go_through_the_source_orchestrator(make_runtime: Any, stage1_only: None) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    status, result = run_generation(rt, {"scenes_per_run": 2})
    assert status == "SUCCESS" and result["message"] == "Generated 2 scenes successfully"
    assert result["region"] == "us-central1"
    ids = result["scene_ids"]
    assert len(set(ids)) == 2
    for sid in ids:
        assert rt.bucket.read_json(f"scenes/{sid}/.scene_generation_complete")["ready_for"] == "source-orchestrator"
        assert rt.bucket.read_json(f"scenes/{sid}/prompts/scene_request.json")["scene_id"] == sid
    wait_until(
        lambda: all(rt.bucket.exists(f"scenes/{sid}/source_orchestrator_status.json") for sid in ids), timeout=240
    )
    assert all(rt.bucket.exists(f"scenes/{sid}/assets/.regen3d_complete") for sid in ids)


def test_dry_run_routes_and_stops(make_runtime: Any) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    status, result = run_generation(rt, {"scenes_per_run": 3, "dry_run": True})
    assert (
        status == "SUCCESS" and result["status"] == "DRY_RUN" and result["message"] == "Would have generated 3 scenes"
    )
    assert list(rt.bucket.list("")) == []


def test_a_job_that_cannot_start_clears_the_prefix_and_writes_the_failure_marker(
    make_runtime: Any, tmp_path: Path
) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "retry_policy.yaml").write_text(FAST_RETRY)
    down = tmp_path / "runner-down"
    down.write_text("outage")
    rt = make_runtime(**OFFLINE_STAGE1, BPFLOW_POLICY_DIR=str(policy), BPFLOW_RUNNER_DOWN_FILE=str(down))
    rt.bucket.write_json("scene-generation/runs/old/report.json", {"scene_ids": []})
    rt.bucket.write_json("scenes/keep/prompts/scene_request.json", {"x": 1})
    status, error = run_generation(rt, {"scenes_per_run": 1})
    assert status == "ERROR" and "runner unavailable" in str(error)
    failed = rt.bucket.read_json("scene-generation/.failed")
    assert failed["error"]["code"] == "scene_generation_start_failed"
    assert [i.key for i in rt.bucket.list("scene-generation/")] == ["scene-generation/.failed"]
    assert rt.bucket.exists("scenes/keep/prompts/scene_request.json")


def test_a_bad_scene_count_is_a_clear_error(make_runtime: Any) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    status, error = run_generation(rt, {"scenes_per_run": "many"})
    assert status == "ERROR" and "scenes_per_run must be an integer" in str(error)
    status, error = run_generation(rt, {"scenes_per_run": 0})
    assert status == "ERROR" and "Scene generation job failed" in str(error)
    assert rt.bucket.read_json("scene-generation/.failed")["error"]["message"].startswith(
        "SCENES_PER_RUN must be between 1 and 100"
    )
