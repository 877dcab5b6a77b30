"""text-scene-gen-job for real: ``python -m bpflow.jobs.text_scene_gen`` against a local bucket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.jobs import text_scene_gen
from tests.conftest import REPO
from tests.textgen.conftest import PROVIDER_ENV
from tests.textgen.openai_local_server import GOOD_KITCHEN, ChatServer, chat, plan_reply, rate_limited, server_error

KEY = "sk-or-v1-THIS-IS-A-TEST-KEY-9f8e7d6c"
SCENE = "kitchen_one"
PROMPT = "a kitchen with a fridge, a table and two mugs"
OUTPUTS = {
    "request.normalized.json",
    "package.json",
    "placement_graph.json",
    "quality_gate_report.json",
    ".textgen_complete",
}


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "bucket")


def put_request(bucket: LocalBucket, scene: str = SCENE, key: str | None = None, **fields: Any) -> str:
    key = key or f"scenes/{scene}/prompts/scene_request.json"
    body = {
        "schema_version": "v1",
        "scene_id": scene,
        "source_mode": "text",
        "prompt": PROMPT,
        "text_backend": "internal",
        **fields,
    }
    bucket.write_json(key, body)
    return key


def job_env(bucket: LocalBucket, scene: str = SCENE, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV and not k.startswith("BPFLOW_")}
    env.update(
        {
            "BPFLOW_BUCKET_URL": bucket.url,
            "BUCKET": "test-bucket",
            "SCENE_ID": scene,
            "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO),
            **extra,
        }
    )
    return env


def run_job(bucket: LocalBucket, *args: str, scene: str = SCENE, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bpflow.jobs.text_scene_gen", *args],
        env=job_env(bucket, scene, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def textgen(bucket: LocalBucket, scene: str = SCENE) -> dict[str, Any]:
    prefix = f"scenes/{scene}/textgen/"
    return {info.key.removeprefix(prefix): bucket.read_json(info.key) for info in bucket.list(prefix)}


def all_keys(bucket: LocalBucket) -> list[str]:
    return sorted(info.key for info in bucket.list(""))


def job_error(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(proc.stderr.strip().splitlines()[-1])["error"]


def validate(name: str, obj: Any) -> list[Any]:
    from bpflow.core import contracts

    return contracts.validate(name, obj)


# --- the whole job --------------------------------------------------------------------------


def test_job_without_a_key_plans_with_the_template_and_writes_every_output(bucket: LocalBucket) -> None:
    request_key = put_request(bucket)
    proc = run_job(bucket)
    assert proc.returncode == 0, proc.stderr
    out = textgen(bucket)
    assert set(out) == OUTPUTS
    assert all_keys(bucket) == sorted([request_key] + [f"scenes/{SCENE}/textgen/{n}" for n in OUTPUTS])

    marker, pkg = out[".textgen_complete"], out["package.json"]
    assert marker["generation_mode"] == "deterministic_fallback"
    assert (marker["llm_attempts"], marker["llm_fallback_used"], marker["llm_failure_reason"]) == (
        0,
        False,
        "llm_no_api_key",
    )
    assert (marker["request_object"], marker["textgen_prefix"]) == (request_key, f"scenes/{SCENE}/textgen")
    assert (marker["text_backend"], marker["profile"], marker["seed"]) == ("internal", "standard_v1", 1)
    assert out["request.normalized.json"] == {
        "schema_version": "v1",
        "scene_id": SCENE,
        "source_mode": "text",
        "text_backend": "internal",
        "prompt": PROMPT,
        "quality_tier": "standard",
        "seed_count": 1,
        "image": None,
        "constraints": {},
        "provider_policy": "openrouter_qwen_primary",
        "fallback": {"allow_image_fallback": True},
    }
    assert out["placement_graph.json"] == pkg["placement_graph"]
    assert out["quality_gate_report.json"] == pkg["quality_gate_report"]
    assert pkg["conventions"]["position_anchor"] == "base" and pkg["conventions"]["up_axis"] == "y"
    assert validate("textgen_package", pkg) == []
    assert validate("textgen_complete_marker", marker) == []
    logs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["action"] for line in logs] == ["start", "completed"]


def test_job_plans_with_the_llm_through_malformed_and_429_answers(bucket: LocalBucket, llm_server: ChatServer) -> None:
    put_request(bucket)
    llm_server.script_chat(chat("I would put a fridge somewhere."), rate_limited("0"), plan_reply(GOOD_KITCHEN))
    proc = run_job(
        bucket,
        TEXT_OPENROUTER_API_KEY=KEY,
        TEXT_OPENROUTER_BASE_URL=llm_server.openai_base_url,
        TEXT_OPENROUTER_MODEL_CHAIN="llm_server/model-a",
        TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS="0",
    )
    assert proc.returncode == 0, proc.stderr
    out = textgen(bucket)
    marker, pkg = out[".textgen_complete"], out["package.json"]
    assert (marker["generation_mode"], marker["llm_attempts"], marker["llm_fallback_used"]) == ("llm", 3, False)
    assert marker["provider_used"] == "openrouter:llm_server/model-a" and marker["llm_failure_reason"] is None
    assert [r.get("outcome") for r in pkg["planning"]["llm_attempt_log"] if "outcome" in r] == [
        "not_json",
        "http_429",
        "ok",
    ]
    assert "espresso_machine" in [o["name"] for o in pkg["objects"]]
    assert len(llm_server.received()) == 3
    assert validate("textgen_package", pkg) == []


def test_job_falls_back_after_every_attempt_fails(bucket: LocalBucket, llm_server: ChatServer) -> None:
    put_request(bucket)
    llm_server.script_chat(*[server_error(500)] * 2, chat("not json"), server_error(503))
    proc = run_job(
        bucket,
        TEXT_OPENROUTER_API_KEY=KEY,
        TEXT_OPENROUTER_BASE_URL=llm_server.openai_base_url,
        TEXT_OPENROUTER_MODEL_CHAIN='["m1", "m2"]',
        TEXT_GEN_LLM_MAX_ATTEMPTS="2",
        TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS="0",
    )
    assert proc.returncode == 0, proc.stderr
    marker = textgen(bucket)[".textgen_complete"]
    assert (marker["generation_mode"], marker["llm_attempts"], marker["llm_fallback_used"]) == (
        "deterministic_fallback",
        4,
        True,
    )
    assert marker["llm_failure_reason"] == "openrouter:m2:http_503"
    assert marker["provider_used"] == "none"


def test_no_api_key_appears_in_any_output_or_log(bucket: LocalBucket, llm_server: ChatServer) -> None:
    put_request(bucket, text_backend="sage")
    llm_server.script_chat(server_error(401), plan_reply(GOOD_KITCHEN))
    sage_url = f"http://svc:{KEY}@127.0.0.1:9/sage"  # a credential in a URL, and nothing listening
    proc = run_job(
        bucket,
        TEXT_OPENROUTER_API_KEY=KEY,
        OPENAI_API_KEY=KEY + "-openai",
        TEXT_OPENROUTER_BASE_URL=llm_server.openai_base_url,
        TEXT_OPENROUTER_MODEL_CHAIN="m1",
        TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK="false",
        TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS="0",
        SAGE_SERVER_URL=sage_url,
        SAGE_TIMEOUT_SECONDS="5",
    )
    assert proc.returncode == 0, proc.stderr
    assert llm_server.received()[0]["headers"]["authorization"] == f"Bearer {KEY}"  # the key was really used
    blobs = [bucket.read(info.key).decode() for info in bucket.list("")] + [proc.stdout, proc.stderr]
    assert textgen(bucket)["package.json"]["sage"]["live_error"].startswith("transport_error")
    for blob in blobs:
        assert KEY not in blob


def test_child_request_of_a_multi_seed_fan_out(bucket: LocalBucket) -> None:
    child = "parent-s002"
    key = put_request(
        bucket,
        scene=child,
        key=f"scenes/{child}/internal/scene_request.generated.json",
        seed_count=1,
        quality_tier="premium",
        constraints={"room_type": "bedroom"},
    )
    proc = run_job(
        bucket,
        scene=child,
        REQUEST_OBJECT=key,
        TEXTGEN_PREFIX=f"scenes/{child}/textgen",
        TEXT_SEED="2",
        TEXT_GEN_USE_LLM="false",
    )
    assert proc.returncode == 0, proc.stderr
    out = textgen(bucket, child)
    assert out[".textgen_complete"]["request_object"] == key and out[".textgen_complete"]["seed"] == 2
    assert (
        out[".textgen_complete"]["profile"] == "premium_v1"
        and out[".textgen_complete"]["llm_failure_reason"] == "llm_disabled"
    )
    assert out["package.json"]["room_type"] == "bedroom" and len(out["package.json"]["objects"]) == 18


def test_same_request_same_package_in_another_process(bucket: LocalBucket, tmp_path: Path) -> None:
    other = LocalBucket(tmp_path / "other")
    for b in (bucket, other):
        put_request(b)
        assert run_job(b, TEXT_GEN_USE_LLM="false", PYTHONHASHSEED=str(id(b) % 1000)).returncode == 0
    assert textgen(bucket)["package.json"]["objects"] == textgen(other)["package.json"]["objects"]


def test_backend_override_env_beats_the_cli_flag(bucket: LocalBucket) -> None:
    put_request(bucket)
    assert run_job(bucket, "--backend", "scenesmith", TEXT_GEN_USE_LLM="false").returncode == 0
    assert textgen(bucket)["package.json"]["text_backend"] == "scenesmith"
    assert (
        run_job(
            bucket,
            "--backend",
            "scenesmith",
            TEXT_BACKEND="sage",
            TEXT_SAGE_ACTION_DEMO_ENABLED="true",
            TEXT_GEN_USE_LLM="false",
        ).returncode
        == 0
    )
    out = textgen(bucket)
    assert out["package.json"]["text_backend"] == "sage"
    assert out[".textgen_complete"]["action_demo"] == {
        "enabled": True,
        "emitted": True,
        "path": f"scenes/{SCENE}/textgen/sage_actions/action_demo.json",
    }
    assert out["sage_actions/.sage_actions_complete"]["action_source"] == "sage"


# --- bad input: a structured error naming the field, nothing written --------------------------


def run_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bucket: LocalBucket, **env: str
) -> tuple[int, dict[str, Any] | None]:
    for k, v in job_env(bucket, env.pop("SCENE_ID", SCENE), **env).items():
        monkeypatch.setenv(k, v)
    code = text_scene_gen.main()
    err = capsys.readouterr().err.strip().splitlines()
    return code, (json.loads(err[-1])["error"] if err else None)


@pytest.mark.parametrize(
    ("request_body", "env", "field", "code"),
    [
        (None, {}, "REQUEST_OBJECT", "scene_request_not_found"),
        (b"{not json", {}, "$", "invalid_scene_request"),
        (
            {"source_mode": "image", "image": {"gcs_uri": "gs://bucket/scenes/kitchen_one/images/a.png"}},
            {},
            "source_mode",
            "invalid_scene_request",
        ),
        ({"scene_id": "someone_else"}, {}, "scene_id", "invalid_scene_request"),
        ({"prompt": "   "}, {}, "prompt", "invalid_scene_request"),
        ({"quality_tier": "deluxe"}, {}, "quality_tier", "invalid_scene_request"),
        (
            {"constraints": {"room_width_m": "wide"}},
            {"TEXT_GEN_USE_LLM": "false"},
            "constraints.room_width_m",
            "invalid_scene_request",
        ),
        ({}, {"TEXTGEN_PREFIX": "scenes/other_scene/textgen"}, "TEXTGEN_PREFIX", "invalid_config"),
        ({}, {"TEXTGEN_PREFIX": "scenes/kitchen_one/../x"}, "TEXTGEN_PREFIX", "invalid_config"),
        ({}, {"TEXT_SEED": "0"}, "TEXT_SEED", "invalid_config"),
        ({}, {"TEXT_SEED": "two"}, "TEXT_SEED", "invalid_config"),
        ({}, {"SCENE_ID": "../etc"}, "SCENE_ID", "invalid_config"),
        (
            {},
            {"TEXT_GEN_MIN_OBJECT_COUNT": "500", "TEXT_GEN_USE_LLM": "false"},
            "quality_gate.object_count",
            "text_quality_gate_failed",
        ),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bucket: LocalBucket,
    request_body: Any,
    env: dict[str, str],
    field: str,
    code: str,
) -> None:
    if isinstance(request_body, bytes):
        bucket.write(f"scenes/{SCENE}/prompts/scene_request.json", request_body)
    elif request_body is not None:
        put_request(bucket, **request_body)
    before = all_keys(bucket)
    status, error = run_in_process(monkeypatch, capsys, bucket, **env)
    assert status == 2
    assert error is not None and (error["field"], error["code"]) == (field, code)
    assert all_keys(bucket) == before


def test_quality_tier_override(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bucket: LocalBucket
) -> None:
    put_request(bucket)
    status, _ = run_in_process(monkeypatch, capsys, bucket, TEXT_GEN_QUALITY_TIER="premium", TEXT_GEN_USE_LLM="false")
    assert status == 0
    out = textgen(bucket)
    assert (
        out[".textgen_complete"]["quality_tier"] == "premium"
        and out["request.normalized.json"]["quality_tier"] == "premium"
    )
    status, _ = run_in_process(monkeypatch, capsys, bucket, TEXT_GEN_QUALITY_TIER="platinum", TEXT_GEN_USE_LLM="false")
    assert status == 0 and textgen(bucket)[".textgen_complete"]["quality_tier"] == "standard"
