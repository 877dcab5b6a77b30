"""When every stage runs and passes, the orchestrator writes ``.source_orchestrator_complete``
with the source type. Stages 4-5 are not in this build, so the image orchestrator is pointed
(IMAGE_ORCHESTRATOR_WORKFLOW_NAME, the reference's knob) at a test one whose Stages 2-5 are
stand-ins; reconstruction, checks, markers and the source orchestrator itself are the real ones."""

from __future__ import annotations

from typing import Any

import pytest

from bpflow.core.contracts import validate
from tests.source.conftest import GATED_GEN_JOB, REPO_BUNDLE, REQUEST, read_json, request_body, tiny_png, wait_for_run

PLUGINS = "tests.fixtures.chain,tests.source.stage_fixtures"


@pytest.fixture
def rt(source_runtime: Any, stage1_only: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    from bpflow.core.engine import registry

    monkeypatch.delitem(registry._WORKFLOWS, "image-to-scene-orchestrator")  # the upload starts nothing
    return source_runtime(
        BPFLOW_WORKFLOW_MODULES=PLUGINS,
        IMAGE_ORCHESTRATOR_WORKFLOW_NAME="test-image-orchestrator",
        BPFLOW_IMAGE_RECONSTRUCTOR=f"fixture:{REPO_BUNDLE}",
        TEXT_SCENE_GEN_JOB_NAME=GATED_GEN_JOB,
        BPFLOW_TEST_FAIL_SCENES="*",
    )


@pytest.mark.parametrize(("mode", "source_type"), [("image", "image"), ("text", "image_fallback")])
def test_completion_marker_when_every_stage_ran(rt: Any, mode: str, source_type: str) -> None:
    scene = f"done-{mode}"
    image = f"scenes/{scene}/images/photo.png"
    rt.bucket.write(image, tiny_png())
    body = request_body(
        scene, source_mode=mode, image={"gcs_uri": image}, **({"prompt": None} if mode == "image" else {})
    )
    rt.bucket.write_json(REQUEST.format(scene), body)
    result = wait_for_run("source-orchestrator", scene)
    assert result["status"] == "SUCCESS" and result["source_type"] == source_type and result["stages_not_run"] == []
    marker = read_json(rt, f"scenes/{scene}/.source_orchestrator_complete")
    assert marker["scene_id"] == scene and marker["status"] == "completed" and marker["source_type"] == source_type
    assert validate("completion_marker", marker) == []
    status = read_json(rt, f"scenes/{scene}/source_orchestrator_status.json")
    assert status["status"] == "completed" and status["completion_marker_written"] is True
    assert status["image"]["stages"]["arena_export"] == "SUCCEEDED"
    assert status["fallback_used"] is (mode == "text")
    assert not rt.bucket.exists(f"scenes/{scene}/.source_orchestrator_failed")
