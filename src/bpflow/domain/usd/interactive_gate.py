"""The interactive gate of usd-assembly (spec §2.3 step 5): pure decisions, no I/O.

Whether to run the interactive job, and whether its outcome lets the pipeline go on, under the
three policies with meaning (``warn``, ``strict``, ``hybrid_strict``); any other policy value
never fails the gate, as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.domain.scene.manifest import ARTICULATED_ROLES, flag

POLICIES = ("warn", "strict", "hybrid_strict")
DEFAULT_POLICY = "hybrid_strict"


def articulation_counts(objects: list[Any]) -> tuple[int, int]:
    """(candidates, required) over raw manifest objects; anything malformed counts as neither."""
    candidate = required = 0
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        art = art_doc if isinstance(art_doc := obj.get("articulation"), dict) else {}
        if flag(art.get("candidate")) or obj.get("sim_role") in ARTICULATED_ROLES:
            candidate += 1
        if flag(art.get("required")) or flag(obj.get("articulation_required")):
            required += 1
    return candidate, required


@dataclass(frozen=True)
class InteractiveState:
    """What the workflow learnt about the interactive step."""

    job_failed: bool
    marker_missing: bool
    marker_status: str
    required_failure_count: int
    summary_missing: bool = False


def from_marker(job_failed: bool, marker: Any, summary: Any) -> InteractiveState:
    """Read the job's ``.interactive_complete`` and ``.interactive_summary.json`` (either may be
    None). A non-null ``required_failure_count`` in the summary overrides the marker's count."""
    if job_failed:
        return InteractiveState(True, True, "failed", -1, True)
    marker_missing = not isinstance(marker, dict)
    body = marker if isinstance(marker, dict) else {}
    status = status_doc if isinstance(status_doc := body.get("status"), str) else "unknown"
    summary_body = summary_doc if isinstance(summary_doc := body.get("summary"), dict) else {}
    failures = summary_body.get("required_failures")
    count = len(failures) if isinstance(failures, list) else 0
    summary_missing = not isinstance(summary, dict)
    if (
        not summary_missing
        and isinstance(summary.get("required_failure_count"), int)
        and not isinstance(summary.get("required_failure_count"), bool)
    ):
        count = summary["required_failure_count"]
    return InteractiveState(False, marker_missing, status, count, summary_missing)


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str


def evaluate(policy: str, candidate: int, required: int, state: InteractiveState) -> GateDecision:
    """The gate. ``state.required_failure_count`` of -1 means "all required" (the job failed)."""
    failures = required if state.required_failure_count < 0 else state.required_failure_count
    if policy == "warn":
        return GateDecision(True, "policy warn: interactive problems are only logged")
    if policy == "strict":
        if state.job_failed:
            return GateDecision(False, "interactive job failed")
        if state.marker_missing:
            return GateDecision(False, "interactive marker missing")
        if state.marker_status == "failure":
            return GateDecision(False, "interactive marker status is failure")
        return GateDecision(True, f"marker status {state.marker_status}")
    if policy == "hybrid_strict":
        if state.marker_missing:
            return GateDecision(
                False, "interactive marker missing" if not state.job_failed else "interactive job failed (no marker)"
            )
        if required > 0 and (state.job_failed or state.marker_status == "failure" or failures > 0):
            return GateDecision(
                False, f"{failures} of {required} required articulations failed (status {state.marker_status})"
            )
        return GateDecision(True, f"marker status {state.marker_status}, {failures} required failures")
    return GateDecision(True, f"policy {policy!r} has no gate")


def failure_message(scene_id: str, policy: str, candidate: int, required: int, state: InteractiveState) -> str:
    failures = required if state.required_failure_count < 0 else state.required_failure_count
    return (
        f"Interactive gate failed for scene {scene_id} (policy={policy}, candidate_articulation_count={candidate}, "
        f"required_articulation_count={required}, marker_status={state.marker_status}, required_failure_count={failures})"
    )
