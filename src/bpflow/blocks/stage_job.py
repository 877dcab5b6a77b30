"""The legacy-chain stages' job template (spec-stages-assets-usd §0.3-§0.4): launch a job with
the policy's timeout and retry; when it cannot start, roll its output prefix back, write the
structured ``.failed`` (and the stage's small legacy marker), then re-raise; when it ran and
failed, keep a ``.failed`` the job (or anyone) already wrote, else write ours.

Objects-, scale-, regen3d-, interactive-, dream2flow- and dwm-pipelines differ only in names,
codes and which of these they do, so each reads as its sequence of calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, StartFailure, run_job
from bpflow.core.engine.durable import step
from bpflow.core.errors import JobStartError
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


def legacy_marker(run: Run, key: str, **fields: Any) -> None:
    """The reference's small hand-built marker ``{scene_id, status, timestamp, ...}``; a write
    error is logged by the step and swallowed (the reference swallows these)."""
    body = {"scene_id": run.scene_id, "status": "failed", "timestamp": markers.utc_iso(), **fields}

    def _do() -> bool:
        try:
            run.bucket.write_json(key, body)
            return True
        except Exception:  # noqa: BLE001 - a marker write must not mask the failure it reports
            return False

    step(f"write legacy {key}", _do)


def launch(
    run: Run,
    job: str,
    env: dict[str, Any],
    *,
    rollback: str | None,
    failed_marker: str,
    code: str,
    config_context: dict[str, Any],
    legacy: str | None = None,
    legacy_fields: dict[str, Any] | None = None,
) -> JobOutcome:
    """Run ``job``; a start failure cleans ``rollback``, writes the markers and re-raises."""
    failure = StartFailure(failed_marker, code, rollback=rollback, context=config_context)
    try:
        return run_job(
            run,
            job,
            timeout_seconds=stage_timeout(run.workflow, job),
            env=env,
            retry=stage_retry_profile(run.workflow, job),
            on_start_failure=failure,
        )
    except JobStartError as exc:
        if legacy:
            legacy_marker(run, legacy, error=exc.message, **(legacy_fields or {}))
        raise


def record_failure(
    run: Run,
    result: JobOutcome,
    *,
    failed_marker: str,
    code: str,
    message: str,
    config_context: dict[str, Any],
    keep_existing: bool = True,
) -> bool:
    """Write ``failed_marker`` for a job that ran and failed, unless one is already there and
    ``keep_existing`` (the job's richer marker wins). True when this call wrote it."""
    if keep_existing and markers.exists(run, failed_marker):
        return False
    context = dict(config_context)
    context.update(exit_code=result.exit_code, timed_out=result.timed_out, job_error=result.job_error)
    markers.write_failure(
        run,
        failed_marker,
        job_name=result.job,
        code=code.replace("_failed", "_timeout") if result.timed_out else code,
        message=message,
        execution_id=result.execution_id,
        config_context=context,
    )
    return True
