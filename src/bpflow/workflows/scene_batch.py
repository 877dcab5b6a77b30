"""scene-batch — manual: run every scene request listed in a manifest object.

Lock the batch, let the job check the manifest into a plan, then keep at most
``max_concurrent`` scenes in flight through the source orchestrator, retrying a failed scene
up to ``retry_attempts`` times in total with a linear backoff, and keep
``batches/<id>/batch_report.json`` current after every change, so a re-run of the same
manifest resumes (finished scenes are skipped). Reference: spec-source-and-scheduling.md §7.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks.jobs import run_job
from bpflow.blocks.lock import release, try_acquire
from bpflow.core.engine.durable import now_epoch, sleep, step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import StageFailed, ValidationFailed
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.core.stages import STAGES
from bpflow.core.storage import check_key
from bpflow.domain.automation.batch import (
    FAILED,
    INVALID,
    QUEUED,
    SKIPPED,
    SUCCESS,
    BatchPaths,
    batch_id_for,
    dlq_body,
    report_body,
    submit_scene,
)
from bpflow.domain.automation.daily import scene_outcome
from bpflow.state.cas_json import iso_z, utc_now
from bpflow.workflows._orchestrator.stage1_runtime import job_error

NAME = "scene-batch"
ORCHESTRATOR = STAGES["source-orchestrator"]
JOB = "scene-batch-job"
#: More scenes in flight than this starve the run queue's workers (each scene holds an
#: orchestrator run plus its current stage run); see docs/decisions.md.
DEFAULT_MAX_CONCURRENT = 3


def _int(run: Run, name: str, default: int, low: int = 0) -> int:
    value = run.payload.get(name)
    if value in (None, "", 0, "0"):  # zero means "not given" (reference §7.4)
        return default
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{name} must be an integer, got {value!r}", field=name) from None
    if out < low:
        raise ValidationFailed(f"{name} must be >= {low}, got {out}", field=name)
    return out


@workflow(NAME)
def scene_batch(run: Run) -> Outcome:
    manifest = run.payload.get("manifest_object")
    if not manifest:
        raise ValidationFailed("manifest_object is required to run the scene batch workflow", field="manifest_object")
    try:
        check_key(str(manifest))
    except Exception:  # noqa: BLE001 - a malformed key is the caller's mistake
        raise ValidationFailed(
            f"manifest_object {manifest!r} is not a valid object key", field="manifest_object"
        ) from None
    max_concurrent = _int(run, "max_concurrent", DEFAULT_MAX_CONCURRENT, 1)
    attempts_allowed = _int(run, "retry_attempts", 1, 1)
    retry_delay = _int(run, "retry_delay", 5)
    scene_timeout = _int(run, "scene_timeout_seconds", 7200, 1)
    poll = float(run.payload.get("poll_seconds") or 2)
    paths = BatchPaths(str(run.payload.get("batch_id") or batch_id_for(str(manifest))))
    got = step(
        f"lock {paths.lock}",
        try_acquire,
        run.bucket,
        paths.lock,
        scene_id=None,
        workflow=NAME,
        run_id=run.run_id,
        ttl_seconds=scene_timeout * attempts_allowed + 3600,
    )
    if not got["acquired"]:
        return Outcome.skipped(
            f"batch {paths.batch_id} is already running", batch_id=paths.batch_id, lock_object=paths.lock
        )
    try:
        rows = _plan(run, paths, str(manifest))
        _run_scenes(
            run,
            paths,
            str(manifest),
            rows,
            max_concurrent=max_concurrent,
            attempts_allowed=attempts_allowed,
            retry_delay=retry_delay,
            scene_timeout=scene_timeout,
            poll=poll,
        )
    finally:
        step(f"unlock {paths.lock}", release, run.bucket, paths.lock, got["generation"])
    failed = sum(1 for r in rows if r["status"] in (FAILED, INVALID))
    result = {"batch_id": paths.batch_id, "report_object": paths.report, "scene_count": len(rows), "failed": failed}
    if failed:
        raise StageFailed(
            f"scene batch {paths.batch_id}: {failed} of {len(rows)} scenes failed (see {paths.report})",
            code="scene_batch_failed",
            details=result,
        )
    return Outcome.success(
        f"scene batch {paths.batch_id}: {len(rows)} scenes succeeded", markers=[paths.report], **result
    )


def _write_report(
    run: Run, paths: BatchPaths, manifest: str, rows: list[dict[str, Any]], status: str, error: str | None = None
) -> None:
    def _do() -> None:
        run.bucket.write_json(
            paths.report,
            report_body(
                paths.batch_id, manifest, rows, status=status, error=error, now=iso_z(utc_now()), run_id=run.run_id
            ),
        )
        run.bucket.write_json(paths.dlq, dlq_body(rows))

    step(f"report {status} {sum(1 for r in rows if r['status'] in (SUCCESS, FAILED, SKIPPED))}", _do)


def _plan(run: Run, paths: BatchPaths, manifest: str) -> list[dict[str, Any]]:
    result = run_job(
        run,
        JOB,
        timeout_seconds=stage_timeout(NAME, JOB),
        env={"MANIFEST_OBJECT": manifest, "BATCH_PREFIX": paths.prefix},
    )
    if result.failed:
        err = job_error(result) or {}
        message = str(err.get("message") or f"{JOB} failed with exit code {result.exit_code}")
        _write_report(run, paths, manifest, [], "failed", message)
        raise ValidationFailed(
            message,
            code=str(err.get("code") or "scene_batch_job_failed"),
            field=err.get("field"),
            details={"batch_id": paths.batch_id, "report_object": paths.report},
        )
    plan = step("read plan", run.bucket.read_json, paths.plan)
    return [dict(r) for r in plan["scenes"]]


def _run_scenes(
    run: Run,
    paths: BatchPaths,
    manifest: str,
    rows: list[dict[str, Any]],
    *,
    max_concurrent: int,
    attempts_allowed: int,
    retry_delay: int,
    scene_timeout: int,
    poll: float,
) -> None:
    """The bounded loop: fill free slots, poll the scenes in flight, retry or settle them."""
    waiting = [r for r in rows if r["status"] == QUEUED]
    in_flight: list[dict[str, Any]] = []
    _write_report(run, paths, manifest, rows, "running")
    while waiting or in_flight:
        now = now_epoch()
        ready = [r for r in waiting if r.get("not_before", 0) <= now]
        while ready and len(in_flight) < max_concurrent:
            row = ready.pop(0)
            waiting.remove(row)
            if _start(run, row, now):
                in_flight.append(row)
            else:
                _write_report(run, paths, manifest, rows, "running")
        verdicts = step(
            "poll scenes", lambda ids=[r["scene_id"] for r in in_flight]: {i: scene_outcome(run.bucket, i) for i in ids}
        )
        now = now_epoch()
        changed = False
        for row in list(in_flight):
            verdict = verdicts.get(row["scene_id"])
            if verdict is None and now - row["started"] < scene_timeout:
                continue
            in_flight.remove(row)
            changed = True
            row["duration_seconds"] = round(now - row["started"], 3)
            if verdict is not None and verdict["status"] == SUCCESS:
                row.update(status=SUCCESS, error=None, incomplete=bool(verdict.get("incomplete")))
            elif row["attempts"] < attempts_allowed:
                row.update(status=QUEUED, retry=True, not_before=now + retry_delay * row["attempts"])
                waiting.append(row)
            else:
                reason = "timed out" if verdict is None else f"{ORCHESTRATOR.workflow} failed"
                row.update(status=FAILED, error=f"Failed after {row['attempts']} attempts: {reason}")
        if changed:
            _write_report(run, paths, manifest, rows, "running")
        if waiting or in_flight:
            sleep(poll)
    _write_report(run, paths, manifest, rows, "completed")


def _start(run: Run, row: dict[str, Any], now: float) -> bool:
    """Submit one scene; False when it needs no run (already succeeded earlier) or cannot have one."""
    scene_id, retry = row["scene_id"], bool(row.get("retry"))
    if not retry:
        earlier = step(f"earlier outcome {scene_id}", scene_outcome, run.bucket, scene_id)
        same = step(
            f"same request {scene_id}",
            lambda: run.bucket.read_json_or_none(ORCHESTRATOR.trigger_key(scene_id)) == row["request"],
        )
        if earlier is not None and earlier["status"] == SUCCESS and same:
            row.update(status=SKIPPED, attempts=row.get("attempts", 0), error=None)
            return False
        retry = earlier is not None and same  # resumed after a failure: run it again
    how = step(
        f"submit {scene_id} attempt {row.get('attempts', 0) + 1}",
        submit_scene,
        run.bucket,
        scene_id,
        row["request"],
        retry=retry,
    )
    if how == "conflict":
        row.update(
            status=INVALID,
            attempts=0,
            error="scene_exists: another request already owns this scene id",
            problems=[
                {"field": "scene_id", "message": "another request already owns this scene id", "code": "scene_exists"}
            ],
        )
        return False
    row["attempts"] = row.get("attempts", 0) + 1
    row["started"] = now
    return True
