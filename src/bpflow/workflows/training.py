"""training-pipeline — trains a policy on freshly imported episodes.

Trigger: the custom event ``blueprintpipeline.episodes.imported`` (emitted by the Genie Sim
import; run id ``training-pipeline:blueprintpipeline.episodes.imported:<event id>``), wrapped as
``{data: {...}}`` or with the fields at the top level. Reference: spec §2.6, §1.8, §4.8.

1. Parse and validate the payload: the three structured errors ``invalid_event_payload``,
   ``missing_job_id``, ``missing_output_path`` (returned, not raised: a malformed event is data).
2. Quality-gate preflight; a failing gate writes ``scenes/{scene}/training/.failed``.
3. ``episode_count < 1`` → skipped.
4. ``training-job`` (LeRobot in ``.venv-train``) with its timeout (``timeout_override_seconds``
   replaces it). Start failure → its own outputs rolled back, ``{output_path}/.failed``
   (``training_start_failed``), raise; job failure → ``{output_path}/.failed``
   (``training_failed``), raise.
5. Success → ``scenes/{scene}/training/.training_complete`` naming the model location (it starts
   ``policy-evaluation-pipeline``) and a result with ``model_path``.

Decisions (docs/decisions.md, "Stage 5"): the start-failure rollback removes only the job's own
outputs under ``{output_path}/training/``, never the imported dataset (the reference deletes the
whole ``{output_path}/``); one training per scene at a time (scene lock); a duplicate event is
the same run (the dispatcher's run id).
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import StartFailure, run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.blocks.quality_preflight import preflight
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import ConfigError, StageFailed, ValidationFailed
from bpflow.core.jobkit import scene_url_prefix
from bpflow.core.policy.timeouts import parse_override, stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES
from bpflow.core.triggers import validate_scene_id

STAGE = STAGES["training"]
NAME = STAGE.workflow
JOB = "training-job"
EVENT_TYPE = "blueprintpipeline.episodes.imported"
COMPLETE, FAILED = STAGE.complete[0], STAGE.failed[0]
TIMEOUT = stage_timeout(NAME, JOB) + 600
ERRORS = {
    "invalid_event_payload": (
        "Missing required event data. Event must contain job_id and output_path.",
        ["job_id", "output_path"],
    ),
    "missing_job_id": ("job_id is required.", ["job_id"]),
    "missing_output_path": ("output_path is required.", ["output_path"]),
}
DEFAULTS = {
    "TRAINING_MODE": "lerobot",
    "MODEL_ARCHITECTURE": "act",
    "TRAINING_EPOCHS": "100",
    "BATCH_SIZE": "32",
    "LEARNING_RATE": "0.0001",
    "CHECKPOINT_INTERVAL": "10",
}
OPTIONAL = ("TRAINING_MAX_STEPS", "POLICY_SIZE", "TRAINING_THREADS", "TRAINING_SEED")


def event_fields(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The event's fields: top level when ``job_id`` is there, else ``data``; None when neither."""
    if "job_id" in payload:
        return payload
    data = payload.get("data")
    return data if isinstance(data, dict) else None


