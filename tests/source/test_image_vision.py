"""The image path without a GPU: a photo upload is planned by a vision LLM (the local
OpenAI-protocol server with recorded answers, 429s and malformed ones included), placed, gated
and retrieved by the text path's machinery, and carried through Stage 2 to ``usd/.usd_complete``
with a USD that passes the same checks as a text scene. Bad photos end in failure markers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.domain.imagegen.bad_images import REFERENCES, UPLOADS, good_jpeg, good_png, jpeg_with_orientation
from tests.source.conftest import REQUEST, finished, read_json, request_body, result_of, wait_for_run
from tests.textgen.openai_local_server import ChatServer, chat, rate_limited, running, server_error

KEY = "sk-vision-test-key-9f8e7d6c"
ROOM = {
    "room_type": "kitchen",
    "description": "A bright kitchen with a fridge, a table and a counter",
    "objects": [
        {
            "name": "refrigerator",
            "category": "refrigerator",
            "sim_role": "articulated_appliance",
            "image_xy": [0.1, 0.5],
        },
        {"name": "dining table", "category": "table", "sim_role": "static", "image_xy": [0.5, 0.7]},
        {"name": "mug", "category": "mug", "sim_role": "manipulable_object", "count": 2, "image_xy": [0.5, 0.6]},
        {"name": "kitchen counter", "category": "counter", "sim_role": "static", "image_xy": [0.8, 0.5]},
        {"name": "toaster", "category": "toaster", "sim_role": "static"},
        {"name": "ceiling lamp", "category": "ceiling_light", "sim_role": "static"},
    ],
}


@pytest.fixture
def vision_server() -> Iterator[ChatServer]:
    with running() as server:
        yield server


def vision_env(server: ChatServer, **extra: str) -> dict[str, str]:
    return {
        "TEXT_OPENROUTER_API_KEY": KEY,
        "TEXT_OPENROUTER_BASE_URL": server.openai_base_url,
        "TEXT_OPENROUTER_MODEL_CHAIN": "local/vision",
        "TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK": "false",
        "TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS": "0",
        "TEXT_GEN_LLM_MAX_ATTEMPTS": "3",
        **extra,
    }


def test_a_photo_reaches_usd_complete_through_the_orchestrator(source_runtime: Any, vision_server: ChatServer) -> None:
    from tests.stage2.acceptance import check_scene

    vision_server.script_chat(
        rate_limited("0"), chat("I think it is a kitchen!"), server_error(503), chat(json.dumps(ROOM))
    )
    rt = source_runtime(**vision_env(vision_server, TEXT_GEN_LLM_MAX_ATTEMPTS="4"))
    scene = "vision-kitchen"
    image = f"scenes/{scene}/images/kitchen.jpg"
    rt.bucket.write(image, jpeg_with_orientation((96, 64), 6))
    wait_until(finished("image-to-scene-orchestrator", scene), timeout=400)
    base = f"scenes/{scene}/"
    failed = rt.bucket.read_json_or_none(base + ".orchestrator_failed")
    assert failed is None and rt.bucket.exists(base + "usd/.usd_complete"), json.dumps(failed and failed["error"])

    # What went over the wire: the upright photo as a data URL, the planner's retry rules.
    sent = vision_server.received()
    assert len(sent) == 4
    content = sent[-1]["body"]["messages"][1]["content"]
    assert any(
        part.get("type") == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")
        for part in content
    )
    package = read_json(rt, base + "textgen/package.json")
    log = [r.get("outcome") for r in package["planning"]["llm_attempt_log"] if "outcome" in r]
    assert log == ["http_429", "not_json", "http_503", "ok"]
    assert package["provenance"]["image"]["exif_rotated"] is True and package["provenance"]["image"]["width"] == 64
    names = {o["category"] for o in package["objects"]}
    assert {"refrigerator", "table", "mug", "counter"} <= names and "ceiling_light" not in names
    assert package["quality_gate_report"]["status"] == "passed"
    assert package["quality_gate_report"]["metrics"]["interpenetrating_pairs"] == 0

    # Stage 1 went through the text path's adapter (retrieval, contracts), Stage 2 built the USD.
    marker = read_json(rt, base + "assets/.regen3d_complete")
    assert marker["source"] == "image_reconstruction" and marker["objects_count"] == len(package["objects"])
    manifest = read_json(rt, base + "assets/scene_manifest.json")
    layout = read_json(rt, base + "layout/scene_layout_scaled.json")
    checked = check_scene(rt.bucket.root / base / "usd" / "scene.usda", manifest, layout)
    assert checked["objects"] == len(manifest["objects"]) >= 5
    recon = read_json(rt, base + ".reconstruction_complete")
    assert recon["input_object"] == image and recon["reconstructor"] == "vision"
    for info in rt.bucket.list(""):
        assert KEY.encode() not in rt.bucket.read(info.key), info.key


def test_a_vision_model_that_never_answers_usefully_fails_the_run_naming_why(
    source_runtime: Any, stage1_only: None, vision_server: ChatServer
) -> None:
    vision_server.script_chat(
        chat("no idea"), rate_limited("0"), chat(json.dumps({"room_type": "kitchen", "objects": "a fridge"}))
    )
    rt = source_runtime(**vision_env(vision_server))
    rt.bucket.write("scenes/vision-bad/images/p.jpg", good_jpeg())
    result = wait_for_run("image-to-scene-orchestrator", "vision-bad", timeout=300)
    assert result["status"] == "FAILED" and result["error_code"] == "vision_llm_failed"
    marker = read_json(rt, "scenes/vision-bad/.orchestrator_failed")
    assert marker["error"]["code"] == "vision_llm_failed" and "objects_not_a_list" in marker["error"]["message"]
    assert marker["error"]["stage"] == "reconstruction"
    assert not rt.bucket.exists("scenes/vision-bad/assets/.regen3d_complete")


def test_without_a_vision_key_the_image_path_fails_clearly(source_runtime: Any, stage1_only: None) -> None:
    rt = source_runtime()
    rt.bucket.write("scenes/vision-nokey/images/p.png", good_png())
    result = wait_for_run("image-to-scene-orchestrator", "vision-nokey")
    assert result["status"] == "FAILED" and result["error_code"] == "image_reconstruction_unavailable"
    marker = read_json(rt, "scenes/vision-nokey/.orchestrator_failed")
    assert "OPENROUTER_API_KEY" in marker["error"]["message"] and marker["error"]["field"] == "OPENROUTER_API_KEY"


def test_bad_image_corpus_each_ends_in_a_failure_marker_naming_the_reason(
    source_runtime: Any, stage1_only: None
) -> None:
    rt = source_runtime()  # no vision key: nothing may get past the photo check anyway
    expected: dict[str, str] = {}
    for i, (_case, name, make, code) in enumerate(UPLOADS):
        scene = f"badimg-{i:02d}"
        rt.bucket.write(f"scenes/{scene}/images/{name}", make())
        expected[scene] = code
    refs: dict[str, str] = {}
    for i, (case, uri) in enumerate(REFERENCES):
        scene = f"badref-{i:02d}"
        rt.bucket.write_json(
            REQUEST.format(scene),
            request_body(scene, source_mode="image", prompt=None, image={"gcs_uri": uri.format(scene=scene)}),
        )
        refs[scene] = case
    wait_until(finished("image-to-scene-orchestrator", None, count=len(UPLOADS)), timeout=400)
    wait_until(finished("source-orchestrator", None, count=len(REFERENCES)), timeout=200)
    for scene, code in expected.items():
        marker = read_json(rt, f"scenes/{scene}/.orchestrator_failed")
        assert marker["error"]["code"] == code, (scene, marker["error"])
        assert marker["error"]["field"] == "image.gcs_uri" and "Traceback" not in json.dumps(marker)
        assert not rt.bucket.exists(f"scenes/{scene}/textgen/package.json")
        assert not list(rt.bucket.list(f"scenes/{scene}/assets/"))
    for scene, case in refs.items():
        marker = read_json(rt, f"scenes/{scene}/.source_orchestrator_failed")
        assert marker["error"]["code"] == "invalid_image_uri", (case, marker["error"])
        assert marker["error"]["field"] == "image.gcs_uri", case
    assert len(expected) + len(refs) >= 30
    # Nothing outside each scene's own prefix.
    scenes = set(expected) | set(refs)
    assert all(info.key.split("/")[1] in scenes for info in rt.bucket.list("scenes/"))
    runs = finished("image-to-scene-orchestrator", None, count=len(UPLOADS))()
    assert {result_of(r.workflow_id)["status"] for r in runs} == {"FAILED"}
