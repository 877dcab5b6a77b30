"""The experimental preparation pipelines (dream2flow, dwm; spec-stages-assets-usd §7-§8): one
sequence, two sets of names.

filter → enabled? (off: SKIPPED before any I/O, for both — the reference's DWM took and dropped
its lock first) → lock ``locks/<kind>-prep.lock`` → already prepared? → wait for the assembled
scene (``usd/.usd_complete``; ours: the bundles are rendered from it, and the reference's parallel
start made them placeholders) → preparation job → ``.<kind>_complete`` → inference job →
``.<kind>_inference_complete``. Failures of the jobs that ran are not errors: ``.failed`` (kept
if one is there) plus the legacy marker, and a FAILED result. A job that cannot start rolls
back and raises. Rollback decision: an inference start failure rolls back only what inference
writes (``bundle_*/inference.json``), never the prepared bundles or ``.<kind>_complete`` the
reference deleted with them; as for a failed inference, a rerun retries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import recorded_params
from bpflow.blocks.stage_job import launch, legacy_marker, record_failure
from bpflow.blocks.wait import wait_for_marker
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome
from bpflow.core.errors import JobStartError, MarkerTimeout
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.core.stages import STAGES

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

STAGE2 = STAGES["usd-assembly"]
TRIGGER = STAGE2.trigger_re
USD_WAIT_DELAYS = (1, 2, 3, 5, 10)


@dataclass(frozen=True)
class Prep:
    kind: str  # dream2flow | dwm
    title: str  # Dream2Flow | DWM
    enable_env: str
    prefix_env: str
    count_env: str
    robot: bool

    @property
    def prep_job(self) -> str:
        return f"{self.kind}-preparation-job"

    @property
    def inference_job(self) -> str:
        return f"{self.kind}-inference-job"


def enabled(prep: Prep) -> bool:
    """The flag or the shared experimental flag is exactly "true" (no payload override)."""
    from bpflow.core.engine.runtime import current_runtime

    env = current_runtime().env
    return any(str(env.get(k) or "").strip().lower() == "true" for k in (prep.enable_env, "ENABLE_EXPERIMENTAL"))


def _usd_budget() -> float:
    from bpflow.workflows._orchestrator.options import workflow_budget_seconds

    return workflow_budget_seconds(STAGE2.workflow)


def run_preparation(run: Run, prep: Prep) -> Outcome:
    name = run.object_name or ""
    if not TRIGGER.fullmatch(name):
        return Outcome.skipped(f"Not a completion marker file: {name}")
    scene_id = run.scene_id or ""
    count_param = prep.count_env.lower()
    flags = recorded_params(  # one recorded step: a replay takes the same branch with the same count
        run,
        {count_param: (f"{prep.kind.upper()}_{prep.count_env}", "5")},
        name=f"read {prep.enable_env}",
        also=lambda: {"enabled": enabled(prep)},
    )
    if not flags["enabled"]:
        return Outcome.skipped(f"{prep.title} disabled for scene {scene_id}", scene_id=scene_id)
    count = flags[count_param]
    prefix = run.scene(prep.kind)
    complete, inference_complete = f"{prefix}/.{prep.kind}_complete", f"{prefix}/.{prep.kind}_inference_complete"
    failed = f"{prefix}/.failed"
    ttl = stage_timeout(run.workflow, prep.prep_job) + stage_timeout(run.workflow, prep.inference_job) + _usd_budget()
    with scene_lock(run, f"{prep.kind}-prep", ttl_seconds=ttl) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message)
        if markers.exists(run, complete):
            return Outcome.skipped(f"{prep.title} already prepared for scene {scene_id} ({complete} exists)")
        context: dict[str, Any] = {f"{prep.kind}_prefix": prefix}
        try:
            budget = _usd_budget()
            wait_for_marker(
                run,
                run.scene(STAGE2.complete_in("usd")),
                delays=list(USD_WAIT_DELAYS) + [10] * int(budget // 10),
                deadline_seconds=budget,
                newer_than=0,
            )
        except MarkerTimeout as exc:
            markers.write_failure(
                run,
                failed,
                job_name=prep.prep_job,
                code=f"{prep.kind}_usd_missing",
                message=exc.message,
                config_context=context,
            )
            legacy_marker(run, f"{prefix}/.{prep.kind}_failed")
            return Outcome.failed(
                f"{prep.title} preparation failed for scene {scene_id}: the scene USD never completed",
                markers=[failed],
                scene_id=scene_id,
                error_code=f"{prep.kind}_usd_missing",
            )
        env = {
            "ASSETS_PREFIX": run.scene("assets"),
            "USD_PREFIX": run.scene("usd"),
            prep.prefix_env: prefix,
            prep.count_env: str(count),
            "RESOLUTION_WIDTH": "720",
            "RESOLUTION_HEIGHT": "480",
            "NUM_FRAMES": "49",
            "FPS": "24",
        }
        if prep.robot:
            env["ROBOT"] = "franka_panda"
        result = launch(
            run,
            prep.prep_job,
            env,
            rollback=prefix,
            failed_marker=failed,
            code=f"{prep.kind}_start_failed",
            config_context=context,
        )
        if result.failed:
            record_failure(
                run,
                result,
                failed_marker=failed,
                code=f"{prep.kind}_failed",
                message=f"{prep.title} preparation failed",
                config_context=context,
            )
            legacy_marker(run, f"{prefix}/.{prep.kind}_failed")
            return Outcome.failed(
                f"{prep.title} preparation failed for scene {scene_id}",
                markers=[failed],
                scene_id=scene_id,
                **{f"{prep.kind}_execution": result.execution_id},
            )
        markers.write_marker(run, complete)
        try:
            inferred = launch(
                run,
                prep.inference_job,
                {prep.prefix_env: prefix},
                rollback=None,
                failed_marker=failed,
                code=f"{prep.kind}_inference_start_failed",
                config_context=context,
            )
        except JobStartError:
            step(f"rollback inference outputs {prefix}", _drop_inference_outputs, run, prefix)
            raise
        if inferred.failed:
            record_failure(
                run,
                inferred,
                failed_marker=failed,
                code=f"{prep.kind}_inference_failed",
                message=f"{prep.title} inference failed",
                config_context=context,
            )
            legacy_marker(run, f"{prefix}/.{prep.kind}_inference_failed")
            return Outcome.failed(
                f"{prep.title} preparation failed for scene {scene_id}",
                markers=[failed, complete],
                scene_id=scene_id,
                stage="inference",
                **{f"{prep.kind}_execution": inferred.execution_id},
            )
        markers.write_marker(run, inference_complete)
        return Outcome.success(
            f"{prep.title} preparation and inference completed for scene {scene_id}",
            markers=[complete, inference_complete],
            scene_id=scene_id,
            outputs={
                f"{prep.kind}_bundles": prefix + "/",
                "completion_marker": complete,
                "inference_marker": inference_complete,
            },
            **{f"{prep.kind}_execution": inferred.execution_id},
        )


def _drop_inference_outputs(run: Run, prefix: str) -> list[str]:
    gone = []
    for info in run.bucket.list(prefix + "/"):
        if info.key.endswith("/inference.json") and run.bucket.delete(info.key):
            gone.append(info.key)
    return gone
