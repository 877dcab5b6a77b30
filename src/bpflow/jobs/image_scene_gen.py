"""image-scene-gen-job: Stage 1's first half for an uploaded photo, ``python -m bpflow.jobs.image_scene_gen``.

Checks the photo (``bpflow.domain.imagegen.decode``), asks a vision-capable LLM what the room
contains (the text planner's provider chain, keys and retry rules), places and gates the scene
with the text path's solver and quality gate, and writes what text-scene-adapter-job reads:
``<TEXTGEN_PREFIX>/package.json`` (+ ``request.normalized.json``, ``placement_graph.json``,
``quality_gate_report.json``, ``.textgen_complete``) and the scene request it implies at
``REQUEST_OBJECT``. It writes nothing else and no marker that starts another workflow.

Env: BUCKET, SCENE_ID, IMAGE_OBJECT (must be ``scenes/<SCENE_ID>/images/<file>``),
IMAGE_GENERATION, TEXTGEN_PREFIX, REQUEST_OBJECT, TEXT_SEED (1), TEXT_GEN_QUALITY_TIER
(standard), PROVIDER_POLICY (the request default), the text planner's provider settings
(TEXT_OPENROUTER_*, OPENAI_*, ... and keys), TEXT_GEN_LLM_MAX_ATTEMPTS,
TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS, TEXT_GEN_LLM_TIMEOUT_SECONDS and the quality-gate thresholds
(TEXT_GEN_MIN_OBJECT_COUNT, ...). Failures are typed: the photo's reason (``image_*``,
``invalid_image``), ``image_reconstruction_unavailable`` (no vision LLM key), ``vision_llm_failed``
(every attempt failed; the last reason named) or the gate's ``quality_gate_failed``.
"""

from __future__ import annotations

import hashlib
import json
import time

from bpflow.core.errors import BpflowError, ConfigError, ObjectNotFound
from bpflow.core.jobkit import env_int, env_str, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.imagegen.decode import ImageRejected, check_image
from bpflow.domain.imagegen.scene import ImageSource, image_package
from bpflow.domain.imagegen.vision import ask_vision
from bpflow.domain.request.contract import DEFAULT_PROVIDER_POLICY, PROVIDER_POLICIES
from bpflow.domain.textgen.llm_planner import resolve_chain
from bpflow.domain.textgen.package import textgen_complete
from bpflow.jobs.text_scene_gen import _scrub, env_float, job_settings, thresholds
from bpflow.state.cas_json import iso_z, utc_now

JOB_NAME = "image-scene-gen-job"


class VisionUnavailable(BpflowError):
    code = "image_reconstruction_unavailable"


class VisionFailed(BpflowError):
    code = "vision_llm_failed"


def image_object(scene_id: str) -> str:
    key = require_env("IMAGE_OBJECT").strip().strip("/")
    parts = key.split("/")
    if len(parts) != 4 or parts[:2] != ["scenes", scene_id] or parts[2] != "images" or parts[3] in ("", ".", ".."):
        raise ImageRejected(
            f"IMAGE_OBJECT {key!r} must be scenes/{scene_id}/images/<file>",
            code="image_path_outside_images",
            field="image.gcs_uri",
        )
    return key


