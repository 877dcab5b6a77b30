"""variation-assets-pipeline — Stage 3 (trigger, markers: ``core/stages.yaml``; spec §6). Make variants of the assets the
replicator selected (variation-gen), give them physics (simready, a failure tolerated), refresh the Isaac Lab package with
them, and require one Isaac pass (Stage-2 baseline or this refresh) before the marker that starts Stage 4: SUCCESS,
SUCCESS_NO_ASSETS or FAILED_REQUIRED_ISAAC. No scene lock (a run id is one version of the trigger). Unlike the reference
a failed run leaves ``.failed``, and the refresh counts only when its plan carries this run's id.
"""

from __future__ import annotations

from functools import partial

from bpflow.blocks import markers
from bpflow.blocks.invocation import Invocation
from bpflow.blocks.jobs import JobOutcome, StartFailure, run_job
from bpflow.blocks.params import flag, recorded_params
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError
from bpflow.core.policy.timeouts import stage_job_name, stage_timeout
from bpflow.core.stages import STAGES
from bpflow.domain.variation import workflow_state as state
from bpflow.domain.variation.isaac_refresh import REFRESH_JOB, refresh_result
from bpflow.domain.variation.paths import Stage3Paths

STAGE = STAGES["variation-assets"]
NAME, TRIGGER = STAGE.workflow, STAGE.trigger_re
VARIATION_GEN, SIMREADY, ISAAC_REFRESH = "variation-gen", "simready", "isaac-refresh"
SUCCESS, NO_ASSETS, FAILED_REQUIRED_ISAAC, FAILED = "SUCCESS", "SUCCESS_NO_ASSETS", "FAILED_REQUIRED_ISAAC", "FAILED"
SUCCEEDED, SKIPPED = "SUCCEEDED", "SKIPPED"  # per-job states, as the reference names them
#: The reference's metric budget: variation-gen + simready (+ the refresh when enabled), by refresh_enabled.
BUDGET = {
    refresh: sum(stage_timeout(NAME, s) for s in (VARIATION_GEN, SIMREADY, ISAAC_REFRESH)[: 3 if refresh else 2])
    for refresh in (True, False)
}
PARAMS = {
    "enable_stage3_isaac_refresh": ("ENABLE_STAGE3_ISAAC_REFRESH", "true"),
    "require_isaac": ("REQUIRE_ISAAC", "true"),
}


def _job(
    run: Run, step_name: str, env: dict[str, object], start_failure: StartFailure | None, job: str | None = None
) -> JobOutcome:
    return run_job(
        run,
        job or stage_job_name(NAME, step_name),
        timeout_seconds=stage_timeout(NAME, step_name),
        env=env,
        on_start_failure=start_failure,
    )


