"""asset-replication-pipeline — Trigger: automation/asset_replication/queue/*.json (opt-in).

Copy the files of one queue object to ``ASSET_REPLICATION_TARGET`` (another folder, S3 or
GCS bucket), verify every checksum, file the item under processed/ or failed/.
Reference: spec-maintenance-queues-retrieval-policy.md §1.4, §2.6, §2.7.
"""

from __future__ import annotations

from bpflow.blocks.params import recorded_params
from bpflow.core.config import get_settings
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.domain.assets_queue.pipeline import consume_queue_object
from bpflow.domain.assets_queue.queue import QueuePaths

NAME = "asset-replication-pipeline"
JOB = "asset-replication-job"


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def asset_replication(run: Run) -> Outcome:
    settings = get_settings()
    p = recorded_params(
        run,
        {
            "queue_prefix": ("TEXT_ASSET_REPLICATION_QUEUE_PREFIX", settings.text_asset_replication_queue_prefix),
            "target": ("ASSET_REPLICATION_TARGET", settings.asset_replication_target),
        },
    )
    prefix = str(p["queue_prefix"])
    paths = QueuePaths.of(
        prefix, settings.text_asset_replication_processed_prefix, settings.text_asset_replication_failed_prefix
    )
    return consume_queue_object(
        run,
        workflow=NAME,
        job=JOB,
        paths=paths,
        what="a replication",
        env={
            "TEXT_ASSET_REPLICATION_QUEUE_PREFIX": paths.queue,
            "ASSET_REPLICATION_TARGET": p["target"],
        },
    )
