"""episode-generation-pipeline on the real runtime: a scene's USD and manifest in a real bucket,
``usd/.usd_complete`` written, the real jobs run (MuJoCo, LeRobot writer, quality gate), and the
stage's markers appear — or, for bad input, ``episodes/.failed`` with the job's own error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bpflow.core.ids import object_run_id
from bpflow.core.storage import Bucket
from tests.sim.simscenes import write_scene
from tests.stage2.helpers import outcome, settle

WORKFLOW = "episode-generation-pipeline"
SMALL = {
    "EPISODES_PER_VARIATION": "1",
    "EPISODE_MAX_TASKS": "0",
    "BPFLOW_SIM_WORKERS": "1",
    "EPISODE_IMAGE_SIZE": "32",
    "EPISODE_CAMERAS": "front,wrist",
}


def _upload(
    bucket: Bucket, tmp: Path, scene: str, *, manifest: bool = True, usd_text: str | None = None, **scene_kw: Any
) -> None:
    usd, body = write_scene(tmp / scene, scene_id=scene, **scene_kw)
    bucket.write(
        f"scenes/{scene}/usd/scene.usda",
        usd_text.encode() if usd_text is not None else usd.read_bytes(),
        content_type="text/plain",
    )
    if manifest:
        bucket.write_json(f"scenes/{scene}/assets/scene_manifest.json", body)


def _trigger(bucket: Bucket, scene: str) -> str:
    key = f"scenes/{scene}/usd/.usd_complete"
    info = bucket.write_json(key, {"scene_id": scene, "status": "completed"})
    return object_run_id(WORKFLOW, key, info.generation)


def _failed(bucket: Bucket, scene: str) -> dict[str, Any]:
    body = bucket.read_json(f"scenes/{scene}/episodes/.failed")
    assert body["status"] == "failed" and body["scene_id"] == scene
    assert bucket.exists(f"scenes/{scene}/episodes/.episodes_failed")
    assert not bucket.exists(f"scenes/{scene}/episodes/.episodes_complete")
    return body


def test_episodes_are_generated_checked_and_marked_complete(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(**SMALL)
    _upload(
        rt.bucket,
        tmp_path,
        "ep-ok",
        cubes=[{"id": "a", "xy": (0.1, 0.05)}, {"id": "b", "xy": (-0.15, -0.1), "size": 0.04}],
    )
    run_id = _trigger(rt.bucket, "ep-ok")
    result = outcome(run_id)
    assert result["status"] == "SUCCESS" and result["outputs"]["physics_validated"] is True
    marker = rt.bucket.read_json("scenes/ep-ok/episodes/.episodes_complete")
    assert marker["physics_validated"] is True and marker["episodes"] == 2 and marker["success_rate"] == 1.0
    info = rt.bucket.read_json("scenes/ep-ok/episodes/lerobot/meta/info.json")
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 2
    assert info["data_pack"]["tier"] == "core" and info["tier_compliance"]["episodes_per_variation"] == 1
    report = rt.bucket.read_json("scenes/ep-ok/episode-generation-job/quality_gate_report.json")
    assert report["summary"] == {**report["summary"], "can_proceed": True, "blocking_failures": 0}
    verdict = rt.bucket.read_json("scenes/ep-ok/episodes/quality_gate_verdict.json")
    assert verdict["summary"]["can_proceed"] is True and {r["name"] for r in verdict["results"]} >= {
        "success_rate",
        "videos_redecoded",
        "dataset_counts",
    }
    certs = [k.key for k in rt.bucket.list("scenes/ep-ok/episodes/certificates/")]
    assert len(certs) == 2
    # a second trigger (duplicate event, or a re-assembly) finds the stage complete and skips
    again = outcome(_trigger(rt.bucket, "ep-ok"))
    assert again["status"] == "SKIPPED" and "already complete" in again["message"]
    settle()


def test_a_failing_quality_gate_fails_the_stage(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(**SMALL)
    _upload(rt.bucket, tmp_path, "ep-heavy", cubes=[{"id": "anvil", "xy": (0.1, 0.05), "mass": 8.0}])
    result = outcome(_trigger(rt.bucket, "ep-heavy"))
    assert result["status"] == "FAILED"
    body = _failed(rt.bucket, "ep-heavy")
    assert body["job_name"] == "quality-gate-job" and body["error"]["code"] == "quality_gate_failed"
    # the episodes are kept, labelled: the failed grasp is data, not a crash
    report = rt.bucket.read_json("scenes/ep-heavy/episode-generation-job/quality_gate_report.json")
    assert report["summary"]["success_rate"] == 0.0 and report["summary"]["can_proceed"] is False
    settle()


def test_bad_input_gets_a_clear_error_and_a_failed_marker(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime(**SMALL)
    cases = {
        "ep-nopick": ({"cubes": [{"id": "crate", "xy": (0.0, 0.0), "size": 0.2}]}, "no_pickable_objects"),
        "ep-far": ({"cubes": [{"id": "a", "xy": (0.0, 0.0)}], "table_size": (3.0, 3.0)}, "unreachable_objects"),
        "ep-junk": ({"usd_text": "#usda 1.0\nthis is not usd {"}, "usd_unreadable"),
        "ep-nomanifest": ({"manifest": False}, "manifest_missing"),
    }
    runs = {}
    for scene, (kw, _) in cases.items():
        _upload(rt.bucket, tmp_path, scene, **kw)
        runs[scene] = _trigger(rt.bucket, scene)
    for scene, (_, code) in cases.items():
        assert outcome(runs[scene])["status"] == "FAILED", scene
        body = _failed(rt.bucket, scene)
        assert body["error"]["code"] == "episode_generation_failed"
        job_error = body["context"]["config_context"]["job_error"]
        assert job_error["code"] == code, (scene, job_error)
        assert job_error["message"] in body["error"]["message"]
        assert "Traceback" not in json.dumps(body)
        assert not list(rt.bucket.list(f"scenes/{scene}/episodes/lerobot/"))  # nothing half-written
    settle()
