"""The shared ANN rollout state (``<TEXT_ASSET_ROLLOUT_STATE_PREFIX>/state.json``) and its promotion rule.

Every adapter run adds its decisions to the state with a read-merge-write on the object's
generation (``blocks.clock.update_json``), so concurrent runs on many workers never lose each
other's counts and keys written by other versions survive. Decisions of this build, where the
reference (§3.9, quirks 6 and 7) made the rollout unusable:

- **Windows span runs.** A window collects the ANN-attempted decisions of successive runs
  until it holds ``TEXT_ASSET_ROLLOUT_MIN_DECISIONS`` of them, then it is judged and a new one
  opens. The reference judged each scene alone, so its default of 500 needed 500-object
  scenes and promotion never happened. Latencies are kept as a histogram (0.1 ms buckets) so
  the state stays small whatever the window size.
- **Judging.** A window passes iff attempted ≥ MIN_DECISIONS, hit rate ≥ MIN_HIT_RATE, error
  rate ≤ MAX_ERROR_RATE and p95 latency ≤ MAX_P95_MS. In ``ann_shadow``, a pass adds one to
  ``consecutive_passing_windows`` and a failure resets it; at
  ``TEXT_ASSET_ROLLOUT_MIN_PASSING_WINDOWS`` (3) the active mode becomes ``ann_primary`` and
  ``promoted_to_ann_primary`` is true on that update only. There is no demotion.
- **The env mode is authoritative**, except that a promotion earned under ``ann_shadow`` stays
  while ``ann_shadow`` is still requested. Requesting ``lexical_primary`` takes effect on the
  next run (an operator's kill switch; the reference ignored env changes once the state
  existed); changing the requested mode restarts the count from zero.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bpflow.core.errors import PreconditionFailed
from bpflow.core.storage import Bucket
from bpflow.domain.retrieval.select import Decision, normalize_mode
from bpflow.state.cas_json import iso_z, read_versioned_json, update_json, utc_now

SCHEMA_VERSION = "v1"
STATE_NAME = "state.json"


@dataclass(frozen=True)
class PromotionRule:
    min_decisions: int = 500
    min_hit_rate: float = 0.95
    max_error_rate: float = 0.01
    max_p95_ms: float = 400.0
    min_passing_windows: int = 3


@dataclass(frozen=True)
class RunWindow:
    """The ANN figures of one run's decisions."""

    decision_count: int
    attempted: int
    hits: int
    errors: int
    latencies_ms: tuple[float, ...]

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> RunWindow:
        decisions = list(decisions)
        tried = [d for d in decisions if d.ann_attempted]
        return cls(
            decision_count=len(decisions),
            attempted=len(tried),
            hits=sum(1 for d in tried if d.ann_candidate_count > 0),
            errors=sum(1 for d in tried if d.ann_error),
            latencies_ms=tuple(d.ann_latency_ms for d in tried if d.ann_latency_ms > 0),
        )


def state_key(prefix: str) -> str:
    return f"{prefix.strip().strip('/')}/{STATE_NAME}"


def effective_mode(state: Mapping[str, Any], requested: str | None) -> str:
    """The mode a run uses, from the requested (env) mode and the stored state."""
    wanted = normalize_mode(requested)
    if (
        wanted == "ann_shadow"
        and state.get("retrieval_mode") == "ann_primary"
        and state.get("requested_mode") == "ann_shadow"
    ):
        return "ann_primary"
    return wanted


def read_mode(bucket: Bucket, prefix: str, requested: str | None) -> str:
    return effective_mode(read_versioned_json(bucket, state_key(prefix)).value, requested)


def _bucket_of(ms: float) -> str:
    return f"{math.ceil(ms * 10.0 - 1e-9) / 10.0:.1f}"


def p95(histogram: Mapping[str, int]) -> float:
    """The reference's p95: sorted samples at index int((n-1)*0.95); 0 with no samples."""
    items = sorted((float(k), int(v)) for k, v in histogram.items() if int(v) > 0)
    total = sum(v for _, v in items)
    if total == 0:
        return 0.0
    target = int((total - 1) * 0.95)
    seen = 0
    for value, count in items:
        seen += count
        if seen > target:
            return value
    return items[-1][0]


def _empty_window(now: str) -> dict[str, Any]:
    return {
        "decision_count": 0,
        "ann_attempted_count": 0,
        "ann_hit_count": 0,
        "ann_error_count": 0,
        "latency_histogram_ms": {},
        "runs": 0,
        "opened_at": now,
    }


