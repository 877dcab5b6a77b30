"""Starting a downstream stage from inside a workflow, and waiting for its result.

An orchestrator starts a stage with the run id the stage's own trigger would use (DESIGN
principle 2), so when the marker event also arrives, both attach to one run: a stage never runs
twice whoever starts it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbos import DBOS

from bpflow.blocks import markers
from bpflow.core.engine.durable import now_epoch, sleep, step
from bpflow.core.engine.queues import check_wait
from bpflow.core.engine.registry import find_workflow
from bpflow.core.errors import StageFailed, WorkflowNotFound
from bpflow.core.events.model import ObjectEvent
from bpflow.core.ids import object_run_id

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

TERMINAL_FAILURES = ("ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


def start_stage(run: Run, workflow: str, trigger_key: str, *, extra: dict[str, Any] | None = None) -> str:
    """Start (or attach to) the run that ``trigger_key``'s current version starts in ``workflow``."""
    wf = find_workflow(workflow)
    if wf is None:
        raise WorkflowNotFound(f"stage {workflow} is not implemented in this build", field="workflow")
    caller = find_workflow(run.workflow)
    if caller is not None:  # the caller waits on this run: it must be schedulable meanwhile
        check_wait(caller.name, caller.queue, wf.name, wf.queue)
    info = markers.stat(run, trigger_key)
    if info is None:
        raise StageFailed(
            f"cannot start {workflow}: trigger object {trigger_key} does not exist", code="stage_trigger_missing"
        )
    run_id = object_run_id(workflow, trigger_key, info["generation"])
    payload = ObjectEvent(
        bucket=run.bucket_name, name=trigger_key, generation=info["generation"], source="orchestrator"
    ).payload()
    payload.update(extra or {})
    wf.enqueue(run_id, payload)
    return run_id


def _status(run_id: str) -> dict[str, Any] | None:
    st = DBOS.get_workflow_status(run_id)
    if st is None:
        return None
    return {"status": st.status, "error": str(st.error) if st.error is not None else None}


def await_stage(run: Run, run_id: str, *, timeout_seconds: float, poll_seconds: float = 0.5) -> dict[str, Any]:
    """The stage's outcome dict; a stage that errored, was cancelled or ran out of time gives
    ``{"status": "FAILED", "error": ...}`` so the caller decides (fail fast, fall back, ...)."""
    start = now_epoch()
    while True:
        st = step(f"status {run_id}", _status, run_id)
        if st is not None and st["status"] == "SUCCESS":
            result: object = step(
                f"result {run_id}", lambda: DBOS.retrieve_workflow(run_id).get_result()
            )  # any JSON the stage returned
            return result if isinstance(result, dict) else {"status": "SUCCESS", "result": result}
        if st is not None and st["status"] in TERMINAL_FAILURES:
            return {"status": "FAILED", "error": st["error"] or st["status"], "run_id": run_id}
        if now_epoch() - start >= timeout_seconds:
            return {
                "status": "FAILED",
                "error": f"timed out after {timeout_seconds:.0f}s waiting for {run_id}",
                "run_id": run_id,
                "timed_out": True,
            }
        sleep(poll_seconds)


def start_run(run: Run, workflow: str, run_id: str, payload: dict[str, Any]) -> str:
    """Start (or attach to) ``workflow`` with a caller-chosen run id and a direct argument, the way
    the reference starts a workflow execution with a JSON argument (poller → import, canary →
    export). The same id from any starter means one run. Fire and forget: a caller that waits
    on the run must respect the queue tiers (``start_stage`` checks them)."""
    wf = find_workflow(workflow)
    if wf is None:
        raise WorkflowNotFound(f"stage {workflow} is not implemented in this build", field="workflow")
    wf.enqueue(run_id, payload)
    return run_id
