"""retention-cleanup — daily (03:00 UTC): delete pipeline objects older than their class's window.

The job does the deleting (one JSON line per deletion); the workflow launches it with the
maintenance retry policy, bounds it by its timeout and reports start/complete/failed/timeout.
"""

from __future__ import annotations

from bpflow import observe
from bpflow.blocks.jobs import run_job
from bpflow.blocks.timeouts import stage_timeout
from bpflow.engine.registry import Outcome, Run, workflow
from bpflow.errors import JobFailed, JobTimeout

NAME = "retention-cleanup"
JOB = "retention-cleanup-job"


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def retention_cleanup(run: Run) -> Outcome:
    bucket = str(run.param("bucket", "GCS_BUCKET", run.bucket_name))
    options = {
        "PIPELINE_RETENTION_DAYS": run.param("retention_days", "PIPELINE_RETENTION_DAYS", "30"),
        "PIPELINE_MARKER_RETENTION_DAYS": run.param("marker_retention_days", "PIPELINE_MARKER_RETENTION_DAYS", "30"),
        "PIPELINE_RETENTION_DRY_RUN": run.param("dry_run", "PIPELINE_RETENTION_DRY_RUN", "false"),
    }
    report = {"workflow": NAME, "job": JOB, "bucket": bucket}
    observe.emit("maintenance_job", event="start", **report, **{k.lower(): v for k, v in options.items()})

    result = run_job(run, JOB, timeout_seconds=stage_timeout(NAME, JOB), env={"GCS_BUCKET": bucket, **options}, retry="maintenance")

    if result.timed_out:
        observe.emit("maintenance_job", event="timeout", **report, execution=result.execution_id, error=f"Cleanup execution timed out after {result.timeout_seconds:.0f}s")
        raise JobTimeout(f"Retention cleanup execution timed out: {result.execution_id}")
    if result.failed:
        observe.emit("maintenance_job", event="failed", **report, execution=result.execution_id, error=result.stderr_tail[-500:])
        raise JobFailed(f"Retention cleanup execution failed: {result.execution_id} - exit code {result.exit_code}")
    observe.emit("maintenance_job", event="complete", **report, **{k.lower(): v for k, v in options.items()})
    return Outcome.success(f"Retention cleanup triggered for bucket {bucket}", execution=result.execution_id)
