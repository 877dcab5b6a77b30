"""The workflow side of a queue consumer, shared by the embedding and replication pipelines.

One run per queue object event. A duplicate event (the object already filed) is skipped
without starting a job; otherwise the job is started for this object (it drains the backlog
after it) and the run's outcome is the filed result of *its own* object, so a run never
reports another item's failure and a failed item fails exactly one run.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks.jobs import run_job
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run
from bpflow.core.errors import JobFailed, StageFailed
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.domain.assets_queue.queue import QueuePaths, own_result


def _state(run: Run, paths: QueuePaths, key: str) -> dict[str, Any]:
    return {"exists": run.bucket.exists(key), "result": own_result(run.bucket, paths, key)}


def consume_queue_object(
    run: Run, *, workflow: str, job: str, paths: QueuePaths, what: str, env: dict[str, Any]
) -> Outcome:
    key = run.object_name or ""
    if not paths.owns(key):
        return Outcome.skipped(f"Not {what} queue object: {key}")
    before = step(f"queue state {key}", _state, run, paths, key)
    if not before["exists"]:
        if before["result"] is not None:
            return _filed_outcome(run, key, before["result"], None)
        return Outcome.skipped(f"Queue object {key} no longer exists")
    result = run_job(
        run, job, timeout_seconds=stage_timeout(workflow, job), env={"QUEUE_OBJECT": key, **env}, retry="none"
    )
    filed = step(f"queue result {key}", lambda: own_result(run.bucket, paths, key))
    if filed is None:
        if result.failed:
            raise JobFailed(
                f"Cloud Run job failed: {job} ({result.execution_id})",
                code=f"{job.removesuffix('-job').replace('-', '_')}_failed",
                details={"queue_object": key, "exit_code": result.exit_code, "log": result.log_path},
            )
        return Outcome.skipped(
            f"Queue object {key} is being processed by another consumer", job_execution=result.execution_id
        )
    return _filed_outcome(run, key, filed, result.execution_id)


def _filed_outcome(run: Run, key: str, filed: dict[str, Any], execution: str | None) -> Outcome:
    """The run of the object version that was processed reports the item's result (a failed
    item fails exactly that run); a redelivery naming another version only notes it."""
    details = {
        "queue_object": key,
        "job_execution": execution,
        "result_object": filed["result_object"],
        "result": filed.get("result"),
    }
    if str(filed.get("queue_generation")) != run.generation:
        return Outcome.skipped(f"Queue object {key} was already processed ({filed.get('status')})", **details)
    if filed.get("status") != "succeeded":
        errors = (filed.get("result") or {}).get("errors") or []
        raise StageFailed(
            f"Queue item {key} failed: {'; '.join(map(str, errors[:5]))}", code="queue_item_failed", details=details
        )
    return Outcome.success(f"Queue item {key} processed", **details)
