"""The four text backends, locally and against live (local HTTP) SAGE / SceneSmith servers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bpflow.domain.textgen.backends import BackendConfig, resolve_backend, run_backend
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions
from bpflow.domain.textgen.layout_check import check_layout
from tests.textgen.openai_local_server import ChatServer, Reply

ALL = ["internal", "scenesmith", "sage", "hybrid_serial"]
REQ = GenerationRequest(
    "be1", "a kitchen with a fridge, a table and two mugs", {}, "standard", 3, "openrouter_qwen_primary"
)


def run(backend: str, cfg: BackendConfig | None = None, req: GenerationRequest = REQ) -> dict[str, Any]:
    return run_backend(backend, req, LLMOptions(), cfg or BackendConfig())


def valid(pkg: dict[str, Any]) -> bool:
    return check_layout(pkg["objects"], pkg["layout_plan"]["room_box"]).ok


@pytest.mark.parametrize(
    ("env", "cli", "request_value", "default", "allow", "expected"),
    [
        (None, None, None, "sage", ALL, ("sage", "default")),
        (None, None, "scenesmith", "sage", ALL, ("scenesmith", "request")),
        (None, "internal", "scenesmith", "sage", ALL, ("internal", "cli")),
        ("hybrid_serial", "internal", "scenesmith", "sage", ALL, ("hybrid_serial", "env")),
        (None, None, "sage", "sage", ["internal", "scenesmith"], ("internal", "request_not_in_allowlist")),
        (None, None, None, "bogus", ALL, ("sage", "default")),
        ("bogus", None, None, "sage", ALL, ("internal", "env_unknown_backend")),
    ],
)
def test_backend_precedence(
    env: str | None,
    cli: str | None,
    request_value: str | None,
    default: str,
    allow: list[str],
    expected: tuple[str, str],
) -> None:
    assert (
        resolve_backend(env_override=env, cli=cli, request_value=request_value, default=default, allowlist=allow)
        == expected
    )


def test_internal() -> None:
    pkg = run("internal")
    assert (pkg["text_backend"], pkg["provider_used"], pkg["backend"]["selected"]) == ("internal", "none", "internal")
    assert [b["name"] for b in pkg["backend"]["backends"]] == ["internal"]
    assert pkg["quality_gate_report"]["generation_mode"] == "deterministic_fallback"
    assert valid(pkg)


def test_sage_local_refines_three_manipulables_without_moving_anything() -> None:
    base, pkg = run("internal"), run("sage")
    assert [o["transform"] for o in pkg["objects"]] == [o["transform"] for o in base["objects"]]
    assert pkg["provider_used"] == "sage" and pkg["quality_gate_report"]["generation_mode"] == "sage_refined"
    assert [b["name"] for b in pkg["backend"]["backends"]] == ["internal", "sage"]
    refined = [o for o in pkg["objects"] if o.get("task_refined")]
    assert len(refined) == 3 and all(o["sim_role"] == "manipulable_object" for o in refined)
    assert all(pkg["physics_hints"][o["id"]]["sage_task_relevance"] == "high" for o in refined)
    assert pkg["sage"]["refined_object_ids"] == [o["id"] for o in refined]
    assert (
        pkg["sage"]["live_requested"] is False
        and pkg["quality_gate_report"]["refinement"]["task_refined_object_count"] == 3
    )
    assert "sage_refinement_seconds" in pkg["quality_gate_report"]["timing"]


def test_scenesmith_local_is_denser() -> None:
    std = run("scenesmith")
    prem = run("scenesmith", req=GenerationRequest("be2", "an office", {}, "premium", 1, "openrouter_qwen_primary"))
    assert len(std["objects"]) + len(std["planning"]["dropped_objects"]) == 18
    assert len(prem["objects"]) + len(prem["planning"]["dropped_objects"]) == 24
    assert std["constraints"]["object_density"] == "high"
    assert std["scenesmith"]["live_used"] is False and std["scenesmith"]["stages"][0] == "floor_plan"
    assert valid(std) and valid(prem)


def test_hybrid_serial_is_scenesmith_then_sage() -> None:
    pkg = run("hybrid_serial")
    assert [b["name"] for b in pkg["backend"]["backends"]] == ["scenesmith", "sage", "hybrid_serial"]
    assert pkg["backend"]["backends"][-1]["composition"] == "scenesmith_then_sage"
    assert pkg["sage"]["source_backend"] == "scenesmith" and pkg["provider_used"] == "sage"
    assert valid(pkg)


def test_action_demo_only_for_sage() -> None:
    cfg = BackendConfig(action_demo=True)
    demo = run("sage", cfg)["sage_action_demo"]
    assert [a["name"] for a in demo["planned_actions"]] == ["reach", "grasp", "place"]
    assert "sage_action_demo" not in run("internal", cfg)


# --- live servers ----------------------------------------------------------------------------


def test_sage_live_keeps_a_valid_remote_layout(llm_server: ChatServer) -> None:
    base = run("internal")
    llm_server.script("/sage", Reply(200, {"objects": copy.deepcopy(base["objects"]), "request_id": "sage-42"}))
    pkg = run("sage", BackendConfig(sage_url=llm_server.base_url + "/sage", sage_timeout_seconds=10))
    assert pkg["sage"]["live_used"] is True and pkg["sage"]["live_invocation"] == {
        "request_id": "sage-42",
        "layout_source": "remote",
    }
    assert pkg["quality_gate_report"]["generation_mode"] == "sage_live"
    assert [o["transform"]["position"] for o in pkg["objects"]] == [o["transform"]["position"] for o in base["objects"]]
    (sent,) = llm_server.received("/sage")
    assert sent["body"]["source_backend"] == "internal" and len(sent["body"]["base_scene"]["objects"]) == len(
        base["objects"]
    )
    assert sent["body"]["base_scene"]["room_box"] == base["layout_plan"]["room_box"]


def test_sage_live_layout_that_interpenetrates_is_re_placed(llm_server: ChatServer) -> None:
    objects = copy.deepcopy(run("internal")["objects"])
    for o in objects:
        o["transform"]["position"] = {"x": 0.0, "y": 0.0, "z": 0.0}  # everything in one spot
        o["parent_support_id"] = "room_floor"
    llm_server.script("/sage", Reply(200, {"package": {"objects": objects}}))
    pkg = run("sage", BackendConfig(sage_url=llm_server.base_url + "/sage"))
    assert pkg["sage"]["live_invocation"]["layout_source"] == "local_replaced"
    assert valid(pkg)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, {"error": "down"}), "http_500"),
        (Reply(200, b"<html>oops</html>"), "invalid_json"),
        (Reply(200, {"objects": []}), "invalid_shape:no_objects"),
        (Reply(200, [1, 2, 3]), "invalid_shape:not_an_object"),
    ],
)
def test_sage_live_failure_falls_back_to_local_refinement(llm_server: ChatServer, reply: Reply, reason: str) -> None:
    llm_server.script("/sage", reply)
    pkg = run("sage", BackendConfig(sage_url=llm_server.base_url + "/sage"))
    assert pkg["sage"]["live_used"] is False and pkg["sage"]["live_error"] == reason
    assert pkg["quality_gate_report"]["generation_mode"] == "sage_refined"
    assert valid(pkg)


def test_scenesmith_live_objects_without_poses_are_placed_locally(llm_server: ChatServer) -> None:
    remote = [
        {"name": "desk", "category": "desk", "sim_role": "static"},
        {"name": "monitor"},
        {"name": "keyboard"},
        {"name": "office chair", "category": "office_chair"},
        {"name": "ceiling_light"},
        {"name": "lamp", "dimensions_est": {"width": 0.2, "height": 0.5, "depth": 0.2}},
    ]
    llm_server.script("/smith", Reply(200, {"objects": remote, "room_type": "office", "request_id": "ss-1"}))
    url = "http://user:pw@" + llm_server.base_url.removeprefix("http://") + "/smith"
    pkg = run("scenesmith", BackendConfig(scenesmith_url=url))
    assert pkg["provider_used"] == "scenesmith" and pkg["quality_gate_report"]["generation_mode"] == "scenesmith_live"
    assert pkg["room_type"] == "office"
    assert sorted(o["name"] for o in pkg["objects"]) == ["desk", "keyboard", "lamp", "monitor", "office_chair"]
    assert pkg["scenesmith"]["live_invocation"]["layout_source"] == "local_replaced"
    assert "pw" not in pkg["scenesmith"]["server_url"]
    (sent,) = llm_server.received("/smith")
    assert (
        sent["body"]["pipeline_stages"][-1] == "manipuland" and sent["body"]["constraints"]["object_density"] == "high"
    )
    assert valid(pkg)


def test_unreachable_live_server_falls_back() -> None:
    gone = ChatServer().start()
    url = gone.base_url + "/sage"
    gone.stop()
    pkg = run(
        "hybrid_serial",
        BackendConfig(sage_url=url, scenesmith_url=url, sage_timeout_seconds=5, scenesmith_timeout_seconds=5),
    )
    assert pkg["scenesmith"]["live_error"].startswith("transport_error")
    assert pkg["sage"]["live_error"].startswith("transport_error")
    assert valid(pkg)
