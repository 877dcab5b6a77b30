"""The image path on the real runtime: an uploaded image is reconstructed by the configured
reconstructor (the fixture one here), its bundle checked, Stage 2's trigger written; without a
reconstructor it fails clearly. The source orchestrator attaches to the image trigger's run."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bpflow.core.contracts import validate
from bpflow.core.ids import object_run_id
from tests.conftest import wait_until
from tests.domain.imagegen.bad_images import good_jpeg
from tests.source.conftest import (
    REPO_BUNDLE,
    REQUEST,
    finished,
    read_json,
    request_body,
    runs_of,
    tiny_png,
    wait_for_run,
)

FIXTURE = f"fixture:{REPO_BUNDLE}"


def _image_request(scene: str, image: str, **extra: Any) -> dict[str, Any]:
    return request_body(scene, source_mode="image", prompt=None, image={"gcs_uri": image}, **extra)


def test_image_request_reconstructs_once_and_stops_after_stage1(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(BPFLOW_IMAGE_RECONSTRUCTOR=FIXTURE)
    image = "scenes/img1/images/photo.png"
    png = tiny_png()
    info = rt.bucket.write(image, png)
    upload_run = wait_for_run("image-to-scene-orchestrator", "img1")
    rt.bucket.write_json(REQUEST.format("img1"), _image_request("img1", image))
    result = wait_for_run("source-orchestrator", "img1")

    # The upload's own run did the work; the orchestrator attached to it (one run, the trigger's id).
    assert [r.workflow_id for r in runs_of("image-to-scene-orchestrator", "img1")] == [
        object_run_id("image-to-scene-orchestrator", image, info.generation)
    ]
    assert upload_run["status"] == "INCOMPLETE"
    assert upload_run["stages"]["usd_assembly"] == "NOT_IMPLEMENTED" and upload_run["completed_stages"] == [
        "reconstruction"
    ]

    assert result["status"] == "INCOMPLETE" and result["source_type"] == "image" and result["fallback_used"] is False
    assert result["image_path_mode"] == "orchestrator" and result["image_workflow"] == "image-to-scene-orchestrator"
    base = "scenes/img1/"
    assert not rt.bucket.exists(base + ".source_orchestrator_complete")
    assert not rt.bucket.exists(base + ".source_orchestrator_failed")
    status = read_json(rt, base + "source_orchestrator_status.json")
    assert status["status"] == "incomplete" and status["completion_marker_written"] is False
    assert {row["workflow"] for row in status["stages_not_run"]} >= {"usd-assembly-pipeline"}

    # The bundle is a valid Stage-1 output set, and Stage 2's trigger says so.
    for rel, contract in (
        ("assets/scene_manifest.json", "scene_manifest"),
        ("layout/scene_layout_scaled.json", "scene_layout_scaled"),
        ("seg/inventory.json", "inventory"),
    ):
        assert validate(contract, read_json(rt, base + rel)) == [], rel
    regen3d = read_json(rt, base + "assets/.regen3d_complete")
    assert validate("regen3d_complete_marker", regen3d) == []
    assert (
        regen3d["scene_id"] == "img1" and regen3d["objects_count"] == 3 and regen3d["marker_type"] == "stage1_complete"
    )
    recon = read_json(rt, base + ".reconstruction_complete")
    assert recon["input_generation"] == info.generation and recon["input_object"] == image
    provenance = read_json(rt, base + "regen3d/provenance.json")
    assert provenance["image_sha256"] == hashlib.sha256(png).hexdigest()
    assert b"__SCENE_ID__" not in rt.bucket.read(base + "assets/scene_manifest.json")
    assert not list(rt.bucket.list(base + "locks/"))


def test_without_a_reconstructor_the_image_path_fails_clearly(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime()
    image = "scenes/img2/images/photo.jpg"
    rt.bucket.write(image, good_jpeg())
    rt.bucket.write_json(REQUEST.format("img2"), _image_request("img2", image))
    result = wait_for_run("source-orchestrator", "img2")
    assert result["status"] == "FAILED" and result["error_code"] == "image_reconstruction_unavailable"
    marker = read_json(rt, "scenes/img2/.source_orchestrator_failed")
    assert marker["error"]["code"] == "image_reconstruction_unavailable"
    # The default reconstructor is the vision LLM; with no key it says which key to set.
    assert marker["failed_stage"] == "image_source_generation" and marker["error"]["field"] == "OPENROUTER_API_KEY"
    assert "OPENROUTER_API_KEY" in marker["error"]["message"]
    own = read_json(rt, "scenes/img2/.orchestrator_failed")
    assert own["error"]["code"] == "image_reconstruction_unavailable" and own["error"]["stage"] == "reconstruction"
    assert not rt.bucket.exists("scenes/img2/assets/.regen3d_complete")
    assert not list(rt.bucket.list("scenes/img2/locks/"))


def test_a_file_that_is_not_an_image_is_refused(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(BPFLOW_IMAGE_RECONSTRUCTOR=FIXTURE)
    rt.bucket.write("scenes/img3/images/notes.png", b"this is text, not a PNG")
    result = wait_for_run("image-to-scene-orchestrator", "img3")
    assert result["status"] == "FAILED" and result["error_code"] == "invalid_image"
    marker = read_json(rt, "scenes/img3/.orchestrator_failed")
    assert marker["error"]["type"] == "orchestrator_failure" and marker["error"]["code"] == "invalid_image"
    assert not rt.bucket.exists("scenes/img3/assets/scene_manifest.json")


def test_legacy_chain_runs_stage1_only_and_records_the_missing_chain(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(BPFLOW_IMAGE_RECONSTRUCTOR=FIXTURE, IMAGE_PATH_MODE="legacy_chain")
    image = "scenes/img4/images/photo.jpeg"
    rt.bucket.write(image, good_jpeg())
    rt.bucket.write_json(REQUEST.format("img4"), _image_request("img4", image))
    result = wait_for_run("source-orchestrator", "img4")
    legacy = wait_for_run("image-to-scene-pipeline", "img4")
    assert legacy["status"] == "SUCCESS" and legacy["objects_count"] == 3
    assert runs_of("image-to-scene-orchestrator", "img4") == []  # that trigger is off in legacy mode
    assert result["status"] == "INCOMPLETE" and result["image_path_mode"] == "legacy_chain"
    status = read_json(rt, "scenes/img4/source_orchestrator_status.json")
    assert status["image"]["waited_for_downstream"] is False
    assert {row["workflow"] for row in status["stages_not_run"]} == {
        "usd-assembly-pipeline",
        "variation-assets-pipeline",
        "genie-sim-export-pipeline",
        "genie-sim-import-pipeline",
    }
    assert rt.bucket.exists("scenes/img4/assets/.regen3d_complete")


def test_an_image_no_newer_than_the_reconstruction_is_skipped(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime(BPFLOW_IMAGE_RECONSTRUCTOR=FIXTURE, IMAGE_PATH_MODE="legacy_chain")
    image = "scenes/img5/images/photo.png"
    first = rt.bucket.write(image, tiny_png())
    assert wait_for_run("image-to-scene-pipeline", "img5")["status"] == "SUCCESS"
    rt.bucket.write("scenes/img5/.reconstruction_failed", json.dumps({"stale": True}))
    # An older version delivered late (another run id): skipped, nothing cleared or rewritten.
    payload = {"data": {"bucket": rt.bucket.url, "name": image, "generation": str(first.generation - 1)}}
    out = rt.dispatcher.start_run("image-to-scene-pipeline", "image-to-scene-pipeline:late-delivery", payload)
    from dbos import DBOS

    late = DBOS.retrieve_workflow(out.run_ids[0]).get_result(polling_interval_sec=0.02)
    assert (
        late["status"] == "SKIPPED" and "superseded" in late["message"]
    )  # the object-version rule (blocks/version.py)
    assert rt.bucket.exists("scenes/img5/.reconstruction_failed")
    # A newer upload runs again and clears the old failure marker.
    rt.bucket.write(image, tiny_png(8, 8))
    wait_until(finished("image-to-scene-pipeline", "img5", count=2), timeout=120)
    assert not rt.bucket.exists("scenes/img5/.reconstruction_failed")
    recon = read_json(rt, "scenes/img5/.reconstruction_complete")
    assert recon["input_generation"] > first.generation
