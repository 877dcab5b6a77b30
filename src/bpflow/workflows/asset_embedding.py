"""asset-embedding-pipeline — Trigger: automation/asset_embedding/queue/*.json (opt-in).

Embed the assets of one queue object into the catalog, file the item under processed/ or
failed/. Reference: spec-maintenance-queues-retrieval-policy.md §1.3, §2.4, §2.7.
"""

from __future__ import annotations

from bpflow.blocks.params import recorded_params
from bpflow.core.config import get_settings
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.domain.assets_queue.pipeline import consume_queue_object
from bpflow.domain.assets_queue.queue import QueuePaths

NAME = "asset-embedding-pipeline"
JOB = "asset-embedding-job"


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def asset_embedding(run: Run) -> Outcome:
    settings = get_settings()
    p = recorded_params(
        run, {"queue_prefix": ("TEXT_ASSET_EMBEDDING_QUEUE_PREFIX", settings.text_asset_embedding_queue_prefix)}
    )
    prefix = str(p["queue_prefix"])
    paths = QueuePaths.of(
        prefix, settings.text_asset_embedding_processed_prefix, settings.text_asset_embedding_failed_prefix
    )
    return consume_queue_object(
        run,
        workflow=NAME,
        job=JOB,
        paths=paths,
        what="an embedding",
        env={"TEXT_ASSET_EMBEDDING_QUEUE_PREFIX": paths.queue},
    )
