"""training-pipeline's decisions on the real runtime, without training: malformed events, the
quality-gate preflight, too few episodes, a job that fails, a duplicate event."""

from __future__ import annotations

import json
from typing import Any

from dbos import DBOS

from bpflow.core.events.model import CustomEvent
from bpflow.core.ids import event_run_id
from tests.stage2.helpers import finished, outcome

EVENT = "blueprintpipeline.episodes.imported"
WF = "training-pipeline"
GOOD_REPORT = {"summary": {"can_proceed": True, "blocking_failures": 0}}


def _emit(rt: Any, data: dict[str, Any], event_id: str) -> str:
    rt.dispatcher.dispatch_custom(CustomEvent(type=EVENT, id=event_id, data=data, source="test"))
    return event_run_id(WF, EVENT, event_id)


def _manual(rt: Any, payload: dict[str, Any], name: str) -> str:
    run_id = f"{WF}:manual:{name}"
    rt.dispatcher.start_manual(WF, payload, run_id=run_id)
    return run_id


def test_malformed_events_get_the_three_structured_errors(runtime: Any) -> None:
    runs = {
        "invalid_event_payload": _manual(runtime, {"scene_id": "s1"}, "no-data"),
        "missing_job_id": _emit(runtime, {"scene_id": "s1", "output_path": "scenes/s1/episodes"}, "e-nojob"),
        "missing_output_path": _manual(runtime, {"job_id": "j1", "scene_id": "s1", "output_path": ""}, "top-level"),
    }
    required = {
        "invalid_event_payload": ["job_id", "output_path"],
        "missing_job_id": ["job_id"],
        "missing_output_path": ["output_path"],
    }
    for code, run_id in runs.items():
        result = outcome(run_id)
        assert result["status"] == "FAILED"
        err = result["error"]
        assert err["code"] == code and err["required_fields"] == required[code]
        assert err["message"] and err["remediation"] and isinstance(err["raw_event"], dict)
    assert not list(runtime.bucket.list("scenes/s1/"))  # nothing written for a malformed event


def test_an_output_path_that_leaves_the_scene_is_refused_before_anything_is_written(runtime: Any) -> None:
    paths = ("scenes/s1/../s2/episodes", "scenes/s2/episodes", "gs://b/scenes/s1/", "scenes/s1/a//b")
    runs = [
        _emit(runtime, {"job_id": "j1", "scene_id": "s1", "output_path": p, "episode_count": 5}, f"e-out{i}")
        for i, p in enumerate(paths)
    ]
    for path, run_id in zip(paths, runs, strict=True):
        result = outcome(run_id)
        assert result["status"] == "FAILED", path
        err = result["error"]
        assert err["code"] == "output_path_outside_scene" and err["field"] == "output_path", path
        assert err["reason"] in ("invalid_path", "outside_scene", "scene_root"), path
    assert not list(runtime.bucket.list("scenes/"))


def test_a_failing_quality_gate_blocks_training_with_a_marker(runtime: Any) -> None:
    b = runtime.bucket
    b.write_json(
        "scenes/qg/episode-generation-job/quality_gate_report.json",
        {"summary": {"can_proceed": False, "blocking_failures": 2}},
    )
    st = finished(
        _emit(
            runtime, {"job_id": "j", "scene_id": "qg", "output_path": "scenes/qg/episodes", "episode_count": 5}, "e-qg"
        )
    )
    assert st.status == "ERROR" and "Quality gate failed" in str(st.error)
    body = b.read_json("scenes/qg/training/.failed")
    assert body["status"] == "failed" and body["error"]["code"] == "quality_gate_failed"
    assert body["error"]["message"] == "Downstream quality gate preflight blocked training"
    assert body["error"]["report_path"].endswith("scenes/qg/episode-generation-job/quality_gate_report.json")
    assert not b.exists("scenes/qg/episodes/.failed")


def test_no_report_and_no_certificate_fails_the_gate_but_a_good_certificate_passes(runtime: Any) -> None:
    b = runtime.bucket
    st = finished(
        _emit(
            runtime,
            {"job_id": "j", "scene_id": "nocert", "output_path": "scenes/nocert/episodes", "episode_count": 1},
            "e-nocert",
        )
    )
    assert (
        st.status == "ERROR" and b.read_json("scenes/nocert/training/.failed")["error"]["code"] == "quality_gate_failed"
    )
    b.write_json(
        "scenes/cert/episodes/certificates/episode_000000/quality_certificate.json",
        {"validation_passed": True, "recommended_use": "production_training"},
    )
    result = outcome(
        _emit(
            runtime,
            {"job_id": "j", "scene_id": "cert", "output_path": "scenes/cert/episodes", "episode_count": 0},
            "e-cert",
        )
    )
    assert (
        result["status"] == "SKIPPED"
        and result["reason"] == "Insufficient episodes for training"
        and result["job_id"] == "j"
    )


def test_a_failing_training_job_writes_output_failed_and_raises(runtime: Any) -> None:
    b = runtime.bucket
    b.write_json("scenes/nodata/episode-generation-job/quality_gate_report.json", GOOD_REPORT)
    b.write_json("scenes/nodata/geniesim_j9/notes.json", {"not": "a dataset"})
    st = finished(
        _emit(
            runtime,
            {"job_id": "j9", "scene_id": "nodata", "output_path": "scenes/nodata/geniesim_j9", "episode_count": 3},
            "e-nodata",
        ),
        timeout=300,
    )
    assert st.status == "ERROR" and "Training failed for job j9" in str(st.error)
    body = b.read_json("scenes/nodata/geniesim_j9/.failed")
    assert body["job_name"] == "training-job" and body["error"]["code"] == "training_failed"
    job_error = body["context"]["config_context"]["job_error"]
    assert job_error["code"] == "training_dataset_invalid" and "meta/info.json" in job_error["message"]
    assert "Traceback" not in json.dumps(body)
    assert b.exists("scenes/nodata/geniesim_j9/notes.json")  # the imported data is never deleted
    assert not b.exists("scenes/nodata/training/.training_complete")


def test_the_same_event_twice_is_one_run(runtime: Any) -> None:
    data = {"job_id": "j", "scene_id": "dup", "output_path": "scenes/dup/episodes", "episode_count": 0}
    runtime.bucket.write_json("scenes/dup/episode-generation-job/quality_gate_report.json", GOOD_REPORT)
    first, second = _emit(runtime, data, "same-id"), _emit(runtime, data, "same-id")
    assert first == second
    assert outcome(first)["status"] == "SKIPPED"
    assert len([w for w in DBOS.list_workflows(name=WF) if w.workflow_id == first]) == 1
