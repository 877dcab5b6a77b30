"""episode-generation-pipeline — Stage 4. Trigger: ``scenes/*/usd/.usd_complete``.

Read the scene's config (``bundle_tier`` → data pack tier and episodes per variation), skip
when ``episodes/.episodes_complete`` already exists, run ``episode-generation-job`` (MuJoCo on
the CPU: real physics, rendered cameras, a LeRobot v3.0 dataset), then ``quality-gate-job``
(the production SLIs re-checked from what was stored), then write ``episodes/.episodes_complete``
with ``physics_validated`` true only when the gate passed on physics-judged episodes.
Reference: spec-geniesim-episodes-arena-training.md §2.4, §4.4, §4.5.

Decisions (docs/decisions.md, "Stage 4"):

* GCP-only steps: the monitoring gate (Cloud Monitoring dashboards/alerts) and the GKE GPU
  preflight do not exist here and are not simulated; the staging E2E job has no staging
  cluster: ``run_staging_e2e`` true is reported as a warning, never as a pass. The job runs
  directly with the reference's 21600 s timeout (no separate 3600 s build poll to outlive).
* ``enforce_quality_gates`` defaults to **true** (the reference: only in production). A local
  run is the product here, and a dataset nobody checked must not be marked validated.
* A completed scene is skipped with a message that says so (the reference reuses "Not a USD
  completion marker"); duplicate/concurrent triggers are serialised by the scene lock
  ``locks/episode-generation.lock`` (the reference has none).
* Failures keep the reference's codes and markers: ``episodes/.failed`` (standard body, the
  job's own error in ``config_context.job_error``) and the legacy ``episodes/.episodes_failed``;
  a job that could not start rolls back ``episodes/`` first.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, StartFailure, run_job
from bpflow.blocks.lock import fresh_attempt
from bpflow.blocks.params import recorded_params
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES

STAGE = STAGES["episode-generation"]
NAME = STAGE.workflow
(COMPLETE,), (FAILED, LEGACY_FAILED) = STAGE.complete, STAGE.failed
JOB, GATE_JOB = "episode-generation-job", "quality-gate-job"
TRIGGER = STAGE.trigger_re
TIMEOUT = stage_timeout(NAME, JOB) + stage_timeout(NAME, GATE_JOB) + 600
TIERS = {"standard": "core", "pro": "plus"}
PARAMS = {
    "bundle_tier": ("BUNDLE_TIER", "standard"),
    "episodes_per_variation": ("EPISODES_PER_VARIATION", None),  # None: the tier's default (``derive``)
    "enforce_quality_gates": ("ENFORCE_QUALITY_GATES", "true"),
    "run_staging_e2e": ("RUN_STAGING_E2E", "false"),
    "trigger_training": ("TRIGGER_TRAINING", "false"),
}


def derive(bundle_tier: str) -> tuple[str, str]:
    """(data_pack_tier, episodes_per_variation) of a bundle tier, as the reference derives them."""
    return TIERS.get(bundle_tier, "full"), "25" if bundle_tier == "foundation" else "10"


def _scene_config(run: Run) -> dict[str, Any]:
    def _do() -> dict[str, Any]:
        try:
            body = run.bucket.read_json_or_none(run.scene("config.json"))
        except ValueError:
            return {"_parse_error": True}
        return body if isinstance(body, dict) else {}

    return step("read scene config", _do)


def _legacy_failed(run: Run) -> None:
    markers.write_marker(run, run.scene(LEGACY_FAILED), status="failed")


def _fail(run: Run, code: str, message: str, result: JobOutcome | None, job: str, **context: Any) -> Outcome:
    if result is not None:
        context.update(
            exit_code=result.exit_code, timed_out=result.timed_out, log=result.log_path, job_error=result.job_error
        )
        if result.job_error and result.job_error.get("message"):
            message = f"{message}: {result.job_error['message']}"
    markers.write_failure(
        run,
        run.scene(FAILED),
        job_name=job,
        code=code,
        message=message,
        error_type="workflow_timeout" if result is not None and result.timed_out else "workflow_failure",
        execution_id=result.execution_id if result else None,
        config_context=context,
    )
    _legacy_failed(run)
    return Outcome.failed(message, scene_id=run.scene_id)


@workflow(NAME, timeout_seconds=TIMEOUT)
def episode_generation(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a USD completion marker file: {run.object_name}")
    scene, p = run.scene_id, recorded_params(run, PARAMS)
    bundle_tier = str(p["bundle_tier"] or "standard")
    config = _scene_config(run)
    if isinstance(config.get("bundle_tier"), str) and config["bundle_tier"].strip():
        bundle_tier = config["bundle_tier"].strip()
    data_pack, per_variation = derive(bundle_tier)
    per_variation = str(per_variation if p["episodes_per_variation"] is None else p["episodes_per_variation"])
    enforce = parse_bool(p["enforce_quality_gates"], True, strict=True)
    staging = parse_bool(p["run_staging_e2e"], False, strict=True)
    prefix = run.scene("episodes")
    with fresh_attempt(
        run,
        STAGE,
        "episode-generation",
        ttl_seconds=TIMEOUT,
        complete=COMPLETE,
        done=f"Episodes already complete for scene {scene}",
    ) as skipped:
        if skipped is not None:
            return skipped
        env = {
            "ASSETS_PREFIX": run.scene("assets"),
            "USD_PREFIX": run.scene("usd"),
            "EPISODES_PREFIX": prefix,
            "HEADLESS": "1",
            "DATA_PACK_TIER": data_pack,
            "EPISODES_PER_VARIATION": per_variation,
            "REQUIRE_REAL_PHYSICS": "true",
            "DATA_QUALITY_LEVEL": "production",
            "BUNDLE_TIER": bundle_tier,
            "AUDIO_NARRATION_ENABLED": "true" if config.get("audio_narration_enabled") is True else "false",
            "SUBTITLE_GENERATION_ENABLED": "true" if config.get("subtitle_generation_enabled") is True else "false",
        }
        result = run_job(
            run,
            JOB,
            timeout_seconds=stage_timeout(NAME, JOB),
            env=env,
            retry=stage_retry_profile(NAME, JOB),
            on_start_failure=StartFailure(
                run.scene(FAILED),
                "episode_generation_start_failed",
                rollback=prefix,
                context={"episodes_prefix": prefix},
            ),
        )
        if result.failed:
            return _fail(
                run,
                "episode_generation_failed",
                f"Episode generation failed for scene {scene}",
                result,
                JOB,
                episodes_prefix=prefix,
                episodes_per_variation=per_variation,
            )
        report = markers.read_json(run, run.scene("episode-generation-job/quality_gate_report.json"))
        summary = (report or {}).get("summary") if isinstance(report, dict) else None
        if not isinstance(summary, dict):
            return _fail(
                run,
                "episode_outputs_missing",
                f"Episode generation for scene {scene} left no quality_gate_report.json",
                result,
                JOB,
                episodes_prefix=prefix,
            )
        warnings = []
        if staging:
            warnings.append("run_staging_e2e: no staging cluster in this deployment; not run")
        gate_passed = False
        if enforce:
            gate = run_job(
                run,
                GATE_JOB,
                timeout_seconds=stage_timeout(NAME, GATE_JOB),
                env={"EPISODES_PREFIX": prefix},
                retry=stage_retry_profile(NAME, GATE_JOB),
                on_start_failure=StartFailure(
                    run.scene(FAILED), "quality_gate_start_failed", context={"episodes_prefix": prefix}
                ),
            )
            if gate.failed:
                return _fail(
                    run,
                    "quality_gate_failed",
                    "Production SLIs failed; quality gate blocked delivery",
                    gate,
                    GATE_JOB,
                    episodes_prefix=prefix,
                    success_rate=summary.get("success_rate"),
                )
            gate_passed = True
        marker = run.scene(COMPLETE)
        generation = markers.write_marker(
            run,
            marker,
            physics_validated=bool(gate_passed and summary.get("can_proceed") is True),
            quality_gate_enforced=enforce,
            episodes=summary.get("episodes"),
            successful=summary.get("successful"),
            success_rate=summary.get("success_rate"),
            dataset=f"{prefix}/lerobot",
            data_pack_tier=data_pack,
            episodes_per_variation=per_variation,
            warnings=warnings,
            execution_id=result.execution_id,
        )
        if parse_bool(p["trigger_training"], False):
            _hand_to_training(run, prefix, int(summary.get("episodes") or 0), generation)
        return Outcome.success(
            f"Episode generation completed for scene {scene}",
            markers=[marker],
            scene_id=scene,
            outputs={
                "episodes_path": prefix,
                "completion_marker": marker,
                "physics_validated": bool(gate_passed and summary.get("can_proceed") is True),
            },
        )


def _hand_to_training(run: Run, prefix: str, episodes: int, generation: int) -> None:
    """Issue 13: with ``trigger_training`` (payload → env ``TRIGGER_TRAINING``, default off), hand
    the fresh dataset to training-pipeline the way the Genie Sim import does, with the
    ``blueprintpipeline.episodes.imported`` event; its id is this marker version, so a duplicate
    run starts one training."""
    from bpflow.blocks.events import emit_event

    job_id = f"episodes-{run.scene_id}-{generation}"
    dataset = f"{prefix}/lerobot"  # the dataset itself: training's {output_path}/.failed stays out of episodes/.failed
    emit_event(
        run,
        "blueprintpipeline.episodes.imported",
        job_id,
        {"job_id": job_id, "scene_id": run.scene_id, "output_path": dataset, "episode_count": episodes, "source": NAME},
    )
