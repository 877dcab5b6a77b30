"""genie-sim-import-pipeline — imports a completed Genie Sim job's episodes into the scene.

Started by the export workflow or the poller with ``{job_id, scene_id, status, ...}``, or by the
custom event ``manual.geniesim.job.completed`` (payload under ``data``). Circuit breaker (shared
with export) → job id (from job.json when absent) → import idempotency → quality-gate preflight
→ ``genie-sim-import-job`` → ``import_manifest.json`` checked → ``.geniesim_import_complete``,
import marker, delivery copy of the manifest, ``blueprintpipeline.dataset.delivery.requested``
(its failure is recorded in ``.dataset_delivery_failed``, never fatal) and
``blueprintpipeline.episodes.imported`` for training. Reference: spec §2.2, §1.6 C, §1.8.

Decisions (docs/decisions.md, "Genie Sim"): ``trigger_training`` defaults to true (the seed's
data path ends in training; the reference only emitted when asked); the manifest is read from
the import's own output dir; the quality-gate preflight runs whenever the scene is known.
Events carry a deterministic id (scene + job), so a replayed or duplicated import starts one
training run.
"""

from __future__ import annotations

import json
from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError, StageFailed, ValidationFailed
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES
from bpflow.core.storage import object_uri
from bpflow.state import idempotency
from bpflow.state.circuit_breaker import CircuitBreaker

STAGE = STAGES["genie-sim-import"]
NAME = STAGE.workflow
STAGE_COMPLETE, IMPORT_COMPLETE = STAGE.complete
#: A blocked import fails the Genie Sim stage: the export's failure marker.
EXPORT_FAILED = STAGES["genie-sim-export"].failed[0]
JOB = "genie-sim-import-job"
TIMEOUT = stage_timeout(NAME, JOB) + 600
DELIVERY_EVENT = "blueprintpipeline.dataset.delivery.requested"
IMPORTED_EVENT = "blueprintpipeline.episodes.imported"
PARAMS = {
    "wait_for_completion": (None, "true"),
    "min_quality_score": ("MIN_QUALITY_SCORE", "0.85"),
    "enable_validation": (None, "true"),
    "filter_low_quality": (None, "true"),
    "allow_idempotent_retry": ("ALLOW_IDEMPOTENT_RETRY", None),
    "local_training_handoff": ("TRIGGER_TRAINING", "false"),
    "trigger_training": (None, None),  # None: start training unless episode generation hands off
}


def parse_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The reference's three shapes: top-level ``job_id``; ``data.job_id``; else defaults."""
    data = raw_data if isinstance(raw_data := payload.get("data"), dict) else {}
    src = payload if "job_id" in payload else data if "job_id" in data else None
    if src is None:
        return {
            "job_id": payload.get("job_id"),
            "status": "completed",
            "scene_id": "unknown",
            "local_episodes_prefix": None,
            "job_metadata_path": None,
        }
    return {
        "job_id": src.get("job_id"),
        "status": src.get("status", "completed"),
        "scene_id": src.get("scene_id") or "unknown",
        "local_episodes_prefix": src.get("local_episodes_prefix"),
        "job_metadata_path": src.get("job_metadata_path"),
    }


def _breaker(run: Run) -> CircuitBreaker:
    return CircuitBreaker(run.bucket, str(run.scene_id), stage="Genie Sim import")


def _key(run: Run, value: str | None) -> str | None:
    """``gs://bucket/key`` (or the bucket's own ``file://``/``s3://`` URL + key) → ``key``
    (the reference used URIs as object prefixes)."""
    if not value:
        return None
    if "://" in value:
        at = value.find("/scenes/")
        value = value[at + 1 :] if at >= 0 else value.partition("://")[2].partition("/")[2]
    return value.rstrip("/")


def _cert_passes(cert: Any) -> bool:
    return isinstance(cert, dict) and cert.get("validation_passed") is True and cert.get("recommended_use") != "testing"


