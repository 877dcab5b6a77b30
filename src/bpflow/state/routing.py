"""Choose where to run jobs: the primary region, else a healthy secondary, else the primary.

Failing over only when the secondary is known healthy keeps a regional outage from stopping
new work; falling back to the primary when both look down means a broken health check can
never leave a workflow with nowhere to go (the job launch then fails on its own, with a real
error and the usual retries). Scene data stays in the bucket either way, so idempotency markers
keep a run started in one region from being repeated in the other.

The same router serves any pair of places: Cloud Run regions for Genie Sim export, GKE
clusters for episode generation, or local runner names.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bpflow.core.config import get_settings

Reason = Literal["primary_healthy", "secondary_healthy", "both_unhealthy"]
HealthCheck = Callable[[str], bool]


@dataclass(frozen=True)
class RouteDecision:
    region: str
    reason: Reason
    #: Why each probed region was judged unhealthy ("returned false" or the error raised).
    failures: dict[str, str] = field(default_factory=dict)


class RegionRouter:
    def __init__(
        self,
        primary: str | None,
        secondary: str | None,
        health_check: HealthCheck,
        *,
        log: logging.Logger | None = None,
    ) -> None:
        """``None`` regions come from ``PRIMARY_WORKFLOW_REGION`` (us-central1) /
        ``SECONDARY_WORKFLOW_REGION`` (us-east1), through the process settings."""
        if not primary or not secondary:
            settings = get_settings()
            primary = primary or settings.primary_workflow_region
            secondary = secondary or settings.secondary_workflow_region
        self.primary = primary
        self.secondary = secondary
        self.health_check = health_check
        self.log = log or logging.getLogger("bpflow.routing")

    def choose(self) -> RouteDecision:
        failures: dict[str, str] = {}
        if self._healthy(self.primary, failures):
            decision = RouteDecision(self.primary, "primary_healthy", failures)
        elif self._healthy(self.secondary, failures):
            decision = RouteDecision(self.secondary, "secondary_healthy", failures)
        else:
            decision = RouteDecision(self.primary, "both_unhealthy", failures)
        self._report(decision)
        return decision

    def _healthy(self, region: str, failures: dict[str, str]) -> bool:
        """A health check that raises says as much about the region as one that returns False."""
        try:
            ok = bool(self.health_check(region))
        except Exception as exc:  # any failure to probe means "not healthy"
            failures[region] = f"{type(exc).__name__}: {exc}"
            return False
        if not ok:
            failures[region] = "health check returned false"
        return ok

    def _report(self, decision: RouteDecision) -> None:
        record: dict[str, Any] = {
            "event": "region_routing",
            "region": decision.region,
            "reason": decision.reason,
            "primary": self.primary,
            "secondary": self.secondary,
            "failures": decision.failures,
        }
        level = {"primary_healthy": logging.INFO, "secondary_healthy": logging.WARNING}.get(
            decision.reason, logging.ERROR
        )
        self.log.log(level, json.dumps(record, sort_keys=True), extra={"bp_record": record})
