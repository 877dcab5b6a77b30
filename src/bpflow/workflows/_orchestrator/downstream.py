"""Stages 2-5 for one scene, in order, as the source and image orchestrators drive them.

Each stage is started with the run id its marker trigger would use (``blocks.stages``), so the
marker-driven chain and the orchestrator never run a stage twice. A stage whose workflow is not
part of this build is recorded as ``NOT_IMPLEMENTED`` and the chain stops there: the stages after
it are ``NOT_RUN``. The caller decides what that means (never "complete"). A stage whose trigger
row is disabled (``BPFLOW_LAST_STAGE`` stops the pipeline before it) is ``NOT_REQUESTED``, and so
is every stage after it: the operator asked for less, so the scene is done, not incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.stages import await_stage, start_stage
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import find_workflow
from bpflow.core.errors import BpflowError
from bpflow.core.stages import STAGES as MODEL
from bpflow.workflows._orchestrator.errors import StageFailedForSeed

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

SUCCEEDED, SKIPPED, FAILED = "SUCCEEDED", "SKIPPED", "FAILED"
NOT_IMPLEMENTED, NOT_RUN, DELEGATED = "NOT_IMPLEMENTED", "NOT_RUN", "DELEGATED"
NOT_REQUESTED = "NOT_REQUESTED"
#: States after which a scene still counts as done (a non-blocking arena may fail or skip).
DONE_STATES = (SUCCEEDED, SKIPPED, DELEGATED, NOT_REQUESTED)

#: How often a stage's run is polled: (poll interval, for how long). Quick stages are seen
#: within a tenth of a second, long ones cost one status read per 10 s (the reference: 30 s).
STAGE_POLLS = ((0.1, 5.0), (0.5, 30.0), (2.0, 300.0))
LONG_POLL_SECONDS = 10.0


@dataclass(frozen=True)
class StageDef:
    name: str
    workflow: str
    trigger: str
    """The trigger object, relative to the scene."""
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, stage: str, payload: dict[str, Any] | None = None) -> StageDef:
        spec = MODEL[stage]
        return cls(spec.status_name, spec.workflow, spec.trigger or "", dict(payload or {}))


#: The order and exact payloads of §2.3.F (names, workflows and triggers: ``core/stages.yaml``).
STAGES = (
    StageDef.of(
        "usd-assembly",
        {"interactive_failure_policy": "hybrid_strict", "require_replicator": True, "require_isaac": True},
    ),
    StageDef.of("variation-assets", {"enable_stage3_isaac_refresh": True, "require_isaac": True}),
    StageDef.of("genie-sim-export"),
    StageDef.of("arena-export"),
)
ARENA = MODEL["arena-export"].status_name
#: The workflows that carry a scene from Stage 1 to ``geniesim/.geniesim_complete`` by markers.
LEGACY_CHAIN = tuple(
    MODEL[n].workflow for n in ("usd-assembly", "variation-assets", "genie-sim-export", "genie-sim-import")
)


@dataclass
class Downstream:
    """Per-stage states of one scene, in stage order."""

    states: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def not_run(self, scene_id: str) -> list[dict[str, str]]:
        return [
            {"scene_id": scene_id, "stage": name, "workflow": self.workflows[name], "state": state}
            for name, state in self.states.items()
            if state in (NOT_IMPLEMENTED, NOT_RUN)
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def implemented(workflow: str) -> bool:
    """Recorded as a step: a replay on a worker with another build keeps the original answer."""
    return step(f"implemented {workflow}", lambda: find_workflow(workflow) is not None)


def requested(workflow: str) -> bool:
    """Whether the trigger map lets ``workflow`` run under this runtime's settings (the map decides
    what runs, DESIGN principle 1). Recorded as a step, like :func:`implemented`."""

    def check() -> bool:
        from bpflow.core.engine.runtime import current_runtime

        rt = current_runtime()
        return workflow not in rt.triggers or rt.triggers.get(workflow).is_enabled(rt.env)

    return step(f"requested {workflow}", check)


def _stop(down: Downstream, rest: Sequence[StageDef], state: str = NOT_RUN) -> Downstream:
    for stage in rest:
        down.states.setdefault(stage.name, state)
    return down


def _run_stage(run: Run, scene_id: str, stage: StageDef, budgets: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """Start (or attach to) the stage's run and wait for its outcome dict."""
    try:
        run_id = start_stage(run, stage.workflow, f"scenes/{scene_id}/{stage.trigger}", extra=stage.payload)
    except BpflowError as exc:
        raise StageFailedForSeed(
            f"{stage.workflow} could not start for scene {scene_id}: {exc.message}",
            code=exc.code,
            details={"stage": stage.name},
        ) from None
    return run_id, wait_stage(run, run_id, budgets.get(stage.workflow, 3600.0))


