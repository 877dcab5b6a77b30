"""LLM-first planning through the real ``openai`` SDK against a local OpenAI-compatible server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.core.config import load_settings
from bpflow.domain.textgen.backends import BackendConfig, run_backend
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions
from bpflow.domain.textgen.layout_check import check_layout
from bpflow.domain.textgen.llm_planner import PlanRejected, parse_plan, plan_with_llm, resolve_chain
from tests.textgen.openai_local_server import GOOD_KITCHEN, ChatServer, chat, plan_reply, rate_limited, server_error

KEY = "sk-test-SECRET-0123456789"


def chain_for(llm_server: ChatServer, models: str = "m-one", **extra: str) -> list[Any]:
    env = {
        "TEXT_OPENROUTER_API_KEY": KEY,
        "TEXT_OPENROUTER_BASE_URL": llm_server.openai_base_url,
        "TEXT_OPENROUTER_MODEL_CHAIN": models,
        "TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK": "false",
        **extra,
    }
    chain, _ = resolve_chain(load_settings(env), "openrouter_qwen_primary")
    return chain


class Sleeps:
    """The planner's clock: records the waits instead of spending them."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def run(llm_server: ChatServer, *, models: str = "m-one", rounds: int = 3, backoff: float = 2.0) -> tuple[Any, Sleeps]:
    sleeps = Sleeps()
    result = plan_with_llm(
        chain_for(llm_server, models),
        "a kitchen with a fridge, a table and two mugs",
        target=12,
        tier="standard",
        seed=1,
        rounds=rounds,
        backoff_seconds=backoff,
        timeout=10,
        sleep=sleeps,
    )
    return result, sleeps


# --- chain resolution ------------------------------------------------------------------------


def test_chain_without_any_key_is_empty_and_lists_what_was_skipped() -> None:
    chain, skipped = resolve_chain(load_settings({}), "openrouter_qwen_primary")
    assert chain == []
    assert skipped == ["openrouter:qwen/qwen3.5-397b-a17b", "openrouter:moonshotai/kimi-k2.5", "openai", "anthropic"]


def test_openrouter_key_falls_back_to_openrouter_api_key_and_keeps_model_order() -> None:
    env = {
        "OPENROUTER_API_KEY": KEY,
        "TEXT_OPENROUTER_MODEL_CHAIN": '["b/model", "a/model", "b/model"]',
        "TEXT_OPENROUTER_HTTP_REFERER": "https://example.test",
        "TEXT_OPENROUTER_APP_TITLE": "bpflow-tests",
    }
    chain, skipped = resolve_chain(load_settings(env), "openrouter_qwen_primary")
    assert [e.provider for e in chain] == ["openrouter:b/model", "openrouter:a/model"]
    assert chain[0].base_url == "https://openrouter.ai/api/v1"
    assert dict(chain[0].headers) == {"HTTP-Referer": "https://example.test", "X-Title": "bpflow-tests"}
    assert skipped == ["openai", "anthropic"]
    assert KEY not in repr(chain)


