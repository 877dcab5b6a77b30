"""run_job: launch a job through the configured runner with the retry policy, and account for it.

The line drawn here is the reference's: a job that could not be *started* is retried with
backoff (a flaky launcher); a job that started and failed is reported, never relaunched blindly.
When the start finally fails, the stage's own data outputs are rolled back and the standard
``.failed`` marker is written before the error propagates.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.retry import RetryPolicy
from bpflow.core import observe
from bpflow.core.engine.durable import sleep, step
from bpflow.core.errors import JobStartError
from bpflow.core.runners import get_runner
from bpflow.core.runners.base import JobResult, JobSpec

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


@dataclass
class JobOutcome:
    job: str
    exit_code: int | None
    duration_seconds: float
    timed_out: bool
    timeout_seconds: float
    execution_id: str
    stdout_tail: str
    stderr_tail: str
    attempts: int
    log_path: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.timed_out and self.exit_code == 0

    @property
    def failed(self) -> bool:
        return not self.succeeded

    @property
    def job_error(self) -> dict[str, Any] | None:
        """The job's own structured error: the last ``{"error": {...}}`` JSON line it printed on
        stderr (``bpflow.core.jobkit.run_main`` prints one for every typed failure), if any."""
        for line in reversed(self.stderr_tail.strip().splitlines()):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            error = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(error, dict):
                return error
        return None

    @property
    def error_text(self) -> str | None:
        """``<code> [<field>]: <message>`` from the job's own error line, or None."""
        err = self.job_error
        if not err:
            return None
        where = f" [{err['field']}]" if err.get("field") else ""
        return f"{err.get('code', 'error')}{where}: {err.get('message', '')}"

    def reason(self) -> str:
        """Why the job failed, shortest form: the timeout, else its own error, else the exit code."""
        if self.timed_out:
            return f"timed out after {self.timeout_seconds:.0f}s"
        return self.error_text or f"exit code {self.exit_code}"

    def describe(self, scene_id: str | None) -> str:
        """One line for a failure message: which job, how it ended, and its own error (or the
        last line it printed). The one place a failed job is put into words."""
        what = f"timed out after {self.timeout_seconds:.0f}s" if self.timed_out else f"exited {self.exit_code}"
        tail = self.error_text
        if tail is None:
            tail = (self.stderr_tail.strip().splitlines()[-1:] or [""])[0]
        return f"{self.job} {what} for scene {scene_id}: {tail}"[:1000]

    def fields(self) -> dict[str, Any]:
        """The job's end as marker/event context (exit, timeout, its own error, log)."""
        return {
            "execution_id": self.execution_id,
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "job_error": self.job_error,
            "log": self.log_path,
        }

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["stdout_tail"] = self.stdout_tail[-1000:]
        out["stderr_tail"] = self.stderr_tail[-2000:]
        return out


