"""Every request of the invalid corpus, dropped into a real bucket, ends in a failure marker that
names its field: no worker crash, no lock left behind, nothing written outside its own scene."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import wait_until
from tests.contracts.invalid_requests import INVALID_REQUESTS, invalid_requests
from tests.source.conftest import REQUEST, finished, result_of

CODES = {"invalid_scene_request", "invalid_image_uri"}


def test_invalid_corpus_ends_in_failure_markers_inside_each_scene(runtime: Any) -> None:
    cases = []
    for i, (name, _, _) in enumerate(INVALID_REQUESTS):
        scene = f"bad-{i:03d}"
        entry = invalid_requests(scene)[i]
        assert entry[0] == name
        cases.append((scene, *entry))
    before = {info.key for info in runtime.bucket.list("")}
    for scene, _name, raw, _field in cases:
        runtime.bucket.write(REQUEST.format(scene), raw)

    wait_until(finished("source-orchestrator", None, count=len(cases)), timeout=300)
    after = {info.key for info in runtime.bucket.list("")}

    expected_new = set()
    for scene, name, _raw, field in cases:
        prefix = f"scenes/{scene}/"
        expected_new |= {
            REQUEST.format(scene),
            prefix + ".source_orchestrator_failed",
            prefix + "source_orchestrator_status.json",
        }
        raw_marker = runtime.bucket.read(prefix + ".source_orchestrator_failed")
        marker = json.loads(raw_marker)
        assert marker["status"] == "failed", name
        assert marker["scene_id"] == scene, name
        assert marker["failed_stage"] == "source_request_validation", name
        assert marker["error"]["code"] in CODES, name
        assert marker["error"]["field"] == field, (name, marker["error"])
        assert field in marker["error"]["message"] or field == "$", (name, marker["error"]["message"])
        assert marker["input_object"] == REQUEST.format(scene), name
        assert b"Traceback" not in raw_marker and "stack_trace" not in marker["error"], name
        assert marker["context"]["lock_acquired"] is True and marker["context"]["completed_variants"] == 0
        status = json.loads(runtime.bucket.read(prefix + "source_orchestrator_status.json"))
        assert status["status"] == "failed" and status["error"]["field"] == field, name
    # Exactly the failure marker and the status record per scene: no lock left, no stray object.
    assert after - before == expected_new

    runs = finished("source-orchestrator", None, count=len(cases))()
    assert {r.status for r in runs} == {"SUCCESS"}  # every run ended normally: no crash, no error
    assert {result_of(r.workflow_id)["status"] for r in runs} == {"FAILED"}


def test_objects_that_are_not_a_scene_request_are_skipped_without_side_effects(runtime: Any) -> None:
    names = [
        "scenes/x/prompts/other.json",
        "scenes/x/internal/scene_request.generated.json",
        "scenes/x/prompts/scene_request.json.tmp",
        "scenes/a/b/prompts/scene_request.json",
    ]
    before = {info.key for info in runtime.bucket.list("")}
    for i, name in enumerate(names):
        payload = {"data": {"bucket": runtime.bucket.url, "name": name, "generation": "7"}}
        run_id = runtime.dispatcher.start_run(
            "source-orchestrator", f"source-orchestrator:manual:filter-{i}", payload
        ).run_ids[0]
        result = result_of(run_id)
        assert result["status"] == "SKIPPED" and result["message"] == f"Not a scene_request trigger: {name}"
    assert {info.key for info in runtime.bucket.list("")} == before
