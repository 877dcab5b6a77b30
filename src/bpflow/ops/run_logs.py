"""A run's story: its steps and the whole output of every job it launched.

``run_job`` records each launch as a step named ``job <name> attempt <n>`` whose output holds the
runner's execution id; the runner keeps the job's whole output at
``$BPFLOW_HOME/logs/jobs/<execution_id>.log`` (results only carry 8 KB tails). Logs live on the
machine that ran the job, so a log missing here is reported as missing, not as empty.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpflow.core.scrub import Scrubber
from bpflow.ops.runs import RunReader, StepInfo

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

#: Bigger logs are cut to their last MAX_LOG_BYTES (with a note), so one runaway job cannot
#: exhaust the API process; the file itself is untouched.
MAX_LOG_BYTES = 8 * 1024 * 1024

_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def log_dir(rt: Runtime) -> Path:
    return Path(rt.settings.home) / "logs" / "jobs"


def read_job_log(rt: Runtime, execution_id: str) -> tuple[str | None, bool]:
    """(text, truncated); text None when this machine has no log for the execution."""
    if not _EXECUTION_ID.fullmatch(execution_id):
        return None, False
    path = log_dir(rt) / f"{execution_id}.log"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size > MAX_LOG_BYTES:
                fh.seek(size - MAX_LOG_BYTES)
            data = fh.read(MAX_LOG_BYTES)
    except OSError:
        return None, False
    return data.decode("utf-8", "replace"), size > MAX_LOG_BYTES


def job_launch(step: StepInfo) -> dict[str, Any] | None:
    """The job launch recorded by a ``job <name> attempt <n>`` step, or None for other steps."""
    ja = step.job_attempt
    if ja is None:
        return None
    out = step.output if isinstance(step.output, dict) else {}
    result = raw_result if isinstance(raw_result := out.get("result"), dict) else {}
    start_error = raw_error if isinstance(raw_error := out.get("start_error"), dict) else None
    return {
        "job": ja[0],
        "attempt": ja[1],
        "step_id": step.step_id,
        "execution_id": result.get("execution_id") or None,
        "exit_code": result.get("exit_code"),
        "timed_out": bool(result.get("timed_out")),
        "duration_seconds": result.get("duration_seconds"),
        "start_error": start_error,
    }


def run_logs(rt: Runtime, run_id: str, *, scrubber: Scrubber | None = None) -> dict[str, Any]:
    """The run, its steps, and each job launch with its whole log (secrets scrubbed)."""
    scrub = scrubber or Scrubber.from_settings(rt.settings)
    reader = RunReader(rt)
    run = reader.get(run_id)
    steps = reader.steps(run_id)
    jobs = []
    for step in steps:
        launch = job_launch(step)
        if launch is None:
            continue
        text, truncated = (None, False)
        if launch["execution_id"]:
            text, truncated = read_job_log(rt, launch["execution_id"])
        launch["log"] = None if text is None else scrub.text(text)
        launch["log_truncated"] = truncated
        launch["log_available"] = text is not None
        jobs.append(launch)
    doc: dict[str, Any] = scrub.obj(
        {"run": run.to_dict(), "steps": [s.to_dict() for s in steps], "jobs": jobs}
    )  # a dict stays a dict
    return doc
