"""text-autonomy-daily — schedule 0 9 * * * America/New_York (opt-in), or by hand with run_date.

Take the day's lock, stop if paused, let the emitter invent the day's requests, publish each
to its scene's trigger path (source-orchestrator runs it), wait for every scene's verdict,
then update the failure streak (pausing after N failed days), write the run summary and
release the lock. Reference: spec-source-and-scheduling.md §5; decisions in docs/decisions.md
("Automation").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, run_job
from bpflow.blocks.lock import release, try_acquire
from bpflow.blocks.params import recorded_params
from bpflow.core.config import get_settings
from bpflow.core.engine.durable import now_epoch, sleep, step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError, StageFailed, ValidationFailed
from bpflow.domain.automation.daily import publish, read_index, scene_outcome
from bpflow.domain.automation.state import (
    AUTO_PAUSE,
    FAILED,
    PAUSED,
    RUN_DATE,
    SCHEMA_VERSION,
    SKIPPED,
    WORKFLOW,
    DailyPaths,
    decide_status,
    next_state,
    parse_state,
)
from bpflow.state.cas_json import iso_z, parse_iso, read_versioned_json, update_json, utc_now

#: The lock outlives a crashed run by this much at most, then the next run of the date takes it.
LOCK_TTL_SECONDS = 2 * 86400


def _run_date(run: Run, tz_name: str) -> str:
    """Payload ``run_date``; else the scheduled tick's date in the schedule's zone; else today (UTC)."""
    given = run.payload.get("run_date")
    if given is not None:
        if not isinstance(given, str) or not RUN_DATE.match(given):
            raise ValidationFailed(f"run_date must be YYYY-MM-DD, got {given!r}", field="run_date")
        return given
    fired = parse_iso(run.payload.get("scheduled_time"))
    if fired is not None:
        try:
            return fired.astimezone(ZoneInfo(tz_name)).date().isoformat()
        except Exception:  # noqa: BLE001 - an invalid zone falls back to UTC
            return fired.date().isoformat()
    return step("utc date", lambda: datetime.now(UTC).date().isoformat())


def _wait_scene(run: Run, scene_id: str, *, timeout: float, poll: float) -> dict[str, Any]:
    """Poll one scene's verdict; past the deadline it counts as FAILED (deviation from B5)."""
    start = now_epoch()
    while True:
        got = step(f"outcome {scene_id}", scene_outcome, run.bucket, scene_id)
        if got is not None:
            return got
        if now_epoch() - start >= timeout:
            return {"scene_id": scene_id, "status": FAILED, "timed_out": True}
        sleep(poll)


