"""The life cycle of one queue object: claim → process → file the result → remove.

Exactly-once comes from a create-only claim object (``<root>/claims/<basename>``), taken
*before* the queue object is read: whoever creates it owns the item. The owner writes the
result first, deletes the queue object second and releases the claim last, so a late duplicate
either finds the claim held or finds the queue object gone; both mean "someone did it".
A claim records an expiry: a consumer that died mid-item (its claim expired and the queue
object is still there) is taken over by the next one, so a crash never strands an item.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bpflow.blocks.lock import release, try_acquire
from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket
from bpflow.state.cas_json import iso_z, utc_now

SCHEMA_VERSION = "v1"


@dataclass(frozen=True)
class QueuePaths:
    """The four folders of one queue, derived from its queue prefix (``.../queue``)."""

    queue: str
    processed: str
    failed: str
    claims: str

    @classmethod
    def of(cls, queue_prefix: str, processed: str | None = None, failed: str | None = None) -> QueuePaths:
        queue = queue_prefix.strip("/")
        root = posixpath.dirname(queue) or queue
        return cls(
            queue,
            (processed or f"{root}/processed").strip("/"),
            (failed or f"{root}/failed").strip("/"),
            f"{root}/claims",
        )

    def owns(self, key: str) -> bool:
        """A queue object: a ``.json`` directly or below the queue folder (reference regex)."""
        return key.startswith(self.queue + "/") and key.endswith(".json") and len(key) > len(self.queue) + len("/.json")

    def basename(self, key: str) -> str:
        return posixpath.basename(key)

    def claim_key(self, key: str) -> str:
        return f"{self.claims}/{self.basename(key)}"

    def result_key(self, key: str, ok: bool) -> str:
        """Result name = the queue object's basename, sub-folders dropped (reference §2.1)."""
        return f"{self.processed if ok else self.failed}/{self.basename(key)}"


def pending(bucket: Bucket, paths: QueuePaths, limit: int) -> list[str]:
    """Queue objects one level below the queue prefix, oldest name first (batch mode)."""
    out: list[str] = []
    for info in bucket.list(paths.queue + "/"):
        rest = info.key[len(paths.queue) + 1 :]
        if "/" not in rest and paths.owns(info.key):
            out.append(info.key)
    return sorted(out)[:limit]


@dataclass
class Claim:
    key: str
    generation: int


def claim(
    bucket: Bucket, paths: QueuePaths, key: str, *, owner: str, workflow: str, ttl_seconds: float
) -> Claim | None:
    """Own ``key`` or return None (another consumer has it, or it was already done)."""
    got = try_acquire(
        bucket, paths.claim_key(key), scene_id=None, workflow=workflow, run_id=owner, ttl_seconds=ttl_seconds
    )
    if not got["acquired"]:
        return None
    held = Claim(paths.claim_key(key), int(got["generation"]))
    if not bucket.exists(key):  # finished by someone else between our listing and our claim
        release(bucket, held.key, held.generation)
        return None
    return held


def read_item(bucket: Bucket, key: str) -> tuple[dict[str, Any] | None, str | None, int]:
    """(JSON body, None, generation), or (None, error code, generation) for a body that is not
    a JSON object."""
    try:
        raw, info = bucket.read_with_info(key)
    except ObjectNotFound:
        return None, "queue_object_missing", 0
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"invalid_json:{getattr(exc, 'msg', exc)}", info.generation
    if not isinstance(body, dict):
        return None, f"invalid_payload:expected a JSON object, got {type(body).__name__}", info.generation
    return body, None, info.generation


def finish(bucket: Bucket, paths: QueuePaths, key: str, held: Claim, result: dict[str, Any], ok: bool) -> str:
    """Write the result, then remove the queue object, then release the claim (that order)."""
    target = paths.result_key(key, ok)
    bucket.write_json(
        target,
        {
            "schema_version": SCHEMA_VERSION,
            "status": "succeeded" if ok else "failed",
            "queue_object": key,
            "processed_at": iso_z(utc_now()),
            **result,
        },
    )
    bucket.delete(key)
    release(bucket, held.key, held.generation)
    return target


def drain(bucket: Bucket, paths: QueuePaths, first: str | None, limit: int) -> Iterator[str]:
    """The queue objects a consumer run should try: its own object first, then the backlog
    from its own position on, wrapping around, so consumers started together by a burst spread
    over the backlog instead of all racing for its head."""
    seen: set[str] = set()
    if first:
        seen.add(first)
        yield first
    backlog = pending(bucket, paths, 10_000)
    if first:
        at = sum(1 for k in backlog if k < first)
        backlog = backlog[at:] + backlog[:at]
    for key in backlog:
        if len(seen) >= limit:
            return
        if key not in seen:
            seen.add(key)
            yield key


Processor = Callable[[str, dict[str, Any]], dict[str, Any]]


def consume(
    bucket: Bucket,
    paths: QueuePaths,
    *,
    first: str | None,
    limit: int,
    owner: str,
    workflow: str,
    ttl_seconds: float,
    process: Processor,
    log: Callable[..., None],
) -> list[dict[str, Any]]:
    """Claim and process up to ``limit`` queue objects; one outcome per object this run did.

    ``process(key, body)`` returns the item's result (``errors`` empty means success). An
    unreadable body is filed under ``failed/`` with its parse error instead of crashing the run
    (the reference left it in the queue forever, blocking nothing but retried by nobody).
    """
    done: list[dict[str, Any]] = []
    for key in drain(bucket, paths, first, limit):
        if not paths.owns(key):
            log(action="item_refused", queue_object=key, reason="not_a_queue_object")
            continue
        held = claim(bucket, paths, key, owner=owner, workflow=workflow, ttl_seconds=ttl_seconds)
        if held is None:
            log(action="item_skipped", queue_object=key, reason="claimed_or_done")
            continue
        body, error, generation = read_item(bucket, key)
        if body is None:
            result: dict[str, Any] = {"queue_generation": generation, "result": {"errors": [error or "unreadable"]}}
        else:
            try:
                outcome = process(key, body)
            except Exception as exc:  # noqa: BLE001 - a bug on one item must not strand the claim
                outcome = {"errors": [f"consumer_error:{type(exc).__name__}:{exc}"]}
            result = {"scene_id": body.get("scene_id"), "queue_generation": generation, "result": outcome}
        ok = not result["result"].get("errors")
        filed = finish(bucket, paths, key, held, result, ok)
        log(
            action="item_processed",
            queue_object=key,
            status="succeeded" if ok else "failed",
            result_object=filed,
            errors=result["result"].get("errors", [])[:20],
        )
        done.append({"queue_object": key, "ok": ok, "result_object": filed})
    return done


def own_result(bucket: Bucket, paths: QueuePaths, key: str) -> dict[str, Any] | None:
    """The filed result of ``key`` (processed/ or failed/), newest first; None if not filed."""
    found: list[dict[str, Any]] = []
    for ok in (True, False):
        body = bucket.read_json_or_none(paths.result_key(key, ok))
        if isinstance(body, dict) and body.get("queue_object") == key:
            found.append({**body, "result_object": paths.result_key(key, ok)})
    found.sort(key=lambda b: str(b.get("processed_at") or ""), reverse=True)
    return found[0] if found else None