def quality_gate_preflight(run: Run, output_prefix: str) -> None:
    """The job's own certificates (``{output}/raw/certificates/``) when it has any: at least one
    episode must pass (the import then filters episode by episode). Otherwise §1.8, the intended
    algorithm: the episode stage's report if present, else the first certificate under
    ``episodes/``. Failing blocks the import with a marker."""
    scene = run.scene_id
    report_key = run.scene("episode-generation-job/quality_gate_report.json")

    def _do() -> dict[str, Any]:
        own = [
            i.key
            for i in run.bucket.list(f"{output_prefix}/raw/certificates/")
            if i.key.endswith("quality_certificate.json")
        ]
        if own:
            for key in own:
                try:
                    if _cert_passes(run.bucket.read_json(key)):
                        return {"passed": True, "why": ""}
                except ValueError:
                    continue
            return {"passed": False, "why": f"none of the job's {len(own)} episode certificates passed"}
        try:
            report = run.bucket.read_json_or_none(report_key)
        except ValueError:
            return {"passed": False, "why": "quality gate report is not JSON"}
        if report is not None:
            summary = report.get("summary") if isinstance(report, dict) else None
            ok = (
                isinstance(summary, dict)
                and summary.get("can_proceed") is True
                and summary.get("blocking_failures") == 0
            )
            return {"passed": ok, "why": "" if ok else "quality gate report does not allow proceeding"}
        for info in run.bucket.list(run.scene("episodes/")):
            if info.key.endswith("quality_certificate.json"):
                try:
                    cert = run.bucket.read_json(info.key)
                except ValueError:
                    return {"passed": False, "why": f"{info.key} is not JSON"}
                ok = _cert_passes(cert)
                return {"passed": ok, "why": "" if ok else f"{info.key} did not pass"}
        return {"passed": False, "why": f"Missing quality gate report and quality certificates for scene {scene}"}

    verdict = step("quality gate preflight", _do)
    if verdict["passed"]:
        return
    uri = object_uri(run.bucket_name, report_key)
    body = {
        "scene_id": scene,
        "status": "failed",
        "timestamp": markers.utc_iso(),
        "error": {
            "code": "quality_gate_failed",
            "message": "Downstream quality gate preflight blocked import",
            "report_path": uri,
            "reason": verdict["why"],
        },
    }
    step("write quality gate block marker", lambda: run.bucket.write_json(run.scene(EXPORT_FAILED), body) and None)
    raise StageFailed(
        f"Quality gate failed; report: {uri}", code="quality_gate_failed", details={"reason": verdict["why"]}
    )


