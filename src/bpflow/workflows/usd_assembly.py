"""usd-assembly-pipeline — Stage 2 (trigger and markers: ``core/stages.yaml``). Under the scene lock:
convert every asset to USD, make each object simready (and wait for ``assets/.simready_complete``),
articulate what has doors and drawers and judge it by the interactive policy, assemble ``usd/scene.usda``,
then the replicator bundle and the Isaac Lab package (spec §2.3, fixed order). Each marker is written by
this workflow once it checked its job's fresh outputs, the replicator's last so Stage 3 never races the
Isaac baseline; a failed step leaves its ``.failed`` marker. SUCCESS, PARTIAL_SUCCESS (Isaac Lab failed,
``require_isaac`` false), SKIPPED (lock held, or not the trigger), or an error.
"""

from __future__ import annotations

from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.params import flag, recorded_params
from bpflow.blocks.retry import PollSchedule
from bpflow.blocks.stage_run import StageRun
from bpflow.blocks.wait import wait_for_marker
from bpflow.core.engine.durable import now_epoch
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import MarkerTimeout
from bpflow.core.policy.timeouts import stage_timeout
from bpflow.core.stages import STAGES
from bpflow.domain.usd import interactive_gate as gate

STAGE = STAGES["usd-assembly"]
NAME, TRIGGER = STAGE.workflow, STAGE.trigger_re
(USD_DONE, REPLICATOR_DONE, ISAAC_DONE), (ASSEMBLY_DONE,), FAILED = (
    STAGE.complete,
    STAGE.also_complete,
    {k.split("/")[0]: k for k in STAGE.failed},
)
STEPS = ("convert", "simready", "interactive", "usd", "replicator", "isaac-lab")
MARKER_CLOCK_SLACK = 2.0  # seconds a fresh marker may look older than its job's start (rounded mtimes)
TIMEOUT = (
    sum(stage_timeout(NAME, s) for s in STEPS) + int(sum(PollSchedule.from_policy("simready_marker").delays())) + 600
)
INTERACTIVE_OUTPUTS = ("assets/.interactive_complete", "assets/.interactive_summary.json", FAILED["assets"])
PARAMS = {
    "interactive_failure_policy": ("INTERACTIVE_FAILURE_POLICY", gate.DEFAULT_POLICY),
    "interactive_force_run": ("INTERACTIVE_FORCE_RUN", None),
    "require_replicator": ("REQUIRE_REPLICATOR", None),
    "require_isaac": ("REQUIRE_ISAAC", None),
}


def _convert(s: StageRun) -> JobOutcome:
    r = s.job(
        "convert", s.env("layout", "assets", "usd", CONVERT_ONLY="true"), FAILED["usd"], "USD conversion", "usd_convert"
    )
    doc = s.fresh("usd/usd_assembly_manifest.json", r)
    if doc is None or doc.get("convert_only") is not True or doc.get("status") != "completed":
        s.fail(
            "convert",
            FAILED["usd"],
            "usd_convert_outputs_missing",
            f"USD conversion for scene {s.scene_id} left no completed usd_assembly_manifest.json",
            r,
        )
    return r


def _simready(s: StageRun) -> None:
    markers.delete(s.run, s.run.scene("assets/.simready_complete"))  # only this run's marker may count
    started = now_epoch()
    r = s.job(
        "simready", s.env("assets", SIMREADY_PHYSICS_MODE="deterministic"), FAILED["simready"], "Simready", "simready"
    )
    try:
        wait_for_marker(
            s.run,
            s.run.scene("assets/.simready_complete"),
            policy="simready_marker",
            newer_than=started - MARKER_CLOCK_SLACK,
        )
    except MarkerTimeout as exc:  # re-checks after the first look, as the reference counts them
        s.fail(
            "simready",
            FAILED["simready"],
            "simready_marker_missing",
            f"Simready job FAILED for scene {s.scene_id} (missing .simready_complete after {int(exc.details.get('checks', 1)) - 1} checks)",
            r,
        )


def _interactive(s: StageRun, policy: str, force: bool) -> dict[str, Any]:
    manifest = s.doc("assets/scene_manifest.json")
    candidate, required = gate.articulation_counts(
        objs if isinstance(manifest, dict) and isinstance(objs := manifest.get("objects"), list) else []
    )
    info: dict[str, Any] = {
        "policy": policy,
        "candidate_articulation_count": candidate,
        "required_articulation_count": required,
    }
    if not (force or candidate > 0):
        return {**info, "ran": False}
    for key in INTERACTIVE_OUTPUTS:
        markers.delete(s.run, s.run.scene(key))
    r = s.launch(
        "interactive",
        s.env("assets"),
        rollback=s.run.scene("assets/interactive"),
        marker=FAILED["assets"],
        code="interactive_start_failed",
        fatal=False,
    )
    state = (
        gate.from_marker(True, None, None)
        if r is None or r.failed
        else gate.from_marker(False, s.doc("assets/.interactive_complete"), s.doc("assets/.interactive_summary.json"))
    )
    decision = gate.evaluate(policy, candidate, required, state)
    info.update(
        ran=True,
        execution=r.execution_id if r else None,
        marker_status=state.marker_status,
        gate=decision.reason,
        passed=decision.passed,
    )
    if not decision.passed:
        s.fail(
            "interactive",
            FAILED["assets"],
            "interactive_gate_failed",
            gate.failure_message(s.scene_id, policy, candidate, required, state),
            r,
            cause=decision.reason,
        )
    return info


