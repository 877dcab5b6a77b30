"""upsell-features-pipeline — premium analytics for a scene whose episodes are complete.
Manual only (never attached to storage events). Reference: spec §2.9, §4.9.

Payload ``{data: {bucket, name: "scenes/{scene}/episodes/.episodes_complete"}, bundle_tier,
force_reprocess, timeout_override_seconds}``. Timeout: the override, else by tier (standard 900,
pro 1800, enterprise 2700, other 1800). ``standard`` → SKIPPED; quality-gate preflight (block
marker ``upsell_outputs/.failed``, even with ``force_reprocess``); ``.upsell_complete`` already
there and no ``force_reprocess`` → SKIPPED; then ``upsell-features-job``. Start failure →
rollback ``upsell_outputs/`` + ``.failed`` (``upsell_job_start_failed``) + raise; job failure →
the job's own ``.failed`` kept (else a generic ``upsell_features_failed``), legacy
``.upsell_failed``, FAILED; success → ``.upsell_complete``.

Decision: an already-complete scene is skipped with a message that says so (the reference
reuses the key-filter message).
"""

from __future__ import annotations

from bpflow.blocks import markers
from bpflow.blocks.jobs import StartFailure, run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.blocks.quality_preflight import preflight
from bpflow.core.config import parse_bool
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.policy.timeouts import select_timeout, stage_retry_profile
from bpflow.core.stages import STAGES, scene_key_re

NAME = "upsell-features-pipeline"
JOB = "upsell-features-job"
#: Started by hand with the payload of episode generation's completion marker.
TRIGGER = scene_key_re(STAGES["episode-generation"].complete[0])
MAX_TIMEOUT = 2700
PARAMS = {"bundle_tier": (None, "standard"), "force_reprocess": (None, False)}


@workflow(NAME, timeout_seconds=None)
def upsell_features(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not an episodes completion marker file: {run.object_name}")
    scene, p = run.scene_id, recorded_params(run, PARAMS)
    tier = str(p["bundle_tier"] or "standard").strip().lower()
    force = parse_bool(p["force_reprocess"], False)
    timeout = select_timeout(tier, None, run.payload.get("timeout_override_seconds"), default=1800)
    out = run.scene("episodes/upsell_outputs")
    complete, failed, legacy = f"{out}/.upsell_complete", f"{out}/.failed", f"{out}/.upsell_failed"
    if tier == "standard":
        return Outcome.skipped(
            f"Standard tier - no upsell features for scene {scene}", scene_id=scene, bundle_tier=tier
        )
    preflight(run, scene, blocked="upsell", marker=failed)
    if not force and markers.exists(run, complete):
        return Outcome.skipped(f"Upsell features already complete for scene {scene}", scene_id=scene, bundle_tier=tier)
    with scene_lock(run, "upsell-features", ttl_seconds=timeout + 600) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=scene, bundle_tier=tier)
        markers.delete(run, failed)
        env = {"BUNDLE_TIER": tier, "SCENE_PATH": run.scene("").rstrip("/")}
        result = run_job(
            run,
            JOB,
            timeout_seconds=timeout,
            env=env,
            retry=stage_retry_profile(NAME, JOB),
            on_start_failure=StartFailure(
                failed,
                "upsell_job_start_failed",
                rollback=out,
                context={"bundle_tier": tier, "scene_path": env["SCENE_PATH"]},
            ),
        )
        if result.failed:
            message = f"Upsell features failed for scene {scene}"
            if not isinstance(markers.read_json(run, failed), dict):  # keep a richer job-written marker
                markers.write_failure(
                    run,
                    failed,
                    job_name=JOB,
                    code="upsell_features_failed",
                    message=message,
                    execution_id=result.execution_id,
                    error_type="workflow_timeout" if result.timed_out else "workflow_failure",
                    config_context={"upsell_output_prefix": out, "bundle_tier": tier, "job_error": result.job_error},
                )
            markers.write_marker(run, legacy, status="failed", bundle_tier=tier)
            return Outcome.failed(message, scene_id=scene, bundle_tier=tier)
        markers.write_marker(run, complete, bundle_tier=tier)
        return Outcome.success(
            f"Upsell features completed for scene {scene}",
            markers=[complete],
            scene_id=scene,
            bundle_tier=tier,
            outputs={"upsell_path": out, "completion_marker": complete},
        )
