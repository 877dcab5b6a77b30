"""Marker objects: the pipeline's only signals between stages, so their bodies are one shape.

Completion markers are written once per run, by the workflow, after it has checked the outputs;
failure markers use the reference's standard ``.failed`` body so existing tooling reads them.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from bpflow.core.engine.durable import step
from bpflow.core.scrub import Scrubber
from bpflow.core.storage import ObjectInfo
from bpflow.state.cas_json import iso_z, utc_now

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

log = logging.getLogger("bpflow.markers")

CONTROL_SEGMENTS = ("locks", "idempotency", "prompts", "input", "internal")
CONTROL_NAMES = (".circuit_breaker.json", ".canary_rollback")


def utc_iso() -> str:
    return iso_z(utc_now())


def is_control_object(key: str) -> bool:
    """Objects rollback must never delete: coordination state and the stage's inputs."""
    parts = key.split("/")
    return any(seg in CONTROL_SEGMENTS for seg in parts[:-1]) or parts[-1] in CONTROL_NAMES


def failure_body(
    run: Run,
    *,
    job_name: str,
    code: str,
    message: str,
    error_type: str = "workflow_failure",
    stage: str | None = None,
    execution_id: str | None = None,
    config_context: dict[str, Any] | None = None,
    exc: BaseException | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "type": error_type,
        "stack_trace": "".join(traceback.format_exception(exc))[-4000:] if exc is not None else None,
    }
    if stage:
        error["stage"] = stage
    return {
        "scene_id": run.scene_id,
        "job_name": job_name,
        "status": "failed",
        "timestamp": utc_iso(),
        "input_object": run.object_name,
        "input_generation": run.generation,
        "error": error,
        "context": {
            "execution_id": execution_id or "unknown",
            "workflow_execution_id": run.run_id,
            "workflow": run.workflow,
            "attempt_number": 1,
            "config_context": config_context or {},
        },
        "input_params": {"scene_id": run.scene_id, "bucket": run.bucket_name},
    }


def _write(run: Run, key: str, body: dict[str, Any]) -> int:
    return run.bucket.write_json(key, Scrubber.for_process().obj(body)).generation


def write_marker(run: Run, key: str, **fields: Any) -> int:
    """A completion marker: ``{scene_id, status: completed, timestamp, workflow, run_id, ...}``."""
    body = {
        "scene_id": run.scene_id,
        "status": "completed",
        "timestamp": utc_iso(),
        "workflow": run.workflow,
        "run_id": run.run_id,
        **fields,
    }
    return step(f"write {key}", _write, run, key, body)


def write_failure(run: Run, key: str, **kwargs: Any) -> dict[str, Any]:
    """Write the standard failure body; a failure to write it is logged, never masks the cause."""
    body = failure_body(run, **kwargs)

    def _do() -> dict[str, Any]:
        try:
            run.bucket.write_json(key, Scrubber.for_process().obj(body))  # a job's stderr tail may print a key
        except Exception as exc:  # noqa: BLE001 - the original failure matters more
            log.warning("could not write failure marker %s: %s", key, exc)
        return body

    return step(f"write failure {key}", _do)


def exists(run: Run, key: str) -> bool:
    return step(f"exists {key}", run.bucket.exists, key)


def read_json(run: Run, key: str) -> Any:
    return step(f"read {key}", run.bucket.read_json_or_none, key)


def stat(run: Run, key: str) -> dict[str, Any] | None:
    def _do() -> dict[str, Any] | None:
        info: ObjectInfo | None = run.bucket.stat(key)
        return (
            None
            if info is None
            else {
                "key": info.key,
                "generation": info.generation,
                "updated": info.updated.timestamp(),
                "size": info.size,
            }
        )

    return step(f"stat {key}", _do)


def delete(run: Run, key: str) -> bool:
    return step(f"delete {key}", run.bucket.delete, key)


def rollback_outputs(run: Run, prefix: str, *, limit: int = 1000) -> list[str]:
    """Delete the stage's data outputs under ``prefix`` (control objects are kept)."""
    if not prefix.endswith("/"):
        prefix += "/"

    def _do() -> list[str]:
        deleted: list[str] = []
        for info in run.bucket.list(prefix):
            if len(deleted) >= limit:
                break
            if is_control_object(info.key):
                continue
            if run.bucket.delete(info.key):
                deleted.append(info.key)
        return deleted

    return step(f"rollback {prefix}", _do)