def emit(run: Run, event_type: str, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Publish a custom event on the engine's bus. In the workflow body, not a step: starting
    the subscribers is a child-workflow start DBOS records, and the event id (scene + job)
    fixes their run ids, so a replay or a duplicate import never starts them twice."""
    from bpflow.core.events.model import CustomEvent

    when = step(f"time of {event_type}", markers.utc_iso)
    out = run.context.dispatch_custom(
        CustomEvent(type=event_type, id=event_id, data=data, source="geniesim-import", time=when)
    )
    return {"type": event_type, "id": event_id, **out.to_dict()}


def read_manifest(run: Run, key: str, job_id: str) -> dict[str, Any]:
    def _do() -> dict[str, Any]:
        try:
            raw = run.bucket.read(key)
        except Exception as exc:  # noqa: BLE001 - any read failure means "missing" to the reference
            return {"error": "missing", "detail": str(exc)}
        try:
            body = json.loads(raw)
        except ValueError:
            return {"error": "malformed"}
        return {"body": body}

    got = step(f"read {key}", _do)
    if got.get("error") == "missing":
        raise StageFailed(
            f"Import manifest missing at {key}", code="import_manifest_missing", field="import_manifest.json"
        )
    if got.get("error") == "malformed" or not isinstance(got.get("body"), dict):
        raise StageFailed(
            f"Import manifest malformed for job {job_id}",
            code="import_manifest_malformed",
            field="import_manifest.json",
        )
    body: dict[str, Any] = got["body"]
    if not isinstance(body.get("episodes"), dict) or not isinstance(body.get("quality"), dict):
        raise StageFailed(
            f"Import manifest missing required sections for job {job_id}",
            code="import_manifest_invalid",
            field="episodes",
        )
    for section, name in (("episodes", "downloaded"), ("episodes", "passed_validation"), ("quality", "average_score")):
        if name not in body[section]:
            raise StageFailed(
                f"Import manifest missing required fields for job {job_id}",
                code="import_manifest_invalid",
                field=f"{section}.{name}",
            )
    return body


@workflow(NAME, timeout_seconds=TIMEOUT)
def geniesim_import(run: Run) -> Outcome:
    return import_episodes(run)


def import_episodes(run: Run) -> Outcome:
    """The import, for this workflow and inline for the export workflow (which must not wait on
    another run of its own queue tier, docs/decisions.md "Runtime under load")."""
    ev = parse_event(run.payload)
    scene = run.scene_id if ev["scene_id"] not in (None, "", "unknown") else None
    if ev["scene_id"] not in (None, "", "unknown") and scene is None:
        raise ValidationFailed(f"scene_id {ev['scene_id']!r} is not a valid scene id", field="scene_id")
    if scene is not None and not run.payload.get("breaker_trial_of"):  # an export's trial covers its import
        gate = step("circuit breaker check", lambda: _decision(_breaker(run).check()))
        if not gate["allowed"]:
            return Outcome.skipped(gate["message"], scene_id=scene)
    job_id = str(ev["job_id"] or "")
    if not job_id:
        if scene is None:
            raise ValidationFailed("job_id is required and could not be resolved from scene metadata", field="job_id")
        meta = markers.read_json(run, run.scene("geniesim/job.json"))
        job_id = str((meta or {}).get("job_id") or "") if isinstance(meta, dict) else ""
        if not job_id:
            raise ValidationFailed("job_id is required", field="job_id")
    if scene is None:
        raise ValidationFailed(
            "scene_id is required: this deployment imports into a scene's own prefix only", field="scene_id"
        )
    job_path = _key(run, ev["job_metadata_path"]) or run.scene("geniesim/job.json")
    done = step("read import marker", lambda: idempotency.read_import_marker(run.bucket, scene, job_id))
    if idempotency.import_done(done):
        return Outcome.skipped("Idempotency marker indicates import already completed.", job_id=job_id, scene_id=scene)
    prefix = _key(run, ev["local_episodes_prefix"])
    artifacts_by_robot = None
    if prefix is None:
        meta = markers.read_json(run, job_path) if job_path.startswith(f"scenes/{scene}/") else None
        meta = meta if isinstance(meta, dict) else {}
        artifacts_by_robot = meta.get("artifacts_by_robot")
        arts = raw_arts if isinstance(raw_arts := meta.get("artifacts"), dict) else {}
        prefix = _key(run, arts.get("episodes_prefix") or arts.get("episodes_path"))
    output_prefix = prefix or run.scene(f"episodes/geniesim_{job_id}")
    quality_gate_preflight(run, output_prefix)
    if ev["status"] != "completed":
        return Outcome.skipped(f"Job status is {ev['status']}", job_id=job_id, scene_id=scene)
    with scene_lock(run, "genie-sim-import", ttl_seconds=TIMEOUT) as lock:
        if not lock.acquired:  # another import of this scene is running (export inline, poller)
            return Outcome.skipped(lock.message, job_id=job_id, scene_id=scene)
        if idempotency.import_done(
            step("re-read import marker", lambda: idempotency.read_import_marker(run.bucket, scene, job_id))
        ):
            return Outcome.skipped(
                "Idempotency marker indicates import already completed.", job_id=job_id, scene_id=scene
            )
        return run_import(run, scene, job_id, job_path, output_prefix, artifacts_by_robot)


def run_import(
    run: Run, scene: str, job_id: str, job_path: str, output_prefix: str, artifacts_by_robot: Any
) -> Outcome:
    p = recorded_params(run, PARAMS)
    env = {
        "GENIE_SIM_JOB_ID": job_id,
        "WAIT_FOR_COMPLETION": str(p["wait_for_completion"]),
        "MIN_QUALITY_SCORE": str(p["min_quality_score"]),
        "ENABLE_VALIDATION": str(p["enable_validation"]),
        "FILTER_LOW_QUALITY": str(p["filter_low_quality"]),
        "JOB_METADATA_PATH": job_path,
        "LOCAL_EPISODES_PREFIX": output_prefix,
        "OUTPUT_PREFIX": run.scene("episodes"),
        "ARTIFACTS_BY_ROBOT": ""
        if artifacts_by_robot is None
        else json.dumps(artifacts_by_robot, separators=(",", ":")),
        "ENABLE_FIREBASE_UPLOAD": "true",
        "ALLOW_IDEMPOTENT_RETRY": p["allow_idempotent_retry"],
    }
    try:
        result = run_job(
            run, JOB, timeout_seconds=stage_timeout(NAME, JOB), env=env, retry=stage_retry_profile(NAME, JOB)
        )
    except JobStartError as exc:
        markers.rollback_outputs(run, output_prefix)
        markers.write_failure(
            run,
            f"{output_prefix}/.failed",
            job_name=JOB,
            code="genie_sim_import_start_failed",
            message=exc.message,
            config_context={"output_prefix": output_prefix},
        )
        step("circuit breaker failure", lambda: _breaker(run).record_failure("geniesim_import_start_failed") and None)
        raise
    if result.failed:
        step("circuit breaker failure", lambda: _breaker(run).record_failure("geniesim_import_failed") and None)
        raise StageFailed(
            f"Import failed for job {job_id}",
            code="geniesim_import_failed",
            details={"job_error": result.job_error, "log": result.log_path},
        )
    manifest_key = f"{output_prefix}/import_manifest.json"
    manifest = read_manifest(run, manifest_key, job_id)
    count = int(manifest["episodes"].get("passed_validation") or 0)
    output_path = manifest.get("gcs_output_path") or manifest.get("output_dir")
    complete = run.scene(IMPORT_COMPLETE)
    markers.write_marker(
        run, complete, job_id=job_id, episodes_imported=count, output_path=output_path, import_manifest=manifest_key
    )
    step("write import marker", lambda: idempotency.write_import_marker(run.bucket, scene, job_id))
    delivery_copy = run.scene("geniesim/import_manifest.json")
    step("copy import manifest", lambda: run.bucket.write_json(delivery_copy, manifest) and None)
    try:
        emit(
            run,
            DELIVERY_EVENT,
            f"{scene}:{job_id}",
            {
                "bucket": run.bucket_name,
                "scene_id": scene,
                "job_id": job_id,
                "output_path": output_path,
                "import_manifest_path": object_uri(run.bucket_name, delivery_copy),
            },
        )
    except Exception as exc:  # noqa: BLE001 - delivery is best effort; the import itself succeeded
        body = {
            "scene_id": scene,
            "job_id": job_id,
            "output_path": output_path,
            "import_manifest_path": delivery_copy,
            "status": "failed",
            "timestamp": markers.utc_iso(),
            "error": {"code": "dataset_delivery_trigger_failed", "message": str(exc), "type": "workflow_failure"},
            "context": {"workflow_execution_id": run.run_id},
        }
        step(
            "write .dataset_delivery_failed",
            lambda: run.bucket.write_json(run.scene("geniesim/.dataset_delivery_failed"), body) and None,
        )
    # One training per scene: when episode-generation already hands its dataset to training
    # (TRIGGER_TRAINING=true, e.g. `make demo`), the import does not start a second one.
    handed_off = parse_bool(p["local_training_handoff"], False, strict=False)
    trigger = p["trigger_training"]
    if parse_bool(not handed_off if trigger is None else trigger, not handed_off, strict=False):
        emit(
            run,
            IMPORTED_EVENT,
            f"{scene}:{job_id}",
            {"job_id": job_id, "scene_id": scene, "output_path": output_path, "episode_count": count},
        )
    step("circuit breaker success", lambda: _breaker(run).record_success() and None)
    written = [complete]
    if parse_bool(run.payload.get("complete_stage"), False, strict=False) and not markers.exists(
        run, run.scene(STAGE_COMPLETE)
    ):
        # Async path: the export ended at .geniesim_submitted, so the stage is finished here.
        stage = run.scene(STAGE_COMPLETE)
        markers.write_marker(
            run,
            stage,
            robot_type="franka",
            commercial_only=True,
            ready_for_geniesim=True,
            job_id=job_id,
            dataset=output_path,
            episodes_imported=count,
            completed_by=NAME,
        )
        written.append(stage)
    return Outcome.success(
        f"Imported {count} episodes of job {job_id} for scene {scene}",
        markers=written,
        job_id=job_id,
        scene_id=scene,
        episodes_imported=count,
        output_path=output_path,
        import_execution_id=result.execution_id,
    )


def _decision(d: Any) -> dict[str, Any]:
    return {"allowed": d.allowed, "trial": d.trial, "message": d.message}
