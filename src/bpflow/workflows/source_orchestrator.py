"""source-orchestrator — the text-first entry point. Trigger: ``scenes/*/prompts/scene_request.json``.

One run per request version: lock that generation, clear the old failure marker, validate the
request (a bad one ends in ``.source_orchestrator_failed`` naming the field), then either hand an
image request to the image path, or run the text path seed by seed: Stage 1 on the selected
runtime, ``assets/.regen3d_complete``, Stages 2-5. The first failing seed stops the loop; the
request then falls back to its image if allowed, else fails. Completion is written only when
every stage ran; stages this build lacks are recorded in ``source_orchestrator_status.json``.
"""

from __future__ import annotations

from bpflow.blocks import markers
from bpflow.blocks.lock import scene_lock
from bpflow.core.engine.queues import REQUEST_ORCHESTRATORS
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import BpflowError
from bpflow.core.stages import STAGES
from bpflow.domain.request.contract import variants_index
from bpflow.workflows._orchestrator.compat import STAGE as IMAGE_STAGE
from bpflow.workflows._orchestrator.compat import run_image_path
from bpflow.workflows._orchestrator.errors import ImageReconstructionUnavailable, SourceError, as_source_error
from bpflow.workflows._orchestrator.fanout import VARIANTS_INDEX, plan_children
from bpflow.workflows._orchestrator.intake import Intake, is_request_trigger, read_request
from bpflow.workflows._orchestrator.markers import FAILED, write_body
from bpflow.workflows._orchestrator.options import SourceOptions, options_step
from bpflow.workflows._orchestrator.progress import RunRecord
from bpflow.workflows._orchestrator.textpath import run_child

TEXT_STAGE = "text_source_generation"


@workflow(STAGES["source-orchestrator"].workflow, queue=REQUEST_ORCHESTRATORS)
def source_orchestrator(run: Run) -> Outcome:
    if not is_request_trigger(run.object_name) or run.scene_id is None:
        return Outcome.skipped(f"Not a scene_request trigger: {run.object_name}")
    opts = options_step(run)
    with scene_lock(run, f"source-orchestrator-{run.generation}", ttl_seconds=opts.lock_ttl_seconds()) as lock:
        if not lock.acquired:
            return Outcome.skipped(
                f"Duplicate event for generation {run.generation} (lock exists at {lock.key})", scene_id=run.scene_id
            )
        markers.delete(run, run.scene(FAILED))
        intake = read_request(run)
        if intake.superseded_by is not None:
            return Outcome.skipped(
                f"superseded: {run.object_name} was rewritten (generation {intake.superseded_by}); nothing rewritten",
                scene_id=run.scene_id,
            )
        if intake.missing:
            return Outcome.skipped(f"{run.object_name} no longer exists; nothing to do", scene_id=run.scene_id)
        # Identical content written twice while the first is still running: run it once.
        seeds = int((intake.request or {}).get("seed_count") or 1)
        with scene_lock(
            run, f"source-orchestrator-request-{intake.digest}", ttl_seconds=opts.lock_ttl_seconds(seeds)
        ) as same:
            if not same.acquired:
                holder = (same.holder or {}).get("run_id")
                return Outcome.skipped(
                    f"an identical request for scene {run.scene_id} is already running ({holder})",
                    scene_id=run.scene_id,
                )
            record = RunRecord(run, intake, lock.key)
            if intake.error is not None:
                err = intake.error
                return record.fail(code=err["code"], stage=err["stage"], message=err["message"], field=err["field"])
            if (intake.request or {}).get("source_mode") == "image":
                return image_source(record, opts, fallback=False)
            return text_source(record, opts)


def text_source(record: RunRecord, opts: SourceOptions) -> Outcome:
    """The seed loop: sequential, fail-fast."""
    run, intake = record.run, record.intake
    request = intake.request or {}
    children = plan_children(request["scene_id"], int(request["seed_count"]), run.object_name or "")
    legacy = opts.image_path_mode == "legacy_chain"
    for child in children:
        try:
            record.child_done(run_child(run, child, intake, opts, delegate_after_stage3=legacy))
        except BpflowError as exc:
            return seed_failed(record, opts, child.scene_id, as_source_error(exc))
    if len(children) > 1:
        write_body(run, run.scene(VARIANTS_INDEX), variants_index(request, [c["seed"] for c in record.children]))
    return record.finish("text")


def seed_failed(record: RunRecord, opts: SourceOptions, child_id: str, exc: SourceError) -> Outcome:
    """Image fallback when the request, the env switch and a usable image all allow it."""
    if fallback_allowed(record.intake, opts):
        return image_source(record, opts, fallback=True, reason=exc.message)
    return record.fail(
        code="text_stage_failed",
        stage=TEXT_STAGE,
        message=f"text source failed for scene {child_id}: {exc.message}",
        field=exc.field,
        cause=exc.to_dict(),
    )


def fallback_allowed(intake: Intake, opts: SourceOptions) -> bool:
    allow = bool(((intake.request or {}).get("fallback") or {}).get("allow_image_fallback", True))
    return allow and opts.enable_image_fallback and intake.image_usable


def image_source(record: RunRecord, opts: SourceOptions, *, fallback: bool, reason: str | None = None) -> Outcome:
    """Image mode, or the fallback of a failed text path."""
    record.fallback_used = fallback
    try:
        image = run_image_path(record.run, record.intake.image or {}, opts, request_scene_id=record.scene_id)
    except BpflowError as caught:
        exc = as_source_error(caught, stage=IMAGE_STAGE)
        code = (
            exc.code
            if exc.code in (ImageReconstructionUnavailable.code, "legacy_chain_timeout", "invalid_config")
            else "image_path_failed"
        )
        cause = exc.to_dict() if code != exc.code else None
        prefix = f"text source failed ({reason}); image fallback failed: " if fallback else ""
        return record.fail(code=code, stage=IMAGE_STAGE, message=prefix + exc.message, field=exc.field, cause=cause)
    if reason is not None:
        image["text_failure"] = reason
    record.image = image
    return record.finish("image_fallback" if fallback else "image")