def _usd(s: StageRun, policy: str) -> JobOutcome:
    r = s.job(
        "usd",
        s.env("layout", "assets", "usd", INTERACTIVE_FAILURE_POLICY=policy),
        FAILED["usd"],
        "USD assembly",
        "usd_assembly",
    )
    doc = s.fresh("usd/usd_assembly_manifest.json", r)
    if (
        doc is None
        or doc.get("convert_only") is not False
        or doc.get("status") != "completed"
        or s.missing("usd/scene.usda")
    ):
        s.fail(
            "usd",
            FAILED["usd"],
            "usd_outputs_missing",
            f"USD assembly for scene {s.scene_id} left no completed scene.usda",
            r,
        )
    fields = {
        "scene_usda": s.run.scene("usd/scene.usda"),
        "assembly_manifest": s.run.scene("usd/usd_assembly_manifest.json"),
        "object_count": len((doc or {}).get("objects", [])),
        "execution_id": r.execution_id,
    }
    for key in (USD_DONE, ASSEMBLY_DONE):
        markers.write_marker(s.run, s.run.scene(key), **fields)
    return r


@workflow(NAME, timeout_seconds=TIMEOUT)
def usd_assembly(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a completion marker file: {run.object_name}")
    p = recorded_params(run, PARAMS)
    policy, need_rep, need_isaac = (
        str(p["interactive_failure_policy"]),
        flag(p["require_replicator"], True),
        flag(p["require_isaac"], True),
    )
    with scene_lock(run, "usd-assembly", ttl_seconds=TIMEOUT) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=run.scene_id)
        for key in STAGE.markers:  # this run's outcome replaces the last run's
            markers.delete(run, run.scene(key))
        s, sid = StageRun(run, NAME), run.scene_id
        convert = _convert(s)
        _simready(s)
        interactive = _interactive(s, policy, flag(p["interactive_force_run"], False))
        usd = _usd(s, policy)
        rep_msg = f"Replicator job failed and REQUIRE_REPLICATOR=true for scene {sid}"
        replicator, bundle = s.checked(
            "replicator",
            s.env("seg", "assets", "usd", "replicator"),
            need_rep,
            (rep_msg, rep_msg)
            if need_rep
            else (
                f"Replicator job failed for scene {sid}; continuing (REQUIRE_REPLICATOR=false)",
                f"Replicator bundle incomplete for scene {sid}; continuing",
            ),
            "replicator/bundle_metadata.json",
            "replicator/placement_regions.usda",
            "replicator/variation_assets/manifest.json",
        )
        # without a bundle (tolerated) the Isaac job falls back to the manifest's affordances
        isaac_msg = (
            f"Isaac Lab job failed and REQUIRE_ISAAC=true for scene {sid}"
            if need_isaac
            else f"Isaac Lab job failed for scene {sid}; partial success (REQUIRE_ISAAC=false)"
        )
        isaac, meta = s.checked(
            "isaac-lab",
            s.env(
                "layout",
                "assets",
                "usd",
                "replicator",
                "isaac_lab",
                **({} if bundle else {"AFFORDANCE_FEASIBILITY_MODE": "auto"}),
            ),
            need_isaac,
            (isaac_msg, isaac_msg),
            "isaac_lab/generation_metadata.json",
            "isaac_lab/env_cfg.py",
            "isaac_lab/task_spawn_plan.json",
            ok=lambda m: m.get("status") == "complete",
        )
        if meta is not None:
            keys = (
                "task_name",
                "policy_id",
                "runtime_validated",
                "validation_errors",
                "task_catalog_path",
                "task_spawn_plan_baseline_path",
                "task_spawn_plan_path",
                "feasibility_gate",
            )
            markers.write_marker(
                run,
                run.scene(ISAAC_DONE),
                status="complete",
                completed_at=meta.get("updated_at"),
                execution_id=isaac.execution_id,
                **{k: meta.get(k) for k in keys},
            )
        if bundle is not None:
            markers.write_marker(
                run,
                run.scene(REPLICATOR_DONE),
                generated_at=bundle.get("generated_at"),
                policies=bundle.get("policies", []),
                affordance_graph=bundle.get("affordance_graph"),
                execution_id=replicator.execution_id,
            )
        done = [
            run.scene(k)
            for k, wrote in ((USD_DONE, 1), (ASSEMBLY_DONE, 1), (ISAAC_DONE, meta), (REPLICATOR_DONE, bundle))
            if wrote is not None
        ]
        outputs = {"scene_usda": run.scene("usd/scene.usda"), "replicator_bundle": run.scene("replicator/")}
        details = {
            "scene_id": sid,
            "convert_execution": convert.execution_id,
            "usd_execution": usd.execution_id,
            "replicator_execution": replicator.execution_id,
            "isaac_lab_execution": isaac.execution_id,
            "interactive": interactive,
            "replicator_ok": bundle is not None,
        }
        if meta is None:
            return Outcome(
                "PARTIAL_SUCCESS",
                f"Full pipeline completed for scene {sid} (USD + Replicator, Isaac Lab failed)",
                done,
                {**details, "outputs": outputs},
            )
        return Outcome.success(
            f"Full pipeline completed for scene {sid} (USD + Replicator + Isaac Lab)",
            done,
            **details,
            outputs={**outputs, "isaac_lab_package": run.scene("isaac_lab/")},
        )