def _judge(window: Mapping[str, Any], rule: PromotionRule, now: str) -> dict[str, Any]:
    attempted = int(window.get("ann_attempted_count", 0))
    hit_rate = int(window.get("ann_hit_count", 0)) / max(1, attempted)
    error_rate = int(window.get("ann_error_count", 0)) / max(1, attempted)
    latency = p95(window.get("latency_histogram_ms", {}))
    passed = (
        attempted >= max(1, rule.min_decisions)
        and hit_rate >= rule.min_hit_rate
        and error_rate <= rule.max_error_rate
        and latency <= rule.max_p95_ms
    )
    return {
        "decision_count": int(window.get("decision_count", 0)),
        "ann_attempted_count": attempted,
        "ann_hit_count": int(window.get("ann_hit_count", 0)),
        "ann_error_count": int(window.get("ann_error_count", 0)),
        "ann_hit_rate": round(hit_rate, 6),
        "ann_error_rate": round(error_rate, 6),
        "ann_latency_p95_ms": round(latency, 4),
        "window_pass": passed,
        "runs": int(window.get("runs", 0)),
        "opened_at": window.get("opened_at"),
        "closed_at": now,
    }


def apply_run(
    state: dict[str, Any], run: RunWindow, requested: str | None, rule: PromotionRule, now: str
) -> dict[str, Any]:
    """The state after one run: a pure function, so a compare-and-swap retry recomputes it."""
    wanted = normalize_mode(requested)
    active = effective_mode(state, wanted)
    if state.get("requested_mode") not in (None, wanted):
        state["consecutive_passing_windows"] = 0
        state["current_window"] = _empty_window(now)
    consecutive = int(state.get("consecutive_passing_windows", 0) or 0)
    window = state.get("current_window")
    if not isinstance(window, dict):
        window = _empty_window(now)
    promoted = False
    if active == "lexical_primary":
        consecutive = 0
        window = _empty_window(now)
    elif run.attempted:
        window["decision_count"] = int(window.get("decision_count", 0)) + run.decision_count
        window["ann_attempted_count"] = int(window.get("ann_attempted_count", 0)) + run.attempted
        window["ann_hit_count"] = int(window.get("ann_hit_count", 0)) + run.hits
        window["ann_error_count"] = int(window.get("ann_error_count", 0)) + run.errors
        histogram = dict(window.get("latency_histogram_ms", {}))
        for ms in run.latencies_ms:
            key = _bucket_of(ms)
            histogram[key] = int(histogram.get(key, 0)) + 1
        window["latency_histogram_ms"] = histogram
        window["runs"] = int(window.get("runs", 0)) + 1
        if window["ann_attempted_count"] >= max(1, rule.min_decisions):
            judged = _judge(window, rule, now)
            state["last_window"] = judged
            window = _empty_window(now)
            if active == "ann_shadow":
                consecutive = consecutive + 1 if judged["window_pass"] else 0
                if consecutive >= max(1, rule.min_passing_windows):
                    active, promoted = "ann_primary", True
                    state["promoted_at"] = now
    state.update(
        {
            "schema_version": SCHEMA_VERSION,
            "retrieval_mode": active,
            "requested_mode": wanted,
            "total_decisions": int(state.get("total_decisions", 0) or 0) + run.decision_count,
            "consecutive_passing_windows": consecutive,
            "current_window": window,
            "last_updated_at": now,
            "promoted_to_ann_primary": promoted,
        }
    )
    state.setdefault("last_window", None)
    return state


def summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """What the retrieval report and the adapter summary show of the state."""
    window = state.get("current_window") or {}
    return {
        "schema_version": state.get("schema_version", SCHEMA_VERSION),
        "requested_mode": state.get("requested_mode"),
        "active_mode": state.get("retrieval_mode"),
        "promoted_to_ann_primary": bool(state.get("promoted_to_ann_primary")),
        "consecutive_passing_windows": int(state.get("consecutive_passing_windows", 0) or 0),
        "last_window": state.get("last_window"),
        "current_window_attempted": int(window.get("ann_attempted_count", 0) or 0),
        "last_updated_at": state.get("last_updated_at"),
    }


#: Rounds of compare-and-swap attempts, with a random pause between rounds: many workers finishing
#: scenes at once all write this one object, and a run's decisions should not be dropped for it.
CAS_ROUNDS = 6
CAS_PAUSE_SECONDS = 0.02


def record_run(
    bucket: Bucket, prefix: str, decisions: Iterable[Decision], requested: str | None, rule: PromotionRule
) -> dict[str, Any]:
    """Add one run's decisions to the shared state; returns the report's ``rollout`` block."""
    run = RunWindow.of(decisions)
    now = iso_z(utc_now())
    for round_ in range(CAS_ROUNDS):
        try:
            written = update_json(bucket, state_key(prefix), lambda state: apply_run(state, run, requested, rule, now))
        except PreconditionFailed:
            if round_ == CAS_ROUNDS - 1:
                raise
            time.sleep(random.uniform(0, CAS_PAUSE_SECONDS * 2**round_))
            continue
        assert written is not None
        return summary(written)
    raise AssertionError("unreachable")
