"""What every runner shares: the job spec, the result, and the start-vs-fail distinction.

The retry policy depends on one line being drawn sharply: a job that could not be STARTED
(unknown job, missing module, runner down) raises ``JobStartError`` and may be retried; a job
that started and then failed or timed out is reported in a ``JobResult`` and is never relaunched
blindly (its partial outputs need rollback first). Runners must never blur the two.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bpflow.core.errors import JobStartError
from bpflow.jobs import job_module

TAIL_BYTES = 8192
"""How much of a job's stdout/stderr a result keeps: enough for a failure marker, never a whole log."""

DOWN_FILE_ENV = "BPFLOW_RUNNER_DOWN_FILE"


@dataclass
class JobSpec:
    """One job execution request. ``env`` values are strings, exactly what the job will see."""

    name: str
    env: dict[str, str]
    timeout_seconds: float
    module: str | None = None
    log_dir: str | None = None
    """Where a runner keeps the job's whole output (``<execution_id>.log``); None keeps tails only."""


@dataclass
class JobResult:
    name: str
    exit_code: int | None
    duration_seconds: float
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    execution_id: str = field(default="")
    log_path: str = field(default="")

    @property
    def succeeded(self) -> bool:
        return not self.timed_out and self.exit_code == 0


@runtime_checkable
class Runner(Protocol):
    """Runs one job to completion (or timeout). Raises ``JobStartError`` only when it cannot start it."""

    name: str

    def run(self, spec: JobSpec) -> JobResult: ...


def new_execution_id(job_name: str) -> str:
    """A unique execution name, shaped like a Cloud Run execution (``<job>-<suffix>``)."""
    return f"{job_name}-{uuid.uuid4().hex[:12]}"


def check_available() -> None:
    """Operator / test switch for a runner outage.

    When ``BPFLOW_RUNNER_DOWN_FILE`` names a file that exists, the runner refuses to start jobs,
    as a real launcher (Cloud Run API, Docker daemon) does during an outage. An operator can
    drain job starts by touching the file; tests use it to exercise the start-retry path
    without faking any code path.
    """
    path = os.environ.get(DOWN_FILE_ENV)
    if path and os.path.exists(path):
        raise JobStartError(
            "runner unavailable", code="runner_unavailable", retryable=True, details={"down_file": path}
        )


def resolve(spec: JobSpec, execution_id: str) -> tuple[str, dict[str, str]]:
    """Validate a spec and return (module, env to apply on top of the runner's base env).

    A malformed spec can never succeed however often it is retried, hence non-retryable.
    The runner adds ``BPFLOW_JOB_NAME`` (unless given) and ``BPFLOW_EXECUTION_ID`` so a job can
    name itself in its logs, as a Cloud Run job sees ``CLOUD_RUN_JOB`` / ``CLOUD_RUN_EXECUTION``.
    """
    if not isinstance(spec.timeout_seconds, (int, float)) or not 0 < spec.timeout_seconds < math.inf:
        raise JobStartError(
            f"timeout_seconds must be > 0, got {spec.timeout_seconds!r}", code="invalid_job_spec", retryable=False
        )
    bad = [k for k, v in spec.env.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise JobStartError(
            f"job env values must be strings (bad keys: {sorted(map(str, bad))})",
            code="invalid_job_spec",
            retryable=False,
        )
    module = spec.module or job_module(spec.name)
    env = dict(spec.env)
    env.setdefault("BPFLOW_JOB_NAME", spec.name)
    env["BPFLOW_EXECUTION_ID"] = execution_id
    return module, env


def tail(data: bytes | str, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes as text; a multibyte character cut in half becomes U+FFFD."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return raw[-limit:].decode("utf-8", "replace")
