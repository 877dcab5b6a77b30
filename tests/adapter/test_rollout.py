"""Rollout state: windows across runs, the promotion rule, no demotion, and compare-and-swap updates."""

from __future__ import annotations

import threading
from typing import Any

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.rollout import (
    PromotionRule,
    RunWindow,
    apply_run,
    effective_mode,
    p95,
    read_mode,
    record_run,
    state_key,
)
from bpflow.domain.retrieval.select import Decision

PREFIX = "automation/asset_retrieval_rollout"


def hits(n: int, ms: float = 120.0, error: bool = False, found: bool = True) -> list[Decision]:
    return [
        Decision(
            mode="ann_shadow",
            ann_attempted=True,
            ann_candidate_count=1 if found else 0,
            ann_latency_ms=ms + i * 20,
            ann_error="ann_query_failed:x" if error else None,
        )
        for i in range(n)
    ]


def run(
    state: dict[str, Any], decisions: list[Decision], rule: PromotionRule, mode: str = "ann_shadow", now: str = "t"
) -> dict[str, Any]:
    return apply_run(state, RunWindow.of(decisions), mode, rule, now)


def test_reference_case_promotes_on_the_third_passing_window() -> None:
    rule = PromotionRule(min_decisions=2)
    state: dict[str, Any] = {}
    for i in range(1, 4):
        state = run(state, hits(2), rule, now=f"t{i}")
        assert state["last_window"]["window_pass"] is True
        assert state["last_window"]["ann_latency_p95_ms"] == 120.0
        assert state["promoted_to_ann_primary"] is (i == 3)
    assert state["retrieval_mode"] == "ann_primary" and state["consecutive_passing_windows"] == 3
    assert effective_mode(state, "ann_shadow") == "ann_primary"
    state = run(state, hits(2), rule, now="t4")
    assert state["promoted_to_ann_primary"] is False and state["retrieval_mode"] == "ann_primary"
    assert state["total_decisions"] == 8


def test_windows_span_runs_until_they_hold_min_decisions() -> None:
    rule = PromotionRule(min_decisions=5, min_passing_windows=1)
    state = run({}, hits(2), rule)
    assert state["last_window"] is None and state["current_window"]["ann_attempted_count"] == 2
    state = run(state, hits(2), rule)
    assert state["last_window"] is None
    state = run(state, hits(2), rule)
    assert state["last_window"]["ann_attempted_count"] == 6 and state["last_window"]["runs"] == 3
    assert state["current_window"]["ann_attempted_count"] == 0
    assert state["retrieval_mode"] == "ann_primary"


def test_a_failing_window_resets_the_count() -> None:
    rule = PromotionRule(min_decisions=2)
    state = run(run({}, hits(2), rule), hits(2), rule)
    assert state["consecutive_passing_windows"] == 2
    state = run(state, hits(2, error=True), rule)
    assert state["last_window"]["window_pass"] is False and state["last_window"]["ann_error_rate"] == 1.0
    assert state["consecutive_passing_windows"] == 0 and state["retrieval_mode"] == "ann_shadow"
    slow = run(state, hits(2, ms=500), rule)
    assert slow["last_window"]["window_pass"] is False
    missing = run(state, hits(2, found=False), rule)
    assert missing["last_window"]["ann_hit_rate"] == 0.0 and not missing["last_window"]["window_pass"]


def test_no_demotion_once_promoted() -> None:
    rule = PromotionRule(min_decisions=1, min_passing_windows=1)
    state = run({}, hits(1), rule)
    assert state["retrieval_mode"] == "ann_primary"
    for _ in range(3):
        state = run(state, hits(1, error=True), rule)
    assert state["retrieval_mode"] == "ann_primary" and state["last_window"]["window_pass"] is False


def test_env_mode_is_authoritative_except_for_an_earned_promotion() -> None:
    rule = PromotionRule(min_decisions=1, min_passing_windows=1)
    promoted = run({}, hits(1), rule)
    assert effective_mode(promoted, "lexical_primary") == "lexical_primary"
    state = run(promoted, [], rule, mode="lexical_primary")
    assert state["retrieval_mode"] == "lexical_primary" and state["consecutive_passing_windows"] == 0
    assert effective_mode(state, "ann_shadow") == "ann_shadow"  # a changed request starts over
    assert effective_mode({}, "nonsense") == "ann_shadow"


def test_unknown_keys_survive_and_p95_matches_the_reference_index() -> None:
    state = run({"operator_note": "keep me"}, hits(1), PromotionRule())
    assert state["operator_note"] == "keep me"
    assert p95({"1.0": 19, "50.0": 1}) == 1.0  # index int(19 * 0.95) = 18
    assert p95({"1.0": 10, "50.0": 10}) == 50.0
    assert p95({}) == 0.0


def test_concurrent_runs_lose_no_decisions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bucket = LocalBucket(tmp_path)
    rule = PromotionRule(min_decisions=1000)
    workers, runs_each = 6, 5
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(runs_each):
                record_run(bucket, PREFIX, hits(3), "ann_shadow", rule)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    state = bucket.read_json(state_key(PREFIX))
    assert state["total_decisions"] == workers * runs_each * 3
    assert state["current_window"]["ann_attempted_count"] == workers * runs_each * 3
    assert state["current_window"]["runs"] == workers * runs_each
    assert read_mode(bucket, PREFIX, "ann_shadow") == "ann_shadow"


def test_corrupt_state_is_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bucket = LocalBucket(tmp_path)
    bucket.write(state_key(PREFIX), b"{not json")
    summary = record_run(bucket, PREFIX, hits(2), "ann_shadow", PromotionRule())
    assert summary["active_mode"] == "ann_shadow" and bucket.read_json(state_key(PREFIX))["total_decisions"] == 2
