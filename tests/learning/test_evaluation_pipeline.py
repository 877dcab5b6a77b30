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
