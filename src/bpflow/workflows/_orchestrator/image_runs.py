"""What both image workflows do around reconstruction: the generation gate at the start, and the
failure marker at a handled failure (§3.3, §4.3). Only the marker's name and shape differ:
``.orchestrator_failed`` (type orchestrator_failure, with a stage) for the image orchestrator,
``.reconstruction_failed`` (type workflow_failure) for the legacy pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome
from bpflow.core.storage import Bucket
from bpflow.state.cas_json import read_versioned_json
from bpflow.workflows._orchestrator.errors import SourceError
from bpflow.workflows._orchestrator.image import (
    RECONSTRUCTION_COMPLETE,
    as_generation,
    image_scene_id,
    recorded_generation,
)
from bpflow.workflows._orchestrator.markers import error_body, failed_body, write_body
from bpflow.workflows._orchestrator.options import SourceOptions, options_step

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


def _read_marker(bucket: Bucket, key: str) -> dict[str, Any] | None:
    state = read_versioned_json(bucket, key)
    return state.value if state.exists else None


def claim_generation(run: Run, failure_marker: str) -> str | None:
    """The image workflows' dedupe (§3.3 step 2, §4.3): an upload no newer than the one the
    scene was last reconstructed from is skipped (the message says why); a newer one clears the
    old completion marker and this workflow's old failure marker."""
    key = run.scene(RECONSTRUCTION_COMPLETE)
    prior = step(f"read {key}", _read_marker, run.bucket, key)
    incoming = as_generation(run.generation)
    if prior is not None:
        recorded = recorded_generation(prior)
        if incoming <= recorded:
            return f"Not an eligible image upload event: {run.object_name} (generation {incoming} <= reconstructed generation {recorded})"
        markers.delete(run, key)
    markers.delete(run, run.scene(failure_marker))
    return None


def begin_image_run(run: Run, failure_marker: str) -> Outcome | tuple[str, SourceOptions]:
    """The filter and the generation gate: a SKIPPED outcome, or (scene id, options) to go on."""
    scene_id = image_scene_id(run.object_name or "")
    if scene_id is None or scene_id != run.scene_id:
        return Outcome.skipped(f"Not an eligible image upload event: {run.object_name}")
    skip = claim_generation(run, failure_marker)
    if skip:
        return Outcome.skipped(skip)
    return scene_id, options_step(run)


def fail_image_run(
    run: Run, failure_marker: str, exc: SourceError, *, error_type: str, stage: str | None, context: dict[str, Any]
) -> Outcome:
    """Write the workflow's failure marker and end the run FAILED, naming code, field and stage."""
    body = failed_body(
        scene_id=run.scene_id or "",
        input_object=run.object_name,
        input_generation=run.generation,
        error=error_body(exc.code, exc.message, error_type, stage=stage, field=exc.field),
        context={"workflow_execution_id": run.run_id, **context},
    )
    write_body(run, run.scene(failure_marker), body)
    message = f"[{stage}] {exc.message}" if stage else exc.message
    return Outcome.failed(
        message, markers=[run.scene(failure_marker)], error_code=exc.code, field=exc.field, stage=stage or exc.stage
    )
