"""scene-generation-pipeline — manual, or its daily schedule 0 8 * * * America/Los_Angeles
(off unless ENABLE_SCENE_GENERATION_SCHEDULER=true).

Route to a healthy region, stop at a dry run, let the job invent the scenes, publish each
request to its scene (the source orchestrator takes it from there) and mark it generated.
A job that cannot start clears ``scene-generation/`` (the reference's cleanup, B7; off with
``SCENE_GENERATION_CLEANUP_ON_START_FAILURE=false``) and writes ``scene-generation/.failed``.
Reference: spec-source-and-scheduling.md §6.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import run_job
from bpflow.blocks.params import recorded_params
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import StageFailed, ValidationFailed
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.core.runners.base import check_available
from bpflow.core.stages import STAGES
from bpflow.domain.automation.daily import publish_request
from bpflow.domain.automation.generation import COMPLETE_MARKER, FAILED_MARKER, PREFIX, run_dir
from bpflow.jobs import job_module
from bpflow.state.cas_json import iso_z, utc_now
from bpflow.state.routing import RegionRouter

NAME = "scene-generation-pipeline"
JOB = "scene-generation-job"
PARAMS = {
    "scenes_per_run": ("SCENES_PER_RUN", 10),
    "bucket": ("PRIMARY_BUCKET", None),  # None: the run's bucket
    "cleanup_on_start_failure": ("SCENE_GENERATION_CLEANUP_ON_START_FAILURE", "true"),
}


def _job_healthy(_region: str) -> bool:
    """A local "region" is healthy when its runner takes jobs and the job is installed."""
    import importlib.util

    check_available()
    return importlib.util.find_spec(job_module(JOB)) is not None


def _publish(run: Run, folder: str, scene_id: str) -> str:
    if publish_request(run.bucket, scene_id, run.bucket.read_json(f"{folder}/requests/{scene_id}.json")) == "existing":
        return "existing"
    run.bucket.write_json(
        f"scenes/{scene_id}/{COMPLETE_MARKER}",
        {
            "scene_id": scene_id,
            "completed_at": iso_z(utc_now()),
            "source": JOB,
            "ready_for": STAGES["source-orchestrator"].workflow,
            "run_id": run.run_id,
        },
    )
    return "published"


@workflow(NAME, timeout_seconds=stage_timeout(NAME, JOB) + 300)
def scene_generation(run: Run) -> Outcome:
    p = recorded_params(run, PARAMS)
    raw_count = p["scenes_per_run"]
    try:
        count = int(raw_count)
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"scenes_per_run must be an integer, got {raw_count!r}", field="scenes_per_run"
        ) from None
    bucket = str(run.bucket_name if p["bucket"] is None else p["bucket"])
    route = step("region routing", lambda: RegionRouter(None, None, _job_healthy).choose().__dict__)
    if run.payload.get("dry_run") is True:
        return Outcome(
            "DRY_RUN", f"Would have generated {count} scenes", [], {"bucket": bucket, "region": route["region"]}
        )

    cleanup = parse_bool(p["cleanup_on_start_failure"], True, strict=True)
    result = run_job(
        run,
        JOB,
        timeout_seconds=stage_timeout(NAME, JOB),
        env={"SCENES_PER_RUN": count, "DRY_RUN": "false"},
        outputs=PREFIX + "/" if cleanup else None,
        failure_marker=FAILED_MARKER,
    )
    context: dict[str, Any] = {"scenes_per_run": count, "bucket": bucket, "region": route["region"]}
    if result.failed:
        err = result.job_error or {}
        markers.write_failure(
            run,
            FAILED_MARKER,
            job_name=JOB,
            code="scene_generation_failed",
            message=str(err.get("message") or "Scene generation job failed"),
            config_context=context,
        )
        raise StageFailed(
            "Scene generation job failed", code="scene_generation_failed", details={**context, "job_error": err}
        )
    folder = run_dir(result.execution_id)
    report = markers.read_json(run, f"{folder}/report.json") or {}
    published = {sid: step(f"publish {sid}", _publish, run, folder, sid) for sid in report.get("scene_ids", [])}
    return Outcome.success(
        f"Generated {len(published)} scenes successfully",
        markers=[f"scenes/{s}/{COMPLETE_MARKER}" for s in published],
        execution=result.execution_id,
        scene_ids=list(published),
        published=published,
        **context,
    )
