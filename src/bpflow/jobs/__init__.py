"""Job registry: the seed's job names mapped to the modules that implement them.

A workflow names a job the way the seed does (``retention-cleanup-job``); a runner needs a
module to execute (``python -m bpflow.jobs.retention_cleanup``). Keeping the mapping in one
table means a stage can move to another implementation (or a plugin) without touching any
workflow. Each module exposes ``main() -> int`` and follows the env contract in ``_env``.
"""

from __future__ import annotations

from bpflow.errors import JobStartError

JOBS: dict[str, str] = {
    "noop-job": "bpflow.jobs.noop",
    "retention-cleanup-job": "bpflow.jobs.retention_cleanup",
}


def register_job(name: str, module: str) -> None:
    """Add or replace a job (plugins, tests). Later registrations win, so a test can swap a job."""
    if not name or not module:
        raise ValueError("job name and module must be non-empty")
    JOBS[name] = module


def job_module(name: str) -> str:
    """The module that implements ``name``. An unknown job is a configuration mistake: no retry helps."""
    try:
        return JOBS[name]
    except KeyError:
        raise JobStartError(
            f"unknown job {name!r}", code="unknown_job", retryable=False, details={"known": sorted(JOBS)}
        ) from None


__all__ = ["JOBS", "job_module", "register_job"]
