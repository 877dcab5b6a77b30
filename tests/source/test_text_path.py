"""The text path on the real runtime with the real Stage-1 jobs: a request dropped into the
bucket produces every Stage-1 output and ``assets/.regen3d_complete``, for one seed and for
three; a failing seed stops the loop and falls back or fails exactly as gated; the same request
written twice concurrently runs once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bpflow.core import runners
from bpflow.core.contracts import validate
from bpflow.core.events.model import ObjectEvent
from bpflow.core.runners import SubprocessRunner
from tests.conftest import wait_until
from tests.source.conftest import (
    GATED_GEN_JOB,
    REPO_BUNDLE,
    REQUEST,
    finished,
    read_json,
    request_body,
    result_of,
    runs_of,
    tiny_png,
    wait_for_run,
)
from tests.source.test_stage1_runtime import UnreachableVM

STAGE1_OUTPUTS = {
    "textgen/package.json": "textgen_package",
    "textgen/.textgen_complete": "textgen_complete_marker",
    "textgen/request.normalized.json": None,
    "textgen/placement_graph.json": None,
    "textgen/quality_gate_report.json": None,
    "textgen/adapter_summary.json": None,
    "textgen/.text_adapter_complete": None,
    "assets/.text_adapter_complete": None,
    "assets/scene_manifest.json": "scene_manifest",
    "layout/scene_layout_scaled.json": "scene_layout_scaled",
    "seg/inventory.json": "inventory",
    "assets/.regen3d_complete": "regen3d_complete_marker",
}


def assert_stage1_outputs(rt: Any, scene: str, seed: int) -> None:
    base = f"scenes/{scene}/"
    for rel, contract in STAGE1_OUTPUTS.items():
        assert rt.bucket.exists(base + rel), (scene, rel)
        if contract:
            assert validate(contract, read_json(rt, base + rel)) == [], (scene, rel)
    manifest = read_json(rt, base + "assets/scene_manifest.json")
    for obj in manifest["objects"]:
        assert rt.bucket.exists(obj["asset"]["path"]), obj["asset"]["path"]
    marker = read_json(rt, base + "assets/.regen3d_complete")
    assert marker["scene_id"] == scene and marker["seed"] == seed and marker["source"] == "text_scene_adapter"
    assert marker["objects_count"] == len(manifest["objects"]) > 0


def assert_stopped_after_stage1(rt: Any, scene: str, result: dict[str, Any], *, variants: int) -> dict[str, Any]:
    """Stage 2+ is not in this build (stage1_only): the run says so and claims no completion."""
    assert result["status"] == "INCOMPLETE" and result["completed_variants"] == variants
    assert "usd-assembly-pipeline (not in this build)" in result["message"]
    assert not rt.bucket.exists(f"scenes/{scene}/.source_orchestrator_complete")
    assert not rt.bucket.exists(f"scenes/{scene}/.source_orchestrator_failed")
    assert not list(rt.bucket.list(f"scenes/{scene}/locks/"))
    status = read_json(rt, f"scenes/{scene}/source_orchestrator_status.json")
    assert status["status"] == "incomplete" and status["completion_marker_written"] is False
    return status


def test_one_seed_produces_every_stage1_output(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime()
    rt.bucket.write_json(REQUEST.format("txt1"), request_body("txt1"))
    result = wait_for_run("source-orchestrator", "txt1")
    assert_stage1_outputs(rt, "txt1", 1)
    status = assert_stopped_after_stage1(rt, "txt1", result, variants=1)
    child = status["children"][0]
    assert child["scene_id"] == "txt1" and child["stage1"]["runtime_used"] == "local"
    assert child["stages"] == {
        "usd_assembly": "NOT_IMPLEMENTED",
        "variation_assets": "NOT_RUN",
        "geniesim_export": "NOT_RUN",
        "arena_export": "NOT_RUN",
    }
    assert [j["job"] for j in child["stage1"]["jobs"]] == ["text-scene-gen-job", "text-scene-adapter-job"]
    assert not rt.bucket.exists("scenes/txt1/variants/index.json")
    assert not list(rt.bucket.list("scenes/txt1/internal/"))


def test_a_request_stopped_after_stage1_completes_with_the_later_stages_not_requested(source_runtime: Any) -> None:
    """BPFLOW_LAST_STAGE=1: the operator asked for Stage 1 only, so the scene is complete (not
    incomplete, not failed), Stages 2-5 are recorded as not requested and none of them started."""
    rt = source_runtime(BPFLOW_LAST_STAGE="1")
    rt.bucket.write_json(REQUEST.format("only1"), request_body("only1"))
    result = wait_for_run("source-orchestrator", "only1")
    assert result["status"] == "SUCCESS" and result["stages_not_run"] == [], result
    assert_stage1_outputs(rt, "only1", 1)
    status = read_json(rt, "scenes/only1/source_orchestrator_status.json")
    assert status["status"] == "completed" and status["completion_marker_written"] is True
    assert status["children"][0]["stages"] == dict.fromkeys(
        ("usd_assembly", "variation_assets", "geniesim_export", "arena_export"), "NOT_REQUESTED"
    )
    assert read_json(rt, "scenes/only1/.source_orchestrator_complete")["source_type"] == "text"
    assert runs_of("usd-assembly-pipeline", "only1") == []  # nor did the .regen3d_complete trigger start it
    assert not rt.bucket.exists("scenes/only1/.source_orchestrator_failed")
    # `bpflow status`, the dashboard and `submit --wait` see a finished scene, not one waiting for Stage 2
    from bpflow.ops.scene_status import scene_status

    seen = scene_status(rt, "only1")
    by = {st.name: st for st in seen.stages}
    assert seen.state == "succeeded" and by["text-scene-adapter"].state == "succeeded"
    assert by["usd-assembly"].state == "not_implemented" and by["usd-assembly"].detail == "not requested"


def test_three_seeds_fan_out_to_children_and_an_index(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime()
    rt.bucket.write_json(
        REQUEST.format("txt3"),
        request_body("txt3", seed_count=3, source_mode="auto", constraints={"room_type": "kitchen"}),
    )
    result = wait_for_run("source-orchestrator", "txt3")
    children = ["txt3-s001", "txt3-s002", "txt3-s003"]
    for seed, child in enumerate(children, start=1):
        assert_stage1_outputs(rt, child, seed)
        body = read_json(rt, f"scenes/{child}/internal/scene_request.generated.json")
        assert body["scene_id"] == child and body["seed_count"] == 1 and body["source_mode"] == "text"
        assert body["constraints"] == {"room_type": "kitchen"} and "fallback" not in body and "image" not in body
    index = read_json(rt, "scenes/txt3/variants/index.json")
    assert validate("variants_index", index) == []
    assert index["variants"] == [{"scene_id": c, "seed": i} for i, c in enumerate(children, start=1)]
    assert index["scene_id"] == "txt3" and index["source_mode"] == "auto" and index["seed_count"] == 3
    status = assert_stopped_after_stage1(rt, "txt3", result, variants=3)
    assert [c["scene_id"] for c in status["children"]] == children
    assert not rt.bucket.exists("scenes/txt3/assets/scene_manifest.json")  # the parent is not a scene of its own


def _fallback_env(**extra: str) -> dict[str, str]:
    return {
        "TEXT_SCENE_GEN_JOB_NAME": GATED_GEN_JOB,
        "BPFLOW_TEST_FAIL_SCENES": "fb-s002,nofb-s002",
        "BPFLOW_IMAGE_RECONSTRUCTOR": f"fixture:{REPO_BUNDLE}",
        **extra,
    }


def test_seed_two_of_three_fails_then_the_image_fallback_runs(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(**_fallback_env(IMAGE_PATH_MODE="legacy_chain"))
    image = "scenes/fb/images/room.png"
    rt.bucket.write(image, tiny_png())
    wait_for_run("image-to-scene-pipeline", "fb")  # the upload's own Stage-1 run
    rt.bucket.write_json(REQUEST.format("fb"), request_body("fb", seed_count=3, image={"gcs_uri": image}))
    result = wait_for_run("source-orchestrator", "fb")

    assert_stage1_outputs(rt, "fb-s001", 1)
    assert not rt.bucket.exists("scenes/fb-s002/assets/.regen3d_complete")
    assert not list(rt.bucket.list("scenes/fb-s003/"))  # fail-fast: seed 3 never attempted
    assert (
        result["source_type"] == "image_fallback"
        and result["fallback_used"] is True
        and result["completed_variants"] == 1
    )
    assert len(runs_of("image-to-scene-pipeline", "fb")) == 1  # attached to the upload's run
    status = read_json(rt, "scenes/fb/source_orchestrator_status.json")
    assert status["source_type"] == "image_fallback" and "fb-s002" in status["image"]["text_failure"]
    assert not rt.bucket.exists("scenes/fb/variants/index.json")
    assert not rt.bucket.exists("scenes/fb/.source_orchestrator_failed")
    assert rt.bucket.exists("scenes/fb/assets/.regen3d_complete")  # the parent scene, from the image


def test_seed_two_of_three_fails_and_without_fallback_the_request_fails(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(**_fallback_env())
    image = "scenes/nofb/images/room.png"
    rt.bucket.write(image, tiny_png())
    body = request_body("nofb", seed_count=3, image={"gcs_uri": image}, fallback={"allow_image_fallback": False})
    rt.bucket.write_json(REQUEST.format("nofb"), body)
    result = wait_for_run("source-orchestrator", "nofb")
    assert result["status"] == "FAILED" and result["error_code"] == "text_stage_failed"
    marker = read_json(rt, "scenes/nofb/.source_orchestrator_failed")
    assert marker["context"]["completed_variants"] == 1 and marker["context"]["fallback_used"] is False
    assert marker["error"]["message"].startswith("text source failed for scene nofb-s002:")
    assert (
        marker["error"]["cause"]["code"] == "stage1_job_failed" and "test_seed_rejected" in marker["error"]["message"]
    )
    assert_stage1_outputs(rt, "nofb-s001", 1)
    assert not list(rt.bucket.list("scenes/nofb-s003/"))
    assert not rt.bucket.exists("scenes/nofb/.source_orchestrator_complete")
    assert not list(rt.bucket.list("scenes/nofb/locks/"))


def test_a_transient_vm_failure_completes_stage1_on_cloudrun(
    source_runtime: Any, stage1_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(runners.RUNNERS, "vm", UnreachableVM)
    monkeypatch.setitem(runners.RUNNERS, "cloudrun", SubprocessRunner)
    rt = source_runtime(TEXT_GEN_RUNTIME="vm")
    rt.bucket.write_json(REQUEST.format("vmfb"), request_body("vmfb"))
    result = wait_for_run("source-orchestrator", "vmfb")
    assert result["cloudrun_fallback_count"] == 1 and result["completed_variants"] == 1
    assert_stage1_outputs(rt, "vmfb", 1)
    stage1 = read_json(rt, "scenes/vmfb/source_orchestrator_status.json")["children"][0]["stage1"]
    assert (
        stage1["runtime_used"] == "cloudrun"
        and stage1["fallback_to_cloudrun"] is True
        and "vm_unreachable" in stage1["fallback_reason"]
    )


def test_the_same_request_written_twice_concurrently_runs_once(
    source_runtime: Any, stage1_only: None, tmp_path: Path
) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    # Job starts are retried every 0.2 s while the runner is down: the first run stays in flight,
    # holding its locks, for exactly as long as the test keeps the runner down.
    (policy / "retry_policy.yaml").write_text(
        "max_retries: 3000\nbase_delay_seconds: 0.2\nmax_delay_seconds: 0.2\nbackoff_factor: 1\n"
    )
    down = tmp_path / "runner-down"
    down.touch()
    rt = source_runtime(BPFLOW_POLICY_DIR=str(policy), BPFLOW_RUNNER_DOWN_FILE=str(down))
    body = request_body("twice")
    first = rt.bucket.write_json(REQUEST.format("twice"), body)
    second = rt.bucket.write_json(REQUEST.format("twice"), body)
    assert second.generation > first.generation  # two versions of the object: two runs
    skipped = wait_until(finished("source-orchestrator", "twice"), timeout=120)
    assert result_of(skipped[0].workflow_id)["status"] == "SKIPPED"
    # The older version is superseded when its run starts after the second write; if it started
    # (and read its own bytes) before, the newer identical request is the one skipped.
    message = result_of(skipped[0].workflow_id)["message"]
    assert "identical request" in message or message.startswith("superseded"), message
    # The same version delivered again (a second event source) attaches to the run in flight.
    rt.dispatcher.dispatch_object(
        ObjectEvent(bucket=rt.bucket.url, name=REQUEST.format("twice"), generation=second.generation, source="scan")
    )
    # The version in flight started again under another run id (a manual rerun): its
    # generation lock is held, so that run is skipped as a duplicate and touches nothing.
    in_flight = next(
        r.workflow_id for r in runs_of("source-orchestrator", "twice") if r.workflow_id != skipped[0].workflow_id
    )
    payload = {
        "data": {"bucket": rt.bucket.url, "name": REQUEST.format("twice"), "generation": in_flight.rsplit("@", 1)[1]}
    }
    dup = rt.dispatcher.start_run("source-orchestrator", "source-orchestrator:manual:twice-again", payload).run_ids[0]
    dup_result = result_of(dup)
    assert dup_result["status"] == "SKIPPED" and dup_result["message"].startswith(
        ("Duplicate event for generation", "superseded")
    )
    down.unlink()
    runs = wait_until(finished("source-orchestrator", "twice", count=2), timeout=240)
    outcomes = sorted(result_of(r.workflow_id)["status"] for r in runs)
    assert outcomes == ["INCOMPLETE", "SKIPPED"] and len(runs_of("source-orchestrator", "twice")) == 2
    assert_stage1_outputs(rt, "twice", 1)
    winner = next(r.workflow_id for r in runs if result_of(r.workflow_id)["status"] == "INCOMPLETE")
    assert read_json(rt, "scenes/twice/source_orchestrator_status.json")["run_id"] == winner
    assert read_json(rt, "scenes/twice/assets/.regen3d_complete")["run_id"] == winner
    assert not list(rt.bucket.list("scenes/twice/locks/"))
