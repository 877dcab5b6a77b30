"""What the two asset-queue jobs share: reading the queue options and draining the queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_bool, env_int, env_str, log_json, require_env
from bpflow.core.storage import Bucket
from bpflow.domain.assets_queue.queue import QueuePaths, consume

#: How long a claim protects an item from other consumers; past it, a crashed consumer's item
#: is taken over. The job's own timeout is the natural bound.
DEFAULT_CLAIM_TTL_SECONDS = 3600


def drain_queue(
    bucket: Bucket,
    paths: QueuePaths,
    *,
    env_prefix: str,
    default_max_items: int,
    workflow: str,
    process: Callable[[str, dict[str, Any]], dict[str, Any]],
) -> int:
    """Process this job's queue object (``QUEUE_OBJECT``) and then the backlog, up to
    ``<env_prefix>_MAX_ITEMS``; exit 1 when an item failed and ``<env_prefix>_FAIL_ON_ERROR``."""
    max_items = env_int(f"{env_prefix}_MAX_ITEMS", default_max_items)
    if max_items < 1:
        raise ConfigError(f"{env_prefix}_MAX_ITEMS must be >= 1, got {max_items}", field=f"{env_prefix}_MAX_ITEMS")
    first = (env_str("QUEUE_OBJECT") or "").lstrip("/") or None
    if first is not None and not paths.owns(first):
        raise ConfigError(f"QUEUE_OBJECT={first!r} is not an object of the queue {paths.queue}/", field="QUEUE_OBJECT")
    owner = env_str("BPFLOW_EXECUTION_ID") or require_env("BPFLOW_RUN_ID")
    done = consume(
        bucket,
        paths,
        first=first,
        limit=max_items,
        owner=owner,
        workflow=workflow,
        ttl_seconds=env_int("QUEUE_CLAIM_TTL_SECONDS", DEFAULT_CLAIM_TTL_SECONDS),
        process=process,
        log=log_json,
    )
    failed = sum(1 for d in done if not d["ok"])
    log_json(action="summary", processed=len(done), failed=failed, queue=paths.queue)
    if not done and first is not None:
        log_json(action="nothing_to_do", message=f"No queue items found for {first} (already claimed or processed)")
    return 1 if failed and env_bool(f"{env_prefix}_FAIL_ON_ERROR", True) else 0
