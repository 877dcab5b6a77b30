"""upsell-features-pipeline on the real runtime (manual runs only): standard is skipped, pro
produces its analytics and charts from the real episodes, enterprise adds camera coverage; the
quality gate, the completed-skip and a failing job behave as the reference's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bpflow.core.triggers import TriggerMap
from tests.learning.helpers import record_episodes
from tests.stage2.helpers import finished, outcome, settle

WF = "upsell-features-pipeline"


def _run(rt: Any, scene: str, name: str, **extra: Any) -> str:
    run_id = f"{WF}:manual:{name}"
    rt.dispatcher.start_manual(
        WF, {"data": {"bucket": "b", "name": f"scenes/{scene}/episodes/.episodes_complete"}, **extra}, run_id=run_id
    )
    return run_id


def test_upsell_is_manual_only() -> None:
    (row,) = [r for r in TriggerMap.default({}).rows if r.workflow == WF]
    assert row.kind == "manual"


def test_standard_skips_pro_reports_enterprise_adds_cameras(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(EPISODES_PER_VARIATION="2", BPFLOW_SIM_WORKERS="1", EPISODE_IMAGE_SIZE="32")
    b = rt.bucket
    record_episodes(b, tmp_path, "up", cubes=[{"id": "light", "xy": (0.1, 0.05), "mass": 0.1}])
    settle()
    std = outcome(_run(rt, "up", "std"))
    assert (
        std["status"] == "SKIPPED"
        and std["message"] == "Standard tier - no upsell features for scene up"
        and std["bundle_tier"] == "standard"
    )
    assert not list(b.list("scenes/up/episodes/upsell_outputs/"))
    pro = outcome(_run(rt, "up", "pro", bundle_tier="pro"), timeout=600)
    assert (
        pro["status"] == "SUCCESS"
        and pro["outputs"]["completion_marker"] == "scenes/up/episodes/upsell_outputs/.upsell_complete"
    )
    doc = b.read_json("scenes/up/episodes/upsell_outputs/analytics.json")
    assert doc["bundle_tier"] == "pro" and "camera_coverage" not in doc
    assert set(doc["tasks"]) == {"pick_place_light"} and doc["tasks"]["pick_place_light"]["episodes"] == 2
    assert doc["tasks"]["pick_place_light"]["success_rate"] == doc["overall"]["success_rate"] == 1.0
    assert (
        doc["tasks"]["pick_place_light"]["duration_s"]["count"] == 2
        and doc["tasks"]["pick_place_light"]["duration_s"]["mean"] > 1
    )
    assert set(doc["distributions"]["action"]) == {
        "joint1",
        "joint2",
        "joint3",
        "joint4",
        "joint5",
        "joint6",
        "joint7",
        "gripper",
    }
    assert sum(doc["distributions"]["action"]["joint1"]["histogram"]["counts"]) == doc["dataset"]["frames"]
    for chart in doc["charts"]:
        assert b.read(chart).startswith(b"<svg") and chart.endswith(".svg")
    assert {c.rsplit("/", 1)[1] for c in doc["charts"]} >= {
        "success_by_task.svg",
        "duration_by_task.svg",
        "action_distribution.svg",
        "ee_workspace.svg",
    }
    marker = b.read_json("scenes/up/episodes/upsell_outputs/.upsell_complete")
    assert marker["status"] == "completed" and marker["bundle_tier"] == "pro"
    again = outcome(_run(rt, "up", "pro-again", bundle_tier="pro"))
    assert again["status"] == "SKIPPED" and "already complete" in again["message"]
    ent = outcome(_run(rt, "up", "ent", bundle_tier="enterprise", force_reprocess=True), timeout=600)
    assert ent["status"] == "SUCCESS"
    cov = b.read_json("scenes/up/episodes/upsell_outputs/analytics.json")["camera_coverage"]
    assert set(cov) == {"observation.images.front", "observation.images.wrist"}
    assert all(c["decoded_fraction"] == 1.0 and 0 < c["changing_pixel_fraction"] <= 1 for c in cov.values())


def test_gate_key_filter_and_a_failing_job(runtime: Any) -> None:
    b = runtime.bucket
    run_id = f"{WF}:manual:other"
    runtime.dispatcher.start_manual(
        WF, {"data": {"name": "scenes/x/episodes/.episodes_failed"}, "bundle_tier": "pro"}, run_id=run_id
    )
    assert outcome(run_id)["message"] == "Not an episodes completion marker file: scenes/x/episodes/.episodes_failed"
    st = finished(_run(runtime, "nogate", "nogate", bundle_tier="pro"))
    assert st.status == "ERROR" and "Quality gate failed" in str(st.error)
    block = b.read_json("scenes/nogate/episodes/upsell_outputs/.failed")
    assert (
        block["error"]["code"] == "quality_gate_failed"
        and block["error"]["message"] == "Downstream quality gate preflight blocked upsell"
    )
    b.write_json(
        "scenes/nodata/episode-generation-job/quality_gate_report.json",
        {"summary": {"can_proceed": True, "blocking_failures": 0}},
    )
    failed = outcome(_run(runtime, "nodata", "nodata", bundle_tier="pro"), timeout=300)
    assert failed["status"] == "FAILED" and failed["bundle_tier"] == "pro"
    body = b.read_json("scenes/nodata/episodes/upsell_outputs/.failed")
    assert (
        body["job_name"] == "upsell-features-job" and body["error"]["code"] == "upsell_dataset_missing"
    )  # the job's own, kept
    assert b.read_json("scenes/nodata/episodes/upsell_outputs/.upsell_failed")["bundle_tier"] == "pro"
    assert "Traceback" not in json.dumps(body)
