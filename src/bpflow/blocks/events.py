"""Emit a custom event on the engine's bus from inside a workflow, exactly once.

The event id is the caller's (derived from the run's inputs), so a replayed or duplicated run
emits the same event and the dispatcher's run id (``<workflow>:<type>:<id>``) makes every
consumer start once. It is called from the workflow body, not inside a step: DBOS records the
consumers' starts as this run's child workflows (as ``blocks.stages.start_stage`` does), and a
replay finds them instead of starting them again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


def emit_event(run: Run, event_type: str, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Dispatch ``event_type`` with ``data``; returns the dispatcher's answer (run ids started)."""
    from bpflow.core.events.model import CustomEvent

    out = run.context.dispatch_custom(CustomEvent(type=event_type, id=event_id, data=data, source=run.workflow))
    return out.to_dict()
