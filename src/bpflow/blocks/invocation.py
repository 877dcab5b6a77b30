"""The reference's per-run metric events, emitted once each (inside a step, so a replay does not
repeat them): ``pipeline_invocation`` start/complete with the run's status, budget and duration,
and ``stage_warning`` for a tolerated job failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.core import observe
from bpflow.core.engine.durable import now_epoch, step
from bpflow.core.errors import StageFailed

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


class Invocation:
    def __init__(self, run: Run, workflow: str, budget_seconds: int) -> None:
        self.run, self.workflow, self.budget = run, workflow, budget_seconds
        self.started = now_epoch()

    def emit(self, event: str, status: str, **fields: Any) -> None:
        duration = round(now_epoch() - self.started, 3) if event == "complete" else 0
        step(
            f"emit pipeline_invocation {event}",
            observe.emit,
            "pipeline_invocation",
            event=event,
            workflow=self.workflow,
            scene_id=self.run.scene_id,
            run_id=self.run.run_id,
            status=status,
            timeout_seconds=self.budget,
            duration_seconds=duration,
            **fields,
        )

    def warn(self, job: str, warning: str, **fields: Any) -> None:
        step(
            f"warn {job}",
            observe.emit,
            "stage_warning",
            workflow=self.workflow,
            scene_id=self.run.scene_id,
            job=job,
            warning=warning,
            **fields,
        )

    def fail(
        self, marker: str, status: str, *, job: str, code: str, message: str, context: dict[str, Any], **fields: Any
    ) -> StageFailed:
        """The run's failure: the standard marker, the complete event with ``status``, and the
        error for the caller to raise."""
        markers.write_failure(self.run, marker, job_name=job, code=code, message=message, config_context=context)
        self.emit("complete", status, error=message, **fields)
        return StageFailed(message, code=code)
