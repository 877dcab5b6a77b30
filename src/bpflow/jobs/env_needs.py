"""What each job declares it needs from the service's environment beyond the common allowlist.

A job process does not inherit the service's whole environment (``bpflow.runners.job_env``): an
LLM key, a cloud credential or the API token would otherwise reach every job, including ones
that run third-party converters. A job that needs a secret names it here, by job name, so the
runner can hand it over without importing the job (whose module may pull in USD or MuJoCo).
The job modules read the same tuples, so a declaration and a job's reads cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The LLM provider keys the text planner tries (llm_planner's provider chain).
LLM_KEY_ENV: tuple[str, ...] = (
    "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_API_KEY", "TEXT_OPENROUTER_API_KEY", "OPENROUTER_API_KEY",
)

#: Text-to-3D providers' keys of the asset adapter (refused when configured, but named so the
#: refusal can say which one is set), plus a Hugging Face token for embedding models.
PROVIDER_KEY_ENV: tuple[str, ...] = ("SAM3D_API_KEY", "TEXT_SAM3D_API_KEY", "HUNYUAN_API_KEY", "TEXT_HUNYUAN_API_KEY", "HF_TOKEN")

JOB_ENV: dict[str, tuple[str, ...]] = {
    "text-scene-gen-job": LLM_KEY_ENV,
    "text-scene-adapter-job": PROVIDER_KEY_ENV,
    # The daily emitter expands prompts with the same LLM providers.
    "text-request-emitter-job": LLM_KEY_ENV,
    # Signs and checks the checksum manifests of a delivery.
    "dataset-delivery-integrity-audit-job": ("CHECKSUMS_HMAC_KEY",),
    # Replicates assets to Backblaze B2; embeds them with models a Hugging Face token may gate.
    "asset-replication-job": ("B2_KEY_ID", "B2_APPLICATION_KEY"),
    "asset-embedding-job": ("HF_TOKEN",),
}


def declare_job_env(job: str, names: Iterable[str]) -> None:
    """Add names a job needs (plugins, tests); declarations only ever add."""
    JOB_ENV[job] = tuple(dict.fromkeys([*JOB_ENV.get(job, ()), *names]))


def declared_env(job: str) -> tuple[str, ...]:
    return JOB_ENV.get(job, ())