@dataclass(frozen=True)
class StartFailure:
    """What a job that never started leaves behind: ``rollback`` (a prefix, optional) emptied,
    then the standard failure body at ``marker`` with ``code``. ``run_job`` does both before it
    raises, so no workflow hand-writes the catch/rollback/.failed sequence."""

    marker: str
    code: str
    rollback: str | None = None
    stage: str | None = None
    context: dict[str, Any] | None = None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def job_env(run: Run, job: str, extra: dict[str, Any] | None) -> dict[str, str]:
    """The env contract of DESIGN principle 4 plus the stage's own options (all strings)."""
    env = {
        "BPFLOW_BUCKET_URL": run.bucket.url,
        "BUCKET": run.bucket_name,
        "BPFLOW_RUN_ID": run.run_id,
        "BPFLOW_JOB_NAME": job,
    }
    if run.scene_id:
        env["SCENE_ID"] = run.scene_id
    for k, v in (extra or {}).items():
        if v is None:
            continue
        env[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return env


def _launch(run: Run, job: str, env: dict[str, str], timeout_seconds: float, runner_name: str | None) -> dict[str, Any]:
    """One launch attempt, as a step: the job's result, or the start error as data."""
    started = time.time()
    _emit_invocation(run, job, timeout_seconds, "start", status="STARTED", started=started, ended=None)
    try:
        log_dir = os.path.join(run.settings.home, "logs", "jobs")
        result: JobResult = get_runner(runner_name).run(
            JobSpec(name=job, env=env, timeout_seconds=timeout_seconds, log_dir=log_dir)
        )
    except JobStartError as exc:
        return {"start_error": exc.to_dict(), "retryable": exc.retryable, "started": started}
    _record_completion(run, job, result, timeout_seconds, started)
    return {"result": asdict(result), "started": started}


def _emit_invocation(
    run: Run,
    job: str,
    timeout_seconds: float,
    event: str,
    *,
    status: str,
    started: float,
    ended: float | None,
    **measured: Any,
) -> None:
    """The one ``job_invocation`` event shape (start, completion, start failure), so dashboards
    and log queries see the same fields whichever way a launch ended. ``measured`` overrides the
    zero duration/ratio a launch that never ran reports."""
    fields: dict[str, Any] = {"duration_seconds": 0, "timeout_usage_ratio": 0, "timed_out": False, **measured}
    observe.emit(
        "job_invocation",
        event=event,
        workflow=run.workflow,
        run_id=run.run_id,
        job=job,
        scene_id=run.scene_id,
        timeout_seconds=timeout_seconds,
        status=status,
        start_time=_iso(started),
        end_time=None if ended is None else _iso(ended),
        **fields,
    )


def _record_completion(run: Run, job: str, result: JobResult, timeout_seconds: float, started: float) -> None:
    """Inside the launch step, so a replayed workflow does not count the job twice."""
    status = "SUCCEEDED" if result.succeeded else "FAILED"
    ratio = result.duration_seconds / timeout_seconds if timeout_seconds else 0.0
    observe.JOB_DURATION.labels(run.workflow, job, status).observe(result.duration_seconds)
    observe.JOB_TIMEOUT_RATIO.labels(run.workflow, job).observe(ratio)
    _emit_invocation(
        run,
        job,
        timeout_seconds,
        "complete",
        status=status,
        started=started,
        ended=started + result.duration_seconds,
        duration_seconds=round(result.duration_seconds, 3),
        timeout_usage_ratio=round(ratio, 4),
        timed_out=result.timed_out or result.duration_seconds >= timeout_seconds,
        execution_name=result.execution_id,
    )


def run_job(
    run: Run,
    job: str,
    *,
    timeout_seconds: float,
    env: dict[str, Any] | None = None,
    outputs: str | None = None,
    failure_marker: str | None = None,
    retry: str = "default",
    runner: str | None = None,
    on_start_failure: StartFailure | None = None,
) -> JobOutcome:
    """Run ``job`` to completion. Raises JobStartError (after rollback) when it never started.

    ``outputs`` (with ``failure_marker``) is the short form of ``on_start_failure``: roll the
    prefix back and write ``<outputs>/.failed`` with a code derived from the job's name."""
    if on_start_failure is None and outputs is not None:
        on_start_failure = StartFailure(
            marker=failure_marker or outputs.rstrip("/") + "/.failed",
            code=f"{job.removesuffix('-job').replace('-', '_')}_start_failed",
            rollback=outputs,
            context={"output_prefix": outputs},
        )
    policy = RetryPolicy.from_policy(retry)
    full_env = job_env(run, job, env)
    delays = policy.delays()
    attempt = 0
    while True:
        attempt += 1
        got = step(f"job {job} attempt {attempt}", _launch, run, job, full_env, timeout_seconds, runner)
        if "result" in got:
            return _account(run, job, got, timeout_seconds, attempt)
        err = got["start_error"]
        if got["retryable"] and attempt <= len(delays):
            sleep(delays[attempt - 1])
            continue
        observe.RETRIES_EXHAUSTED.labels(run.workflow, job).inc()
        observe.emit(
            "job_retry_exhausted",
            workflow=run.workflow,
            job=job,
            scene_id=run.scene_id,
            retry_max=policy.max_retries,
            attempts=attempt,
            error=err.get("message"),
        )
        _emit_invocation(
            run, job, timeout_seconds, "complete", status="FAILED", started=got["started"], ended=time.time()
        )
        start_error = JobStartError(
            err.get("message", "job could not be started"),
            code=err.get("code", "job_start_failed"),
            retryable=False,
            details={"job": job, "attempts": attempt},
        )
        if on_start_failure is not None:
            _record_start_failure(run, job, on_start_failure, start_error)
        raise start_error


def _record_start_failure(run: Run, job: str, how: StartFailure, error: JobStartError) -> None:
    if how.rollback:
        markers.rollback_outputs(run, how.rollback)
    markers.write_failure(
        run,
        how.marker,
        job_name=job,
        code=how.code,
        message=error.message,
        stage=how.stage,
        config_context=how.context or {},
    )


def _account(run: Run, job: str, got: dict[str, Any], timeout_seconds: float, attempts: int) -> JobOutcome:
    res = got["result"]
    return JobOutcome(
        job=job,
        exit_code=res["exit_code"],
        duration_seconds=float(res["duration_seconds"]),
        timed_out=bool(res["timed_out"]),
        timeout_seconds=timeout_seconds,
        execution_id=res.get("execution_id", ""),
        stdout_tail=res.get("stdout_tail", ""),
        stderr_tail=res.get("stderr_tail", ""),
        attempts=attempts,
        log_path=res.get("log_path", ""),
    )
