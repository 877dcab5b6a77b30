"""usd-assembly-pipeline — Stage 2. Trigger: ``scenes/*/assets/.regen3d_complete``.

Under the scene lock ``locks/usd-assembly.lock``: convert every asset to USD, make each object
simready (then wait for ``assets/.simready_complete``), articulate what has doors and drawers
when the manifest asks for it and judge the result by the interactive policy (``warn`` /
``strict`` / ``hybrid_strict``), assemble ``usd/scene.usda``, build the replicator bundle and
the Isaac Lab package (spec §2.3; the order is fixed).

Markers are written once each, by this workflow, after it checked the job's outputs:
``usd/.usd_complete`` and ``assets/.usd_assembly_complete`` once the scene is assembled,
``isaac_lab/.isaac_lab_complete`` after the Isaac Lab job, and ``replicator/.replicator_complete``
last, so Stage 3 (which it starts) never races the Isaac baseline. A run that fails leaves the
stage's ``.failed`` marker (spec §2.2 paths, standard body) and releases the lock; a job that
could not start also has its outputs rolled back. Outcomes: SUCCESS, PARTIAL_SUCCESS (Isaac Lab
failed with ``require_isaac`` false), SKIPPED (lock held, or not a completion marker), or an
error (``StageFailed`` / ``JobStartError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, run_job
from bpflow.blocks.lock import scene_lock
from bpflow.blocks.retry import PollSchedule
from bpflow.core.policy.timeouts import stage_job_name, stage_retry_profile, stage_timeout
from bpflow.blocks.wait import wait_for_marker
from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import now_epoch, step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import JobStartError, MarkerTimeout, StageFailed
from bpflow.domain.usd import interactive_gate as gate

NAME = "usd-assembly-pipeline"
STEPS = ("convert", "simready", "interactive", "usd", "replicator", "isaac-lab")
TRIGGER = re.compile(r"scenes/[^/]+/assets/\.regen3d_complete")
MARKER_CLOCK_SLACK = 2.0
"""Seconds a fresh marker may appear older than its job's start (stores that round mtimes)."""

TIMEOUT = sum(stage_timeout(NAME, s) for s in STEPS) + int(sum(PollSchedule.from_policy("simready_marker").delays())) + 600

COMPLETION = ("usd/.usd_complete", "assets/.usd_assembly_complete", "isaac_lab/.isaac_lab_complete", "replicator/.replicator_complete")
FAILURES = ("usd/.failed", "simready/.failed", "assets/.interactive_failed", "replicator/.failed", "isaac_lab/.failed")
INTERACTIVE_OUTPUTS = ("assets/.interactive_complete", "assets/.interactive_summary.json", "assets/.interactive_failed")


@dataclass(frozen=True)
class Flags:
    policy: str
    force_interactive: bool
    require_replicator: bool
    require_isaac: bool

    @classmethod
    def of(cls, run: Run) -> "Flags":
        return cls(
            policy=str(run.param("interactive_failure_policy", "INTERACTIVE_FAILURE_POLICY", gate.DEFAULT_POLICY)),
            # the reference's booleans (§0.2): payload, env, default; true only when it reads "true"
            force_interactive=parse_bool(run.param("interactive_force_run", "INTERACTIVE_FORCE_RUN"), False, strict=True),
            require_replicator=parse_bool(run.param("require_replicator", "REQUIRE_REPLICATOR"), True, strict=True),
            require_isaac=parse_bool(run.param("require_isaac", "REQUIRE_ISAAC"), True, strict=True),
        )


