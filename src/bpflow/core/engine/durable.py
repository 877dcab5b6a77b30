"""The only place that knows how a side effect becomes a DBOS step.

Blocks call :func:`step` and :func:`sleep`; inside a workflow they are checkpointed (a replay
after a crash returns the recorded result instead of doing the work again), outside one (unit
tests of a block, CLI helpers) they simply run.

A run may also hand a **first-step check** (:func:`checked_before_first_step`): it runs inside the
run's first step, before that step's own work, and its verdict is recorded with it. The object
version check uses it: every side effect of a run is a step, so checking at the first one is
checking before anything is done, without a step of its own (a DBOS step is a few database
writes; a stage of the event chain has only two or three of them).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from dbos import DBOS
from dbos._context import get_local_dbos_context

T = TypeVar("T")

_FIRST_STEP_CHECK: ContextVar[Callable[[], str | None] | None] = ContextVar("bpflow_first_step_check", default=None)


class CheckFailed(Exception):
    """Raised by the first step when the run's check said no; recorded with that step, so a
    replay raises it again. The one argument is the check's reason."""

    @property
    def reason(self) -> str:
        return str(self.args[0]) if self.args else ""


def in_workflow() -> bool:
    ctx = get_local_dbos_context()
    return bool(ctx is not None and ctx.is_workflow())


@contextlib.contextmanager
def checked_before_first_step(check: Callable[[], str | None]) -> Iterator[None]:
    """Within the block, the first :func:`step` first calls ``check``: None lets the step do its
    work, a reason makes it raise :class:`CheckFailed` (recorded) instead."""
    token = _FIRST_STEP_CHECK.set(check)
    try:
        yield
    finally:
        _FIRST_STEP_CHECK.reset(token)


def check_now() -> None:
    """A side effect that is not a step (a run started as a child of this one) is about to
    happen: settle a pending first-step check first, in a step of its own."""
    if in_workflow() and _FIRST_STEP_CHECK.get() is not None:
        step("check before starting a run", lambda: None)


def step(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if not in_workflow():
        return fn(*args, **kwargs)
    check = _FIRST_STEP_CHECK.get()
    if check is not None:
        _FIRST_STEP_CHECK.set(None)
        return DBOS.run_step({"name": name, "retries_allowed": False}, _after_check, check, fn, args, kwargs)
    return DBOS.run_step({"name": name, "retries_allowed": False}, fn, *args, **kwargs)


def _after_check(
    check: Callable[[], str | None], fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> T:
    reason = check()
    if reason is not None:
        raise CheckFailed(reason)
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
