"""Scene locks: a create-only object that one run owns, released on every exit.

Unlike the reference (no TTL, a crash locks a scene forever), a lock records its owner, run id
and expiry; an expired lock is taken over with a compare-and-swap, so exactly one successor wins.
A recovered run finds its own lock (same run id) and keeps it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.blocks.markers import utc_iso
from bpflow.core.engine.durable import step
from bpflow.core.errors import ObjectNotFound, PreconditionFailed

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Outcome, Run
    from bpflow.core.stages import StageSpec


@dataclass
class Lock:
    key: str
    acquired: bool
    generation: int = 0
    holder: dict[str, Any] | None = None
    taken_over: bool = False

    @property
    def message(self) -> str:
        scene = (self.holder or {}).get("scene_id", "")
        return f"Lock already exists for scene {scene} at {self.key}"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def try_acquire(
    bucket: Any, key: str, *, scene_id: str | None, workflow: str, run_id: str, ttl_seconds: float
) -> dict[str, Any]:
    """One attempt, plain data in and out (it runs as a durable step)."""
    now = time.time()
    body = {
        "scene_id": scene_id,
        "workflow": workflow,
        "lock": key.rsplit("/", 1)[-1].removesuffix(".lock"),
        "timestamp": utc_iso(),
        "execution_id": run_id,
        "run_id": run_id,
        "owner": _owner(),
        "created_at": now,
        "expires_at": now + ttl_seconds,
    }
    try:
        info = bucket.create_json(key, body)
        return {"acquired": True, "generation": info.generation, "holder": body}
    except PreconditionFailed:
        pass
    try:
        raw, info = bucket.read_with_info(key)
        holder = json.loads(raw)
    except ObjectNotFound:  # released meanwhile: try once more
        return try_acquire(bucket, key, scene_id=scene_id, workflow=workflow, run_id=run_id, ttl_seconds=ttl_seconds)
    except ValueError:
        holder = {}
        info = bucket.stat(key)
        if info is None:
            return try_acquire(
                bucket, key, scene_id=scene_id, workflow=workflow, run_id=run_id, ttl_seconds=ttl_seconds
            )
    if holder.get("run_id") == run_id:  # our own lock, from before a crash
        return {"acquired": True, "generation": info.generation, "holder": holder}
    expires_at = holder.get("expires_at")
    if not isinstance(expires_at, (int, float)) or expires_at < now:
        try:
            taken = bucket.write_json(key, body, if_generation_match=info.generation)
            return {
                "acquired": True,
                "generation": taken.generation,
                "holder": body,
                "taken_over": True,
                "previous": holder,
            }
        except PreconditionFailed:
            pass
    return {"acquired": False, "generation": info.generation, "holder": holder}


def release(bucket: Any, key: str, generation: int) -> bool:
    """Delete only the lock we hold: a lock taken over after our expiry is not ours to remove."""
    try:
        return bool(bucket.delete(key, if_generation_match=generation))
    except PreconditionFailed:
        return False


@contextmanager
def scene_lock(run: Run, name: str, *, ttl_seconds: float) -> Iterator[Lock]:
    key = run.scene(f"locks/{name}.lock")
    got = step(
        f"lock {key}",
        try_acquire,
        run.bucket,
        key,
        scene_id=run.scene_id,
        workflow=run.workflow,
        run_id=run.run_id,
        ttl_seconds=ttl_seconds,
    )
    lock = Lock(
        key=key,
        acquired=got["acquired"],
        generation=got["generation"],
        holder=got.get("holder"),
        taken_over=bool(got.get("taken_over")),
    )
    if lock.holder is not None and "scene_id" not in lock.holder:
        lock.holder["scene_id"] = run.scene_id
    try:
        yield lock
    finally:
        if lock.acquired:
            step(f"unlock {key}", release, run.bucket, key, lock.generation)


@contextmanager
def fresh_attempt(
    run: Run, stage: StageSpec, lock_name: str, *, ttl_seconds: float, complete: str, done: str
) -> Iterator[Outcome | None]:
    """A stage's attempt under its scene lock: yields the SKIPPED outcome when another run holds
    the lock or the stage's ``complete`` marker is already there, else clears the last attempt's
    failure markers (history once a new attempt starts) and yields None."""
    from bpflow.blocks import markers
    from bpflow.core.engine.registry import Outcome  # noqa: F811 (the class, at run time)

    with scene_lock(run, lock_name, ttl_seconds=ttl_seconds) as lock:
        if not lock.acquired:
            yield Outcome.skipped(lock.message, scene_id=run.scene_id)
            return
        if markers.exists(run, run.scene(complete)):
            yield Outcome.skipped(done, scene_id=run.scene_id)
            return
        for key in stage.failed:
            markers.delete(run, run.scene(key))
        yield None
