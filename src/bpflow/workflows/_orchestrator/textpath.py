"""One seed of the text path: child request, Stage 1 on the selected runtime, output check, the
Stage-2 trigger, then Stages 2-5.

``assets/.regen3d_complete`` is written here, once, after the adapter's outputs passed their
contracts: the jobs never write the marker that starts another workflow (DESIGN decision).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.core.engine.durable import step
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket
from bpflow.domain.request.contract import child_request
from bpflow.workflows._orchestrator.downstream import run_downstream
from bpflow.workflows._orchestrator.errors import Stage1Failed
from bpflow.workflows._orchestrator.fanout import Child
from bpflow.workflows._orchestrator.intake import Intake
from bpflow.workflows._orchestrator.options import SourceOptions
from bpflow.workflows._orchestrator.stage1_runtime import run_stage1
from bpflow.workflows._orchestrator.verify import check_stage1_outputs, summarize

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


def _write_child_request(bucket: Bucket, request: dict[str, Any], child: Child) -> int:
    from bpflow.core.engine.runtime import current_runtime

    body = child_request(request, child.seed, settings=current_runtime().settings)
    return bucket.write_json(child.request_object, body).generation


def run_child(
    run: Run, child: Child, intake: Intake, opts: SourceOptions, *, delegate_after_stage3: bool
) -> dict[str, Any]:
    """Everything for one seed; returns its record, raises a SourceError when the seed fails."""
    request = intake.request or {}
    if child.generated:
        step(f"write {child.request_object}", _write_child_request, run.bucket, request, child)
    stage1 = run_stage1(run, child, opts)
    check = step(f"check stage1 outputs {child.scene_id}", check_stage1_outputs, run.bucket, child.scene_id, text=True)
    if check["problems"]:
        raise Stage1Failed(
            f"Stage 1 outputs of scene {child.scene_id} break their contracts: {summarize(check['problems'], check['problem_count'])}",
            code="stage1_output_invalid",
            field=check["problems"][0]["field"],
            details={"problems": check["problems"]},
        )
    # The adapter's own body for the marker (§2.5), written by the workflow now that it checked out.
    markers.write_marker(run, child.key(STAGES["text-scene-adapter"].complete[0]), **check["marker"])
    down = run_downstream(
        run,
        child.scene_id,
        budgets=opts.stage_budgets,
        arena_required=opts.arena_export_required,
        delegate_after_stage3=delegate_after_stage3,
    )
    return {
        "scene_id": child.scene_id,
        "seed": child.seed,
        "stage1": stage1.to_dict(),
        "objects_count": check["objects_count"],
        "stages": down.states,
        "stage_runs": down.runs,
        "not_run": down.not_run(child.scene_id),
    }