def wait_stage(run: Run, run_id: str, budget_seconds: float) -> dict[str, Any]:
    """await_stage with a polling backoff, bounded by ``budget_seconds`` in total."""
    left = budget_seconds
    for poll, span in STAGE_POLLS:
        result = await_stage(run, run_id, timeout_seconds=min(span, left), poll_seconds=poll)
        left -= span
        if not result.get("timed_out") or left <= 0:
            return result
    return await_stage(run, run_id, timeout_seconds=left, poll_seconds=LONG_POLL_SECONDS)


def run_downstream(
    run: Run,
    scene_id: str,
    *,
    budgets: dict[str, float],
    arena_required: bool,
    delegate_after_stage3: bool = False,
    stages: Sequence[StageDef] = STAGES,
) -> Downstream:
    """Stages 2-5 for ``scene_id``. Raises StageFailedForSeed when a blocking stage fails."""
    down = Downstream(workflows={s.name: s.workflow for s in stages})
    if not markers.exists(run, f"scenes/{scene_id}/assets/scene_manifest.json"):
        raise StageFailedForSeed(
            f"Stage 1 output incomplete: scene_manifest.json missing for {scene_id}", code="stage1_output_incomplete"
        )
    for index, stage in enumerate(stages):
        if not requested(stage.workflow):
            return _stop(down, stages[index:], NOT_REQUESTED)
        if delegate_after_stage3 and index >= 2:
            # legacy_chain: Stages 4-5 are left to the marker triggers, if this build has them.
            down.states[stage.name] = DELEGATED if implemented(stage.workflow) else NOT_IMPLEMENTED
            continue
        if not implemented(stage.workflow):
            down.states[stage.name] = NOT_IMPLEMENTED
            return _stop(down, stages[index + 1 :])
        run_id, result = _run_stage(run, scene_id, stage, budgets)
        down.runs[stage.name] = run_id
        status = str(result.get("status") or "UNKNOWN")
        if stage.name == ARENA:
            down.states[stage.name] = _judge_arena(scene_id, status, result, arena_required)
            continue
        down.notes[stage.name] = status
        if status.startswith("FAILED"):
            # Stages 2-4 pass on any other ending (the reference did not inspect their result);
            # a bpflow stage reports failure as FAILED (its Outcome) or an error (await_stage).
            down.states[stage.name] = FAILED
            raise StageFailedForSeed(
                f"{stage.workflow} did not succeed for scene {scene_id} (status={status}): {result.get('error') or result.get('message') or ''}".rstrip(
                    ": "
                ),
                code=f"{stage.name}_failed",
                details={"stage": stage.name, "run_id": run_id},
            )
        down.states[stage.name] = SKIPPED if status == "SKIPPED" else SUCCEEDED
    return down


def _judge_arena(scene_id: str, status: str, result: dict[str, Any], required: bool) -> str:
    """ARENA_EXPORT_REQUIRED is judged on the stage's result status: only SUCCESS passes."""
    if required and status != "SUCCESS":
        raise StageFailedForSeed(
            f"Arena export returned non-success status for scene {scene_id} (status={status}, required=true)",
            code="arena_export_failed",
            details={"stage": ARENA, "error": result.get("error")},
        )
    return {"SUCCESS": SUCCEEDED, "SKIPPED": SKIPPED}.get(status, FAILED)


def chain_missing() -> list[str]:
    """The marker-chain workflows (legacy image mode) this build does not implement."""
    return [wf for wf in LEGACY_CHAIN if not implemented(wf)]
