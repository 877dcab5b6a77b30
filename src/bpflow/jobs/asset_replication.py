"""asset-replication-job: copy queued asset files to a second bucket (maintenance spec §2.6).

Env: ``QUEUE_OBJECT`` (this run's object; the backlog follows), ``ASSET_REPLICATION_TARGET``
(a bucket URL: a local folder, ``s3://...`` or ``gs://...``; required unless dry run),
``TEXT_ASSET_REPLICATION_*`` (queue/processed/failed prefixes, ``MAX_ITEMS`` 10, ``DRY_RUN``,
``FAIL_ON_ERROR``).
"""

from __future__ import annotations

from typing import Any

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_bool, job_bucket, job_settings, run_main
from bpflow.core.storage import open_bucket
from bpflow.domain.assets_queue.queue import QueuePaths
from bpflow.domain.assets_queue.replication import replicate_item
from bpflow.jobs._queue import drain_queue

JOB = "asset-replication-job"


def _main() -> int:
    settings = job_settings()
    paths = QueuePaths.of(
        settings.text_asset_replication_queue_prefix,
        settings.text_asset_replication_processed_prefix,
        settings.text_asset_replication_failed_prefix,
    )
    dry_run = env_bool("TEXT_ASSET_REPLICATION_DRY_RUN", False)
    target_url = settings.asset_replication_target or ""
    if not target_url and not dry_run:
        raise ConfigError(
            "ASSET_REPLICATION_TARGET is required (a folder, s3://bucket or gs://bucket)",
            field="ASSET_REPLICATION_TARGET",
        )
    source = job_bucket()
    target = open_bucket(target_url) if target_url else source
    if target_url and target.url == source.url:
        raise ConfigError(
            "ASSET_REPLICATION_TARGET must be another bucket than the primary", field="ASSET_REPLICATION_TARGET"
        )
    try:

        def process(key: str, body: dict[str, Any]) -> dict[str, Any]:
            return replicate_item(body, source=source, target=target, target_url=target_url, dry_run=dry_run)

        return drain_queue(
            source,
            paths,
            env_prefix="TEXT_ASSET_REPLICATION",
            default_max_items=10,
            workflow="asset-replication-pipeline",
            process=process,
        )
    finally:
        if target is not source:
            target.close()


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
