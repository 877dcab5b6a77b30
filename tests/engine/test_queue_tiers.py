"""The queue tiers: a run only waits on runs of a lower tier, and runs queued by a build without
tiers are moved to their tier at start-up (a database stuck that way does not stay stuck)."""

from __future__ import annotations

from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID

from bpflow.core.engine.queues import REQUEST_ORCHESTRATORS, SCENE_ORCHESTRATORS, STAGE_WORK, WaitOrderError, check_wait
from bpflow.core.engine.registry import find_workflow, import_workflow_modules
from tests.conftest import wait_until


def test_a_run_may_only_wait_on_a_lower_tier() -> None:
    check_wait("orchestrator", SCENE_ORCHESTRATORS, "stage", STAGE_WORK)
    check_wait("request", REQUEST_ORCHESTRATORS, "scene", SCENE_ORCHESTRATORS)
    with pytest.raises(WaitOrderError) as caught:
        check_wait("stage", STAGE_WORK, "other-stage", STAGE_WORK)
    assert caught.value.code == "wait_on_same_tier"
    with pytest.raises(WaitOrderError):
        check_wait("scene", SCENE_ORCHESTRATORS, "request", REQUEST_ORCHESTRATORS)


def test_the_real_orchestrators_sit_above_the_stages_they_wait_on() -> None:
    import_workflow_modules()
    assert find_workflow("source-orchestrator").queue is REQUEST_ORCHESTRATORS  # type: ignore[union-attr]
    assert find_workflow("image-to-scene-orchestrator").queue is SCENE_ORCHESTRATORS  # type: ignore[union-attr]
    for stage in ("usd-assembly-pipeline", "variation-assets-pipeline", "image-to-scene-pipeline"):
        assert find_workflow(stage).queue is STAGE_WORK  # type: ignore[union-attr]


def test_an_orchestrator_queued_by_an_older_build_is_moved_to_its_tier(make_runtime: Any) -> None:
    rt = make_runtime(BPFLOW_WORKER_CONCURRENCY="1")
    rt.bucket.write_json("scenes/old1/test/three.json", {})  # holds the one stage slot
    wait_until(lambda: rt.bucket.exists("scenes/old1/test/three/.step1_complete"))
    # What a build without tiers did: the orchestrator queued on the stage queue.
    orchestrator = find_workflow("test-orchestrator")
    assert orchestrator is not None
    with SetWorkflowID("test-orchestrator:manual:old1"):
        DBOS.enqueue_workflow(STAGE_WORK.name, orchestrator.dbos_fn, {"scene_id": "old1"})
    rt.shutdown()

    rt = make_runtime(BPFLOW_WORKER_CONCURRENCY="1")
    status = DBOS.get_workflow_status("test-orchestrator:manual:old1")
    assert status is not None and status.queue_name == SCENE_ORCHESTRATORS.name
    rt.bucket.write_json("scenes/old1/test/three/release", {})
    # In the stage queue it would hold the only slot and wait for ever on test-stage-a.
    result = DBOS.retrieve_workflow("test-orchestrator:manual:old1").get_result(polling_interval_sec=0.1)
    assert result["stage_status"] == "SUCCESS"
