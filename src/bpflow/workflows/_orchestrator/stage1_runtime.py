"""Stage 1 runtime selection (``TEXT_GEN_RUNTIME``): where the two text jobs of one seed run.

Each runtime is a job runner: ``local`` (the embedded default) is whatever ``BPFLOW_RUNNER``
names, ``vm`` / ``cloudrun`` / ``runpod`` are runners of those names that a deployment registers
(``bpflow.core.runners.register_runner``). A runtime whose runner this build does not have fails
with ``stage1_runtime_unavailable`` naming what is missing, it never pretends.

The reference's fallback rule is kept exactly: only a *transient* failure of the ``vm`` or
``runpod`` runtime falls back to ``cloudrun``. For ``vm`` a launch failure or a timeout is
transient and a job that ran and failed is not; for ``runpod`` every failure is transient except
a missing ``RUNPOD_API_KEY``; ``local`` and ``cloudrun`` failures are final.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.blocks.jobs import JobOutcome, run_job
from bpflow.core.engine.durable import step
from bpflow.core.errors import JobStartError
from bpflow.workflows._orchestrator.errors import SourceError, Stage1Failed, Stage1RuntimeUnavailable
from bpflow.workflows._orchestrator.fanout import Child
from bpflow.workflows._orchestrator.options import SourceOptions

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

LOCAL, VM, CLOUDRUN, RUNPOD = "local", "vm", "cloudrun", "runpod"
RUNTIMES = (LOCAL, VM, CLOUDRUN, RUNPOD)
#: Remote runtimes launch once, as the reference's Cloud Run / Cloud Build calls did.
REMOTE_RETRY_PROFILE = "none"


@dataclass
class Stage1Result:
    runtime_used: str
    fallback_to_cloudrun: bool = False
    fallback_reason: str | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _runner_registered(name: str) -> bool:
    from bpflow.core.runners import RUNNERS

    return name in RUNNERS


def _missing_runner(runtime: str, opts: SourceOptions) -> Stage1RuntimeUnavailable:
    where = {
        VM: f"VM {opts.vm['TEXT_GEN_VM_NAME']} in zone {opts.vm['TEXT_GEN_VM_ZONE']}",
        CLOUDRUN: f"Cloud Run jobs {opts.gen_job} / {opts.adapter_job}",
        RUNPOD: "an on-demand RunPod GPU pod",
    }[runtime]
    tag = "transient" if runtime in (VM, RUNPOD) else "non_transient"
    return Stage1RuntimeUnavailable(
        f"[{runtime}_{tag}] TEXT_GEN_RUNTIME={runtime} needs a '{runtime}' job runner that reaches {where}; "
        f"this build has none (register one with bpflow.core.runners.register_runner('{runtime}', ...) "
        f"or set TEXT_GEN_RUNTIME=local)",
        field="TEXT_GEN_RUNTIME",
        transient=runtime in (VM, RUNPOD),
        details={"runtime": runtime},
    )


def job_error(outcome: JobOutcome) -> dict[str, Any] | None:
    """The job's own structured error (kept as a function for call sites that map over results)."""
    return outcome.job_error


def _is_transient(runtime: str, *, start_failed: bool, timed_out: bool) -> bool:
    if runtime == RUNPOD:
        return True
    if runtime == VM:
        return start_failed or timed_out
    return False


def _job_env(child: Child, runtime: str, opts: SourceOptions) -> tuple[dict[str, str], dict[str, str]]:
    base = {
        "SCENE_ID": child.scene_id,
        "REQUEST_OBJECT": child.request_object,
        "TEXTGEN_PREFIX": child.key("textgen"),
        "TEXT_SEED": str(child.seed),
        "TEXT_GEN_RUNTIME": runtime,
    }
    if runtime == VM:
        base.update(opts.vm)
    gen = {**opts.gen_env, **base}
    adapter = {
        **opts.adapter_env,
        **base,
        "ASSETS_PREFIX": child.key("assets"),
        "LAYOUT_PREFIX": child.key("layout"),
        "SEG_PREFIX": child.key("seg"),
    }
    return gen, adapter


