"""Coordination state an operator needs to see: scene locks held and Genie Sim circuit breakers.

Both live in the bucket (``scenes/*/locks/*.lock``, ``scenes/*/geniesim/.circuit_breaker.json``),
so a stuck scene can be explained without a database: who holds its lock since when and until
when, or why its Genie Sim stages are being skipped.
"""

from __future__ import annotations

import time
from typing import Any

from bpflow.core.contracts.json_limits import loads_bounded
from bpflow.core.errors import BpflowError
from bpflow.core.storage import Bucket
from bpflow.state.circuit_breaker import CircuitBreaker

LOCK_GLOB = "scenes/*/locks/*.lock"
BREAKER_GLOB = "scenes/*/geniesim/.circuit_breaker.json"


def list_locks(bucket: Bucket, *, now: float | None = None) -> list[dict[str, Any]]:
    """Every lock object, with its holder and whether it has expired (a successor may take it)."""
    now = time.time() if now is None else now
    out = []
    for info in bucket.glob(LOCK_GLOB):
        try:
            body = loads_bounded(bucket.read(info.key))
        except (BpflowError, ValueError):  # JsonTooDeep is a BpflowError
            body = {}
        body = body if isinstance(body, dict) else {}
        expires = body.get("expires_at")
        created = body.get("created_at")
        out.append(
            {
                "key": info.key,
                "scene_id": info.key.split("/")[1],
                "lock": info.key.rsplit("/", 1)[-1].removesuffix(".lock"),
                "workflow": body.get("workflow"),
                "run_id": body.get("run_id") or body.get("execution_id"),
                "owner": body.get("owner"),
                "created_at": created if isinstance(created, (int, float)) else info.updated.timestamp(),
                "expires_at": expires if isinstance(expires, (int, float)) else None,
                "expired": isinstance(expires, (int, float)) and expires < now,
                "timestamp": body.get("timestamp"),
            }
        )
    return out


def list_breakers(bucket: Bucket) -> list[dict[str, Any]]:
    """Every scene's breaker, read the way the workflows read it (defaults filled in)."""
    out = []
    for info in bucket.glob(BREAKER_GLOB):
        scene_id = info.key.split("/")[1]
        try:
            state = CircuitBreaker(bucket, scene_id).state()
        except BpflowError as exc:
            state = {"status": "unreadable", "error": exc.message}
        out.append({"key": info.key, **state, "scene_id": scene_id})
    return out
