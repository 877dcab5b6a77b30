"""Where jobs run. Workflows only see ``Runner.run(JobSpec) -> JobResult``.

``zygote`` is the default: a local child process per job (as the seed's container jobs), forked
from a warm launcher so a job does not pay an interpreter start; ``subprocess`` starts each job
as a fresh interpreter (same isolation, ~40 ms more per job); ``inprocess`` is for tests and
benchmarks. Container / Cloud Run / Kubernetes runners plug in
through ``register_runner`` behind the same interface. ``BPFLOW_RUNNER`` picks one.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from bpflow.core.errors import ConfigError
from bpflow.core.runners.base import JobResult, JobSpec, Runner
from bpflow.core.runners.inprocess import InProcessRunner
from bpflow.core.runners.subprocess import SubprocessRunner
from bpflow.core.runners.zygote import ZygoteRunner

DEFAULT_RUNNER = "zygote"

RUNNERS: dict[str, Callable[[], Runner]] = {
    "inprocess": InProcessRunner,
    "subprocess": SubprocessRunner,
    "zygote": ZygoteRunner,
}


def register_runner(name: str, factory: Callable[[], Runner]) -> None:
    """Add a runner kind (docker, cloudrun, ...) without touching this module."""
    RUNNERS[name] = factory


def get_runner(name: str | None = None) -> Runner:
    """A runner by name; None means ``BPFLOW_RUNNER`` or the default (``zygote``)."""
    chosen = (name or os.environ.get("BPFLOW_RUNNER") or DEFAULT_RUNNER).strip().lower()
    try:
        factory = RUNNERS[chosen]
    except KeyError:
        raise ConfigError(
            f"unknown runner {chosen!r} (known: {', '.join(sorted(RUNNERS))})", field="BPFLOW_RUNNER"
        ) from None
    return factory()


__all__ = [
    "DEFAULT_RUNNER",
    "RUNNERS",
    "InProcessRunner",
    "JobResult",
    "JobSpec",
    "Runner",
    "SubprocessRunner",
    "ZygoteRunner",
    "get_runner",
    "register_runner",
]
