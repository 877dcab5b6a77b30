"""Retrying what a retry can fix, and waiting on a schedule, with deterministic backoff.

There is deliberately no jitter. A durable workflow that crashes mid-backoff replays its steps
on restart, and it must compute the same waits the first time round; the reference's
uniform(0.5, 1.5) jitter would make each replay differ. Spreading load across many scenes
comes from their runs starting at different times, not from randomness here.

What counts as retryable is an allowlist (the documented set of the reference's policy doc):
transient HTTP statuses, connection errors, timeouts, and any ``BpflowError`` that says it is
retryable (e.g. ``JobStartError``). Everything else fails at once: a job that ran and failed,
bad parameters, and unknown exceptions, which are more often bugs than weather.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from bpflow.core.errors import BpflowError, ConfigError
from bpflow.core.policy import retry_profile_values, shared_policy

T = TypeVar("T")

#: The documented retryable HTTP statuses, used when no policy file is at hand.
RETRYABLE_HTTP_STATUS: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

RetryCallback = Callable[[int, BaseException, float], None]
ExhaustedCallback = Callable[[int, BaseException], None]


def backoff_delay(step: int, base: float, factor: float, cap: float) -> float:
    """The wait before step ``step`` (1-based): ``min(base * factor**(step-1), cap)``."""
    if step < 1:
        raise ValueError("step is 1-based")
    # Past the cap the exponent only risks overflow; stop growing once it is reached.
    delay = float(base)
    for _ in range(step - 1):
        if delay >= cap:
            break
        delay *= factor
    return float(min(delay, cap))


def http_status_of(exc: BaseException) -> int | None:
    """The HTTP status an error carries: ``status``/``status_code`` on it or on its ``response``."""
    for holder in (exc, getattr(exc, "response", None)):
        if holder is None:
            continue
        for attr in ("status_code", "status"):
            value = getattr(holder, attr, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
    return None


def is_retryable(exc: BaseException, retryable_statuses: Iterable[int] = RETRYABLE_HTTP_STATUS) -> bool:
    """Whether trying the same call again could succeed (see the module docstring)."""
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: never swallow
        return False
    if isinstance(exc, BpflowError):
        return bool(exc.retryable)
    status = http_status_of(exc)
    if status is not None:
        return status in set(retryable_statuses)
    return isinstance(exc, (ConnectionError, TimeoutError))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call.

    ``max_retries`` counts re-tries after the first attempt (5 → up to 6 attempts), as the
    reference workflows count them; the reference's local Python runner counted attempts
    instead, and bpflow follows the workflows, which are what ran in production.
    """

    max_retries: int = 5
    base_delay_seconds: float = 1.0
    backoff_factor: float = 2.0
    max_delay_seconds: float = 60.0
    retryable_http_status: frozenset[int] = RETRYABLE_HTTP_STATUS

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def delay(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` (1-based)."""
        return backoff_delay(retry_number, self.base_delay_seconds, self.backoff_factor, self.max_delay_seconds)

    def delays(self) -> list[float]:
        """Every wait, in order: ``[1, 2, 4, 8, 16]`` for the default policy."""
        return [self.delay(n) for n in range(1, self.max_retries + 1)]

    def is_retryable(self, exc: BaseException) -> bool:
        return is_retryable(exc, self.retryable_http_status)

    @classmethod
    def from_policy(cls, name: str = "default") -> RetryPolicy:
        """A profile of ``retry_policy.yaml`` ("default" = its top level, or e.g. "maintenance")."""
        policy = shared_policy("retry_policy")
        values = retry_profile_values(policy, name)
        return cls(
            max_retries=int(values["max_retries"]),
            base_delay_seconds=float(values["base_delay_seconds"]),
            backoff_factor=float(values["backoff_factor"]),
            max_delay_seconds=float(values["max_delay_seconds"]),
            retryable_http_status=frozenset(policy.get("retryable_http_status", RETRYABLE_HTTP_STATUS)),
        )


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    on_retry: RetryCallback | None = None,
    on_exhausted: ExhaustedCallback | None = None,
) -> T:
    """Call ``fn`` until it returns, a non-retryable error occurs, or the retries run out.

    The last error is re-raised unchanged, so callers keep its type and code. ``on_retry``
    gets (failed attempt number, error, upcoming delay) before each wait; ``on_exhausted``
    gets (attempts made, error) only when retries ran out, which is when the caller logs
    ``job_retry_exhausted``. Inside a durable workflow pass the engine's durable sleep.
    """
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not policy.is_retryable(exc):
                raise
            if attempt > policy.max_retries:
                if on_exhausted is not None:
                    on_exhausted(attempt, exc)
                raise
            delay = policy.delay(attempt)
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
            attempt += 1


@dataclass(frozen=True)
class PollSchedule:
    """A named wait schedule from ``polling.yaml``: the pauses between checks of a wait whose
    first check is immediate (``regen3d_marker``: 1, 2, 4, 8, 16, 30 s).

    ``max_attempts=None`` with a fixed interval never runs out; the caller's deadline ends it.
    """

    name: str
    explicit_delays: tuple[float, ...] = ()
    interval_seconds: float | None = None
    max_attempts: int | None = None

    def delays(self) -> Iterator[float]:
        """The pause before each re-check, lazily (an unbounded schedule never stops)."""
        if self.interval_seconds is None:
            yield from self.explicit_delays[: self.max_attempts]
            return
        count = 0
        while self.max_attempts is None or count < self.max_attempts:
            yield self.interval_seconds
            count += 1

    @classmethod
    def from_policy(cls, name: str) -> PollSchedule:
        schedules = shared_policy("polling")
        if name not in schedules:
            known = ", ".join(sorted(schedules))
            raise ConfigError(f"unknown polling schedule {name!r}; known: {known}", field="polling")
        spec = schedules[name]
        interval = spec.get("interval_seconds")
        return cls(
            name=name,
            explicit_delays=tuple(float(d) for d in spec.get("delays", ())),
            interval_seconds=None if interval is None else float(interval),
            max_attempts=spec.get("max_attempts"),
        )