class Stage:
    """One run's steps: launching jobs, failure markers, output checks."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.scene_id = run.scene_id or ""
        self.prefix = {k: run.scene(k) for k in ("seg", "layout", "assets", "usd", "replicator", "isaac_lab", "simready")}

    def env(self, *names: str, **extra: Any) -> dict[str, Any]:
        env = {f"{n.upper()}_PREFIX": self.prefix[n] for n in names}
        env.update(extra)
        return env

    def launch(self, step: str, env: dict[str, Any], *, rollback: str, marker: str, code: str, fatal: bool = True) -> JobOutcome | None:
        """Run the step's job; a start failure rolls ``rollback`` back and writes ``marker``."""
        job = stage_job_name(NAME, step)
        try:
            return run_job(self.run, job, timeout_seconds=stage_timeout(NAME, step), env=env, retry=stage_retry_profile(NAME, step))
        except JobStartError as exc:
            markers.rollback_outputs(self.run, rollback)
            markers.write_failure(self.run, self.run.scene(marker), job_name=job, code=code, message=exc.message, stage=step, config_context={"output_prefix": rollback})
            if fatal:
                raise
            return None

    def fail(self, step: str, marker: str, code: str, message: str, result: JobOutcome | None = None, *, tolerated: bool = False, cause: str | None = None) -> None:
        """Write the step's failure marker (the job's exit, timeout and own error in context)."""
        context: dict[str, Any] = {"cause": cause} if cause else {}
        if result is not None:
            if result.timed_out:
                code = code.replace("_failed", "_timeout")
            context.update(exit_code=result.exit_code, timed_out=result.timed_out, timeout_seconds=result.timeout_seconds, log=result.log_path, job_error=result.job_error)
        markers.write_failure(
            self.run,
            self.run.scene(marker),
            job_name=result.job if result else stage_job_name(NAME, step),
            code=code,
            message=message,
            error_type="tolerated_failure" if tolerated else "workflow_failure",
            stage=step,
            execution_id=result.execution_id if result else None,
            config_context=context,
        )
        if not tolerated:
            raise StageFailed(message, code=code, details={"step": step, "marker": self.run.scene(marker)})

    def doc(self, rel: str) -> Any:
        """A JSON object of the scene, or None when it is absent or not JSON (a job's garbage
        must end in this stage's failure marker, not in a crashed run)."""

        def _do() -> Any:
            try:
                return self.run.bucket.read_json_or_none(self.run.scene(rel))
            except ValueError:
                return None

        return step(f"read {rel}", _do)

    def fresh(self, key: str, result: JobOutcome) -> dict[str, Any] | None:
        """The JSON output ``key`` if this very execution wrote it, else None."""
        doc = self.doc(key)
        if isinstance(doc, dict) and (doc.get("written_by") or {}).get("execution_id") == result.execution_id:
            return doc
        return None

    def missing(self, *keys: str) -> list[str]:
        return [k for k in keys if not markers.exists(self.run, self.run.scene(k))]


def _convert(s: Stage) -> JobOutcome:
    r = s.launch("convert", s.env("layout", "assets", "usd", CONVERT_ONLY="true"), rollback=s.prefix["usd"], marker="usd/.failed", code="usd_convert_start_failed")
    assert r is not None
    if r.failed:
        s.fail("convert", "usd/.failed", "usd_convert_failed", f"USD conversion job FAILED for scene {s.scene_id}", r)
    doc = s.fresh("usd/usd_assembly_manifest.json", r)
    if doc is None or doc.get("convert_only") is not True or doc.get("status") != "completed":
        s.fail("convert", "usd/.failed", "usd_convert_outputs_missing", f"USD conversion for scene {s.scene_id} left no completed usd_assembly_manifest.json", r)
    return r


def _simready(s: Stage) -> JobOutcome:
    markers.delete(s.run, s.run.scene("assets/.simready_complete"))  # only this run's marker may count
    started = now_epoch()
    r = s.launch("simready", s.env("assets", SIMREADY_PHYSICS_MODE="deterministic"), rollback=s.prefix["simready"], marker="simready/.failed", code="simready_start_failed")
    assert r is not None
    if r.failed:
        s.fail("simready", "simready/.failed", "simready_failed", f"Simready job FAILED for scene {s.scene_id}", r)
    try:
        wait_for_marker(s.run, s.run.scene("assets/.simready_complete"), policy="simready_marker", newer_than=started - MARKER_CLOCK_SLACK)
    except MarkerTimeout as exc:
        checks = int(exc.details.get("checks", 1)) - 1  # re-checks after the first look, as the reference counts
        s.fail("simready", "simready/.failed", "simready_marker_missing", f"Simready job FAILED for scene {s.scene_id} (missing .simready_complete after {checks} checks)", r)
    return r


