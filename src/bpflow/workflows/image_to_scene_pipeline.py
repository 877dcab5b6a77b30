"""image-to-scene-pipeline — the legacy chain's image entry point: Stage 1 reconstruction only.
Trigger: ``scenes/*/images/*.{png,jpg,jpeg}`` when IMAGE_PATH_MODE is not ``orchestrator``, or a
start from source-orchestrator in legacy_chain mode.

The rest of the scene is carried by the marker triggers: the ``assets/.regen3d_complete`` this
run writes starts usd-assembly-pipeline, and so on down the chain.
"""

from __future__ import annotations

from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.stages import STAGES
from bpflow.workflows._orchestrator.errors import SourceError
from bpflow.workflows._orchestrator.image import as_generation, reconstruct_stage1
from bpflow.workflows._orchestrator.image_runs import begin_image_run, fail_image_run

FAILURE_MARKER = ".reconstruction_failed"


@workflow("image-to-scene-pipeline")
def image_to_scene_pipeline(run: Run) -> Outcome:
    started = begin_image_run(run, FAILURE_MARKER)
    if isinstance(started, Outcome):
        return started
    scene_id, opts = started
    try:
        summary = reconstruct_stage1(
            run, scene_id, run.object_name or "", as_generation(run.generation), opts.reconstructor
        )
    except SourceError as exc:
        return fail_image_run(run, FAILURE_MARKER, exc, error_type="workflow_failure", stage=None, context={})
    return Outcome.success(
        f"Image-to-scene pipeline completed for scene {scene_id}",
        markers=[run.scene(STAGES["text-scene-adapter"].complete[0])],
        scene_id=scene_id,
        objects_count=summary.get("objects_count"),
    )
