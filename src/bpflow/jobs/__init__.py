"""Job registry: the seed's job names mapped to the modules that implement them.

A workflow names a job the way the seed does (``retention-cleanup-job``); a runner needs a
module to execute (``python -m bpflow.jobs.retention_cleanup``). Keeping the mapping in one
table means a stage can move to another implementation (or a plugin) without touching any
workflow. Each module exposes ``main() -> int`` and follows the env contract in ``_env``.
"""

from __future__ import annotations

import importlib.util

from bpflow.core.errors import JobStartError

JOBS: dict[str, str] = {
    "noop-job": "bpflow.jobs.noop",
    "retention-cleanup-job": "bpflow.jobs.retention_cleanup",
}


def register_job(name: str, module: str) -> None:
    """Add or replace a job (plugins, tests). Later registrations win, so a test can swap a job."""
    if not name or not module:
        raise ValueError("job name and module must be non-empty")
    JOBS[name] = module


def conventional_module(name: str) -> str:
    """``text-scene-gen-job`` → ``bpflow.jobs.text_scene_gen``: a new job module needs no registry edit."""
    return "bpflow.jobs." + name.removesuffix("-job").replace("-", "_")


def job_module(name: str) -> str:
    """The module that implements ``name``: the registry first, then the naming convention.
    An unknown job is a configuration mistake: no retry helps."""
    if name in JOBS:
        return JOBS[name]
    module = conventional_module(name)
    if all(part.isidentifier() for part in module.split(".")) and importlib.util.find_spec(module) is not None:
        return module
    raise JobStartError(f"unknown job {name!r}", code="unknown_job", retryable=False, details={"known": sorted(JOBS)})


__all__ = ["JOBS", "conventional_module", "job_module", "register_job"]
