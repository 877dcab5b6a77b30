"""The daily autonomy loop's shared objects: paths, the state parser, status rules, bodies.

One parser for ``state.json`` serves the workflow and the emitter (reference bug B11: the two
disagreed on the string ``"false"``). State is updated with read-merge-write on the object's
generation (B4): the workflow's counters and the emitter's ``recent_prompts`` live side by side
and neither writer drops the other's keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = "v1"
WORKFLOW = "text-autonomy-daily"
EMITTER_JOB = "text-request-emitter-job"
PAUSE_TOKENS = frozenset({"true", "1", "yes", "on"})
RUN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

SUCCESS, PARTIAL, FAILED, PAUSED, SKIPPED = "SUCCESS", "PARTIAL", "FAILED", "PAUSED", "SKIPPED"
AUTO_PAUSE = "consecutive_failures_threshold"


@dataclass(frozen=True)
class DailyPaths:
    prefix: str
    run_date: str

    @property
    def workflow_lock(self) -> str:
        return f"{self.prefix}/locks/{self.run_date}.workflow.lock"

    @property
    def emitter_lock(self) -> str:
        return f"{self.prefix}/locks/{self.run_date}.lock"

    @property
    def pause_marker(self) -> str:
        return f"{self.prefix}/.paused"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state.json"

    @property
    def run_dir(self) -> str:
        return f"{self.prefix}/runs/{self.run_date}"

    @property
    def emitted_index(self) -> str:
        return f"{self.run_dir}/emitted_requests.json"

    @property
    def emit_manifest(self) -> str:
        return f"{self.run_dir}/emit_manifest.json"

    @property
    def summary(self) -> str:
        return f"{self.run_dir}/run_summary.json"

    def request_draft(self, scene_id: str) -> str:
        """Where the emitter leaves a request; the workflow publishes it to the trigger path."""
        return f"{self.run_dir}/requests/{scene_id}.json"


def is_paused_value(value: Any) -> bool:
    return str(value).strip().lower() in PAUSE_TOKENS if value is not None else False


@dataclass(frozen=True)
class DailyState:
    consecutive_failures: int = 0
    paused: bool = False
    last_success_at: Any = None
    last_failure_at: Any = None


def parse_state(value: dict[str, Any]) -> DailyState:
    """A damaged counter resets everything to the defaults instead of failing the run (§5.3.4).

    ``paused`` is the operator's switch: a ``paused: true`` the loop wrote itself when it hit the
    failure threshold (``paused_reason`` says so) is represented by the ``.paused`` marker, so
    deleting that marker is all it takes to resume (the reference also required editing state).
    """
    raw = value.get("consecutive_failures", 0)
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return DailyState()
    try:
        count = int(raw)
    except ValueError:
        return DailyState()
    operator_paused = is_paused_value(value.get("paused")) and value.get("paused_reason") != AUTO_PAUSE
    return DailyState(max(0, count), operator_paused, value.get("last_success_at"), value.get("last_failure_at"))


def decide_status(outcomes: list[dict[str, Any]]) -> tuple[str, str]:
    """(run status, error) from per-scene outcomes (§5.3.9)."""
    failed = [o for o in outcomes if o["status"] == FAILED]
    fallbacks = sum(1 for o in outcomes if o.get("source_type") == "image_fallback" and o["status"] != FAILED)
    ok = len(outcomes) - len(failed) - fallbacks
    if failed:
        first = failed[0]
        prefix = "source_orchestrator_timeout" if first.get("timed_out") else "source_orchestrator_failed_scene"
        return FAILED, f"{prefix}: {first['scene_id']}"
    if fallbacks and ok == 0:
        return PARTIAL, f"all_scenes_fell_back_to_image ({fallbacks} fallbacks)"
    return SUCCESS, ""


def next_state(
    current: dict[str, Any], status: str, error: str, *, run_date: str, now: str, threshold: int
) -> dict[str, Any]:
    """The merged state after a finished (non-paused) run; unknown keys are kept."""
    prev = parse_state(current)
    failures = prev.consecutive_failures + 1 if status == FAILED else 0
    out = dict(current)
    out.update(
        {
            "schema_version": SCHEMA_VERSION,
            "consecutive_failures": failures,
            "paused": failures >= threshold,
            "paused_reason": AUTO_PAUSE if failures >= threshold else None,
            "last_success_at": now if status == SUCCESS else prev.last_success_at,
            "last_failure_at": now if status == FAILED else prev.last_failure_at,
            "updated_at": now,
            "last_run_date": run_date,
            "last_run_status": status,
            "last_run_error": error,
        }
    )
    return out
