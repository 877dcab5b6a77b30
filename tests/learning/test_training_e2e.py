"""The learning loop on the real runtime: a scene's episodes recorded by the real Stage 4 job,
the ``blueprintpipeline.episodes.imported`` custom event emitted on the engine's bus (as the
Genie Sim import and ``bpflow emit`` do), LeRobot's own training in ``.venv-train`` for a few
steps, ``training/.training_complete`` starting the closed-loop evaluation, which loads that
checkpoint and runs it in the MuJoCo scene: report, videos and markers appear in the bucket."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient

from bpflow.api.app import create_app
from bpflow.core.events.model import CustomEvent
from bpflow.core.ids import event_run_id, object_run_id
from bpflow.core.storage import Bucket
from tests.learning.helpers import TINY, record_episodes
from tests.stage2.helpers import outcome, settle

EVENT = "blueprintpipeline.episodes.imported"


def emit(rt: Any, data: dict[str, Any]) -> str:
    """What ``bpflow emit`` and the Genie Sim import do: a custom event on the engine's bus."""
    event_id = uuid.uuid4().hex
    rt.dispatcher.dispatch_custom(CustomEvent(type=EVENT, id=event_id, data=data, source="test"))
    return event_run_id("training-pipeline", EVENT, event_id)


@pytest.mark.long(80)
def test_imported_episodes_train_a_policy_that_the_evaluation_runs_in_the_scene(
    make_runtime: Callable[..., Any], tmp_path: Path
) -> None:
    rt = make_runtime(**TINY)
    bucket: Bucket = rt.bucket
    record_episodes(bucket, tmp_path, "learn")
    run_id = emit(
        rt, {"job_id": "job-1", "scene_id": "learn", "output_path": "scenes/learn/episodes", "episode_count": 1}
    )
    assert run_id == f"training-pipeline:{EVENT}:" + run_id.rsplit(":", 1)[1]
    result = outcome(run_id, timeout=1800)
    assert result["status"] == "SUCCESS", result
    model = result["model_path"]
    assert model.startswith("scenes/learn/episodes/training/checkpoints/") and model.endswith("/pretrained_model")
    for name in ("model.safetensors", "config.json", "policy_preprocessor.json", "policy_postprocessor.json"):
        assert bucket.exists(f"{model}/{name}"), name
    trained = bucket.read_json("scenes/learn/episodes/training/training_result.json")
    assert trained["steps"] == 2 and trained["architecture"] == "act" and trained["model_path"] == model
    curve = bucket.read_json("scenes/learn/episodes/training/loss_curve.json")["points"]
    assert [p["step"] for p in curve] == [1, 2] and all(p["loss"] > 0 for p in curve)
    assert bucket.read("scenes/learn/episodes/training/loss_curve.svg").startswith(b"<svg")
    marker = bucket.read_json("scenes/learn/training/.training_complete")
    assert marker["model_path"] == model and marker["job_id"] == "job-1"
    # the marker starts the closed-loop evaluation of that checkpoint
    info = bucket.stat("scenes/learn/training/.training_complete")
    assert info is not None
    ev = outcome(
        object_run_id("policy-evaluation-pipeline", "scenes/learn/training/.training_complete", info.generation),
        timeout=1800,
    )
    assert ev["status"] == "SUCCESS", ev
    report = bucket.read_json("scenes/learn/evaluation/report.json")
    assert report["model_path"] == model and report["trials"] == 1 and report["policy_type"] == "act"
    assert report["task_source"].endswith("episodes_summary.json")
    (task,) = report["tasks"]
    assert task["task_id"] == "pick_place_light" and 0.0 <= task["success_rate"] <= 1.0
    assert task["expert_success_rate"] == 1.0  # the scripted expert, same seeds, same physics judge
    assert task["trials"][0]["frames"] > 0 and task["trials"][0]["reason"]
    (video,) = task["videos"]
    local = tmp_path / "trial.mp4"
    local.write_bytes(bucket.read(video))
    with av.open(str(local)) as c:
        assert sum(1 for _ in c.decode(video=0)) == task["trials"][0]["frames"]
    done = bucket.read_json("scenes/learn/evaluation/.evaluation_complete")
    assert done["success_rate"] == report["success_rate"] and done["model_path"] == model
    # the dashboard: the loss curve as a chart, the report, the trial videos
    client = TestClient(create_app(rt), base_url="http://127.0.0.1")  # a host the service serves
    html = client.get("/scenes/learn").text
    assert (
        'id="loss-chart"' in html
        and "/scenes/learn/training/loss_curve.svg" in html
        and 'id="evaluation-table"' in html
    )
    chart = client.get("/scenes/learn/training/loss_curve.svg")
    assert (
        chart.status_code == 200
        and chart.headers["content-type"].startswith("image/svg+xml")
        and b"<path" in chart.content
    )
    url = "/scenes/learn/evaluation/videos/" + video.split("/evaluation/videos/", 1)[1]
    assert url in html
    played = client.get(url)
    assert (
        played.status_code == 200
        and played.headers["content-type"] == "video/mp4"
        and played.content == bucket.read(video)
    )
    for bad in ("../report.json", "x/../../training/.training_complete", "report.json", "%2e%2e/report.json"):
        assert client.get(f"/scenes/learn/evaluation/videos/{bad}").status_code in (400, 404), (
            bad
        )  # refused, never served
    settle(timeout=600)
