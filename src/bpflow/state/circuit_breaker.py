"""Per-scene circuit breaker stored in the bucket, shared by Genie Sim export and import.

A scene whose Genie Sim runs keep failing should stop burning GPU hours until someone (or
time) fixes it. Semantics, as DESIGN.md decides them (they differ from the reference on
purpose, where any single failure opened the breaker and a cheap probe reset the count):

* failures count up; the breaker opens only when ``failure_count >= threshold`` (3);
* while open, runs are blocked until ``recovery_seconds`` (600) have passed since it opened;
* then ONE run is let through as a trial (``half_open``). Claiming the trial is a
  compare-and-swap write, so of many concurrent runs exactly one wins; the others see a
  fresh ``last_probe_at`` and are blocked. A trial whose run died without reporting is
  considered abandoned after another ``recovery_seconds``, and a new trial is offered;
* success closes it and zeroes the count; a failure while half-open re-opens it.

Every write is read-merge-write on the object's generation, keeping keys we do not know. An
unreadable object counts as closed with no failures (a damaged breaker must not block a scene
forever) and is replaced by the next write.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from bpflow.core.config import get_settings
from bpflow.core.errors import ConfigError
from bpflow.core.storage.base import Bucket
from bpflow.state.cas_json import iso_z, parse_iso, read_versioned_json, scene_key, update_json, utc_now

log = logging.getLogger("bpflow.circuit_breaker")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATUSES = (CLOSED, OPEN, HALF_OPEN)

_TIMESTAMP_FIELDS = ("opened_at", "last_probe_at", "updated_at", "last_failure_at", "last_success_at")

Verdict = Literal["allow", "block", "trial"]


def breaker_key(scene_id: str) -> str:
    return scene_key(scene_id, "geniesim", ".circuit_breaker.json")


@dataclass(frozen=True)
class BreakerDecision:
    """``allowed`` runs may proceed; a ``trial`` run must report success or failure, since the
    scene stays half-open (blocking everyone else) until it does."""

    allowed: bool
    trial: bool
    state: dict[str, Any]
    message: str


class CircuitBreaker:
    def __init__(
        self,
        bucket: Bucket,
        scene_id: str,
        threshold: int | None = None,
        recovery_seconds: int | None = None,
        *,
        stage: str = "Genie Sim export",
        now_fn: Callable[[], datetime] = utc_now,
    ) -> None:
        """``None`` threshold / recovery come from ``GENIESIM_CIRCUIT_BREAKER_THRESHOLD`` (3) and
        ``GENIESIM_CIRCUIT_BREAKER_RECOVERY_SECONDS`` (600), through the process settings.
        ``stage`` names what is skipped in the blocked message ("Genie Sim import" for import)."""
        self.bucket = bucket
        self.scene_id = scene_id
        self.key = breaker_key(scene_id)
        if threshold is None or recovery_seconds is None:
            settings = get_settings()
            if threshold is None:
                threshold = settings.geniesim_circuit_breaker_threshold
            if recovery_seconds is None:
                recovery_seconds = settings.geniesim_circuit_breaker_recovery_seconds
        self.threshold = threshold
        self.recovery_seconds = recovery_seconds
        if self.threshold < 1:
            raise ConfigError("circuit breaker threshold must be >= 1", field="threshold")
        if self.recovery_seconds < 0:
            raise ConfigError("circuit breaker recovery_seconds must be >= 0", field="recovery_seconds")
        self.stage = stage
        self._now_fn = now_fn

    # -- reading -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The stored state with every field present (defaults filled in)."""
        return self._interpret(read_versioned_json(self.bucket, self.key).value)

    def _interpret(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults the way the reference reads the object, so objects it wrote still work.

        A missing or unknown status is derived from the count; a stored ``open`` is honoured
        even below the threshold (it was a deliberate decision, and recovery will end it).
        """
        state = dict(raw)
        count = raw.get("failure_count", 0)
        count = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0
        status = raw.get("status")
        if status not in (OPEN, HALF_OPEN):
            status = OPEN if count >= self.threshold else CLOSED
        state.update(
            scene_id=self.scene_id,
            failure_count=count,
            threshold=self.threshold,
            status=status,
        )
        for name in _TIMESTAMP_FIELDS:
            state.setdefault(name, None)
        state.setdefault("last_failure_reason", None)
        if state["opened_at"] is None and status != CLOSED:
            state["opened_at"] = state["last_failure_at"]
        return state

    def _verdict(self, state: dict[str, Any], now: datetime) -> Verdict:
        recovery = timedelta(seconds=self.recovery_seconds)
        if state["status"] == CLOSED:
            return "allow"
        # Open: wait out the recovery since it opened. Half-open: someone holds the trial;
        # wait out the recovery since it was claimed, in case that run died silently.
        # A missing or unreadable timestamp cannot prove recency, so it never blocks forever.
        since = parse_iso(state["opened_at"] if state["status"] == OPEN else state["last_probe_at"])
        if since is not None and now - since < recovery:
            return "block"
        return "trial"

    # -- deciding ----------------------------------------------------------------------------
    def check(self, now: datetime | None = None) -> BreakerDecision:
        """May a run for this scene proceed? Claims the trial when recovery has passed."""
        now = self._now(now)
        seen: dict[str, Any] = {}

        def claim_trial(raw: dict[str, Any]) -> dict[str, Any] | None:
            state = self._interpret(raw)
            seen["state"], seen["verdict"] = state, self._verdict(state, now)
            if seen["verdict"] != "trial":
                return None
            stamp = iso_z(now)
            opened_at = state["opened_at"] or stamp
            return {**state, "status": HALF_OPEN, "opened_at": opened_at, "last_probe_at": stamp, "updated_at": stamp}

        written = update_json(self.bucket, self.key, claim_trial)
        if written is not None:
            message = f"Circuit breaker half-open for scene {self.scene_id}. Allowing one trial run."
            log.warning("%s state=%s", message, _dump(written))
            return BreakerDecision(True, True, written, message)
        state = seen["state"]
        if seen["verdict"] == "allow":
            return BreakerDecision(True, False, state, "")
        message = f"Circuit breaker open for scene {self.scene_id}. Skipping {self.stage}."
        log.warning("%s state=%s", message, _dump(state))
        return BreakerDecision(False, False, state, message)

    # -- recording ---------------------------------------------------------------------------
    def record_failure(self, reason: str, now: datetime | None = None) -> dict[str, Any]:
        """Count a failure (e.g. ``geniesim_export_failed``); opens at the threshold, and
        re-opens (restarting the recovery wait) when the breaker was already open or on trial."""
        stamp = iso_z(self._now(now))

        def fail(raw: dict[str, Any]) -> dict[str, Any]:
            state = self._interpret(raw)
            count = state["failure_count"] + 1
            opens = state["status"] != CLOSED or count >= self.threshold
            return {
                **state,
                "failure_count": count,
                "status": OPEN if opens else CLOSED,
                "opened_at": stamp if opens else None,
                "updated_at": stamp,
                "last_failure_at": stamp,
                "last_failure_reason": reason,
            }

        return cast(dict[str, Any], update_json(self.bucket, self.key, fail))

    def record_success(self, now: datetime | None = None) -> dict[str, Any]:
        stamp = iso_z(self._now(now))

        def succeed(raw: dict[str, Any]) -> dict[str, Any]:
            state = self._interpret(raw)
            return {
                **state,
                "failure_count": 0,
                "status": CLOSED,
                "opened_at": None,
                "updated_at": stamp,
                "last_success_at": stamp,
                "last_failure_reason": None,
            }

        return cast(dict[str, Any], update_json(self.bucket, self.key, succeed))

    def _now(self, now: datetime | None) -> datetime:
        now = now or self._now_fn()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, default=str)