def _interactive(s: Stage, flags: Flags) -> dict[str, Any]:
    manifest = s.doc("assets/scene_manifest.json")
    objects = manifest.get("objects") if isinstance(manifest, dict) and isinstance(manifest.get("objects"), list) else []
    candidate, required = gate.articulation_counts(objects)
    info: dict[str, Any] = {"policy": flags.policy, "candidate_articulation_count": candidate, "required_articulation_count": required}
    if not (flags.force_interactive or candidate > 0):
        return {**info, "ran": False}
    for key in INTERACTIVE_OUTPUTS:
        markers.delete(s.run, s.run.scene(key))
    r = s.launch("interactive", s.env("assets"), rollback=s.run.scene("assets/interactive"), marker="assets/.interactive_failed", code="interactive_start_failed", fatal=False)
    if r is None or r.failed:
        state = gate.from_marker(True, None, None)
    else:
        state = gate.from_marker(False, s.doc("assets/.interactive_complete"), s.doc("assets/.interactive_summary.json"))
    decision = gate.evaluate(flags.policy, candidate, required, state)
    info.update(ran=True, execution=r.execution_id if r else None, marker_status=state.marker_status, gate=decision.reason, passed=decision.passed)
    if not decision.passed:
        s.fail("interactive", "assets/.interactive_failed", "interactive_gate_failed", gate.failure_message(s.scene_id, flags.policy, candidate, required, state), r, cause=decision.reason)
    return info


def _usd(s: Stage, flags: Flags) -> JobOutcome:
    r = s.launch("usd", s.env("layout", "assets", "usd", INTERACTIVE_FAILURE_POLICY=flags.policy), rollback=s.prefix["usd"], marker="usd/.failed", code="usd_assembly_start_failed")
    assert r is not None
    if r.failed:
        s.fail("usd", "usd/.failed", "usd_assembly_failed", f"USD assembly job FAILED for scene {s.scene_id}", r)
    doc = s.fresh("usd/usd_assembly_manifest.json", r)
    if doc is None or doc.get("convert_only") is not False or doc.get("status") != "completed" or s.missing("usd/scene.usda"):
        s.fail("usd", "usd/.failed", "usd_outputs_missing", f"USD assembly for scene {s.scene_id} left no completed scene.usda", r)
    assert doc is not None
    fields = {"scene_usda": s.run.scene("usd/scene.usda"), "assembly_manifest": s.run.scene("usd/usd_assembly_manifest.json"), "object_count": len(doc.get("objects", [])), "execution_id": r.execution_id}
    markers.write_marker(s.run, s.run.scene("usd/.usd_complete"), **fields)
    markers.write_marker(s.run, s.run.scene("assets/.usd_assembly_complete"), **fields)
    return r


def _replicator(s: Stage, flags: Flags) -> tuple[JobOutcome, dict[str, Any] | None]:
    r = s.launch("replicator", s.env("seg", "assets", "usd", "replicator"), rollback=s.prefix["replicator"], marker="replicator/.failed", code="replicator_start_failed")
    assert r is not None
    message = f"Replicator job failed and REQUIRE_REPLICATOR=true for scene {s.scene_id}"
    if r.failed:
        s.fail("replicator", "replicator/.failed", "replicator_failed", message if flags.require_replicator else f"Replicator job failed for scene {s.scene_id}; continuing (REQUIRE_REPLICATOR=false)", r, tolerated=not flags.require_replicator)
        return r, None
    bundle = s.fresh("replicator/bundle_metadata.json", r)
    if bundle is None or s.missing("replicator/placement_regions.usda", "replicator/variation_assets/manifest.json"):
        s.fail("replicator", "replicator/.failed", "replicator_outputs_missing", message if flags.require_replicator else f"Replicator bundle incomplete for scene {s.scene_id}; continuing", r, tolerated=not flags.require_replicator)
        return r, None
    return r, bundle