def test_openai_primary_uses_openai_key_first() -> None:
    chain, skipped = resolve_chain(
        load_settings({"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "sk-ant"}), "openai_primary"
    )
    assert [e.provider for e in chain] == ["openai", "anthropic"]
    assert skipped == ["gemini"]


def test_legacy_fallback_appends_openai_after_the_openrouter_models() -> None:
    chain, _ = resolve_chain(
        load_settings({"TEXT_OPENROUTER_API_KEY": KEY, "OPENAI_API_KEY": "sk-o"}), "openrouter_qwen_primary"
    )
    assert [e.provider for e in chain][-1] == "openai"


# --- attempts against the server -------------------------------------------------------------


def test_good_plan_first_try(llm_server: ChatServer) -> None:
    llm_server.script_chat(plan_reply(GOOD_KITCHEN))
    result, sleeps = run(llm_server)
    assert result.plan is not None and result.failure_reason is None
    assert (result.attempts, result.provider, sleeps.calls) == (1, "openrouter:m-one", [])
    names = [o.name for o in result.plan.objects]
    assert names.count("mug") == 2 and "refrigerator" in names and "espresso_machine" in names
    espresso = next(o for o in result.plan.objects if o.name == "espresso_machine")
    assert (espresso.dims_source, espresso.width) == ("llm", 0.3)
    sent = llm_server.received()[0]
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    assert sent["body"]["model"] == "m-one"
    assert sent["body"]["response_format"] == {"type": "json_object"}
    assert "two mugs" in sent["body"]["messages"][-1]["content"]


def test_malformed_answers_count_as_failed_attempts_then_success(llm_server: ChatServer) -> None:
    llm_server.script_chat(
        chat("Sure! Here is your kitchen: a fridge and a table."),
        chat(json.dumps({"objects": "fridge"})),
        plan_reply(GOOD_KITCHEN),
    )
    result, sleeps = run(llm_server, rounds=3, backoff=2.0)
    assert result.attempts == 3 and result.plan is not None
    assert [r["outcome"] for r in result.log if "outcome" in r] == ["not_json", "objects_not_a_list", "ok"]
    assert sleeps.calls == [2.0, 4.0]  # linear backoff between rounds


def test_429_with_retry_after_waits_as_asked_then_succeeds(llm_server: ChatServer) -> None:
    llm_server.script_chat(rate_limited("7"), plan_reply(GOOD_KITCHEN))
    result, sleeps = run(llm_server, rounds=2, backoff=0.5)
    assert result.attempts == 2 and result.plan is not None
    first = result.log[0]
    assert (first["outcome"], first["status_code"], first["retry_after_seconds"]) == ("http_429", 429, 7.0)
    assert sleeps.calls == [7.0]


def test_429_moves_on_to_the_next_model_within_the_round(llm_server: ChatServer) -> None:
    llm_server.script_chat(rate_limited("30"), plan_reply(GOOD_KITCHEN))
    result, sleeps = run(llm_server, models="m-one,m-two", rounds=3)
    assert (result.attempts, result.provider, sleeps.calls) == (2, "openrouter:m-two", [])
    assert [r["body"]["model"] for r in llm_server.received()] == ["m-one", "m-two"]


def test_all_attempts_failing_reports_the_last_reason(llm_server: ChatServer) -> None:
    llm_server.script_chat(server_error(500), server_error(503), chat(""), chat(json.dumps({"objects": []})))
    result, sleeps = run(llm_server, models="m-one,m-two", rounds=2, backoff=1.0)
    assert result.plan is None
    assert result.attempts == 4
    assert [r["outcome"] for r in result.log if "outcome" in r] == [
        "http_500",
        "http_503",
        "empty_response",
        "no_usable_objects",
    ]
    assert result.failure_reason == "openrouter:m-two:no_usable_objects"
    assert sleeps.calls == [1.0]


def test_unreachable_server_is_a_connection_error() -> None:
    gone = ChatServer().start()
    chain = chain_for(gone)
    gone.stop()  # nothing listens on that port any more
    result = plan_with_llm(
        chain, "a kitchen", target=12, tier="premium", seed=1, rounds=1, backoff_seconds=0, timeout=5, sleep=Sleeps()
    )
    assert (result.attempts, result.failure_reason) == (1, "openrouter:m-one:connection_error")


# --- the whole scene from an LLM plan --------------------------------------------------------


def test_llm_scene_keeps_the_prompts_objects_and_is_physically_valid(llm_server: ChatServer) -> None:
    llm_server.script_chat(
        plan_reply(
            [
                {"name": "fridge", "category": "refrigerator", "sim_role": "articulated_appliance"},
                {"name": "painting", "category": "painting", "sim_role": "static"},
                {"name": "table", "category": "table", "sim_role": "static"},
            ],
            room_type="Kitchen",
        )
    )
    llm = LLMOptions(enabled=True, chain=tuple(chain_for(llm_server)), rounds=1, backoff_seconds=0, sleep=Sleeps())
    req = GenerationRequest(
        "llm1", "a kitchen with a fridge, a table and two mugs", {}, "standard", 1, "openrouter_qwen_primary"
    )
    pkg = run_backend("internal", req, llm, BackendConfig())
    assert pkg["used_llm"] is True and pkg["provider_used"] == "openrouter:m-one"
    assert pkg["quality_gate_report"]["generation_mode"] == "llm"
    assert pkg["room_type"] == "kitchen"
    names = [o["name"] for o in pkg["objects"]]
    assert "painting" not in names  # wall-mounted: repaired away
    assert sum(o["category"] == "mug" for o in pkg["objects"]) >= 2  # the prompt's two mugs, added
    assert len(pkg["objects"]) == 12
    assert pkg["planning"]["details"]["added_from_prompt"] == 2
    assert check_layout(pkg["objects"], pkg["layout_plan"]["room_box"]).ok


def test_disabled_llm_makes_no_call(llm_server: ChatServer) -> None:
    llm = LLMOptions(enabled=False, chain=tuple(chain_for(llm_server)))
    req = GenerationRequest("llm2", "a bedroom", {}, "standard", 1, "openrouter_qwen_primary")
    pkg = run_backend("internal", req, llm, BackendConfig())
    assert (pkg["used_llm"], pkg["llm_attempts"], pkg["llm_failure_reason"]) == (False, 0, "llm_disabled")
    assert pkg["fallback_strategy"] == "deterministic_template" and pkg["provider_used"] == "none"
    assert llm_server.received() == []


# --- parsing and repair ----------------------------------------------------------------------


def test_parse_plan_repairs() -> None:
    content = (
        "```json\n"
        + json.dumps(
            {
                "room_type": "Living Room",
                "objects": [
                    {"name": "Coffee Table", "sim_role": "bogus"},
                    {"category": "book", "count": 40},
                    {"name": "ceiling fan"},
                    {"name": ""},
                    "sofa",
                    {"name": "Pillow", "category": "pillow", "sim_role": "manipulable_object"},
                ],
            }
        )
        + "\n```"
    )
    plan = parse_plan(content)
    assert plan.room_type == "living_room"
    names = [o.name for o in plan.objects]
    assert names[0] == "coffee_table" and names.count("book") == 12 and "ceiling_fan" not in names
    assert next(o for o in plan.objects if o.name == "coffee_table").sim_role == "static"
    assert next(o for o in plan.objects if o.name == "pillow").sim_role == "deformable_object"
    assert {"dropped_not_resting:ceiling_fan", "dropped_unnamed_item", "dropped_non_object_item"} <= set(plan.repairs)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "empty_response"),
        ("  ", "empty_response"),
        ("no json here", "not_json"),
        ("[1, 2]", "not_json"),
        ('{"objects": 3}', "objects_not_a_list"),
        ('{"objects": []}', "no_usable_objects"),
        ('{"objects": [{"name": "wall"}]}', "no_usable_objects"),
        ("{not json}", "not_json"),
    ],
)
def test_parse_plan_rejections(content: str | None, reason: str) -> None:
    with pytest.raises(PlanRejected) as err:
        parse_plan(content)
    assert err.value.reason == reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["objects", "name", "category", "sim_role", "count", "dimensions", "room_type", "width", "x"]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_parse_plan_never_crashes_on_any_json(value: Any) -> None:
    try:
        text = json.dumps(value)
    except ValueError:
        return
    try:
        plan = parse_plan(text)
    except PlanRejected:
        return
    assert plan.objects and len(plan.objects) <= 64
    assert all(o.width > 0 and o.height > 0 and o.depth > 0 for o in plan.objects)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_plan_never_crashes_on_any_text(text: str) -> None:
    try:
        parse_plan(text)
    except PlanRejected:
        pass
