"""policy-evaluation-pipeline's failure paths on the real runtime (no training needed): a marker
naming no model, a model that is not there, a key that is not the training marker."""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.ids import object_run_id
from tests.stage2.helpers import outcome

WF = "policy-evaluation-pipeline"


def _trigger(rt: Any, scene: str, body: dict[str, Any]) -> str:
    key = f"scenes/{scene}/training/.training_complete"
    info = rt.bucket.write_json(key, body)
    return object_run_id(WF, key, info.generation)


def test_evaluation_failures_are_clear_markers(runtime: Any) -> None:
    b = runtime.bucket
    no_model = outcome(_trigger(runtime, "ev-nomodel", {"status": "completed"}))
    assert no_model["status"] == "FAILED"
    assert b.read_json("scenes/ev-nomodel/evaluation/.failed")["error"]["code"] == "model_path_missing"
    gone = outcome(
        _trigger(
            runtime, "ev-gone", {"model_path": "scenes/ev-gone/episodes/training/checkpoints/000001/pretrained_model"}
        ),
        timeout=300,
    )
    assert gone["status"] == "FAILED"
    body = b.read_json("scenes/ev-gone/evaluation/.failed")
    assert body["error"]["code"] == "policy_evaluation_failed" and body["job_name"] == "policy-evaluation-job"
    assert body["context"]["config_context"]["job_error"]["code"] in ("manifest_missing", "model_missing")
    assert "Traceback" not in json.dumps(body)
    outside = outcome(_trigger(runtime, "ev-out", {"model_path": "scenes/other/training/model"}), timeout=300)
    assert outside["status"] == "FAILED"
    assert (
        b.read_json("scenes/ev-out/evaluation/.failed")["context"]["config_context"]["job_error"]["code"]
        == "model_path_outside_scene"
    )
    run_id = f"{WF}:manual:other"
    runtime.dispatcher.start_manual(WF, {"data": {"name": "scenes/x/training/.failed"}}, run_id=run_id)
    assert outcome(run_id)["message"] == "Not a training completion marker file: scenes/x/training/.failed"


def test_a_replay_on_a_worker_with_other_env_passes_the_recorded_options(runtime: Any) -> None:
    """The job's options are read in a recorded step: re-executing the run from its job step (a
    DBOS fork replays every step before it) on a worker whose ``EVAL_EPISODES`` is invalid still
    hands the job the first execution's value, so the job fails the same way (no manifest), never
    on ``EVAL_EPISODES``."""
    import dataclasses

    from dbos import DBOS

    from bpflow.core.engine import context
    from tests.stage2.helpers import finished

    b = runtime.bucket
    first = _trigger(runtime, "ev-replay", {"model_path": "scenes/ev-replay/training/model"})
    assert outcome(first, timeout=300)["status"] == "FAILED"
    steps = DBOS.list_workflow_steps(first)
    recorded = next(s for s in steps if s["function_name"] == "read parameters")
    assert recorded["output"]["eval_episodes"] == "10"
    job_step = next(s for s in steps if s["function_name"].startswith("job policy-evaluation-job"))
    assert recorded["function_id"] < job_step["function_id"]
    before = b.read_json("scenes/ev-replay/evaluation/.failed")["context"]["config_context"]["job_error"]
    assert before["code"] == "manifest_missing"

    installed = context.installed()
    context.install(dataclasses.replace(installed, env={**installed.env, "EVAL_EPISODES": "0"}))
    try:
        fork = DBOS.fork_workflow(first, job_step["function_id"]).get_workflow_id()
        assert finished(fork, timeout=300).status == "SUCCESS"
    finally:
        context.install(installed)
    body = b.read_json("scenes/ev-replay/evaluation/.failed")
    assert body["context"]["workflow_execution_id"] == fork  # the replay ran the job again
    after = body["context"]["config_context"]["job_error"]
    assert after["code"] == "manifest_missing" and after.get("field") != "EVAL_EPISODES"
