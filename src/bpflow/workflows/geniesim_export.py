"""genie-sim-export-pipeline — Stage 4, Genie Sim path. Trigger: ``scenes/*/variation_assets/.variation_pipeline_complete``.

Circuit breaker → canary route (rollback marker) → region → scene config → skip when
``geniesim/.geniesim_complete`` exists → preflight (scene manifest) → ``genie-sim-export-job``
→ provenance report → submission idempotency → ``genie-sim-gpu-job`` (the Genie Sim runtime)
→ job.json: ``completed`` → the import (inline), then ``.geniesim_complete``; ``failed`` →
``.failed`` and raise; anything else → ``.geniesim_submitted`` (the poller finishes it).
Reference: spec-geniesim-episodes-arena-training.md §2.1, §1.4–§1.7.

Decisions (docs/decisions.md, "Genie Sim"): the breaker follows DESIGN.md (opens at the
threshold; a half-open trial is the next real run, not a probe); a rollback marker routes the
scene's next exports to the stable image instead of stopping them; the import runs inline in
this durable run (a stage run never waits on a run of its own queue tier) and its marker must
name this job; a breaker-open stop is a SKIPPED outcome carrying the reference's message.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, StartFailure, run_job
from bpflow.blocks.lock import fresh_attempt
from bpflow.blocks.params import recorded_params
from bpflow.core import observe
from bpflow.core.config import get_settings, parse_bool
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError, StageFailed
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES
from bpflow.core.storage import object_uri
from bpflow.domain.geniesim import regions, runtime
from bpflow.state import canary, idempotency
from bpflow.state.circuit_breaker import CircuitBreaker
from bpflow.state.routing import RegionRouter
from bpflow.workflows.geniesim_import import import_episodes

STAGE, IMPORT_STAGE = STAGES["genie-sim-export"], STAGES["genie-sim-import"]
NAME, IMPORT = STAGE.workflow, IMPORT_STAGE.workflow
(SUBMITTED,), (FAILED, LEGACY_FAILED) = STAGE.complete, STAGE.failed
GENIESIM_COMPLETE, IMPORT_COMPLETE = IMPORT_STAGE.complete
EXPORT_JOB, GPU_JOB = "genie-sim-export-job", "genie-sim-gpu-job"
TRIGGER = STAGE.trigger_re
SLA_SECONDS = 14400  # the generation SLA (spec §1.2); GENIESIM_SLA_SECONDS overrides it
IMPORT_TIMEOUT = stage_timeout(IMPORT, "genie-sim-import-job") + 600  # the import runs inline
TIMEOUT = stage_timeout(NAME, EXPORT_JOB) + stage_timeout(NAME, GPU_JOB) + IMPORT_TIMEOUT
PARAMS = {
    "canary_enabled": (None, False),
    "canary_rollback_marker": ("CANARY_ROLLBACK_MARKER", ""),
    "robot_type": (None, "franka"),
    "robot_types": (None, None),
    "episodes_per_task": ("EPISODES_PER_TASK", idempotency.DEFAULT_EPISODES_PER_TASK),
    "quality_thresholds": (None, {}),
    "max_tasks": ("GENIESIM_MAX_TASKS", "50"),
    "allow_idempotent_retry": ("ALLOW_IDEMPOTENT_RETRY", None),
    "sla_seconds": ("GENIESIM_SLA_SECONDS", SLA_SECONDS),
    "geniesim_runtime": ("GENIESIM_RUNTIME", "local"),
    "canary_scene_ids": (None, ""),
    "geniesim_async": ("GENIESIM_ASYNC", "false"),
    "canary_tags": ("CANARY_TAGS", ""),
    "canary_percent": ("CANARY_PERCENT", "0"),
    "canary_release_channel": ("CANARY_RELEASE_CHANNEL", None),  # None: the settings' channel
}


def _breaker(run: Run) -> CircuitBreaker:
    return CircuitBreaker(run.bucket, str(run.scene_id))


def breaker_check(run: Run) -> dict[str, Any]:
    def _do() -> dict[str, Any]:
        d = _breaker(run).check()
        return {"allowed": d.allowed, "trial": d.trial, "message": d.message}

    return step("circuit breaker check", _do)


def breaker_failure(run: Run, reason: str) -> None:
    step(f"circuit breaker failure {reason}", lambda: _breaker(run).record_failure(reason))


def breaker_success(run: Run) -> None:
    step("circuit breaker success", lambda: _breaker(run).record_success())


def choose_region(run: Run) -> dict[str, Any]:
    def _do() -> dict[str, Any]:
        env = dict(run.context.env)
        d = RegionRouter(None, None, lambda r: regions.healthy(run.settings.home, r, env)).choose()
        return {
            "region": d.region,
            "reason": d.reason,
            "failures": d.failures,
            "runner": regions.runner_for(d.region, env),
        }

    return step("region routing", _do)


def canary_route(run: Run, p: dict[str, Any]) -> dict[str, Any]:
    """The image for this run. A rollback marker sends the scene back to stable (it stays there
    until an operator deletes the marker)."""
    enabled = parse_bool(p["canary_enabled"], False, strict=False)
    marker = str(p["canary_rollback_marker"] or "")

    def _do() -> dict[str, Any]:
        r = canary.route(run.bucket, str(run.scene_id), canary_enabled=enabled, rollback_marker=marker or None)
        stable = canary.CanaryConfig.from_settings().stable_image_tag
        return {
            "rolled_back": r.skip,
            "canary_enabled": r.canary_enabled and not r.skip,
            "image_tag": stable if r.skip else r.image_tag,
            "rollback_marker": r.rollback_marker,
            "message": r.message,
        }

    return step("canary route", _do)


def scene_object(run: Run, rel: str) -> dict[str, Any]:
    """A scene JSON object, ``{}`` when missing or unparseable (the reference's reading of both
    ``config.json`` — Genie Sim then stays enabled — and ``task_config.json`` for the hash)."""

    def _do() -> dict[str, Any]:
        try:
            body = run.bucket.read_json_or_none(run.scene(rel))
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    return step(f"read {rel}", _do)


def read_job(run: Run) -> dict[str, Any]:
    """job.json as the workflow consumes it; unreadable → job ``unknown``, ``submitted``."""

    def _do() -> dict[str, Any]:
        try:
            job = run.bucket.read_json_or_none(run.scene("geniesim/job.json"))
        except ValueError:
            job = None
        if not isinstance(job, dict):
            return {
                "job_id": "unknown",
                "status": "submitted",
                "episodes_prefix": None,
                "failure_reason": "unknown",
                "failure_details": None,
                "job_metrics": None,
            }
        arts = raw_arts if isinstance(raw_arts := job.get("artifacts"), dict) else {}
        return {
            "job_id": str(job.get("job_id") or "unknown"),
            "status": str(job.get("status") or "submitted"),
            "episodes_prefix": arts.get("episodes_path") or arts.get("episodes_prefix"),
            "failure_reason": job.get("failure_reason") or "unknown",
            "failure_details": job.get("failure_details"),
            "job_metrics": job.get("job_metrics") if isinstance(job.get("job_metrics"), dict) else None,
        }

    return step("read job.json", _do)


def keep_or_write_failure(run: Run, result: JobOutcome, **context: Any) -> None:
    """The reference's rule: a ``.failed`` the job wrote during this run is kept; otherwise the
    generic one is written (with the job's own error). The legacy marker always follows."""
    from bpflow.blocks.wait import run_created_at

    key = run.scene(FAILED)
    existing = markers.stat(run, key)
    if existing is None or existing["updated"] < run_created_at(run):
        job_error = result.job_error or {}
        message = "Genie Sim export failed" + (f": {job_error['message']}" if job_error.get("message") else "")
        markers.write_failure(
            run,
            key,
            job_name=EXPORT_JOB,
            code="geniesim_export_failed",
            message=message,
            execution_id=result.execution_id,
            config_context={**context, "job_error": result.job_error, "log": result.log_path},
        )
    markers.write_marker(run, run.scene(LEGACY_FAILED), status="failed")


def submission_inputs(p: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    robot_type = str(config.get("robot_type") or p["robot_type"])
    robot_types = config.get("robot_types") or p["robot_types"] or [robot_type]
    per_task = config.get("episodes_per_task", p["episodes_per_task"])
    thresholds = config.get("quality_thresholds", p["quality_thresholds"])
    return {
        "robot_type": robot_type,
        "robot_types": list(robot_types),
        "episodes_per_task": per_task,
        "quality_thresholds": thresholds if isinstance(thresholds, dict) else {},
    }


@workflow(NAME, timeout_seconds=TIMEOUT)
def geniesim_export(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a replicator completion marker file or Genie Sim disabled: {run.object_name}")
    scene = run.scene_id
    p = recorded_params(run, PARAMS)
    gate = breaker_check(run)
    if not gate["allowed"]:
        return Outcome.skipped(gate["message"], scene_id=scene)
    route = canary_route(run, p)
    region = choose_region(run)
    config = scene_object(run, "config.json")
    if config.get("use_geniesim") is False:
        return Outcome.skipped(
            f"Not a replicator completion marker file or Genie Sim disabled: {run.object_name}", scene_id=scene
        )
    with fresh_attempt(
        run,
        STAGE,
        "genie-sim-export",
        ttl_seconds=TIMEOUT,
        complete=GENIESIM_COMPLETE,
        done=f"Genie Sim already complete for scene {scene}",
    ) as skipped:
        if skipped is not None:
            return skipped
        if not markers.exists(run, run.scene("assets/scene_manifest.json")):
            markers.write_failure(
                run,
                run.scene(FAILED),
                job_name=NAME,
                code="PREFLIGHT_MISSING_SCENE_MANIFEST",
                message=f"scene_manifest.json not found at scenes/{scene}/assets/scene_manifest.json",
            )
            raise StageFailed(
                f"Pre-flight failed: scene_manifest.json missing for {scene}",
                code="preflight_missing_scene_manifest",
                field="assets/scene_manifest.json",
            )
        inputs = submission_inputs(p, config)
        return export_and_submit(run, scene, inputs, route, region, gate["trial"], p)


def export_and_submit(
    run: Run,
    scene: str,
    inputs: dict[str, Any],
    route: dict[str, Any],
    region: dict[str, Any],
    trial: bool,
    p: dict[str, Any],
) -> Outcome:
    geniesim = run.scene("geniesim")
    env = {
        "ASSETS_PREFIX": run.scene("assets"),
        "GENIESIM_PREFIX": geniesim,
        "VARIATION_ASSETS_PREFIX": run.scene("variation_assets"),
        "REPLICATOR_PREFIX": run.scene("replicator"),
        "USD_PREFIX": run.scene("usd"),
        "ROBOT_TYPE": inputs["robot_type"],
        "MAX_TASKS": str(p["max_tasks"]),
        "FILTER_COMMERCIAL": "true",
        "COPY_USD": "true",
        "REQUIRE_QUALITY_GATES": "true",
        "ENABLE_MULTI_ROBOT": "true",
        "ENABLE_VLA_PACKAGES": "true",
        "GENIESIM_REGION": region["region"],
    }
    try:
        result = run_job(
            run,
            EXPORT_JOB,
            timeout_seconds=stage_timeout(NAME, EXPORT_JOB),
            env=env,
            retry=stage_retry_profile(NAME, EXPORT_JOB),
            runner=region["runner"],
            on_start_failure=StartFailure(
                run.scene(FAILED),
                "geniesim_export_start_failed",
                rollback=geniesim,
                context={"geniesim_prefix": geniesim},
            ),
        )
    except JobStartError:
        breaker_failure(run, "geniesim_export_start_failed")
        raise
    if result.failed:
        breaker_failure(run, "geniesim_export_failed")
        keep_or_write_failure(
            run, result, robot_type=inputs["robot_type"], filter_commercial=True, max_tasks=env["MAX_TASKS"]
        )
        return Outcome.failed(f"Genie Sim export failed for scene {scene}", scene_id=scene, job_error=result.job_error)
    provenance = run.scene("geniesim/legal/asset_provenance.json")
    if not markers.exists(run, provenance):
        raise StageFailed(
            f"Missing asset provenance report at {object_uri(run.bucket_name, provenance)}",
            code="provenance_missing",
            field="legal/asset_provenance.json",
        )
    hashed = idempotency.build_inputs(
        scene,
        scene_object(run, "geniesim/task_config.json"),
        inputs["robot_types"],
        inputs["episodes_per_task"],
        inputs["quality_thresholds"],
    )
    marker = step("read idempotency marker", lambda: idempotency.read_marker(run.bucket, scene, hashed))
    allow_retry = bool(p["allow_idempotent_retry"])
    action = idempotency.decide(marker, allow_retry)
    if action == "skip":
        return Outcome.skipped(idempotency.skip_message(scene, marker or {}), scene_id=scene)
    if action == "raise":
        raise idempotency.blocked_error(scene, marker or {})
    job = submit(run, scene, inputs, route, region, p)
    step(
        "write idempotency marker",
        lambda: idempotency.write_marker(run.bucket, scene, hashed, job["job_id"], job["status"]),
    )
    metrics = job["job_metrics"]
    sla = _sla_seconds(p["sla_seconds"])
    if job["status"] == "completed" and metrics and (metrics.get("duration_seconds") or 0) > sla:
        # After the submission marker says completed (spec §10.6, kept): a rerun SKIPs, the
        # breaker is not told (an SLA breach is no outage), no import starts.
        observe.emit(
            "geniesim_sla_violation",
            workflow=NAME,
            scene_id=scene,
            job_id=job["job_id"],
            sla_seconds=sla,
            duration_seconds=metrics.get("duration_seconds"),
            status=metrics.get("status"),
            quality_pass_rate=metrics.get("quality_pass_rate"),
            job_metadata_path=run.scene("geniesim/job.json"),
        )
        raise StageFailed(
            f"Genie Sim job SLA breached for scene {scene} (job: {job['job_id']})",
            code="geniesim_sla_violation",
            details={"duration_seconds": metrics.get("duration_seconds"), "sla_seconds": sla},
        )
    job_path = run.scene("geniesim/job.json")
    if job["status"] == "completed":
        return import_and_complete(run, scene, job, inputs, route, region, trial)
    if job["status"] == "failed":
        body = markers.failure_body(
            run, job_name="genie-sim-submit-job", code="geniesim_submit_failed", message=str(job["failure_reason"])
        )
        body["error"]["details"] = job["failure_details"]
        body["context"].update(job_id=job["job_id"], job_metadata_path=job_path)
        step(f"write failure {FAILED}", lambda: run.bucket.write_json(run.scene(FAILED), body) and None)
        raise StageFailed(
            f"Genie Sim submission failed for scene {scene}",
            code="geniesim_submit_failed",
            details={"job_id": job["job_id"], "reason": job["failure_reason"]},
        )
    marker_key = run.scene(SUBMITTED)
    markers.write_marker(
        run, marker_key, status=job["status"], job_id=job["job_id"], job_metadata_path=job_path, region=region["region"]
    )
    return Outcome.success(
        f"Genie Sim job {job['job_id']} submitted for scene {scene}",
        markers=[marker_key],
        scene_id=scene,
        job_id=job["job_id"],
        job_status=job["status"],
        region=region["region"],
        image_tag=route["image_tag"],
    )


def _sla_seconds(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise StageFailed(
            f"GENIESIM_SLA_SECONDS must be a number of seconds, not {raw!r}",
            code="config_invalid",
            field="GENIESIM_SLA_SECONDS",
        ) from None


def submit(
    run: Run, scene: str, inputs: dict[str, Any], route: dict[str, Any], region: dict[str, Any], p: dict[str, Any]
) -> dict[str, Any]:
    """Run the Genie Sim runtime; a job that did not leave a fresh job.json is a submission failure."""
    s = get_settings()
    geniesim = run.scene("geniesim")
    mode = str(p["geniesim_runtime"]).lower()
    runtime.ensure_registered()
    runner = runtime.REMOTE_RUNNER if mode == runtime.REMOTE else region["runner"]
    canary_ids = str(p["canary_scene_ids"] or "")
    env = {
        "GENIESIM_PREFIX": geniesim,
        "JOB_OUTPUT_PATH": run.scene("geniesim/job.json"),
        "ROBOT_TYPE": inputs["robot_type"],
        "EPISODES_PER_TASK": str(inputs["episodes_per_task"]),
        "NUM_VARIATIONS": "5",
        "OUTPUT_PREFIX": run.scene("episodes"),
        "GENIESIM_RUNTIME": mode,
        "GENIESIM_ASYNC": str(p["geniesim_async"]).lower(),
        "GENIESIM_REGION": region["region"],
        "GENIESIM_IMAGE_TAG": route["image_tag"],
        "CANARY_ENABLED": "true" if route["canary_enabled"] else "false",
        "CANARY_TAGS": str(p["canary_tags"] or ""),
        "CANARY_SCENE_IDS": canary_ids,
        "CANARY_PERCENT": str(p["canary_percent"]),
        "CANARY_RELEASE_CHANNEL": str(
            s.canary_release_channel if p["canary_release_channel"] is None else p["canary_release_channel"]
        )
        if route["canary_enabled"]
        else "stable",
        "CANARY_ROLLBACK_MARKER": route["rollback_marker"],
        "GENIESIM_HOST": s.geniesim_host,
        "GENIESIM_PORT": str(s.geniesim_port),
        "GENIESIM_ROOT": s.geniesim_root,
        "ISAAC_SIM_PATH": s.isaac_sim_path,
    }
    before = markers.stat(run, run.scene("geniesim/job.json"))
    try:
        result = run_job(
            run,
            GPU_JOB,
            timeout_seconds=stage_timeout(NAME, GPU_JOB),
            env=env,
            retry=stage_retry_profile(NAME, GPU_JOB),
            runner=runner,
            on_start_failure=StartFailure(
                run.scene(FAILED),
                "geniesim_gpu_start_failed",
                rollback=geniesim,
                context={"geniesim_prefix": geniesim, "runtime": mode},
            ),
        )
    except JobStartError:
        breaker_failure(run, "geniesim_gpu_start_failed")
        raise
    after = markers.stat(run, run.scene("geniesim/job.json"))
    fresh = after is not None and (before is None or after["generation"] != before["generation"])
    if result.failed and not fresh:
        breaker_failure(run, "geniesim_submission_failed")
        raise StageFailed(
            f"Genie Sim submission failed for scene {scene}",
            code="geniesim_submission_failed",
            details={"job_error": result.job_error, "exit_code": result.exit_code, "log": result.log_path},
        )
    return read_job(run)


def import_and_complete(
    run: Run,
    scene: str,
    job: dict[str, Any],
    inputs: dict[str, Any],
    route: dict[str, Any],
    region: dict[str, Any],
    trial: bool,
) -> Outcome:
    """Import the job's episodes inline, in this durable run (the breaker trial this run holds
    covers it): a stage run never waits on another run of its own queue tier."""
    job_path = run.scene("geniesim/job.json")
    payload = {
        "data": {"bucket": run.bucket_name},
        "job_id": job["job_id"],
        "scene_id": scene,
        "status": "completed",
        "local_episodes_prefix": job["episodes_prefix"],
        "job_metadata_path": job_path,
        "breaker_trial_of": run.run_id if trial else None,
    }
    for key in ("min_quality_score", "allow_idempotent_retry", "trigger_training"):
        if run.payload.get(key) is not None:
            payload[key] = run.payload[key]
    imported = import_episodes(Run(run_id=run.run_id, workflow=run.workflow, payload=payload))
    result = imported.to_dict()
    done = markers.read_json(run, run.scene(IMPORT_COMPLETE))
    if (
        imported.status not in ("SUCCESS", "SKIPPED")
        or not isinstance(done, dict)
        or done.get("job_id") != job["job_id"]
    ):
        raise StageFailed(
            f"Genie Sim import did not complete for scene {scene} (job: {job['job_id']})",
            code="geniesim_import_incomplete",
            details={"import_result": result},
        )
    key = run.scene(GENIESIM_COMPLETE)
    markers.write_marker(
        run,
        key,
        robot_type=inputs["robot_type"],
        commercial_only=True,
        ready_for_geniesim=True,
        job_id=job["job_id"],
        dataset=result.get("output_path") or done.get("output_path"),
        episodes_imported=result.get("episodes_imported", done.get("episodes_imported")),
        region=region["region"],
        image_tag=route["image_tag"],
    )
    breaker_success(run)
    return Outcome.success(
        f"Genie Sim export completed for scene {scene}",
        markers=[key],
        scene_id=scene,
        job_id=job["job_id"],
        region=region["region"],
        image_tag=route["image_tag"],
        outputs={name: run.scene(f"geniesim/{name}.json") for name in ("scene_graph", "asset_index", "task_config")}
        | {
            "scene_config": run.scene("geniesim/scene_config.yaml"),
            "dataset": result.get("output_path") or done.get("output_path"),
        },
        next_steps=[
            f"Arena export starts from {GENIESIM_COMPLETE}",
            "Training starts from blueprintpipeline.episodes.imported",
        ],
    )
