"""Test-only plug-in workflow: starts Stage 3 the way the source orchestrator does.

Loaded through ``BPFLOW_WORKFLOW_MODULES``; it uses the same block (``start_stage``) as the real
orchestrator, with the reference's Stage-3 payload, so a test can race it against the trigger.
"""

from __future__ import annotations

from bpflow.blocks.stages import await_stage, start_stage
from bpflow.core.engine.queues import SCENE_ORCHESTRATORS
from bpflow.core.engine.registry import Outcome, Run, workflow

STAGE3 = "variation-assets-pipeline"


@workflow("test-stage3-orchestrator", timeout_seconds=300, queue=SCENE_ORCHESTRATORS)
def stage3_orchestrator(run: Run) -> Outcome:
    run_id = start_stage(
        run,
        STAGE3,
        run.scene("replicator/.replicator_complete"),
        extra={"enable_stage3_isaac_refresh": True, "require_isaac": True},
    )
    result = await_stage(run, run_id, timeout_seconds=240, poll_seconds=0.1)
    return Outcome.success(stage_run=run_id, stage_status=result.get("status"))


@workflow("test-stage23-orchestrator", timeout_seconds=600, queue=SCENE_ORCHESTRATORS)
def stage23_orchestrator(run: Run) -> Outcome:
    """Stages 2 and 3 with the source orchestrator's own stage table (same triggers, same payloads)."""
    from bpflow.workflows._orchestrator.downstream import STAGES

    out: dict[str, dict[str, str]] = {}
    for stage in STAGES[:2]:
        run_id = start_stage(run, stage.workflow, run.scene(stage.trigger), extra=stage.payload)
        result = await_stage(run, run_id, timeout_seconds=540, poll_seconds=0.1)
        out[stage.name] = {"run_id": run_id, "status": str(result.get("status"))}
        if result.get("status") != "SUCCESS":
            break
    return Outcome.success(**out)


@workflow("test-downstream-orchestrator", timeout_seconds=600, queue=SCENE_ORCHESTRATORS)
def downstream_orchestrator(run: Run) -> Outcome:
    """The source orchestrator's Stages 2-5 (``run_downstream``) for a scene, arena required."""
    from bpflow.workflows._orchestrator.downstream import run_downstream

    down = run_downstream(run, str(run.payload["scene_id"]), budgets={}, arena_required=True)
    return Outcome.success(states=down.states, runs=down.runs)