def _isaac(s: Stage, flags: Flags, have_bundle: bool) -> tuple[JobOutcome, bool]:
    # Without a replicator bundle (tolerated under require_replicator=false) the job falls back
    # to the manifest's affordances instead of failing strict mode for a missing graph.
    extra = {} if have_bundle else {"AFFORDANCE_FEASIBILITY_MODE": "auto"}
    r = s.launch("isaac-lab", s.env("layout", "assets", "usd", "replicator", "isaac_lab", **extra), rollback=s.prefix["isaac_lab"], marker="isaac_lab/.failed", code="isaac_lab_start_failed")
    assert r is not None
    message = f"Isaac Lab job failed and REQUIRE_ISAAC=true for scene {s.scene_id}" if flags.require_isaac else f"Isaac Lab job failed for scene {s.scene_id}; partial success (REQUIRE_ISAAC=false)"
    if r.failed:
        s.fail("isaac-lab", "isaac_lab/.failed", "isaac_lab_failed", message, r, tolerated=not flags.require_isaac)
        return r, False
    meta = s.fresh("isaac_lab/generation_metadata.json", r)
    if meta is None or meta.get("status") != "complete" or s.missing("isaac_lab/env_cfg.py", "isaac_lab/task_spawn_plan.json"):
        s.fail("isaac-lab", "isaac_lab/.failed", "isaac_lab_outputs_missing", message, r, tolerated=not flags.require_isaac)
        return r, False
    assert meta is not None
    keys = ("task_name", "policy_id", "runtime_validated", "validation_errors", "task_catalog_path", "task_spawn_plan_baseline_path", "task_spawn_plan_path", "feasibility_gate")
    markers.write_marker(s.run, s.run.scene("isaac_lab/.isaac_lab_complete"), status="complete", completed_at=meta.get("updated_at"), execution_id=r.execution_id, **{k: meta.get(k) for k in keys})
    return r, True


@workflow(NAME, timeout_seconds=TIMEOUT)
def usd_assembly(run: Run) -> Outcome:
    if not TRIGGER.fullmatch(run.object_name or "") or run.scene_id is None:
        return Outcome.skipped(f"Not a completion marker file: {run.object_name}")
    flags = Flags.of(run)
    with scene_lock(run, "usd-assembly", ttl_seconds=TIMEOUT) as lock:
        if not lock.acquired:
            return Outcome.skipped(lock.message, scene_id=run.scene_id)
        for key in COMPLETION + FAILURES:  # this run's outcome replaces the last run's
            markers.delete(run, run.scene(key))
        s = Stage(run)
        convert = _convert(s)
        _simready(s)
        interactive = _interactive(s, flags)
        usd = _usd(s, flags)
        replicator, bundle = _replicator(s, flags)
        isaac, isaac_ok = _isaac(s, flags, bundle is not None)
        done = [run.scene("usd/.usd_complete"), run.scene("assets/.usd_assembly_complete")]
        if isaac_ok:
            done.append(run.scene("isaac_lab/.isaac_lab_complete"))
        if bundle is not None:
            key = run.scene("replicator/.replicator_complete")
            markers.write_marker(run, key, generated_at=bundle.get("generated_at"), policies=bundle.get("policies", []), affordance_graph=bundle.get("affordance_graph"), execution_id=replicator.execution_id)
            done.append(key)
        outputs = {"scene_usda": run.scene("usd/scene.usda"), "replicator_bundle": run.scene("replicator/")}
        details = {
            "scene_id": run.scene_id,
            "convert_execution": convert.execution_id,
            "usd_execution": usd.execution_id,
            "replicator_execution": replicator.execution_id,
            "isaac_lab_execution": isaac.execution_id,
            "interactive": interactive,
            "replicator_ok": bundle is not None,
        }
        if not isaac_ok:
            return Outcome("PARTIAL_SUCCESS", f"Full pipeline completed for scene {run.scene_id} (USD + Replicator, Isaac Lab failed)", done, {**details, "outputs": outputs})
        outputs["isaac_lab_package"] = run.scene("isaac_lab/")
        return Outcome.success(f"Full pipeline completed for scene {run.scene_id} (USD + Replicator + Isaac Lab)", done, **details, outputs=outputs)
