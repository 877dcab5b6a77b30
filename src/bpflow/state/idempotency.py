"""Genie Sim submission and import idempotency markers.

A GPU submission is expensive (hours of GPU time), so before submitting, the export workflow
looks for a marker named by a hash of exactly what it would submit. The hash must be the same
on every machine and in every run for the same inputs, hence a canonical JSON (sorted keys,
compact separators, UTF-8) and no type coercion: ``episodes_per_task`` "10" and 10 hash
differently, as they did in the reference, so markers written by it stay valid here.
MD5 is used as a name, not for security; it is what the reference's marker paths contain.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from bpflow.core.errors import BpflowError, ValidationFailed
from bpflow.core.storage.base import Bucket
from bpflow.state.cas_json import iso_z, scene_key, utc_now

DEFAULT_EPISODES_PER_TASK = "10"
ALLOW_RETRY_ENV = "ALLOW_IDEMPOTENT_RETRY"

#: Marker statuses that block a resubmission unless ALLOW_IDEMPOTENT_RETRY is set.
BLOCKING_STATUSES = frozenset({"failed", "partial"})

Action = Literal["skip", "raise", "submit"]


class IdempotencyMarkerBlocked(BpflowError):
    """A previous submission failed or was partial; resubmitting needs an explicit opt-in."""

    code = "idempotency_marker_blocked"
    retryable = False


# -- inputs and hash -------------------------------------------------------------------------
def build_quality_thresholds(
    min_quality_score: Any,
    filter_low_quality: Any,
    dimension_thresholds: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``dimension_thresholds`` only appears when non-empty, so adding an empty one later does
    not change the hash of existing submissions."""
    thresholds: dict[str, Any] = {"min_quality_score": min_quality_score, "filter_low_quality": filter_low_quality}
    if dimension_thresholds:
        thresholds["dimension_thresholds"] = copy.deepcopy(dict(dimension_thresholds))
    return thresholds


def build_inputs(
    scene_id: str,
    task_config: Mapping[str, Any] | None,
    robot_types: Sequence[str],
    episodes_per_task: Any = None,
    quality_thresholds: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The five hashed inputs, copied so later edits by the caller cannot change a hash."""
    return {
        "scene_id": scene_id,
        "task_config": copy.deepcopy(dict(task_config or {})),
        "robot_types": list(robot_types),
        "episodes_per_task": DEFAULT_EPISODES_PER_TASK if episodes_per_task is None else episodes_per_task,
        "quality_thresholds": copy.deepcopy(dict(quality_thresholds or {})),
    }


def canonical_json(obj: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def inputs_hash(inputs: Mapping[str, Any]) -> str:
    return hashlib.md5(canonical_json(inputs).encode("utf-8")).hexdigest()


# -- keys ------------------------------------------------------------------------------------
def marker_key(scene_id: str, digest: str) -> str:
    return scene_key(scene_id, "geniesim", "idempotency", f"{digest}.json")


def import_marker_key(scene_id: str, job_id: str) -> str:
    return scene_key(scene_id, "geniesim", "idempotency", "import", f"{job_id}.json")


# -- markers ---------------------------------------------------------------------------------
def _read_json_object(bucket: Bucket, key: str) -> dict[str, Any] | None:
    """None when absent. Anything else that is not a JSON object raises: guessing "no marker"
    from a storage hiccup or a damaged marker could double-submit hours of GPU work."""
    try:
        value = bucket.read_json_or_none(key)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"unreadable idempotency marker {key}: {exc}", field="key") from exc
    if value is not None and not isinstance(value, dict):
        raise ValidationFailed(f"idempotency marker {key} is not a JSON object", field="key")
    return value


def read_marker(bucket: Bucket, scene_id: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The submission marker for these inputs, or None."""
    return _read_json_object(bucket, marker_key(scene_id, inputs_hash(inputs)))


def write_marker(
    bucket: Bucket,
    scene_id: str,
    inputs: Mapping[str, Any],
    job_id: str,
    status: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """(Over)write the submission marker with the status job.json reported; returns the body."""
    digest = inputs_hash(inputs)
    body = {
        "scene_id": scene_id,
        "status": status,
        "job_id": job_id,
        "timestamp": iso_z(now or utc_now()),
        "hash": digest,
        "inputs": copy.deepcopy(dict(inputs)),
    }
    bucket.write_json(marker_key(scene_id, digest), body)
    return body


def read_import_marker(bucket: Bucket, scene_id: str, job_id: str) -> dict[str, Any] | None:
    return _read_json_object(bucket, import_marker_key(scene_id, job_id))


def write_import_marker(
    bucket: Bucket, scene_id: str, job_id: str, now: datetime | None = None, status: str = "completed"
) -> dict[str, Any]:
    body = {"scene_id": scene_id, "job_id": job_id, "status": status, "timestamp": iso_z(now or utc_now())}
    bucket.write_json(import_marker_key(scene_id, job_id), body)
    return body


def import_done(marker: Mapping[str, Any] | None) -> bool:
    """An import is skipped only when its marker says completed; any other status reruns it."""
    return marker is not None and marker.get("status") == "completed"


# -- decisions -------------------------------------------------------------------------------
def decide(marker: Mapping[str, Any] | None, allow_retry: bool) -> Action:
    """skip: already completed. raise: failed/partial and no opt-in. submit: anything else
    (no marker, ``submitted``, unknown statuses): a resubmission is then the safe choice.

    The export workflow passes ``get_settings().allow_idempotent_retry_any``: any non-empty
    ``ALLOW_IDEMPOTENT_RETRY`` opts in (even "false"), as in the reference.
    """
    status = (marker or {}).get("status")
    if status == "completed":
        return "skip"
    if status in BLOCKING_STATUSES and not allow_retry:
        return "raise"
    return "submit"


def skip_message(scene_id: str, marker: Mapping[str, Any]) -> str:
    return (
        f"Idempotency marker present for scene {scene_id} "
        f"(job: {marker.get('job_id')}, status: {marker.get('status')}). Skipping submit."
    )


def blocked_error(scene_id: str, marker: Mapping[str, Any]) -> IdempotencyMarkerBlocked:
    status, job_id = marker.get("status"), marker.get("job_id")
    return IdempotencyMarkerBlocked(
        f"Idempotency marker status {status} for scene {scene_id} (job: {job_id}). Set {ALLOW_RETRY_ENV} to retry.",
        details={"scene_id": scene_id, "job_id": job_id, "status": status},
    )
