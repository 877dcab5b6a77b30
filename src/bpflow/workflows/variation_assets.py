"""variation-assets-pipeline — Stage 3. Trigger: scenes/*/replicator/.replicator_complete.

Make variants of the assets the replicator selected (variation-gen), give them physics
(simready; a failure there is tolerated), refresh the Isaac Lab task package with them, and
then insist on at least one Isaac pass (the Stage-2 baseline or this refresh) before writing
``variation_assets/.variation_pipeline_complete``, the marker that starts Stage 4.
Reference: spec-stages-assets-usd.md §6.

Statuses (the ``pipeline_invocation`` event carries them): SUCCESS; SUCCESS_NO_ASSETS (nothing
to vary, marker still written); FAILED_REQUIRED_ISAAC (no Isaac pass under require_isaac: the
run fails, no completion marker). Like the reference there is no scene lock: each run id is one
version of the trigger, and two versions' runs rewrite the same objects.

Where bpflow differs from the reference: a failed run also leaves ``variation_assets/.failed``
(code + the job's own error) and a successful one removes it; simready runs with the scene's
own SCENE_ID (the reference's ``<id>_variation`` made the job write outside the scene); the
Isaac refresh is its own job (``isaac-lab-refresh-job``) and counts only when its plan carries
this run's id, after which the workflow, not the job, writes ``.isaac_lab_refresh_complete``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.core import observe
from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, run_job
from bpflow.core.policy.timeouts import stage_job_name, stage_timeout
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import now_epoch, step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError, StageFailed
from bpflow.workflows._orchestrator.stage1_runtime import job_error
from bpflow.domain.variation import workflow_state as state
from bpflow.domain.variation.isaac_refresh import REFRESH_JOB, refresh_result
from bpflow.domain.variation.paths import Stage3Paths

NAME = "variation-assets-pipeline"
TRIGGER_SUFFIX = "/replicator/.replicator_complete"
VARIATION_GEN, SIMREADY, ISAAC_REFRESH = "variation-gen", "simready", "isaac-refresh"
SUCCESS, NO_ASSETS, FAILED_REQUIRED_ISAAC, FAILED = "SUCCESS", "SUCCESS_NO_ASSETS", "FAILED_REQUIRED_ISAAC", "FAILED"
SUCCEEDED, SKIPPED = "SUCCEEDED", "SKIPPED"  # per-job states, as the reference names them


def _flag(run: Run, name: str, env_name: str) -> bool:
    """Payload, then env, then "true"; on only when the value is exactly "true" (§0.2)."""
    return parse_bool(run.param(name, env_name, "true"), True, strict=True)


def _pipeline_timeout(refresh_enabled: bool) -> int:
    """The reference's metric budget: variation-gen + simready (+ the refresh when enabled)."""
    steps = (VARIATION_GEN, SIMREADY, ISAAC_REFRESH) if refresh_enabled else (VARIATION_GEN, SIMREADY)
    return sum(stage_timeout(NAME, s) for s in steps)


@dataclass(frozen=True)
class _Stage3:
    """What every phase of one run needs: the run, its paths, and the metric context."""

    run: Run
    p: Stage3Paths
    started: float
    budget: int
    resume: bool

    def emit(self, event: str, status: str, **fields: Any) -> None:
        duration = round(now_epoch() - self.started, 3) if event == "complete" else 0
        step(f"emit pipeline_invocation {event}", observe.emit, "pipeline_invocation", event=event, workflow=NAME, scene_id=self.run.scene_id,
             run_id=self.run.run_id, status=status, timeout_seconds=self.budget, duration_seconds=duration, **fields)

    def warn(self, job: str, warning: str, **fields: Any) -> None:
        step(f"warn {job}", observe.emit, "stage_warning", workflow=NAME, scene_id=self.run.scene_id, job=job, warning=warning, **fields)

    def start_failed(self, exc: JobStartError, *, job: str, marker: str, code: str) -> JobStartError:
        """The reference's start-failure handler: wipe the variation outputs, write ``.failed``."""
        markers.rollback_outputs(self.run, self.p.variation_assets)
        markers.write_failure(self.run, marker, job_name=job, code=code, message=exc.message, config_context={"variation_assets_prefix": self.p.variation_assets})
        self.emit("complete", FAILED, error=exc.message)
        return exc

    def fail(self, status: str, job: str, code: str, message: str, **fields: Any) -> StageFailed:
        markers.write_failure(self.run, self.p.failed_marker, job_name=job, code=code, message=message, config_context={"variation_assets_prefix": self.p.variation_assets})
        self.emit("complete", status, error=message, **fields)
        return StageFailed(message, code=code)


