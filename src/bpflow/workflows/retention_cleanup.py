"""retention-cleanup — daily (03:00 UTC): delete pipeline objects older than their class's window.

The job does the deleting (one JSON line per deletion); the workflow launches it with the
maintenance retry policy, bounds it by its timeout and reports start/complete/failed/timeout.
"""

from __future__ import annotations

from bpflow.blocks.maintenance import MaintenanceWords, run_maintenance_job
from bpflow.blocks.params import recorded_params
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_timeout

NAME = "retention-cleanup"
JOB = "retention-cleanup-job"
WORDS = MaintenanceWords(
    "Retention cleanup", "Cleanup execution timed out after {seconds}s", lambda r: f"exit code {r.exit_code}"
)

PARAMS = {
    "bucket": ("GCS_BUCKET", None),  # None: the run's bucket
    "retention_days": ("PIPELINE_RETENTION_DAYS", "30"),
    "marker_retention_days": ("PIPELINE_MARKER_RETENTION_DAYS", "30"),
    "dry_run": ("PIPELINE_RETENTION_DRY_RUN", "false"),
}


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def retention_cleanup(run: Run) -> Outcome:
    p = recorded_params(run, PARAMS)
    bucket = str(run.bucket_name if p["bucket"] is None else p["bucket"])
    options = {
        "PIPELINE_RETENTION_DAYS": p["retention_days"],
        "PIPELINE_MARKER_RETENTION_DAYS": p["marker_retention_days"],
        "PIPELINE_RETENTION_DRY_RUN": p["dry_run"],
    }
    result = run_maintenance_job(
        run,
        NAME,
        JOB,
        report={"workflow": NAME, "job": JOB, "bucket": bucket},
        options=options,
        env={"GCS_BUCKET": bucket},
        words=WORDS,
    )
    return Outcome.success(f"Retention cleanup triggered for bucket {bucket}", execution=result.execution_id)
