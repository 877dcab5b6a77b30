"""Test-only stand-ins for Stages 2-5, loaded as a workflow plug-in, so the orchestrator's stage
sequencing (order, payloads, run ids, arena strictness, a missing stage, legacy delegation) is
tested on the real runtime whatever the Stage 2+ teams have built so far.

Each stage records the payload it got and writes the next stage's trigger, as the real stages
do; the arena stand-in returns the status a test put in ``test/arena_status.json``, and stage 2
fails when ``test/fail_stage2`` exists.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bpflow.blocks import markers
from bpflow.core.engine.queues import SCENE_ORCHESTRATORS
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.workflows._orchestrator.downstream import STAGES, StageDef, run_downstream
from bpflow.workflows._orchestrator.errors import SourceError

STAND_INS = ("test-ds-usd", "test-ds-variation", "test-ds-export", "test-ds-arena")
#: The orchestrator's own stage definitions (names, payloads), pointed at the stand-ins, with
#: trigger objects under test/ that no real stage's trigger matches.
TEST_STAGES = tuple(
    replace(stage, workflow=STAND_INS[i], trigger=f"test/triggers/stage{i + 2}") for i, stage in enumerate(STAGES)
)
NEXT = {STAND_INS[i]: f"test/triggers/stage{i + 3}" for i in range(3)}


def _record(run: Run, name: str) -> None:
    flags = {k: v for k, v in run.payload.items() if k not in ("data", "type", "source", "time")}
    markers.write_marker(run, run.scene(f"test/ds/{name}.json"), payload_flags=flags, trigger=run.object_name)


def _stage(run: Run, name: str) -> Outcome:
    _record(run, name)
    if name == "test-ds-usd" and markers.exists(run, run.scene("test/fail_stage2")):
        return Outcome.failed("stage 2 was asked to fail")
    markers.write_marker(run, run.scene(NEXT[name]))
    return Outcome.success()


@workflow("test-ds-usd", timeout_seconds=60)
def ds_usd(run: Run) -> Outcome:
    return _stage(run, "test-ds-usd")


@workflow("test-ds-variation", timeout_seconds=60)
def ds_variation(run: Run) -> Outcome:
    return _stage(run, "test-ds-variation")


@workflow("test-ds-export", timeout_seconds=60)
def ds_export(run: Run) -> Outcome:
    return _stage(run, "test-ds-export")


@workflow("test-ds-arena", timeout_seconds=60)
def ds_arena(run: Run) -> Outcome:
    _record(run, "test-ds-arena")
    wanted = (markers.read_json(run, run.scene("test/arena_status.json")) or {}).get("status", "SUCCESS")
    return Outcome(wanted, f"arena stand-in returned {wanted}")


@workflow("test-ds-driver", timeout_seconds=120, queue=SCENE_ORCHESTRATORS)
def ds_driver(run: Run) -> Outcome:
    """Runs the orchestrator's stage sequence over the stand-ins for ``scene_id``."""
    stages = tuple(
        s if s.name != run.payload.get("missing") else StageDef(s.name, "test-ds-not-in-this-build", s.trigger)
        for s in TEST_STAGES
    )
    scene = str(run.payload["scene_id"])
    details: dict[str, Any] = {}
    try:
        down = run_downstream(
            run,
            scene,
            budgets={},
            arena_required=bool(run.payload.get("arena_required")),
            delegate_after_stage3=bool(run.payload.get("delegate")),
            stages=stages,
        )
    except SourceError as exc:
        return Outcome.failed(exc.message, error_code=exc.code)
    details.update(states=down.states, runs=down.runs, not_run=down.not_run(scene))
    return Outcome.success(**details)


@workflow("test-image-orchestrator", timeout_seconds=120, queue=SCENE_ORCHESTRATORS)
def image_orchestrator_stand_in(run: Run) -> Outcome:
    """An image orchestrator whose Stages 2-5 are the stand-ins: the real reconstruction (the
    configured reconstructor, the real checks and markers), then the stand-in stages."""
    from bpflow.workflows._orchestrator.image import image_scene_id, reconstruct_stage1
    from bpflow.workflows._orchestrator.options import options_step

    scene = image_scene_id(run.object_name or "") or ""
    reconstruct_stage1(run, scene, run.object_name or "", int(run.generation), options_step(run).reconstructor)
    markers.write_marker(run, run.scene("test/triggers/stage2"))
    down = run_downstream(run, scene, budgets={}, arena_required=True, stages=TEST_STAGES)
    return Outcome.success(stages=down.states, stages_not_run=down.not_run(scene))
