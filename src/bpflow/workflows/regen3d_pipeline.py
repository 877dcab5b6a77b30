"""regen3d-pipeline — legacy chain, Stage 1 adapter. Trigger: ``scenes/*/assets/.assets_ready``.

Skip when ``assets/.regen3d_complete`` exists. Run regen3d-adapter-job (3D-RE-GEN output →
manifest, layout, inventory, assets). A job that cannot start rolls ``assets/`` back (the
trigger marker included, as in the reference), writes ``assets/.failed`` and raises. A job that
failed keeps any ``assets/.failed`` already there (the reference's rule) or writes ours, always
writes the legacy ``assets/.regen3d_failed``, and raises. On success the outputs are checked
against the Stage-1 contracts and only then is ``assets/.regen3d_complete`` written (by this
workflow, with the job's body), which starts Stage 2 — the reference's "job succeeded but no
marker" error becomes "job succeeded but its outputs are missing or invalid".
"""

from __future__ import annotations

import re

from bpflow.blocks import markers
from bpflow.blocks.stage_job import launch, legacy_marker, record_failure
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import StageFailed
from bpflow.core.stages import STAGES
from bpflow.workflows._orchestrator.verify import check_stage1_outputs, summarize

NAME = "regen3d-pipeline"
JOB = "regen3d-adapter-job"
TRIGGER = re.compile(r"scenes/[^/]+/assets/\.assets_ready")
#: The Stage 1 completion marker this adapter path writes (the text path's adapter writes the same).
COMPLETE = STAGES["text-scene-adapter"].complete[0]


@workflow(NAME)
def regen3d_pipeline(run: Run) -> Outcome:
    name = run.object_name or ""
    if not TRIGGER.fullmatch(name) or markers.exists(run, run.scene(COMPLETE)):
        return Outcome.skipped(f"Not an assets ready marker file: {name}")
    scene_id = run.scene_id or ""
    context = {
        "assets_prefix": run.scene("assets"),
        "layout_prefix": run.scene("layout"),
        "seg_prefix": run.scene("seg"),
    }
    env = {
        "ASSETS_PREFIX": context["assets_prefix"],
        "SEG_PREFIX": context["seg_prefix"],
        "LAYOUT_PREFIX": context["layout_prefix"],
        "USE_MOCK_DATA": "false",
    }
    failed_key = run.scene("assets/.failed")
    result = launch(
        run,
        JOB,
        env,
        rollback=run.scene("assets"),
        failed_marker=failed_key,
        code="regen3d_start_failed",
        config_context=context,
    )
    if result.failed:
        message = f"3D reconstruction (3D-RE-GEN) job FAILED for scene {scene_id}"
        record_failure(
            run,
            result,
            failed_marker=failed_key,
            code="regen3d_failed",
            message="3D reconstruction job failed",
            config_context=context,
        )
        legacy_marker(run, run.scene("assets/.regen3d_failed"), execution=result.execution_id)
        raise StageFailed(message, code="regen3d_failed", details={"marker": failed_key})
    check = step(f"check stage1 outputs {scene_id}", check_stage1_outputs, run.bucket, scene_id, text=False)
    summary = markers.read_json(run, run.scene("regen3d-job/adapter_summary.json"))
    body = summary.get("regen3d_marker") if isinstance(summary, dict) and summary.get("status") == "completed" else None
    if check["problems"] or not isinstance(body, dict):
        problems = (
            summarize(check["problems"], check["problem_count"])
            if check["problems"]
            else "no completed adapter_summary.json"
        )
        message = (
            f"3D reconstruction job succeeded but its outputs for scene {scene_id} are missing or invalid: {problems}"
        )
        markers.write_failure(
            run,
            failed_key,
            job_name=JOB,
            code="regen3d_outputs_invalid",
            message=message,
            execution_id=result.execution_id,
            config_context=context,
        )
        raise StageFailed(message, code="regen3d_outputs_invalid", details={"problems": check["problems"]})
    complete = run.scene(COMPLETE)
    fields = {k: v for k, v in body.items() if k not in ("scene_id",)}
    markers.write_marker(run, complete, **fields)
    return Outcome.success(
        f"3D reconstruction (3D-RE-GEN) completed for scene {scene_id}",
        markers=[complete],
        scene_id=scene_id,
        execution=result.execution_id,
        outputs={
            "completion_marker": complete,
            "assets_prefix": context["assets_prefix"],
            "layout_prefix": context["layout_prefix"],
        },
    )
