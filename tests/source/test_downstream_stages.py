"""Stages 2-5 as the orchestrator drives them, over test stand-ins on the real runtime: order,
exact payloads, trigger run ids, ARENA_EXPORT_REQUIRED on the stage's result, a stage missing
from the build, legacy-chain delegation and a failing stage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dbos import DBOS

from bpflow.core.ids import object_run_id
from tests.source.conftest import launched_runtime, read_json

PLUGINS = "tests.fixtures.chain,tests.source.stage_fixtures"


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with launched_runtime(tmp_path_factory.mktemp("downstream") / "home", BPFLOW_WORKFLOW_MODULES=PLUGINS) as runtime:
        yield runtime


def _drive(
    rt: Any, scene: str, *, arena: str | None = None, fail_stage2: bool = False, **payload: Any
) -> dict[str, Any]:
    rt.bucket.write_json(f"scenes/{scene}/assets/scene_manifest.json", {"scene_id": scene})
    rt.bucket.write_json(f"scenes/{scene}/test/triggers/stage2", {"scene_id": scene})
    if arena is not None:
        rt.bucket.write_json(f"scenes/{scene}/test/arena_status.json", {"status": arena})
    if fail_stage2:
        rt.bucket.write(f"scenes/{scene}/test/fail_stage2", b"1")
    out = rt.dispatcher.start_manual("test-ds-driver", {"scene_id": scene, **payload}, run_id=f"test-ds-driver:{scene}")
    return DBOS.retrieve_workflow(out.run_ids[0]).get_result(polling_interval_sec=0.02)


def test_stages_run_in_order_with_the_exact_payloads_and_trigger_run_ids(rt: Any) -> None:
    result = _drive(rt, "ds1", arena="SUCCESS", arena_required=True)
    assert result["status"] == "SUCCESS"
    assert result["states"] == {
        "usd_assembly": "SUCCEEDED",
        "variation_assets": "SUCCEEDED",
        "geniesim_export": "SUCCEEDED",
        "arena_export": "SUCCEEDED",
    }
    trigger = "scenes/ds1/test/triggers/stage2"
    assert result["runs"]["usd_assembly"] == object_run_id("test-ds-usd", trigger, rt.bucket.stat(trigger).generation)
    seen = {
        name: read_json(rt, f"scenes/ds1/test/ds/{name}.json")
        for name in ("test-ds-usd", "test-ds-variation", "test-ds-export", "test-ds-arena")
    }
    assert seen["test-ds-usd"]["payload_flags"] == {
        "interactive_failure_policy": "hybrid_strict",
        "require_replicator": True,
        "require_isaac": True,
    }
    assert seen["test-ds-variation"]["payload_flags"] == {"enable_stage3_isaac_refresh": True, "require_isaac": True}
    assert seen["test-ds-variation"]["trigger"] == "scenes/ds1/test/triggers/stage3"
    assert seen["test-ds-arena"]["trigger"] == "scenes/ds1/test/triggers/stage5"
    order = sorted(seen, key=lambda n: seen[n]["timestamp"])
    assert order == ["test-ds-usd", "test-ds-variation", "test-ds-export", "test-ds-arena"]


@pytest.mark.parametrize(
    ("arena", "required", "expected"),
    [("SKIPPED", True, None), ("FAILED", True, None), ("SKIPPED", False, "SKIPPED"), ("FAILED", False, "FAILED")],
)
def test_arena_is_judged_on_its_result_status(rt: Any, arena: str, required: bool, expected: str | None) -> None:
    result = _drive(rt, f"ds-arena-{arena.lower()}-{required}", arena=arena, arena_required=required)
    if expected is None:
        assert result["status"] == "FAILED" and result["error_code"] == "arena_export_failed"
        assert f"(status={arena}, required=true)" in result["message"]
    else:
        assert result["status"] == "SUCCESS" and result["states"]["arena_export"] == expected, result


def test_a_stage_missing_from_the_build_stops_the_chain_and_is_recorded(rt: Any) -> None:
    result = _drive(rt, "ds-missing", missing="variation_assets")
    assert result["states"] == {
        "usd_assembly": "SUCCEEDED",
        "variation_assets": "NOT_IMPLEMENTED",
        "geniesim_export": "NOT_RUN",
        "arena_export": "NOT_RUN",
    }
    assert [row["stage"] for row in result["not_run"]] == ["variation_assets", "geniesim_export", "arena_export"]
    assert not rt.bucket.exists("scenes/ds-missing/test/ds/test-ds-export.json")


def test_legacy_chain_delegates_stages_4_and_5(rt: Any) -> None:
    result = _drive(rt, "ds-legacy", delegate=True, arena="FAILED", arena_required=True)
    assert result["status"] == "SUCCESS" and result["not_run"] == []
    assert result["states"]["geniesim_export"] == "DELEGATED" and result["states"]["arena_export"] == "DELEGATED"
    assert not rt.bucket.exists("scenes/ds-legacy/test/ds/test-ds-arena.json")


def test_a_failing_stage_fails_the_seed(rt: Any) -> None:
    result = _drive(rt, "ds-fail", fail_stage2=True)
    assert result["status"] == "FAILED" and result["error_code"] == "usd_assembly_failed"
    assert not rt.bucket.exists("scenes/ds-fail/test/ds/test-ds-variation.json")
