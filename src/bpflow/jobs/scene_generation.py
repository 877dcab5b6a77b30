"""scene-generation-job: invent ``SCENES_PER_RUN`` new scene requests (spec §6.4).

Env: ``SCENES_PER_RUN`` (1..100, default 10), ``DRY_RUN`` (default false: nothing written),
``SCENE_GENERATION_TEXT_BACKEND`` (default internal), ``SCENE_GENERATION_QUALITY_TIER``
(default standard). Writes the drafts and ``report.json`` under
``scene-generation/runs/<execution>/``; the workflow publishes them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_bool, env_int, env_str, job_bucket, log_json, require_env, run_main
from bpflow.domain.automation.generation import generate, run_dir

MAX_SCENES = 100


def _main() -> int:
    count = env_int("SCENES_PER_RUN", 10)
    if not 1 <= count <= MAX_SCENES:
        raise ConfigError(f"SCENES_PER_RUN must be between 1 and {MAX_SCENES}, got {count}", field="SCENES_PER_RUN")
    execution = require_env("BPFLOW_EXECUTION_ID")
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    requests = generate(
        f"{require_env('BPFLOW_RUN_ID')}|{execution}",
        count,
        stamp=stamp,
        text_backend=env_str("SCENE_GENERATION_TEXT_BACKEND") or "internal",
        quality_tier=env_str("SCENE_GENERATION_QUALITY_TIER") or "standard",
    )
    if env_bool("DRY_RUN", False):
        log_json(action="dry_run", scenes=[r["scene_id"] for r in requests])
        return 0
    bucket = job_bucket()
    folder = run_dir(execution)
    for req in requests:
        bucket.write_json(f"{folder}/requests/{req['scene_id']}.json", req)
    bucket.write_json(
        f"{folder}/report.json",
        {
            "schema_version": "v1",
            "scene_ids": [r["scene_id"] for r in requests],
            "count": len(requests),
            "generated_at": datetime.now(UTC).isoformat(),
        },
    )
    log_json(action="generated", count=len(requests), report=f"{folder}/report.json")
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
