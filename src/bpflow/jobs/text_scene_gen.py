"""text-scene-gen-job: Stage 1 scene planning from a text request (spec-text-stage1 §1).

Run as ``python -m bpflow.jobs.text_scene_gen [--backend internal|scenesmith|sage|hybrid_serial]``.
Reads the request at ``REQUEST_OBJECT`` (default ``scenes/<SCENE_ID>/prompts/scene_request.json``;
the orchestrator passes ``scenes/<child>/internal/scene_request.generated.json`` for seeds of a
multi-seed request), plans the scene (LLM first, template fallback), places it, gates it, and
writes under ``TEXTGEN_PREFIX`` (default ``scenes/<SCENE_ID>/textgen``, which must lie inside the
scene) only: ``request.normalized.json``, ``package.json``, ``placement_graph.json``,
``quality_gate_report.json``, optionally ``sage_actions/*``, and ``.textgen_complete`` last (it
triggers nothing; the orchestrator runs the adapter next). A failed gate writes nothing.

Env (spec §1.1): BUCKET, SCENE_ID, REQUEST_OBJECT, TEXTGEN_PREFIX, TEXT_SEED (1), TEXT_BACKEND,
TEXT_GEN_QUALITY_TIER, TEXT_GEN_STANDARD_PROFILE / TEXT_GEN_PREMIUM_PROFILE, DEFAULT_SOURCE_MODE,
TEXT_BACKEND_DEFAULT, TEXT_BACKEND_ALLOWLIST, TEXT_GEN_MAX_SEEDS, TEXT_GEN_USE_LLM,
TEXT_GEN_LLM_MAX_ATTEMPTS, TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS, TEXT_OPENROUTER_* and the provider
keys, TEXT_PIPELINE_V2_ENABLED, TEXT_GEN_MIN_OBJECT_COUNT, TEXT_GEN_MAX_COLLISION_RATE_PCT,
TEXT_GEN_MIN_STABILITY_PCT, TEXT_GEN_MIN_FAITHFULNESS_SCORE, SAGE_* / SCENESMITH_*,
TEXT_SAGE_ACTION_DEMO_ENABLED; ours: TEXT_GEN_LLM_TIMEOUT_SECONDS (120).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from bpflow.core.config import Settings, load_settings
from bpflow.core.errors import ConfigError, InvalidSceneId, ObjectNotFound
from bpflow.core.jobkit import (
    env_bool,
    env_int,
    env_raw,
    env_str,
    job_bucket,
    log_json,
    require_env,
    run_main,
    scene_prefix,
)
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.request.contract import RequestInvalid, SceneRequest, parse_request
from bpflow.domain.textgen.backends import BackendConfig, resolve_backend, run_backend
from bpflow.domain.textgen.errors import RequestNotFound, TextgenInputError
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions
from bpflow.domain.textgen.llm_planner import resolve_chain
from bpflow.domain.textgen.package import textgen_complete
from bpflow.domain.textgen.quality_gate import GateThresholds, generate_with_gate
from bpflow.jobs.env_needs import LLM_KEY_ENV
from bpflow.state.cas_json import iso_z, utc_now

JOB_NAME = "text-scene-gen-job"
QUALITY_TIERS = ("standard", "premium")

#: The settings this job reads through ``bpflow.core.config`` (so defaults and parsing are shared);
#: only these are loaded, so an unrelated malformed variable cannot fail the job.
SETTINGS_ENV = (
    "BPFLOW_BUCKET_URL",
    "DEFAULT_SOURCE_MODE",
    "TEXT_BACKEND_DEFAULT",
    "TEXT_BACKEND_ALLOWLIST",
    "TEXT_GEN_MAX_SEEDS",
    "TEXT_GEN_STANDARD_PROFILE",
    "TEXT_GEN_PREMIUM_PROFILE",
    "TEXT_GEN_USE_LLM",
    "TEXT_GEN_LLM_MAX_ATTEMPTS",
    "TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS",
    "TEXT_OPENROUTER_BASE_URL",
    "OPENROUTER_BASE_URL",
    "TEXT_OPENROUTER_MODEL_CHAIN",
    "TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK",
    "TEXT_OPENROUTER_HTTP_REFERER",
    "TEXT_OPENROUTER_APP_TITLE",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "ANTHROPIC_MODEL",
    "GEMINI_MODEL",
    "SCENESMITH_RUNTIME_MODE",
    "SCENESMITH_SERVER_URL",
    "SCENESMITH_TIMEOUT_SECONDS",
    "SAGE_RUNTIME_MODE",
    "SAGE_SERVER_URL",
    "SAGE_TIMEOUT_SECONDS",
    "TEXT_SAGE_ACTION_DEMO_ENABLED",
    *LLM_KEY_ENV,
)


def job_settings() -> Settings:
    return load_settings({name: value for name in SETTINGS_ENV if (value := env_raw(name)) is not None})


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        out = float(value)
    except ValueError:
        raise ConfigError(f"Invalid value for {name}: {value}", field=name) from None
    if not math.isfinite(out):
        raise ConfigError(f"{name} must be a finite number", field=name)
    return out


def read_request(bucket: Bucket, key: str, scene_id: str, settings: Settings) -> SceneRequest:
    try:
        raw = bucket.read(key)
    except ObjectNotFound:
        raise RequestNotFound(f"scene request {key} does not exist", field="REQUEST_OBJECT") from None
    try:
        request = parse_request(raw, scene_id_from_path=scene_id, settings=settings)
    except RequestInvalid as exc:
        raise TextgenInputError(exc.message, code=exc.code, field=exc.field, details=exc.details) from None
    if request.source_mode == "image":
        raise TextgenInputError("source_mode is image: route this request to the image pipeline", field="source_mode")
    return request


def quality_tier(request: SceneRequest) -> str:
    """TEXT_GEN_QUALITY_TIER overrides the request when valid; an invalid value is ignored (logged)."""
    override = (env_str("TEXT_GEN_QUALITY_TIER") or "").lower()
    if override in QUALITY_TIERS:
        return override
    if override:
        log_json(action="warning", message="ignoring invalid TEXT_GEN_QUALITY_TIER", value=override[:40])
    return request.quality_tier


def thresholds(v2: bool) -> GateThresholds:
    base = GateThresholds.defaults(v2)
    return GateThresholds(
        min_object_count=env_int("TEXT_GEN_MIN_OBJECT_COUNT", base.min_object_count),
        max_collision_rate_pct=env_float("TEXT_GEN_MAX_COLLISION_RATE_PCT", base.max_collision_rate_pct),
        min_stability_pct=env_float("TEXT_GEN_MIN_STABILITY_PCT", base.min_stability_pct),
        min_faithfulness_score=env_float("TEXT_GEN_MIN_FAITHFULNESS_SCORE", base.min_faithfulness_score),
    )


def _scrub(body: Any, secrets: Sequence[str]) -> str:
    text = json.dumps(body, indent=2, sort_keys=False, ensure_ascii=False)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text + "\n"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bpflow.jobs.text_scene_gen", add_help=True)
    parser.add_argument("--backend", default=None, help="internal | scenesmith | sage | hybrid_serial")
    return parser.parse_args(list(argv))


def _main(argv: Sequence[str] = ()) -> int:
    args = parse_args(argv)
    require_env("BUCKET")
    scene_id = require_env("SCENE_ID")
    try:
        validate_scene_id(scene_id)
    except InvalidSceneId as exc:
        raise ConfigError(exc.message[:300], field="SCENE_ID") from None
    request_object = env_str("REQUEST_OBJECT", STAGES["source-orchestrator"].trigger_key(scene_id)).strip("/")
    textgen_prefix = scene_prefix(scene_id, "TEXTGEN_PREFIX", env_str("TEXTGEN_PREFIX", f"scenes/{scene_id}/textgen"))
    seed = env_int("TEXT_SEED", 1)
    if seed < 1:
        raise ConfigError(f"TEXT_SEED must be an integer >= 1, got {seed}", field="TEXT_SEED")
    settings = job_settings()
    bucket = job_bucket()
    request = read_request(bucket, request_object, scene_id, settings)
    tier = quality_tier(request)
    backend, backend_source = resolve_backend(
        env_override=env_str("TEXT_BACKEND"),
        cli=args.backend,
        request_value=request.text_backend,
        default=settings.text_backend_default,
        allowlist=list(settings.text_backend_allowlist),
    )
    v2 = env_bool("TEXT_PIPELINE_V2_ENABLED", False)
    chain, skipped = resolve_chain(settings, request.provider_policy)
    llm = LLMOptions(
        enabled=settings.text_gen_use_llm,
        chain=tuple(chain),
        skipped=tuple(skipped),
        rounds=settings.text_gen_llm_max_attempts,
        backoff_seconds=settings.text_gen_llm_retry_backoff_seconds,
        timeout_seconds=env_float("TEXT_GEN_LLM_TIMEOUT_SECONDS", 120.0),
    )
    cfg = BackendConfig(
        v2=v2,
        sage_url=settings.sage_server_url,
        sage_timeout_seconds=float(settings.sage_timeout_seconds),
        sage_runtime_mode=settings.sage_runtime_mode,
        scenesmith_url=settings.scenesmith_server_url,
        scenesmith_timeout_seconds=float(settings.scenesmith_timeout_seconds),
        scenesmith_runtime_mode=settings.scenesmith_runtime_mode,
        action_demo=settings.text_sage_action_demo_enabled,
    )
    log_json(
        action="start",
        job=JOB_NAME,
        scene_id=scene_id,
        request_object=request_object,
        backend=backend,
        backend_source=backend_source,
        quality_tier=tier,
        seed=seed,
        llm_enabled=llm.enabled,
        llm_chain=[e.provider for e in chain],
        llm_skipped=skipped,
    )

    def generate(prompt: str) -> dict[str, Any]:
        req = GenerationRequest(scene_id, prompt, request.constraints, tier, seed, request.provider_policy)
        return run_backend(backend, req, llm, cfg)

    package = generate_with_gate(generate, request.prompt, tier, thresholds(v2))
    secrets = settings.secret_values()
    written = []

    def put(rel: str, body: Any) -> None:
        key = f"{textgen_prefix}/{rel}"
        bucket.write(key, _scrub(body, secrets), content_type="application/json")
        written.append(key)

    normalized = request.to_dict()
    normalized["quality_tier"] = tier
    put("request.normalized.json", normalized)
    put("package.json", package)
    put("placement_graph.json", package.get("placement_graph") or {"relations": []})
    put("quality_gate_report.json", package.get("quality_gate_report") or {})
    demo_status: dict[str, Any] = {"enabled": bool(cfg.action_demo), "emitted": False}
    if cfg.action_demo and "sage_action_demo" not in package:
        demo_status["reason"] = "backend_not_sage" if backend not in ("sage", "hybrid_serial") else "no_task_object"
    if "sage_action_demo" in package:
        put("sage_actions/action_demo.json", package["sage_action_demo"])
        put(
            "sage_actions/.sage_actions_complete",
            {
                "scene_id": scene_id,
                "status": "completed",
                "action_source": "sage",
                "robot_type": "franka",
                "seed": seed,
            },
        )
        demo_status.update(emitted=True, path=f"{textgen_prefix}/sage_actions/action_demo.json")
    profile = settings.text_gen_premium_profile if tier == "premium" else settings.text_gen_standard_profile
    marker = textgen_complete(
        package,
        source_mode=request.source_mode,
        profile=profile,
        request_object=request_object,
        textgen_prefix=textgen_prefix,
        action_demo=demo_status,
        timestamp=iso_z(utc_now()),
    )
    put(".textgen_complete", marker)
    metrics = package["quality_gate_report"]["metrics"]
    log_json(
        action="completed",
        job=JOB_NAME,
        scene_id=scene_id,
        text_backend=backend,
        room_type=package["room_type"],
        object_count=metrics["object_count"],
        dropped=metrics["dropped_object_count"],
        generation_mode=marker["generation_mode"],
        llm_attempts=marker["llm_attempts"],
        llm_failure_reason=marker["llm_failure_reason"],
        retry_used=marker["retry_used"],
        written=written,
    )
    return 0


def main(argv: Sequence[str] = ()) -> int:
    """Entry point; runners call it without arguments (the in-process runner must not see the
    host process's own command line), ``python -m`` passes its arguments."""
    return run_main(lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
