"""delivery-integrity-audit — weekly (Monday 03:00 UTC, off unless ENABLE_DELIVERY_INTEGRITY_AUDIT),
or by hand: re-hash every delivered bundle against its checksums manifest and write the report
under the audit prefix. Reference: spec-maintenance-queues-retrieval-policy.md §1.2.
"""

from __future__ import annotations

from bpflow.blocks.jobs import JobOutcome
from bpflow.blocks.maintenance import MaintenanceWords, run_maintenance_job
from bpflow.blocks.params import recorded_params
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_timeout

NAME = "delivery-integrity-audit"
JOB = "dataset-delivery-integrity-audit-job"


def _detail(result: JobOutcome) -> str:
    err = result.job_error or {}
    if err.get("message"):
        return str(err["message"])
    return (
        "integrity failures found (see the audit report)" if result.exit_code == 1 else f"exit code {result.exit_code}"
    )


WORDS = MaintenanceWords("Delivery integrity audit", "Audit execution timed out after {seconds}s", _detail)
PARAMS = {
    "delivery_bucket": ("DELIVERY_BUCKET", None),
    "bucket": ("GCS_BUCKET", None),  # None: the run's bucket
    "delivery_prefix": ("DELIVERY_PREFIX", "deliveries/"),
    "report_bucket": ("AUDIT_REPORT_BUCKET", None),
    "report_prefix": ("AUDIT_REPORT_PREFIX", "audit-reports/delivery-integrity"),
    "max_bundles": ("MAX_BUNDLES", "100"),
    "max_files_per_bundle": ("MAX_FILES_PER_BUNDLE", "0"),
}


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def delivery_integrity_audit(run: Run) -> Outcome:
    p = recorded_params(run, PARAMS)
    bucket = str(p["delivery_bucket"] or (run.bucket_name if p["bucket"] is None else p["bucket"]))
    options = {
        "DELIVERY_PREFIX": p["delivery_prefix"],
        "AUDIT_REPORT_BUCKET": p["report_bucket"],
        "AUDIT_REPORT_PREFIX": p["report_prefix"],
        "MAX_BUNDLES": p["max_bundles"],
        "MAX_FILES_PER_BUNDLE": p["max_files_per_bundle"],
    }
    result = run_maintenance_job(
        run,
        NAME,
        JOB,
        report={"workflow": NAME, "job": JOB, "delivery_bucket": bucket},
        options=options,
        env={"BUCKET": bucket},
        words=WORDS,
    )
    return Outcome.success(f"Delivery integrity audit triggered for bucket {bucket}", execution=result.execution_id)
