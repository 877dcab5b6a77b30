"""The maintenance workflows' one shape: start log, job with the maintenance retry policy,
timeout / failed / complete logs and errors (maintenance spec §1.1, §1.2).

Only the words differ between retention-cleanup and delivery-integrity-audit, so they pass
their labels here and keep their module to the seed's sentence about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.blocks.jobs import JobOutcome, run_job
from bpflow.core import observe
from bpflow.core.errors import JobFailed, JobTimeout
from bpflow.core.policy.timeouts import stage_timeout

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


@dataclass(frozen=True)
class MaintenanceWords:
    what: str  # "Retention cleanup"
    timeout_log: str  # "Cleanup execution timed out after {seconds}s"
    failure_detail: Callable[[JobOutcome], str]


def run_maintenance_job(
    run: Run,
    workflow: str,
    job: str,
    *,
    report: dict[str, Any],
    options: dict[str, Any],
    env: dict[str, Any],
    words: MaintenanceWords,
) -> JobOutcome:
    observe.emit("maintenance_job", event="start", **report, **{k.lower(): v for k, v in options.items()})
    result = run_job(
        run, job, timeout_seconds=stage_timeout(workflow, job), env={**env, **options}, retry="maintenance"
    )
    if result.timed_out:
        observe.emit(
            "maintenance_job",
            event="timeout",
            **report,
            execution=result.execution_id,
            error=words.timeout_log.format(seconds=f"{result.timeout_seconds:.0f}"),
        )
        raise JobTimeout(f"{words.what} execution timed out: {result.execution_id}")
    if result.failed:
        detail = words.failure_detail(result)
        observe.emit("maintenance_job", event="failed", **report, execution=result.execution_id, error=detail)
        raise JobFailed(f"{words.what} execution failed: {result.execution_id} - {detail}")
    observe.emit("maintenance_job", event="complete", **report, **{k.lower(): v for k, v in options.items()})
    return result
