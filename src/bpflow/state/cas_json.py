"""Time stamps, scene keys and compare-and-swap JSON state: the helpers every block shares.

Timestamps are written in one shape everywhere (``2024-05-01T12:34:56.123456Z``) so markers
written by different blocks sort and compare as strings, and so the reader below accepts
anything the reference deployment wrote (``Z`` or ``+00:00``, with or without fractions).

Shared state objects (circuit breaker, rollout state, autonomy state) are updated with
read-merge-write on the object's generation: two workers racing on the same object never
lose each other's update, and keys this version of bpflow does not know survive the write.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bpflow.core.errors import ObjectNotFound, PreconditionFailed
from bpflow.core.storage.base import Bucket

log = logging.getLogger("bpflow.blocks")


#: How often a read-merge-write is retried after losing the compare-and-swap. Losing means
#: someone else just wrote, so a handful of tries is plenty; unbounded would hide a livelock.
CAS_MAX_ATTEMPTS = 8


# -- time ------------------------------------------------------------------------------------
def utc_now() -> datetime:
    """The only clock blocks read, so tests and durable replays can substitute their own."""
    return datetime.now(UTC)


def iso_z(dt: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``; naive datetimes are taken to be UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: Any) -> datetime | None:
    """Read a stored timestamp back; ``None`` for null or anything that is not a timestamp.

    Stored objects may have been written by the reference deployment, by hand, or be damaged:
    a bad timestamp must degrade to "unknown", never crash the workflow reading it.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# -- scene keys ------------------------------------------------------------------------------
def check_scene_id(scene_id: str) -> str:
    """Reject ids that would escape or alias another scene's prefix (``..``, ``a/b``)."""
    from bpflow.core.triggers import validate_scene_id

    return validate_scene_id(scene_id)


def scene_key(scene_id: str, *parts: str) -> str:
    """``scenes/<scene_id>/<parts...>`` with the scene id checked first."""
    return "/".join(("scenes", check_scene_id(scene_id), *parts))


# -- versioned JSON state --------------------------------------------------------------------
@dataclass(frozen=True)
class VersionedJson:
    """A JSON object as read, with the generation to compare-and-swap against.

    ``generation == 0`` means "absent": writing with ``if_generation_match=0`` then creates it.
    ``corrupt`` objects come back as ``{}`` but keep their generation, so the next write
    replaces the damaged object instead of failing on it forever.
    """

    value: dict[str, Any]
    generation: int
    corrupt: bool = False

    @property
    def exists(self) -> bool:
        return self.generation != 0


def read_versioned_json(bucket: Bucket, key: str) -> VersionedJson:
    try:
        data, info = bucket.read_with_info(key)
    except ObjectNotFound:
        return VersionedJson({}, 0)
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("unreadable JSON state object %s (%s); treating it as empty", key, exc)
        return VersionedJson({}, info.generation, corrupt=True)
    if not isinstance(value, dict):
        log.warning("JSON state object %s is a %s, not an object; treating it as empty", key, type(value).__name__)
        return VersionedJson({}, info.generation, corrupt=True)
    return VersionedJson(value, info.generation)


Mutation = Callable[[dict[str, Any]], dict[str, Any] | None]


def update_json(
    bucket: Bucket, key: str, mutate: Mutation, *, max_attempts: int = CAS_MAX_ATTEMPTS
) -> dict[str, Any] | None:
    """Read-merge-write ``key`` with compare-and-swap; returns what was written.

    ``mutate`` gets a private copy of the current object and returns the object to write, or
    ``None`` to leave it alone (then ``None`` is returned). It may run several times when
    another writer gets in between, so it must decide from its argument only. Keys it does not
    touch are carried over, which is how unknown fields survive. Gives up with
    ``PreconditionFailed`` after ``max_attempts`` lost races.
    """
    for _ in range(max_attempts):
        current = read_versioned_json(bucket, key)
        new = mutate(copy.deepcopy(current.value))
        if new is None:
            return None
        try:
            bucket.write_json(key, new, if_generation_match=current.generation)
        except PreconditionFailed:
            continue
        return new
    raise PreconditionFailed(f"gave up updating {key} after {max_attempts} concurrent modifications", field="key")