def _run_jobs(run: Run, child: Child, opts: SourceOptions, runtime: str) -> Stage1Result:
    """text-scene-gen then text-scene-adapter for one child, on ``runtime``'s runner."""
    runner = None if runtime == LOCAL else runtime
    retry = opts.job_retry_profile if runtime == LOCAL else REMOTE_RETRY_PROFILE
    gen_env, adapter_env = _job_env(child, runtime, opts)
    result = Stage1Result(runtime_used=runtime)
    for job, env, timeout, outputs in (
        (opts.gen_job, gen_env, opts.gen_timeout_seconds, child.key("textgen/")),
        (opts.adapter_job, adapter_env, opts.adapter_timeout_seconds, child.key("assets/")),
    ):
        try:
            outcome = run_job(run, job, timeout_seconds=timeout, env=env, outputs=outputs, retry=retry, runner=runner)
        except JobStartError as exc:
            raise Stage1Failed(
                f"[{runtime}] {job} could not be started for scene {child.scene_id}: {exc.code}: {exc.message}",
                code="stage1_job_start_failed",
                transient=_is_transient(runtime, start_failed=True, timed_out=False),
                details={"job": job, "runtime": runtime},
            ) from None
        result.jobs.append(
            {
                "job": job,
                "exit_code": outcome.exit_code,
                "duration_seconds": round(outcome.duration_seconds, 3),
                "execution_id": outcome.execution_id,
                "log_path": outcome.log_path,
            }
        )
        if outcome.failed:
            raise Stage1Failed(
                f"[{runtime}] {outcome.describe(child.scene_id)}",
                code="stage1_job_timeout" if outcome.timed_out else "stage1_job_failed",
                transient=_is_transient(runtime, start_failed=False, timed_out=outcome.timed_out),
                details={
                    "job": job,
                    "runtime": runtime,
                    "exit_code": outcome.exit_code,
                    "job_error": outcome.job_error,
                },
            )
    return result


def _run_on(run: Run, child: Child, opts: SourceOptions, runtime: str) -> Stage1Result:
    if runtime == RUNPOD and not opts.runpod_key_set:
        raise Stage1RuntimeUnavailable(
            "[runpod_non_transient] RUNPOD_API_KEY is required when TEXT_GEN_RUNTIME=runpod",
            field="RUNPOD_API_KEY",
            transient=False,
        )
    if runtime != LOCAL and not step(f"runner {runtime} registered", _runner_registered, runtime):
        raise _missing_runner(runtime, opts)
    return _run_jobs(run, child, opts, runtime)


def run_stage1(run: Run, child: Child, opts: SourceOptions) -> Stage1Result:
    """Stage 1 for one child on the configured runtime; raises a SourceError on failure."""
    runtime = opts.text_gen_runtime
    if runtime not in RUNTIMES:
        raise Stage1RuntimeUnavailable(f"Unsupported TEXT_GEN_RUNTIME: {runtime}", field="TEXT_GEN_RUNTIME")
    if runtime in (LOCAL, CLOUDRUN):
        return _run_on(run, child, opts, runtime)
    try:
        return _run_on(run, child, opts, runtime)
    except SourceError as exc:
        if not exc.transient:
            raise
        reason = exc.message
    try:
        result = _run_on(run, child, opts, CLOUDRUN)
    except SourceError as exc:
        raise type(exc)(
            f"{exc.message} (the {runtime} runtime failed transiently, so Stage 1 fell back to cloudrun)",
            code=exc.code,
            field=exc.field,
            transient=False,
            details={**exc.details, "fallback_from": runtime, "fallback_reason": reason},
        ) from None
    result.fallback_to_cloudrun = True
    result.fallback_reason = reason
    return result
