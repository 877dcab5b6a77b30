"""What each job declares it needs from the service's environment beyond the common allowlist.

A job process does not inherit the service's whole environment (``bpflow.core.runners.job_env``): an
LLM key, a cloud credential or the API token would otherwise reach every job, including ones
that run third-party converters. A job that needs a secret names it here, by job name, so the
runner can hand it over without importing the job (whose module may pull in USD or MuJoCo).
The job modules read the same tuples, so a declaration and a job's reads cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The LLM provider keys the text planner tries (llm_planner's provider chain).
LLM_KEY_ENV: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "ANTHROPIC_API_KEY",
    "TEXT_OPENROUTER_API_KEY",
    "OPENROUTER_API_KEY",
)

#: Text-to-3D providers' keys of the asset adapter (refused when configured, but named so the
#: refusal can say which one is set), plus a Hugging Face token for embedding models.
PROVIDER_KEY_ENV: tuple[str, ...] = (
    "SAM3D_API_KEY",
    "TEXT_SAM3D_API_KEY",
    "HUNYUAN_API_KEY",
    "TEXT_HUNYUAN_API_KEY",
    "HF_TOKEN",
)

#: The replication consumer writes to a second bucket (ASSET_REPLICATION_TARGET), which may be of
#: another backend than the primary one: it needs that backend's credentials too.
REPLICATION_TARGET_ENV: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CA_BUNDLE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CONFIG",
)

#: Tuning knobs the automation jobs read that are not bpflow settings (the reference's names).
EMBEDDING_ENV: tuple[str, ...] = (
    "TEXT_ASSET_EMBEDDING_BACKEND",
    "TEXT_ASSET_EMBEDDING_MAX_ITEMS",
    "TEXT_ASSET_EMBEDDING_BATCH_SIZE",
    "TEXT_ASSET_EMBEDDING_DRY_RUN",
    "TEXT_ASSET_EMBEDDING_FAIL_ON_ERROR",
    "QUEUE_CLAIM_TTL_SECONDS",
    "HF_TOKEN",
)
REPLICATION_ENV: tuple[str, ...] = (
    "TEXT_ASSET_REPLICATION_MAX_ITEMS",
    "TEXT_ASSET_REPLICATION_DRY_RUN",
    "TEXT_ASSET_REPLICATION_FAIL_ON_ERROR",
    "QUEUE_CLAIM_TTL_SECONDS",
)
EMITTER_ENV: tuple[str, ...] = ("TEXT_PROMPT_USE_LLM", "TEXT_PROMPT_LLM_MAX_ATTEMPTS")
AUDIT_ENV: tuple[str, ...] = (
    "CHECKSUMS_HMAC_KEY",
    "CHECKSUMS_FILENAME",
    "MAX_FAILURE_DETAILS",
    "REQUIRE_CHECKSUM_SIGNATURE",
)

JOB_ENV: dict[str, tuple[str, ...]] = {
    "text-scene-gen-job": LLM_KEY_ENV,
    # The adapter embeds queries with the same backend the embedding consumer uses.
    "text-scene-adapter-job": (*PROVIDER_KEY_ENV, "TEXT_ASSET_EMBEDDING_BACKEND"),
    "text-request-emitter-job": (*LLM_KEY_ENV, *EMITTER_ENV),  # the optional LLM rewording of the day's prompts
    "asset-embedding-job": EMBEDDING_ENV,
    "asset-replication-job": (*REPLICATION_ENV, *REPLICATION_TARGET_ENV, "B2_KEY_ID", "B2_APPLICATION_KEY"),
    "scene-generation-job": ("SCENE_GENERATION_TEXT_BACKEND", "SCENE_GENERATION_QUALITY_TIER"),
    "dataset-delivery-integrity-audit-job": AUDIT_ENV,
    # the image path (issue 16): the vision planner uses the text planner's keys; the legacy
    # chain and the experimental paths read the reference's optional variables
    "image-scene-gen-job": (
        *LLM_KEY_ENV,
        "PROVIDER_POLICY",
        "TEXT_GEN_QUALITY_TIER",
        "TEXT_GEN_LLM_TIMEOUT_SECONDS",
        "TEXT_GEN_MIN_OBJECT_COUNT",
        "TEXT_GEN_MAX_COLLISION_RATE_PCT",
        "TEXT_GEN_MIN_STABILITY_PCT",
        "TEXT_GEN_MIN_FAITHFULNESS_SCORE",
    ),
    "regen3d-adapter-job": (
        "REGEN3D_PREFIX",
        "ENVIRONMENT_TYPE",
        "SCALE_FACTOR",
        "SKIP_INVENTORY",
        "BYPASS_QUALITY_GATES",
    ),
    "scale-job": ("METRIC_METADATA_PATH",),
    "dream2flow-inference-job": ("VIDEO_API_ENDPOINT", "DREAM2FLOW_VIDEO_CHECKPOINT", "INFERENCE_TIMEOUT_SECONDS"),
    "dwm-inference-job": ("DWM_API_ENDPOINT", "DWM_CHECKPOINT_PATH", "INFERENCE_TIMEOUT_SECONDS"),
    "arena-export-job": ("OPENAI_API_KEY",),  # USE_LLM_AFFORDANCES refines affordances with it
}


def declare_job_env(job: str, names: Iterable[str]) -> None:
    """Add names a job needs (plugins, tests); declarations only ever add."""
    JOB_ENV[job] = tuple(dict.fromkeys([*JOB_ENV.get(job, ()), *names]))


def declared_env(job: str) -> tuple[str, ...]:
    return JOB_ENV.get(job, ())
