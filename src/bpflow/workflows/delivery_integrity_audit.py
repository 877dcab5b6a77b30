"""delivery-integrity-audit — weekly (Monday 03:00 UTC, off unless ENABLE_DELIVERY_INTEGRITY_AUDIT),
or by hand: re-hash every delivered bundle against its checksums manifest and write the report
under the audit prefix. Reference: spec-maintenance-queues-retrieval-policy.md §1.2.
"""

from __future__ import annotations

from bpflow import observe
from bpflow.blocks.jobs import run_job
from bpflow.blocks.timeouts import stage_timeout
from bpflow.engine.registry import Outcome, Run, workflow
from bpflow.errors import JobFailed, JobTimeout

NAME = "delivery-integrity-audit"
JOB = "dataset-delivery-integrity-audit-job"


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def delivery_integrity_audit(run: Run) -> Outcome:
    bucket = str(run.param("delivery_bucket", "DELIVERY_BUCKET", None) or run.param("bucket", "GCS_BUCKET", run.bucket_name))
    options = {
        "DELIVERY_PREFIX": run.param("delivery_prefix", "DELIVERY_PREFIX", "deliveries/"),
        "AUDIT_REPORT_BUCKET": run.param("report_bucket", "AUDIT_REPORT_BUCKET", None),
        "AUDIT_REPORT_PREFIX": run.param("report_prefix", "AUDIT_REPORT_PREFIX", "audit-reports/delivery-integrity"),
        "MAX_BUNDLES": run.param("max_bundles", "MAX_BUNDLES", "100"),
        "MAX_FILES_PER_BUNDLE": run.param("max_files_per_bundle", "MAX_FILES_PER_BUNDLE", "0"),
    }
    report = {"workflow": NAME, "job": JOB, "delivery_bucket": bucket}
    observe.emit("maintenance_job", event="start", **report, **{k.lower(): v for k, v in options.items()})
    result = run_job(run, JOB, timeout_seconds=stage_timeout(NAME, JOB), env={"BUCKET": bucket, **options}, retry="maintenance")
    if result.timed_out:
        observe.emit("maintenance_job", event="timeout", **report, execution=result.execution_id, error=f"Audit execution timed out after {result.timeout_seconds:.0f}s")
        raise JobTimeout(f"Delivery integrity audit timed out: {result.execution_id}")
    if result.failed:
        err = result.job_error or {}
        message = err.get("message") or ("integrity failures found (see the audit report)" if result.exit_code == 1 else f"exit code {result.exit_code}")
        observe.emit("maintenance_job", event="failed", **report, execution=result.execution_id, error=message)
        raise JobFailed(f"Delivery integrity audit failed: {result.execution_id} - {message}", code="delivery_integrity_failed")
    observe.emit("maintenance_job", event="complete", **report)
    return Outcome.success(f"Delivery integrity audit triggered for bucket {bucket}", execution=result.execution_id)