@workflow(WORKFLOW)
def text_autonomy_daily(run: Run) -> Outcome:
    s = get_settings()
    tz_name = s.text_autonomy_timezone
    bucket = recorded_params(run, {"bucket": ("PRIMARY_BUCKET", None)})["bucket"]  # None: the run's bucket
    bucket_name = str(run.bucket_name if bucket is None else bucket)
    paths = DailyPaths(s.text_autonomy_state_prefix.strip("/"), _run_date(run, tz_name))
    now = step("run timestamp", lambda: iso_z(utc_now()))

    got = step(
        f"lock {paths.workflow_lock}",
        try_acquire,
        run.bucket,
        paths.workflow_lock,
        scene_id=None,
        workflow=WORKFLOW,
        run_id=run.run_id,
        ttl_seconds=LOCK_TTL_SECONDS,
    )
    if not got["acquired"]:
        return Outcome(
            SKIPPED,
            "duplicate_run",
            [],
            {"reason": "duplicate_run", "run_date": paths.run_date, "lock_object": paths.workflow_lock},
        )

    paused = markers.exists(run, paths.pause_marker) or step(
        "read state", lambda: parse_state(read_versioned_json(run.bucket, paths.state).value).paused
    )
    outcomes: list[dict[str, Any]] = []
    pause_after, failures = False, 0
    if paused:
        status, error = PAUSED, "autonomy_paused"
    else:
        status, error, outcomes = _emit_and_wait(run, paths, bucket_name, tz_name)
        written = step(
            "update state",
            update_json,
            run.bucket,
            paths.state,
            lambda cur: next_state(
                cur, status, error, run_date=paths.run_date, now=now, threshold=s.text_daily_pause_after_consec_fails
            ),
        )
        assert written is not None  # next_state always returns a state to write, never None (leave alone)
        failures, pause_after = int(written["consecutive_failures"]), bool(written["paused"])
        if pause_after:
            step(
                "write pause marker",
                run.bucket.write_json,
                paths.pause_marker,
                {
                    "schema_version": SCHEMA_VERSION,
                    "paused": True,
                    "reason": AUTO_PAUSE,
                    "consecutive_failures": failures,
                    "threshold": s.text_daily_pause_after_consec_fails,
                    "timestamp": now,
                    "run_date": paths.run_date,
                },
            )
        else:
            markers.delete(run, paths.pause_marker)

    counts = {k: sum(1 for o in outcomes if o["status"] == k) for k in ("SUCCESS", "FAILED")}
    fallbacks = sum(1 for o in outcomes if o.get("source_type") == "image_fallback" and o["status"] != FAILED)
    summary = {
        "schema_version": SCHEMA_VERSION,
        "workflow": WORKFLOW,
        "run_date": paths.run_date,
        "timestamp": now,
        "status": status,
        "error": error,
        "bucket": bucket_name,
        "state_object": paths.state,
        "emitted_index_object": paths.emitted_index,
        "scene_count": len(outcomes),
        "success_count": counts["SUCCESS"] - fallbacks,
        "failed_count": counts["FAILED"],
        "image_fallback_count": fallbacks,
        "pause_after_run": pause_after,
        "consecutive_failures": failures,
        "daily_quota": s.text_daily_quota,
        "quality_tier": s.text_autonomy_quality_tier,
        "provider_policy": s.text_autonomy_provider_policy,
        "timezone": tz_name,
        "scenes": outcomes,
        "run_id": run.run_id,
    }
    step("write summary", run.bucket.write_json, paths.summary, summary)
    step(f"unlock {paths.workflow_lock}", release, run.bucket, paths.workflow_lock, got["generation"])

    result = {"run_date": paths.run_date, "summary_object": paths.summary}
    if status == FAILED:
        raise StageFailed(f"text-autonomy-daily failed: {error}", code="text_autonomy_failed", details=result)
    if status == PAUSED:
        return Outcome(PAUSED, "autonomy_paused", [], result)
    return Outcome(
        status,
        error,
        [paths.summary],
        {
            **result,
            "emitted_index_object": paths.emitted_index,
            "success_count": summary["success_count"],
            "failed_count": counts["FAILED"],
        },
    )


def _emit_and_wait(
    run: Run, paths: DailyPaths, bucket_name: str, tz_name: str
) -> tuple[str, str, list[dict[str, Any]]]:
    s = get_settings()
    job = s.text_autonomy_emitter_job_name
    try:
        result = _run_emitter(run, job, paths, bucket_name, tz_name)
    except JobStartError as exc:
        return FAILED, f"emitter_failed: {exc.message}", []
    if result.failed:
        return FAILED, f"emitter_failed: Cloud Run job failed: {job} ({result.execution_id})", []
    scene_ids, index_error = step("read emitted index", read_index, run.bucket, paths)
    if index_error:
        return FAILED, index_error, []
    for scene_id in scene_ids:
        step(f"publish {scene_id}", publish, run.bucket, paths, scene_id)
    outcomes = [
        _wait_scene(
            run, sid, timeout=s.text_autonomy_source_wait_timeout_seconds, poll=s.text_autonomy_source_wait_poll_seconds
        )
        for sid in scene_ids
    ]
    status, error = decide_status(outcomes)
    return status, error, outcomes


def _run_emitter(run: Run, job: str, paths: DailyPaths, bucket_name: str, tz_name: str) -> JobOutcome:
    s = get_settings()
    return run_job(
        run,
        job,
        timeout_seconds=s.text_autonomy_emitter_timeout_seconds,
        env={
            "BUCKET": bucket_name,
            "TEXT_DAILY_QUOTA": s.text_daily_quota,
            "TEXT_AUTONOMY_STATE_PREFIX": paths.prefix,
            "TEXT_AUTONOMY_TIMEZONE": tz_name,
            "TEXT_AUTONOMY_RUN_DATE": paths.run_date,
            "TEXT_AUTONOMY_PROVIDER_POLICY": s.text_autonomy_provider_policy,
            "TEXT_AUTONOMY_QUALITY_TIER": s.text_autonomy_quality_tier,
            "TEXT_AUTONOMY_TEXT_BACKEND": s.text_autonomy_text_backend,
            "TEXT_AUTONOMY_SEED_COUNT": s.text_autonomy_seed_count,
            "TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK": s.text_autonomy_allow_image_fallback,
        },
    )
