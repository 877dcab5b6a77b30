"""text-autonomy-daily + text-request-emitter-job on the real runtime.

Requests go through source-orchestrator for real (offline Stage 1; the downstream stages are
hidden so a scene ends "incomplete" in seconds). The clock is moved by backfilling the DBOS
schedule over chosen windows: the scheduler computes the fire times itself, across DST changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.core.engine.schedules import fire_times
from bpflow.core.errors import ConfigError
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.automation.emitter import EmitOptions, emit
from bpflow.domain.automation.prompts import choose_prompt, novelty
from bpflow.domain.automation.state import AUTO_PAUSE, DailyPaths, decide_status, next_state, parse_state
from tests.conftest import wait_until
from tests.source.conftest import OFFLINE_STAGE1

P = "automation/text_daily"
WF = "text-autonomy-daily"
BASE_ENV = {
    **OFFLINE_STAGE1,
    "ENABLE_TEXT_AUTONOMY_DAILY": "true",
    "TEXT_AUTONOMY_TEXT_BACKEND": "internal",
    "TEXT_AUTONOMY_QUALITY_TIER": "standard",
    "TEXT_AUTONOMY_SOURCE_WAIT_POLL_SECONDS": "1",
    "TEXT_PROMPT_USE_LLM": "false",
}


def run_daily(rt: Any, run_date: str, timeout: float = 240) -> tuple[str, Any]:
    """Start a manual run for ``run_date``; (final DBOS status, result or error)."""
    out = rt.dispatcher.start_manual(WF, {"run_date": run_date})
    run_id = out.run_ids[0]
    status = wait_until(
        lambda: (s := DBOS.get_workflow_status(run_id)) and s.status in ("SUCCESS", "ERROR") and s, timeout=timeout
    )
    if status.status == "SUCCESS":
        return "SUCCESS", DBOS.retrieve_workflow(run_id).get_result()
    return "ERROR", status.error


# -- units -------------------------------------------------------------------------------------------
def test_the_dst_change_moves_nine_new_york_between_14_and_13_utc() -> None:
    utc = UTC
    winter = fire_times("0 9 * * *", "America/New_York", datetime(2026, 3, 7, 0, 0, tzinfo=utc), 2)
    assert [t.astimezone(utc).hour for t in winter] == [14, 13]  # Mar 8 2026: clocks go forward
    autumn = fire_times("0 9 * * *", "America/New_York", datetime(2026, 10, 31, 0, 0, tzinfo=utc), 2)
    assert [t.astimezone(utc).hour for t in autumn] == [13, 14]  # Nov 1 2026: clocks go back
    assert all(t.hour == 9 for t in winter + autumn)


def test_state_parsing_uses_one_rule_for_paused_and_resets_a_damaged_counter() -> None:
    assert parse_state({"paused": "false"}).paused is False  # reference B11: the emitter read this as paused
    assert parse_state({"paused": "Yes"}).paused is True
    assert parse_state({"consecutive_failures": "x", "paused": "true"}).paused is False  # damaged → defaults
    assert parse_state({"consecutive_failures": "2"}).consecutive_failures == 2
    auto = next_state({"recent_prompts": [1]}, "FAILED", "e", run_date="d", now="t", threshold=1)
    assert auto["paused"] is True and auto["paused_reason"] == AUTO_PAUSE and auto["recent_prompts"] == [1]
    assert parse_state(auto).paused is False  # an automatic pause lives in the .paused marker


def test_run_status_rules() -> None:
    ok, fb, bad = (
        {"scene_id": "a", "status": "SUCCESS"},
        {"scene_id": "b", "status": "SUCCESS", "source_type": "image_fallback"},
        {"scene_id": "c", "status": "FAILED"},
    )
    assert decide_status([ok, fb]) == ("SUCCESS", "")
    assert decide_status([fb]) == ("PARTIAL", "all_scenes_fell_back_to_image (1 fallbacks)")
    assert decide_status([ok, bad]) == ("FAILED", "source_orchestrator_failed_scene: c")
    assert decide_status([{**bad, "timed_out": True}]) == ("FAILED", "source_orchestrator_timeout: c")


def test_prompts_are_deterministic_and_never_repeat_within_the_window() -> None:
    recent: list[dict[str, Any]] = []
    hashes = set()
    for day in range(1, 31):
        for slot in (1, 2):
            c = choose_prompt(f"2026-04-{day:02d}", slot, "p", recent)
            assert c.prompt_hash not in hashes
            hashes.add(c.prompt_hash)
            recent.append({"prompt": c.prompt, "prompt_hash": c.prompt_hash, "dimensions": c.dimensions})
    again = choose_prompt("2026-04-01", 1, "p", [])
    assert again.prompt == recent[0]["prompt"]
    assert len({r["dimensions"]["archetype"] for r in recent}) >= 8  # coverage rebalancing walks the rooms
    assert novelty("a kitchen with a mug", ["a kitchen with a mug"]) == 0.0


def _opts(**over: Any) -> EmitOptions:
    base = dict(
        bucket_name="b",
        run_date="2026-05-01",
        quota=2,
        provider_policy="openrouter_qwen_primary",
        text_backend="internal",
        quality_tier="standard",
        seed_count=1,
        allow_image_fallback=False,
        timezone="America/New_York",
    )
    return EmitOptions(**{**base, **over})  # type: ignore[arg-type]


def test_the_emitter_emits_once_per_date_and_keeps_other_state_keys(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path)
    paths = DailyPaths(P, "2026-05-01")
    b.write_json(paths.state, {"consecutive_failures": 1, "operator_note": "keep me"})
    first = emit(b, paths, _opts())
    assert first["status"] == "emitted" and len(first["scene_ids"]) == 2
    assert all(s.startswith("textauto_20260501_00") for s in first["scene_ids"])
    state = b.read_json(paths.state)
    assert (
        state["operator_note"] == "keep me" and state["consecutive_failures"] == 1 and len(state["recent_prompts"]) == 2
    )
    index = b.read_json(paths.emitted_index)
    assert emit(b, paths, _opts())["status"] == "already_emitted"
    assert b.read_json(paths.emitted_index) == index
    req = b.read_json(paths.request_draft(first["scene_ids"][0]))
    assert req["fallback"] == {"allow_image_fallback": False} and req["constraints"]["prompt_diversity"]["prompt_hash"]
    with pytest.raises(ConfigError) as err:
        emit(b, DailyPaths(P, "2026-05-02"), _opts(quota=101))
    assert err.value.field == "TEXT_DAILY_QUOTA"


# -- on the runtime ------------------------------------------------------------------------------------
def test_a_daily_run_emits_its_quota_through_the_source_orchestrator(make_runtime: Any, stage1_only: None) -> None:
    rt = make_runtime(**BASE_ENV, TEXT_DAILY_QUOTA="2")
    status, result = run_daily(rt, "2026-03-10")
    assert status == "SUCCESS", result
    assert result["status"] == "SUCCESS" and result["success_count"] == 2
    b = rt.bucket
    paths = DailyPaths(P, "2026-03-10")
    index = b.read_json(paths.emitted_index)
    assert len(index["scene_ids"]) == 2
    for sid in index["scene_ids"]:
        req = b.read_json(f"scenes/{sid}/prompts/scene_request.json")
        assert req["scene_id"] == sid and req["constraints"]["autonomy"]["run_date"] == "2026-03-10"
        assert b.read_json(f"scenes/{sid}/source_orchestrator_status.json")["status"] == "incomplete"
        assert b.exists(f"scenes/{sid}/assets/.regen3d_complete")  # Stage 1 really ran
    summary = b.read_json(paths.summary)
    assert summary["status"] == "SUCCESS" and summary["scene_count"] == 2 and summary["consecutive_failures"] == 0
    state = b.read_json(paths.state)
    assert (
        state["last_run_status"] == "SUCCESS"
        and len(state["recent_prompts"]) == 2
        and state["last_emit_run_date"] == "2026-03-10"
    )
    assert not b.exists(paths.workflow_lock) and b.exists(paths.emitter_lock)

    # the same date again: the emitter's lock stops a second emission; the old scenes are re-scored
    status, again = run_daily(rt, "2026-03-10")
    assert status == "SUCCESS" and again["success_count"] == 2
    assert b.read_json(paths.emitted_index) == index
    assert len(list(b.list("scenes/"))) == len(list(b.list("scenes/")))  # no new scene ids
    assert {k.key.split("/")[1] for k in b.list("scenes/")} == set(index["scene_ids"])


def test_three_failed_days_pause_the_loop_until_the_marker_is_removed(make_runtime: Any, stage1_only: None) -> None:
    rt = make_runtime(
        **BASE_ENV, TEXT_DAILY_QUOTA="1", TEXT_AUTONOMY_SEED_COUNT="17"
    )  # the orchestrator rejects 17 seeds
    b = rt.bucket
    for n, day in enumerate(("2026-06-01", "2026-06-02", "2026-06-03"), start=1):
        status, error = run_daily(rt, day)
        assert status == "ERROR" and "source_orchestrator_failed_scene" in str(error)
        assert b.read_json(f"{P}/state.json")["consecutive_failures"] == n
        assert b.exists(f"{P}/.paused") == (n == 3)
    marker = b.read_json(f"{P}/.paused")
    assert marker["reason"] == AUTO_PAUSE and marker["consecutive_failures"] == 3 and marker["threshold"] == 3

    status, result = run_daily(rt, "2026-06-04")
    assert status == "SUCCESS" and result["status"] == "PAUSED"
    assert b.read_json(f"{P}/runs/2026-06-04/run_summary.json")["status"] == "PAUSED"
    assert not b.exists(f"{P}/runs/2026-06-04/emitted_requests.json")  # nothing emitted while paused
    status, _ = run_daily(rt, "2026-06-05")
    assert status == "SUCCESS" and b.exists(f"{P}/.paused")  # still paused

    b.delete(f"{P}/.paused")  # the operator resumes
    status, error = run_daily(rt, "2026-06-06")
    assert status == "ERROR" and "source_orchestrator_failed_scene" in str(error)  # it ran again
    assert b.exists(f"{P}/runs/2026-06-06/emitted_requests.json")
    assert b.read_json(f"{P}/state.json")["consecutive_failures"] == 4 and b.exists(f"{P}/.paused")


def test_a_run_finding_the_days_lock_held_by_another_worker_is_a_duplicate(make_runtime: Any) -> None:
    rt = make_runtime(**BASE_ENV)
    lock = DailyPaths(P, "2026-07-01").workflow_lock
    rt.bucket.write_json(lock, {"run_id": "another-worker", "expires_at": 4102444800})
    status, result = run_daily(rt, "2026-07-01")
    assert status == "SUCCESS" and result["status"] == "SKIPPED" and result["reason"] == "duplicate_run"
    assert rt.bucket.read_json(lock)["run_id"] == "another-worker"


def test_a_bad_run_date_is_a_clear_error(make_runtime: Any) -> None:
    rt = make_runtime(**BASE_ENV)
    status, error = run_daily(rt, "06/01/2026")
    assert status == "ERROR" and "run_date must be YYYY-MM-DD" in str(error)
    assert list(rt.bucket.list(P + "/")) == []


def test_the_schedule_fires_at_nine_new_york_across_dst_and_two_firings_make_one_run(make_runtime: Any) -> None:
    rt = make_runtime(**BASE_ENV)
    sched = DBOS.get_schedule("bpflow:text-autonomy-daily")
    assert sched is not None and sched["schedule"] == "0 9 * * *" and sched["cron_timezone"] == "America/New_York"
    rt.bucket.write_json(f"{P}/.paused", {"paused": True})  # runs stop at the pause gate: quick, still real
    utc = UTC
    windows = [
        (datetime(2026, 3, 7, 12, tzinfo=utc), datetime(2026, 3, 9, 0, tzinfo=utc)),
        (datetime(2026, 10, 31, 12, tzinfo=utc), datetime(2026, 11, 2, 0, tzinfo=utc)),
    ]
    for _ in range(2):  # two workers (or a worker and a restart) fire the same ticks
        for start, end in windows:
            DBOS.backfill_schedule("bpflow:text-autonomy-daily", start, end)
    expected = {
        "2026-03-07T14:00:00Z": "2026-03-07",
        "2026-03-08T13:00:00Z": "2026-03-08",
        "2026-10-31T13:00:00Z": "2026-10-31",
        "2026-11-01T14:00:00Z": "2026-11-01",
    }

    def done() -> list[Any]:
        rows = [w for w in DBOS.list_workflows(name=WF) if w.status == "SUCCESS"]
        return rows if len(rows) >= 4 else []

    rows = wait_until(done, timeout=120)
    rt.dispatcher.drain()
    assert len(DBOS.list_workflows(name=WF)) == 4
    assert {r.workflow_id.rsplit("@", 1)[1] for r in rows} == set(expected)
    for fired, day in expected.items():
        summary = rt.bucket.read_json(f"{P}/runs/{day}/run_summary.json")
        assert summary["status"] == "PAUSED" and summary["run_id"] == f"{WF}:0 9 * * *@{fired}"


def test_the_llm_rewords_a_prompt_and_any_failure_keeps_the_base_prompt() -> None:
    import json as _json

    from bpflow.core.config import load_settings
    from bpflow.domain.automation.llm import make_expander
    from tests.textgen.openai_local_server import chat, running, server_error

    with running() as server:
        settings = load_settings({"OPENAI_API_KEY": "sk-local-test", "OPENAI_BASE_URL": server.openai_base_url})
        assert make_expander(load_settings({}), "openai_primary", max_attempts=2) is None  # no key: no LLM at all
        expand = make_expander(settings, "openai_primary", max_attempts=2, timeout=10)
        base = choose_prompt("2026-08-01", 1, "openai_primary", []).base_prompt
        room = base.split(" with ", 1)[0].split()[-1]
        server.script_chat(chat(_json.dumps({"prompt": f"A sunlit {room} where a robot tidies up"})))
        cand = choose_prompt("2026-08-01", 1, "openai_primary", [], expand=expand)
        assert (
            cand.used_llm
            and cand.prompt == f"A sunlit {room} where a robot tidies up"
            and cand.llm_provider == "openai"
        )
        assert cand.base_prompt == base and server.received()[0]["body"]["messages"][1]["content"] == base

        server.script_chat(server_error(), chat(_json.dumps({"prompt": "a spaceship bridge"})))
        fallback = choose_prompt("2026-08-01", 1, "openai_primary", [], expand=expand)
        assert not fallback.used_llm and fallback.prompt == base and fallback.llm_attempts == 2
        assert fallback.llm_failure_reason == "openai:room_dropped"


def test_a_scene_that_never_finishes_times_out_and_the_run_still_persists(
    make_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reference B5 decided: past the per-scene deadline the scene counts as FAILED
    (source_orchestrator_timeout); state and summary are written and the lock released."""
    from bpflow.core.engine import registry

    registry.import_workflow_modules()
    monkeypatch.delitem(registry._WORKFLOWS, "source-orchestrator")  # nobody picks the request up
    rt = make_runtime(**BASE_ENV, TEXT_AUTONOMY_SOURCE_WAIT_TIMEOUT_SECONDS="2")
    status, error = run_daily(rt, "2026-09-01")
    assert status == "ERROR" and "source_orchestrator_timeout: textauto_20260901_001_" in str(error)
    paths = DailyPaths(P, "2026-09-01")
    summary = rt.bucket.read_json(paths.summary)
    assert summary["status"] == "FAILED" and summary["scenes"][0]["timed_out"] is True
    assert rt.bucket.read_json(paths.state)["consecutive_failures"] == 1
    assert not rt.bucket.exists(paths.workflow_lock)