def _variation_gen(s: _Stage3) -> int:
    """Run variation-gen; returns how many variation assets it produced (0: none to make)."""
    run, p, job = s.run, s.p, stage_job_name(NAME, VARIATION_GEN)
    try:
        result = run_job(run, job, timeout_seconds=stage_timeout(NAME, VARIATION_GEN), env={
            "REPLICATOR_PREFIX": p.replicator, "VARIATION_ASSETS_PREFIX": p.variation_assets, "ASSETS_PREFIX": p.assets,
            "PROGRESS_MARKER_PATH": p.progress, "RESUME_FROM_PROGRESS": s.resume, "PRIORITY_FILTER": "",
        })
    except JobStartError as exc:
        raise s.start_failed(exc, job=job, marker=p.failed_marker, code="variation_gen_start_failed") from None
    if result.failed:
        raise s.fail(FAILED, job, "variation_gen_failed", f"Variation generation job FAILED for scene {run.scene_id}{_reason(result)}", **_job_fields(result))
    report = markers.read_json(run, p.report)
    step("write progress (variation-gen)", state.write_progress, run.bucket, p, report_missing=report is None, variation_gen=report)
    return step("count variation assets", state.variation_asset_count, run.bucket, p)


def _simready(s: _Stage3, count: int) -> str:
    """Physics for the variants. A failed job is tolerated (SUCCEEDED / FAILED is returned);
    one that cannot start wipes the variation outputs and fails the run, as the reference."""
    run, p, job = s.run, s.p, stage_job_name(NAME, SIMREADY)
    try:
        result = run_job(run, job, timeout_seconds=stage_timeout(NAME, SIMREADY), env={
            "ASSETS_PREFIX": p.variation_assets, "SIMREADY_PHYSICS_MODE": "deterministic",
            "PROGRESS_MARKER_PATH": p.progress, "RESUME_FROM_PROGRESS": s.resume,
        })
    except JobStartError as exc:
        raise s.start_failed(exc, job=job, marker=p.simready_failed_marker, code="variation_simready_start_failed") from None
    if result.failed:
        s.warn(job, "variation simready failed; assets may not have physics properties", **_job_fields(result))
        return FAILED
    step("write progress (simready)", state.write_progress, run.bucket, p, stages_completed=["variation_gen", "simready"], variation_asset_count=count)
    return SUCCEEDED


def _isaac_refresh(s: _Stage3) -> str:
    """SUCCEEDED only when the job succeeded AND its refresh plan is this run's; else FAILED.
    A refresh that cannot start is a warning, never fatal on its own (reference §6.3 step 12)."""
    run, p = s.run, s.p
    try:
        result = run_job(run, REFRESH_JOB, timeout_seconds=stage_timeout(NAME, ISAAC_REFRESH), env={
            "ASSETS_PREFIX": p.assets, "USD_PREFIX": p.usd, "REPLICATOR_PREFIX": p.replicator, "ISAAC_LAB_PREFIX": p.isaac_lab,
            "VARIATION_ASSETS_PREFIX": p.variation_assets, "ISAAC_REFRESH_ONLY": "true", "RUN_RUNTIME_VALIDATION": "false",
        })
    except JobStartError as exc:
        s.warn(REFRESH_JOB, f"Isaac refresh could not start: {exc.message}")
        return FAILED
    if result.failed:
        s.warn(REFRESH_JOB, "Isaac refresh failed", **_job_fields(result))
        return FAILED
    fields = step("check isaac refresh output", refresh_result, run.bucket, p, run.run_id)
    if fields is None:
        return FAILED
    markers.write_marker(run, p.isaac_refresh_marker, **fields)
    return SUCCEEDED


