"""Image compatibility dispatch (§2.3.H): hand an image to the image workflow IMAGE_PATH_MODE names.

``orchestrator`` runs ``IMAGE_ORCHESTRATOR_WORKFLOW_NAME`` (reconstruction and Stages 2-5) and
waits for it. ``legacy_chain`` runs ``IMAGE_LEGACY_WORKFLOW_NAME`` (reconstruction only), then
waits for the marker chain to reach ``geniesim/.geniesim_complete``, but only when every
workflow of that chain is in this build; otherwise it records which are missing instead of
waiting hours for a marker nothing will write. The image workflow is started with the run id its
own upload trigger uses, so an image that already triggered its workflow is not reconstructed
again: this run attaches to that one.

Deviation (reference bug B1): a failure here ends in ``.source_orchestrator_failed`` (code
``image_path_failed`` or the image workflow's own code, stage ``image_source_generation``) and
releases the lock; the reference raised with no marker and left the lock behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks.stages import start_stage
from bpflow.blocks.wait import wait_for_marker
from bpflow.core.errors import BpflowError, MarkerTimeout
from bpflow.core.stages import STAGES
from bpflow.workflows._orchestrator.downstream import NOT_IMPLEMENTED, chain_missing, implemented, wait_stage
from bpflow.workflows._orchestrator.errors import SourceError
from bpflow.workflows._orchestrator.options import SourceOptions

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

STAGE = "image_source_generation"
ORCHESTRATOR, LEGACY_CHAIN = "orchestrator", "legacy_chain"


def _failed(message: str, code: str = "image_path_failed", field: str | None = None) -> SourceError:
    return SourceError(message, code=code, field=field, stage=STAGE)


def run_image_path(run: Run, image: dict[str, Any], opts: SourceOptions, *, request_scene_id: str) -> dict[str, Any]:
    """Run the image path for ``image`` (the request's image: object_name, generation). Returns
    ``{mode, workflow_name, workflow_execution, waited_for_downstream, stages_not_run, ...}``."""
    mode = opts.image_path_mode
    if mode not in (ORCHESTRATOR, LEGACY_CHAIN):
        raise _failed(f"Unsupported IMAGE_PATH_MODE: {mode}", code="invalid_config", field="IMAGE_PATH_MODE")
    workflow = opts.image_orchestrator_workflow if mode == ORCHESTRATOR else opts.image_legacy_workflow
    image_object = str(image.get("object_name") or "")
    out: dict[str, Any] = {
        "mode": mode,
        "workflow_name": workflow,
        "workflow_execution": None,
        "image_object": image_object,
        "requested_generation": image.get("generation"),
        "waited_for_downstream": False,
        "stages_not_run": [],
    }
    if not implemented(workflow):
        out["stages_not_run"].append(
            {"scene_id": request_scene_id, "stage": "image_path", "workflow": workflow, "state": NOT_IMPLEMENTED}
        )
        return out
    try:
        run_id = start_stage(run, workflow, image_object)
    except BpflowError as exc:
        raise _failed(f"{workflow} could not start for {image_object}: {exc.message}") from None
    out["workflow_execution"] = run_id
    result = wait_stage(run, run_id, opts.stage_budgets.get(workflow, 3600.0))
    status = str(result.get("status") or "UNKNOWN")
    out["result_status"] = status
    if status.startswith("FAILED"):  # any other ending counts, as for Stages 2-4
        code = str(result.get("error_code") or "image_path_failed")
        detail = result.get("message") or result.get("error") or ""
        raise _failed(
            f"{workflow} failed for {image_object} (status={status}): {detail}".rstrip(": "),
            code=code,
            field=result.get("field"),
        )
    out["stages"] = result.get("stages")
    out["stages_not_run"] += list(result.get("stages_not_run") or [])
    if mode == LEGACY_CHAIN:
        _await_legacy_chain(run, out, opts, request_scene_id)
    return out


def _await_legacy_chain(run: Run, out: dict[str, Any], opts: SourceOptions, scene_id: str) -> None:
    missing = chain_missing()
    if missing:
        out["stages_not_run"] += [
            {"scene_id": scene_id, "stage": "legacy_chain", "workflow": wf, "state": NOT_IMPLEMENTED} for wf in missing
        ]
        return
    marker = f"scenes/{scene_id}/{STAGES['genie-sim-import'].complete[0]}"
    try:
        wait_for_marker(run, marker, policy="job_status", deadline_seconds=opts.image_legacy_chain_wait_seconds)
    except MarkerTimeout:
        raise _failed(
            f"Timed out waiting for marker {marker} after {opts.image_legacy_chain_wait_seconds:.0f} seconds",
            code="legacy_chain_timeout",
        ) from None
    out["waited_for_downstream"] = True
    out["downstream_marker"] = marker
