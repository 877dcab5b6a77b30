"""The only place that knows how a side effect becomes a DBOS step.

Blocks call :func:`step` and :func:`sleep`; inside a workflow they are checkpointed (a replay
after a crash returns the recorded result instead of doing the work again), outside one (unit
tests of a block, CLI helpers) they simply run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from dbos import DBOS
from dbos._context import get_local_dbos_context

T = TypeVar("T")


def in_workflow() -> bool:
    ctx = get_local_dbos_context()
    return bool(ctx is not None and ctx.is_workflow())


def step(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if in_workflow():
        return DBOS.run_step({"name": name, "retries_allowed": False}, fn, *args, **kwargs)
    return fn(*args, **kwargs)


def sleep(seconds: float) -> None:
    """Durable inside a workflow: a restarted worker sleeps only what is left."""
    if in_workflow():
        DBOS.sleep(seconds)
    else:
        time.sleep(seconds)


def now_epoch() -> float:
    """Wall-clock time, recorded as a step so replays see the same value."""
    return step("now", time.time)
