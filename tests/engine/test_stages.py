"""An orchestrator and the marker trigger both start a stage: it runs once."""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from tests.conftest import wait_until


def test_orchestrated_and_triggered_start_share_one_run(runtime: Any) -> None:
    out = runtime.dispatcher.start_manual("test-orchestrator", {"scene_id": "orch1"})
    result = DBOS.retrieve_workflow(out.run_ids[0]).get_result()
    assert result["status"] == "SUCCESS" and result["stage_status"] == "SUCCESS"
    gen = runtime.bucket.stat("scenes/orch1/test/input.json").generation
    assert result["stage_run"] == f"test-stage-a:scenes/orch1/test/input.json@{gen}"
    runtime.dispatcher.drain()
    wait_until(lambda: runtime.bucket.exists("scenes/orch1/test/b/.b_complete"), timeout=60)
    runs = [w.workflow_id for w in DBOS.list_workflows(name="test-stage-a") if "orch1" in w.workflow_id]
    assert runs == [result["stage_run"]]
