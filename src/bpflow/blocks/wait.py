"""Waiting for a marker: bounded by a schedule and a deadline, and only a *fresh* marker counts.

The reference accepted any marker, so one left by last week's run satisfied today's wait at once.
Here a marker counts only if it was written after the waiting run was created.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.retry import PollSchedule
from bpflow.core.engine.durable import now_epoch, sleep, step
from bpflow.core.errors import ConfigError, MarkerTimeout

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


def run_created_at(run: Run) -> float:
    """When the waiting run was created (epoch seconds), recorded once so replays agree."""
    from dbos import DBOS

    def _do() -> float:
        status = DBOS.get_workflow_status(run.run_id) if run.run_id else None
        created = getattr(status, "created_at", None) if status else None
        import time

        return float(created) / 1000.0 if created else time.time()

    return step("run created_at", _do)


def wait_for_marker(
    run: Run,
    key: str,
    *,
    policy: str | None = None,
    delays: Sequence[float] | None = None,
    deadline_seconds: float | None = None,
    newer_than: float | None = None,
) -> dict[str, Any]:
    """Return the marker's stat once a fresh one exists; raise MarkerTimeout otherwise.

    ``delays`` (or the named ``policy`` of ``polling.yaml``) gives the pause before each re-check;
    the first check is immediate. ``deadline_seconds`` caps the total wait whatever the schedule says.
    """
    schedule: Iterable[float] = (
        delays if delays is not None else PollSchedule.from_policy(policy or "job_status").delays()
    )
    if (
        deadline_seconds is None
        and delays is None
        and PollSchedule.from_policy(policy or "job_status").max_attempts is None
    ):
        raise ConfigError(f"waiting for {key} on an unbounded schedule needs a deadline", field="deadline_seconds")
    since = run_created_at(run) if newer_than is None else newer_than
    start = now_epoch()
    checks = 0
    for pause in itertools.chain([0.0], schedule):
        if pause:
            if deadline_seconds is not None:
                remaining = deadline_seconds - (now_epoch() - start)
                if remaining <= 0:
                    break
                pause = min(pause, remaining)
            sleep(pause)
        checks += 1
        info = markers.stat(run, key)
        if info is not None and info["updated"] >= since:
            return info
    raise MarkerTimeout(
        f"Timed out waiting for marker {key} after {checks} checks",
        details={"marker": key, "checks": checks, "newer_than": since},
    )
