"""image-to-scene-orchestrator — an uploaded image becomes a scene: Stage 1 reconstruction, then
Stages 2-5 in order. Trigger: ``scenes/*/images/*.{png,jpg,jpeg}`` (IMAGE_PATH_MODE=orchestrator),
or a start from source-orchestrator with the same run id.

Reconstruction runs through the configured image reconstructor (``bpflow.workflows._orchestrator.image``);
without one the run fails with ``image_reconstruction_unavailable``. Stage 5 (arena) is
non-blocking here, as in the reference; a stage this build does not implement is recorded and
the run ends ``INCOMPLETE``, never reporting stages it did not run.
"""

from __future__ import annotations

from typing import Any

from bpflow.core.engine.queues import SCENE_ORCHESTRATORS
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.workflows._orchestrator.downstream import SUCCEEDED, run_downstream
from bpflow.workflows._orchestrator.errors import SourceError
from bpflow.workflows._orchestrator.image import as_generation, reconstruct_stage1
from bpflow.workflows._orchestrator.image_runs import begin_image_run, fail_image_run
from bpflow.workflows._orchestrator.markers import INCOMPLETE

FAILURE_MARKER = ".orchestrator_failed"


@workflow("image-to-scene-orchestrator", queue=SCENE_ORCHESTRATORS)
def image_to_scene_orchestrator(run: Run) -> Outcome:
    started = begin_image_run(run, FAILURE_MARKER)
    if isinstance(started, Outcome):
        return started
    scene_id, opts = started
    completed: list[str] = []
    try:
        reconstruct_stage1(run, scene_id, run.object_name or "", as_generation(run.generation), opts.reconstructor)
        completed.append("reconstruction")
        down = run_downstream(run, scene_id, budgets=opts.stage_budgets, arena_required=False)
    except SourceError as exc:
        stage = str(exc.details.get("stage") or exc.stage)
        return fail_image_run(
            run,
            FAILURE_MARKER,
            exc,
            error_type="orchestrator_failure",
            stage=stage,
            context={"completed_stages": ",".join(completed)},
        )
    completed += [name for name, state in down.states.items() if state == SUCCEEDED]
    not_run = down.not_run(scene_id)
    details: dict[str, Any] = {
        "scene_id": scene_id,
        "completed_stages": completed,
        "stages": down.states,
        "arena_export": down.states.get("arena_export"),
        "stages_not_run": not_run,
    }
    if not_run:
        missing = ", ".join(sorted({r["workflow"] for r in not_run}))
        return Outcome(
            INCOMPLETE, f"Scene {scene_id} stopped after the last implemented stage; not run: {missing}", [], details
        )
    return Outcome.success(f"Full pipeline completed for scene {scene_id}", **details)
