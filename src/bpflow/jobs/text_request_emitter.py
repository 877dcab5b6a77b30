"""text-request-emitter-job: invent the day's scene requests (spec §5.4).

Env: ``BUCKET`` (required), ``TEXT_AUTONOMY_STATE_PREFIX``, ``TEXT_AUTONOMY_RUN_DATE`` (else
today in ``TEXT_AUTONOMY_TIMEZONE``, UTC if the zone is invalid), ``TEXT_DAILY_QUOTA`` (1..100),
``TEXT_AUTONOMY_PROVIDER_POLICY``, ``TEXT_AUTONOMY_TEXT_BACKEND``, ``TEXT_AUTONOMY_QUALITY_TIER``,
``TEXT_AUTONOMY_SEED_COUNT``, ``TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK``, ``TEXT_PROMPT_USE_LLM``
(default true; used only when a provider key is set), ``TEXT_PROMPT_LLM_MAX_ATTEMPTS`` (3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_bool, env_int, env_str, job_bucket, job_settings, log_json, require_env, run_main
from bpflow.domain.automation.emitter import EmitOptions, emit
from bpflow.domain.automation.llm import make_expander
from bpflow.domain.automation.state import RUN_DATE, DailyPaths


def resolve_run_date(tz_name: str) -> str:
    override = env_str("TEXT_AUTONOMY_RUN_DATE")
    if override is not None:
        if not RUN_DATE.match(override):
            raise ConfigError(
                f"TEXT_AUTONOMY_RUN_DATE must be YYYY-MM-DD, got {override!r}", field="TEXT_AUTONOMY_RUN_DATE"
            )
        return override
    try:
        zone: timezone | ZoneInfo = ZoneInfo(tz_name)
    except Exception:  # noqa: BLE001 - an invalid zone falls back to UTC, as the reference does
        zone = UTC
    return datetime.now(zone).date().isoformat()


def _main() -> int:
    settings = job_settings()
    bucket_name = require_env("BUCKET")
    tz_name = env_str("TEXT_AUTONOMY_TIMEZONE") or "America/New_York"
    opts = EmitOptions(
        bucket_name=bucket_name,
        run_date=resolve_run_date(tz_name),
        quota=env_int("TEXT_DAILY_QUOTA", 1),
        provider_policy=env_str("TEXT_AUTONOMY_PROVIDER_POLICY") or "openrouter_qwen_primary",
        text_backend=(env_str("TEXT_AUTONOMY_TEXT_BACKEND") or "scenesmith").lower(),
        quality_tier=(env_str("TEXT_AUTONOMY_QUALITY_TIER") or "premium").lower(),
        seed_count=env_int("TEXT_AUTONOMY_SEED_COUNT", 1),
        allow_image_fallback=env_bool("TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK", False),
        timezone=tz_name,
    ).check()
    expand = None
    if env_bool("TEXT_PROMPT_USE_LLM", True):
        expand = make_expander(
            settings, opts.provider_policy, max_attempts=max(1, env_int("TEXT_PROMPT_LLM_MAX_ATTEMPTS", 3))
        )
    paths = DailyPaths((env_str("TEXT_AUTONOMY_STATE_PREFIX") or "automation/text_daily").strip("/"), opts.run_date)
    result = emit(job_bucket(), paths, opts, expand=expand, log=log_json)
    log_json(action="summary", run_date=opts.run_date, **result)
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
