"""The source orchestrator's own objects at the scene root: completion, failure and status.

``.source_orchestrator_complete`` and ``.source_orchestrator_failed`` keep the reference's
bodies (text-autonomy and existing tooling read them). ``source_orchestrator_status.json`` is
bpflow's addition: the per-child, per-stage record of the run, including stages that did not
run because their workflow is not part of this build. That is how a run which stopped after
the last implemented stage says so, without claiming completion.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bpflow.core.engine.durable import step
from bpflow.core.scrub import Scrubber
from bpflow.core.stages import STAGES
from bpflow.state.cas_json import iso_z, utc_now

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

log = logging.getLogger("bpflow.source")

#: The orchestrator's markers at the scene's root (``core/stages.yaml``).
(COMPLETE, STATUS), (FAILED,) = STAGES["source-orchestrator"].complete, STAGES["source-orchestrator"].failed
FAILURE_TYPE = "source_orchestrator_failure"
#: Outcome status of a run that stopped after the last stage this build implements.
INCOMPLETE = "INCOMPLETE"


def error_body(
    code: str,
    message: str,
    error_type: str,
    *,
    stage: str | None = None,
    field: str | None = None,
    cause: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``error`` object of a failure marker: what failed, where and why; never a stack trace."""
    error: dict[str, Any] = {"code": code, "message": message, "type": error_type}
    for key, value in (("stage", stage), ("field", field), ("cause", cause)):
        if value:
            error[key] = value
    return error


def failed_body(
    *,
    scene_id: str,
    input_object: str | None,
    input_generation: str,
    error: dict[str, Any],
    context: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """The failure-marker shape every source workflow shares (spec §0.6)."""
    return {
        "scene_id": scene_id,
        "status": "failed",
        "timestamp": iso_z(utc_now()),
        "input_object": input_object,
        "input_generation": input_generation,
        **extra,
        "error": error,
        "context": context,
    }


def failure_body(
    *,
    scene_id: str,
    input_object: str | None,
    input_generation: str,
    source_mode: str,
    text_backend: str,
    stage: str,
    code: str,
    message: str,
    field: str | None,
    run_id: str,
    completed_variants: int,
    fallback_used: bool,
    lock_object: str,
    lock_acquired: bool,
    cause: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """§2.3.G: ``.source_orchestrator_failed``."""
    return failed_body(
        scene_id=scene_id,
        input_object=input_object,
        input_generation=input_generation,
        source_mode=source_mode,
        text_backend=text_backend,
        failed_stage=stage,
        error=error_body(code, message, FAILURE_TYPE, stage=stage, field=field, cause=cause),
        context={
            "workflow_execution_id": run_id,
            "completed_variants": completed_variants,
            "fallback_used": fallback_used,
            "lock_object": lock_object,
            "lock_acquired": lock_acquired,
        },
    )


def status_body(
    *,
    scene_id: str,
    run_id: str,
    input_object: str | None,
    input_generation: str,
    status: str,
    source_type: str | None,
    seed_count: int,
    completed_variants: int,
    fallback_used: bool,
    cloudrun_fallback_count: int,
    children: list[dict[str, Any]],
    image: dict[str, Any] | None,
    stages_not_run: list[dict[str, Any]],
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """status: ``completed`` (the completion marker was written), ``incomplete`` (every stage
    that exists succeeded but some stages are not implemented here: no completion marker), or
    ``failed`` (the failure marker was written)."""
    return {
        "schema_version": "v1",
        "scene_id": scene_id,
        "status": status,
        "source_type": source_type,
        "timestamp": iso_z(utc_now()),
        "run_id": run_id,
        "input_object": input_object,
        "input_generation": input_generation,
        "seed_count": seed_count,
        "completed_variants": completed_variants,
        "fallback_used": fallback_used,
        "cloudrun_fallback_count": cloudrun_fallback_count,
        "children": children,
        "image": image,
        "stages_not_run": stages_not_run,
        "completion_marker_written": status == "completed",
        "error": error,
    }


def write_body(run: Run, key: str, body: dict[str, Any]) -> bool:
    """Write one of these bodies as a durable step. A failed write is logged, not raised: the
    failure being reported matters more than the report (the reference's rule)."""

    def _do() -> bool:
        try:
            run.bucket.write_json(key, Scrubber.for_process().obj(body))
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.warning("could not write %s: %s", key, exc)
            return False
        return True

    return step(f"write {key}", _do)