def payload_error(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The reference's structured error for a malformed event, or None when it is usable."""
    fields = event_fields(payload)
    code = None
    if fields is None:
        code = "invalid_event_payload"
    elif fields.get("job_id") in (None, ""):
        code = "missing_job_id"
    elif fields.get("output_path") in (None, ""):
        code = "missing_output_path"
    if code is None:
        return None
    message, required = ERRORS[code]
    raw = {k: v for k, v in payload.items() if k not in ("id", "source", "time")}
    return {
        "code": code,
        "message": message,
        "required_fields": required,
        "remediation": f"Re-emit {EVENT_TYPE} with non-empty {', '.join(required)} (at the top level or under data).",
        "raw_event": raw,
    }


def _knobs(run: Run, fields: dict[str, Any]) -> dict[str, str]:
    """Training options: the event's (lower-case names) → the runtime env → the reference's defaults."""
    spec = {**{k.lower(): (k, default) for k, default in DEFAULTS.items()}, **{k.lower(): (k, None) for k in OPTIONAL}}
    recorded = recorded_params(run, spec)
    out: dict[str, str] = {}
    for env_name in (*DEFAULTS, *OPTIONAL):
        value = fields.get(env_name.lower())
        value = value if value is not None else recorded[env_name.lower()]
        if value is not None:
            out[env_name] = str(value)
    return out


@workflow(NAME, timeout_seconds=TIMEOUT)
def training(run: Run) -> Outcome:
    error = payload_error(run.payload)
    if error is not None:
        return Outcome(status="FAILED", message=error["message"], details={"error": error})
    fields = event_fields(run.payload) or {}
    job_id = str(fields["job_id"])
    output = str(fields["output_path"]).strip().rstrip("/")
    try:
        scene = validate_scene_id(str(fields.get("scene_id") or "unknown"))
    except Exception:  # noqa: BLE001 - an invalid id is reported as data below
        scene = None
    if scene is None or scene == "unknown":
        return Outcome.failed(
            f"scene_id {fields.get('scene_id')!r} is missing or invalid; training needs the scene the episodes belong to",
            error={"code": "invalid_scene_id", "field": "scene_id"},
            job_id=job_id,
        )
    try:
        output = scene_url_prefix(scene, "output_path", output, code="output_path_outside_scene")
    except ConfigError as exc:  # another scene, '..', or the scene folder itself: nothing is written
        return Outcome.failed(
            exc.message,
            error={"code": "output_path_outside_scene", "field": "output_path", **exc.details},
            job_id=job_id,
        )
    try:
        count = int(fields.get("episode_count") or 0)
        override = parse_override(fields.get("timeout_override_seconds"))
    except (TypeError, ValueError, ValidationFailed) as exc:
        return Outcome.failed(
            f"invalid episode_count or timeout_override_seconds: {exc}",
            error={"code": "invalid_event_field"},
            job_id=job_id,
        )
    failed_marker = f"{output}/.failed"
    preflight(run, scene, blocked="training", marker=f"scenes/{scene}/{FAILED}")
    if count < 1:
        return Outcome(
            status="SKIPPED",
            message="Insufficient episodes for training",
            details={"job_id": job_id, "reason": "Insufficient episodes for training"},
        )
    timeout = override if override is not None else stage_timeout(NAME, JOB)
    with scene_lock(run, "training", ttl_seconds=timeout + 600) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=scene, job_id=job_id)
        env = {"SCENE_ID": scene, "OUTPUT_PATH": output, "EPISODE_COUNT": str(count), **_knobs(run, fields)}
        result = run_job(
            run,
            JOB,
            timeout_seconds=timeout,
            env=env,
            retry=stage_retry_profile(NAME, JOB),
            on_start_failure=StartFailure(
                failed_marker,
                "training_start_failed",
                rollback=f"{output}/training",
                context={"output_path": output, "job_id": job_id},
            ),
        )
        if result.failed:
            job_error = result.job_error
            message = "Training job failed" + (
                f": {job_error['message']}" if job_error and job_error.get("message") else ""
            )
            markers.write_failure(
                run,
                failed_marker,
                job_name=JOB,
                code="training_failed",
                message=message,
                execution_id=result.execution_id,
                error_type="workflow_timeout" if result.timed_out else "workflow_failure",
                config_context={
                    "output_path": output,
                    "job_id": job_id,
                    "exit_code": result.exit_code,
                    "timed_out": result.timed_out,
                    "log": result.log_path,
                    "job_error": job_error,
                },
            )
            raise StageFailed(f"Training failed for job {job_id}", details={"marker": failed_marker})
        trained = markers.read_json(run, f"{output}/training/training_result.json")
        model_path = trained.get("model_path") if isinstance(trained, dict) else None
        if not model_path or not markers.exists(run, f"{model_path}/model.safetensors"):
            markers.write_failure(
                run,
                failed_marker,
                job_name=JOB,
                code="training_outputs_missing",
                message="training-job succeeded but left no model",
                execution_id=result.execution_id,
                config_context={"output_path": output},
            )
            raise StageFailed(f"Training failed for job {job_id}: no model", details={"marker": failed_marker})
        markers.delete(run, failed_marker)
        markers.delete(run, f"scenes/{scene}/{FAILED}")
        marker = f"scenes/{scene}/{COMPLETE}"
        markers.write_marker(
            run,
            marker,
            job_id=job_id,
            model_path=model_path,
            output_path=output,
            episode_count=count,
            training_result=f"{output}/training/training_result.json",
            architecture=trained.get("architecture"),
            steps=trained.get("steps"),
            final_loss=trained.get("final_loss"),
            loss_chart=trained.get("loss_chart"),
            execution_id=result.execution_id,
        )
        return Outcome(
            status="SUCCESS",
            message=f"Training completed for job {job_id}",
            markers=[marker],
            details={
                "job_id": job_id,
                "scene_id": scene,
                "episode_count": count,
                "model_path": model_path,
                "training_execution_id": result.execution_id,
            },
        )
