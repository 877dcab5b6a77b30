"""Bucket-side steps of the daily run: publish the emitted requests and read a scene's outcome."""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.errors import ObjectNotFound, PreconditionFailed
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket
from bpflow.domain.automation.state import FAILED, SUCCESS, DailyPaths

#: The orchestrator: its request (its trigger, ``ORCHESTRATOR.trigger_key``) and outcome markers, from
#: the stage model (``core/stages.yaml``).
ORCHESTRATOR = STAGES["source-orchestrator"]
(COMPLETE, STATUS), (FAILED_MARKER,) = ORCHESTRATOR.complete, ORCHESTRATOR.failed


def read_index(bucket: Bucket, paths: DailyPaths) -> tuple[list[str], str | None]:
    """(scene ids, error) from ``emitted_requests.json`` — the three error codes of §5.3.7."""
    try:
        raw = bucket.read(paths.emitted_index)
    except ObjectNotFound as exc:
        return [], f"emitted_index_missing: {exc.message}"
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], f"emitted_index_invalid_json: {exc}"
    ids = body.get("scene_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return [], "emitted_index_empty"
    return [str(i) for i in ids], None


def publish_request(bucket: Bucket, scene_id: str, body: dict[str, Any]) -> str:
    """Write a scene's request to its trigger path, create-only: ``published`` or ``existing``
    (a re-run never re-triggers a scene, and never overwrites someone else's request)."""
    try:
        bucket.create_json(ORCHESTRATOR.trigger_key(scene_id), body)
    except PreconditionFailed:
        return "existing"
    return "published"


def publish(bucket: Bucket, paths: DailyPaths, scene_id: str) -> str:
    """Publish the emitter's draft of ``scene_id``."""
    return publish_request(bucket, scene_id, bucket.read_json(paths.request_draft(scene_id)))


def scene_outcome(bucket: Bucket, scene_id: str) -> dict[str, Any] | None:
    """The orchestrator's verdict, or None while it is still running.

    Completion is checked first, then failure (§5.3.8). A run that finished everything this
    build implements but not every stage (status ``incomplete``) is a success here: the scene
    went as far as the deployment goes, and counting it as a failure would pause the loop.
    """
    base = f"scenes/{scene_id}/"
    done = bucket.read_json_or_none(base + COMPLETE)
    if done is not None:
        return {"scene_id": scene_id, "status": SUCCESS, "source_type": (done or {}).get("source_type")}
    if bucket.exists(base + FAILED_MARKER):
        return {"scene_id": scene_id, "status": FAILED}
    status = bucket.read_json_or_none(base + STATUS)
    if isinstance(status, dict) and status.get("status") == "incomplete":
        return {"scene_id": scene_id, "status": SUCCESS, "source_type": status.get("source_type"), "incomplete": True}
    return None