@workflow(NAME, timeout_seconds=BUDGET[True] + 300)
def variation_assets(run: Run) -> Outcome:
    if run.scene_id is None or run.object_name != f"scenes/{run.scene_id}/{STAGE.trigger}":
        return Outcome.skipped(f"Not a replicator completion marker: {run.object_name or ''}")
    p, params = Stage3Paths(run.scene_id), recorded_params(run, PARAMS)
    refresh_enabled, require_isaac = (
        flag(params["enable_stage3_isaac_refresh"], True),
        flag(params["require_isaac"], True),
    )
    inv = Invocation(run, NAME, BUDGET[refresh_enabled])
    resume = step("detect resume", state.has_earlier_output, run.bucket, p)
    inv.emit(
        "start", "STARTED", enable_stage3_isaac_refresh=refresh_enabled, require_isaac=require_isaac, resume=resume
    )
    ctx = {"variation_assets_prefix": p.variation_assets}
    rolled_back = partial(StartFailure, rollback=p.variation_assets, context=ctx)
    try:  # a job that cannot start has rolled the variation outputs back and written its marker
        result = _job(
            run, VARIATION_GEN, p.variation_gen_env(resume), rolled_back(p.failed_marker, "variation_gen_start_failed")
        )
        if result.failed:
            raise inv.fail(
                p.failed_marker,
                FAILED,
                job=result.job,
                code="variation_gen_failed",
                context=ctx,
                message=f"Variation generation job FAILED for scene {run.scene_id}{(': ' + result.reason())[:800]}",
                **result.fields(),
            )
        step(
            "write progress (variation-gen)",
            state.write_progress,
            run.bucket,
            p,
            report_missing=(report := markers.read_json(run, p.report)) is None,
            variation_gen=report,
        )
        count = step("count variation assets", state.variation_asset_count, run.bucket, p)
        simready_state = SKIPPED
        if count > 0:  # physics for the variants; a failed job is tolerated
            result = _job(
                run,
                SIMREADY,
                p.simready_env(resume),
                rolled_back(p.simready_failed_marker, "variation_simready_start_failed"),
            )
            simready_state = FAILED if result.failed else SUCCEEDED
            if result.failed:
                inv.warn(
                    result.job, "variation simready failed; assets may not have physics properties", **result.fields()
                )
            else:
                step(
                    "write progress (simready)",
                    state.write_progress,
                    run.bucket,
                    p,
                    stages_completed=["variation_gen", "simready"],
                    variation_asset_count=count,
                )
    except JobStartError as exc:
        inv.emit("complete", FAILED, error=exc.message)
        raise
    refresh_state = _isaac_refresh(run, inv, p) if refresh_enabled and simready_state == SUCCEEDED else SKIPPED
    baseline = markers.exists(run, p.isaac_baseline_marker)
    gate = {
        "variation_asset_count": count,
        "simready_state": simready_state,
        "isaac_refresh_state": refresh_state,
        "baseline_present": baseline,
    }
    if require_isaac and not baseline and refresh_state != SUCCEEDED:
        message = f"No successful Isaac pass for scene {run.scene_id} (baseline_present={str(baseline).lower()}, refresh_state={refresh_state}, require_isaac=true)"
        raise inv.fail(
            p.failed_marker,
            FAILED_REQUIRED_ISAAC,
            job=NAME,
            code="failed_required_isaac",
            message=message,
            context=ctx,
            **gate,
        )
    missing = step("verify variation outputs", state.missing_outputs, run.bucket, p) if count > 0 else []
    if missing:
        raise inv.fail(
            p.failed_marker,
            FAILED,
            job=stage_job_name(NAME, VARIATION_GEN),
            code="variation_outputs_missing",
            context=ctx,
            message=f"Variation outputs missing for scene {run.scene_id}: {', '.join(missing[:10])}",
            **gate,
        )
    status = SUCCESS if count > 0 else NO_ASSETS
    markers.delete(run, p.failed_marker)  # a failure of an earlier run no longer describes the scene
    step("write completion marker", state.write_complete_marker, run.bucket, p, status, count, run.run_id)
    inv.emit("complete", status, **gate)
    if status == NO_ASSETS:
        return Outcome(
            NO_ASSETS, f"No variation assets to generate for scene {run.scene_id}", [p.complete_marker], gate
        )
    return Outcome.success(
        f"Variation assets completed for scene {run.scene_id}",
        markers=[p.complete_marker],
        outputs={"variation_assets": p.variation_assets, "assets_json": p.assets_json},
        **gate,
    )


def _isaac_refresh(run: Run, inv: Invocation, p: Stage3Paths) -> str:
    """SUCCEEDED only when the job succeeded AND its plan is this run's; never fatal on its own (§6.3 step 12)."""
    try:
        result = _job(run, ISAAC_REFRESH, p.refresh_env(), None, REFRESH_JOB)
    except JobStartError as exc:
        inv.warn(REFRESH_JOB, f"Isaac refresh could not start: {exc.message}")
        return FAILED
    if result.failed:
        inv.warn(REFRESH_JOB, "Isaac refresh failed", **result.fields())
        return FAILED
    fields = step("check isaac refresh output", refresh_result, run.bucket, p, run.run_id)
    if fields is not None:
        markers.write_marker(run, p.isaac_refresh_marker, **fields)
    return FAILED if fields is None else SUCCEEDED