@workflow(NAME, timeout_seconds=_pipeline_timeout(True) + 300)
def variation_assets(run: Run) -> Outcome:
    name = run.object_name or ""
    if run.scene_id is None or name != f"scenes/{run.scene_id}{TRIGGER_SUFFIX}":
        return Outcome.skipped(f"Not a replicator completion marker: {name}")
    p = Stage3Paths(run.scene_id)
    refresh_enabled = _flag(run, "enable_stage3_isaac_refresh", "ENABLE_STAGE3_ISAAC_REFRESH")
    require_isaac = _flag(run, "require_isaac", "REQUIRE_ISAAC")
    s = _Stage3(run, p, now_epoch(), _pipeline_timeout(refresh_enabled), step("detect resume", state.has_earlier_output, run.bucket, p))
    s.emit("start", "STARTED", enable_stage3_isaac_refresh=refresh_enabled, require_isaac=require_isaac, resume=s.resume)

    count = _variation_gen(s)
    simready_state = _simready(s, count) if count > 0 else SKIPPED
    refresh_state = _isaac_refresh(s) if refresh_enabled and simready_state == SUCCEEDED else SKIPPED

    baseline = markers.exists(run, p.isaac_baseline_marker)
    gate = {"variation_asset_count": count, "simready_state": simready_state, "isaac_refresh_state": refresh_state, "baseline_present": baseline}
    if require_isaac and not baseline and refresh_state != SUCCEEDED:
        message = f"No successful Isaac pass for scene {run.scene_id} (baseline_present={str(baseline).lower()}, refresh_state={refresh_state}, require_isaac=true)"
        raise s.fail(FAILED_REQUIRED_ISAAC, NAME, "failed_required_isaac", message, **gate)
    missing = step("verify variation outputs", state.missing_outputs, run.bucket, p) if count > 0 else []
    if missing:
        raise s.fail(FAILED, stage_job_name(NAME, VARIATION_GEN), "variation_outputs_missing", f"Variation outputs missing for scene {run.scene_id}: {', '.join(missing[:10])}", **gate)

    status = SUCCESS if count > 0 else NO_ASSETS
    markers.delete(run, p.failed_marker)  # a failure of an earlier run no longer describes the scene
    step("write completion marker", state.write_complete_marker, run.bucket, p, status, count, run.run_id)
    s.emit("complete", status, **gate)
    if status == NO_ASSETS:
        return Outcome(NO_ASSETS, f"No variation assets to generate for scene {run.scene_id}", [p.complete_marker], gate)
    return Outcome.success(
        f"Variation assets completed for scene {run.scene_id}", markers=[p.complete_marker],
        outputs={"variation_assets": p.variation_assets, "assets_json": p.assets_json}, **gate,
    )


def _job_fields(result: JobOutcome) -> dict[str, Any]:
    return {"execution_id": result.execution_id, "exit_code": result.exit_code, "timed_out": result.timed_out, "job_error": job_error(result), "log": result.log_path}


def _reason(result: JobOutcome) -> str:
    """": <code> [<field>]: <message>" from the job's own error line, or how it ended."""
    if result.timed_out:
        return f": timed out after {result.timeout_seconds:.0f}s"
    err = job_error(result)
    if not err:
        return f": exit code {result.exit_code}"
    where = f" [{err['field']}]" if err.get("field") else ""
    return f": {err.get('code', 'error')}{where}: {err.get('message', '')}"[:800]