def _main() -> int:
    require_env("BUCKET")
    scene_id = validate_scene_id(require_env("SCENE_ID"))
    key = image_object(scene_id)
    generation = env_int("IMAGE_GENERATION", 0)
    textgen_prefix = scene_prefix(scene_id, "TEXTGEN_PREFIX", env_str("TEXTGEN_PREFIX", f"scenes/{scene_id}/textgen"))
    request_object = scene_prefix(
        scene_id, "REQUEST_OBJECT", env_str("REQUEST_OBJECT", f"scenes/{scene_id}/imagegen/image_request.json")
    )
    seed = env_int("TEXT_SEED", 1)
    tier = (env_str("TEXT_GEN_QUALITY_TIER") or "standard").lower()
    if tier not in ("standard", "premium"):
        raise ConfigError(
            f"TEXT_GEN_QUALITY_TIER must be standard or premium, got {tier!r}", field="TEXT_GEN_QUALITY_TIER"
        )
    policy = env_str("PROVIDER_POLICY") or DEFAULT_PROVIDER_POLICY
    if policy not in PROVIDER_POLICIES:
        raise ConfigError(f"PROVIDER_POLICY must be one of {', '.join(PROVIDER_POLICIES)}", field="PROVIDER_POLICY")
    bucket = job_bucket()
    try:
        data = bucket.read(key)
    except ObjectNotFound:
        raise ImageRejected(f"image {key} does not exist", code="image_missing", field="image.gcs_uri") from None
    image = check_image(data, key)
    settings = job_settings()
    chain, skipped = resolve_chain(settings, policy)
    if not chain:
        raise VisionUnavailable(
            f"no vision-capable LLM is configured for provider_policy {policy} (providers without a key: {', '.join(skipped) or 'none'}): "
            + (
                "set OPENAI_API_KEY (with OPENAI_BASE_URL / OPENAI_MODEL for any OpenAI-compatible endpoint), GEMINI_API_KEY or ANTHROPIC_API_KEY"
                if policy == "openai_primary"
                else "set OPENROUTER_API_KEY or TEXT_OPENROUTER_API_KEY (with TEXT_OPENROUTER_BASE_URL for any OpenAI-compatible endpoint)"
            ),
            field="OPENAI_API_KEY" if policy == "openai_primary" else "OPENROUTER_API_KEY",
        )
    log_json(
        action="start",
        job=JOB_NAME,
        scene_id=scene_id,
        image=key,
        width=image.width,
        height=image.height,
        llm_chain=[e.provider for e in chain],
        llm_skipped=skipped,
    )
    llm, vision = ask_vision(
        chain,
        image.model_png,
        seed=seed,
        rounds=settings.text_gen_llm_max_attempts,
        backoff_seconds=settings.text_gen_llm_retry_backoff_seconds,
        timeout=env_float("TEXT_GEN_LLM_TIMEOUT_SECONDS", 120.0),
        sleep=time.sleep,
    )
    llm.skipped_providers = list(skipped)
    if vision is None:
        raise VisionFailed(
            f"the vision LLM gave no usable answer after {llm.attempts} attempt(s); last: {llm.failure_reason}",
            field="image",
            details={"attempts": llm.log[-10:]},
        )
    source = ImageSource(
        key, generation, hashlib.sha256(data).hexdigest(), image.width, image.height, image.exif_rotated
    )
    package = image_package(
        scene_id, vision, llm, source, seed=seed, tier=tier, provider_policy=policy, thresholds=thresholds(False)
    )
    request = {
        "schema_version": "v1",
        "scene_id": scene_id,
        "source_mode": "image",
        "prompt": package["prompt"],
        "quality_tier": tier,
        "seed_count": 1,
        "provider_policy": policy,
        "constraints": {"room_type": package["room_type"]},
        "image": {"gcs_uri": key, "generation": str(generation)},
    }
    secrets = settings.secret_values()

    def put(k: str, body: object) -> None:
        bucket.write(k, _scrub(body, secrets), content_type="application/json")

    put(request_object, request)
    put(f"{textgen_prefix}/request.normalized.json", request)
    put(f"{textgen_prefix}/package.json", package)
    put(f"{textgen_prefix}/placement_graph.json", package.get("placement_graph") or {"relations": []})
    put(f"{textgen_prefix}/quality_gate_report.json", package.get("quality_gate_report") or {})
    marker = textgen_complete(
        package,
        source_mode="image",
        profile="vision",
        request_object=request_object,
        textgen_prefix=textgen_prefix,
        action_demo={"enabled": False, "emitted": False},
        timestamp=iso_z(utc_now()),
    )
    put(f"{textgen_prefix}/.textgen_complete", marker)
    log_json(
        action="completed",
        job=JOB_NAME,
        scene_id=scene_id,
        room_type=package["room_type"],
        provider=llm.provider,
        object_count=len(package["objects"]),
        llm_attempts=llm.attempts,
        image_positions=len(vision.image_positions),
        summary=json.dumps(package["quality_gate_report"]["metrics"])[:300],
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
