"""IMAGE_PATH_MODE=legacy_chain on the real runtime: a layout upload runs objects- and
scale-pipeline, ``.assets_ready`` starts regen3d-pipeline, whose ``.regen3d_complete`` starts
Stage 2 — up to a USD that passes the Stage-2 checks. Plus each workflow's skip and failure paths."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dbos import DBOS

from bpflow.jobs import JOBS, register_job
from tests.conftest import wait_until
from tests.source.conftest import finished, read_json, result_of
from tests.source.legacy_fixture import layout_body, write_inputs, write_reconstruction
from tests.stage2.stage1_fixture import KITCHEN, write_stage1_scene


def results(workflow: str, scene: str, count: int = 1) -> list[dict[str, Any]]:
    rows = wait_until(finished(workflow, scene, count=count), timeout=300)
    return [
        result_of(r.workflow_id) if r.status == "SUCCESS" else {"status": "ERROR", "error": str(r.error)} for r in rows
    ]


@pytest.fixture
def swap_jobs() -> Iterator[Callable[[str, str], None]]:
    saved = dict(JOBS)
    yield register_job
    JOBS.clear()
    JOBS.update(saved)


def test_layout_to_usd_through_the_legacy_chain(make_runtime: Callable[..., Any]) -> None:
    from tests.stage2.acceptance import check_scene

    rt = make_runtime(IMAGE_PATH_MODE="legacy_chain")
    b, scene = rt.bucket, "legacy-room"
    write_inputs(b, scene)
    b.write(f"scenes/{scene}/layout/scene_layout.json", layout_body(scene))
    base = f"scenes/{scene}/"
    try:
        wait_until(
            lambda: (
                b.exists(base + "usd/.usd_complete")
                or b.exists(base + "usd/.failed")
                or b.exists(base + "assets/.failed")
            ),
            timeout=240,
        )
    except Exception:  # noqa: BLE001 - show where the chain stopped
        runs = [(w.name, w.status, w.workflow_id[-60:]) for w in DBOS.list_workflows()]
        raise AssertionError(json.dumps({"keys": [i.key for i in b.list(base)], "runs": runs})) from None
    assert not b.exists(base + "assets/.failed") and not b.exists(base + "usd/.failed")

    layout = read_json(rt, base + "layout/scene_layout.json")
    assert [o["class_name"] for o in layout["objects"]] == ["table", "chair"] and layout["objects_job"][
        "label_lines"
    ] == 3
    # objects-job's own rewrite, if delivered as an event, is recognised and skipped (no loop)
    objects_runs = results("objects-pipeline", scene)
    assert [r["status"] for r in objects_runs].count("SUCCESS") == 1 and len(objects_runs) <= 2
    assert read_json(rt, base + "objects/.objects_complete")["job_succeeded"] is True
    scaled = read_json(rt, base + "layout/scene_layout_scaled.json")  # regen3d's layout replaced scale-job's
    assert scaled["metadata"]["source"] == "3d-re-gen" and b.read(base + "layout/scene_layout_scaled.done") == b"ok\n"
    assert read_json(rt, base + "assets/.assets_ready")["status"] == "ready"
    marker = read_json(rt, base + "assets/.regen3d_complete")
    assert marker["status"] == "complete" and marker["objects_count"] == 3 and marker["metrics_summary"]["skipped"] == 1
    manifest = read_json(rt, base + "assets/scene_manifest.json")
    checked = check_scene(b.root / base / "usd" / "scene.usda", manifest, scaled)
    assert checked["objects"] == 3
    wait_until(lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"]), timeout=300)


def test_skip_paths(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime()
    b = rt.bucket
    start = rt.dispatcher.start_manual
    # not their trigger object
    for wf, message in (
        ("objects-pipeline", "objects skip"),
        ("scale-pipeline", "scale skip"),
        ("interactive-pipeline", "interactive skip"),
        ("regen3d-pipeline", "Not an assets ready marker file"),
    ):
        run_id = start(wf, {"data": {"bucket": b.url, "name": "scenes/s1/other.json"}}).run_ids[0]
        out = result_of(run_id)
        assert out["status"] == "SKIPPED" and out["message"].startswith(message), (wf, out)
    # already done
    b.write_json("scenes/s2/layout/scene_layout.json", {"objects": [{"id": 0}]})
    b.write("scenes/s2/layout/scene_layout_scaled.done", b"ok\n")
    assert "objects already present" in results("objects-pipeline", "s2")[0]["message"]
    b.write_json("scenes/s3/layout/scene_layout.json", {"objects": [], "objects_job": {"objects": 0}})
    assert "layout written by objects-job" in results("objects-pipeline", "s3")[0]["message"]
    assert "found done marker" in results("scale-pipeline", "s2")[0]["message"]
    b.write_json("scenes/s2/assets/.regen3d_complete", {"scene_id": "s2", "status": "complete", "objects_count": 1})
    b.write_json("scenes/s2/assets/.assets_ready", {"status": "ready"})
    assert results("regen3d-pipeline", "s2")[0]["status"] == "SKIPPED"
    assert not b.exists("scenes/s2/objects/.objects_complete") and not b.exists("scenes/s2/assets/.regen3d_failed")


def test_failure_paths(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime()
    b = rt.bucket
    # objects: the job fails (no depth file) — recorded, not fatal, .objects_complete still written
    b.write("scenes/f1/layout/scene_layout.json", layout_body("f1"))
    runs = results("objects-pipeline", "f1")
    assert runs[0]["status"] == "SUCCESS" and runs[0]["job_succeeded"] is False
    assert read_json(rt, "scenes/f1/objects/.failed")["error"]["code"] == "objects_failed"
    assert read_json(rt, "scenes/f1/objects/.objects_failed")["status"] == "failed"
    assert read_json(rt, "scenes/f1/objects/.objects_complete")["job_succeeded"] is False
    # scale ran on the same layout: no objects, so scale 1.0 from nothing, then .assets_ready
    scale = results("scale-pipeline", "f1")[0]
    assert (
        scale["status"] == "SUCCESS"
        and read_json(rt, "scenes/f1/layout/scene_layout_scaled.json")["scale"]["source"] == "none"
    )
    # regen3d: no reconstruction → job fails: .failed written, legacy marker, run errors, no Stage-2 trigger
    regen = results("regen3d-pipeline", "f1")[0]
    assert regen["status"] == "ERROR" and "3D reconstruction (3D-RE-GEN) job FAILED for scene f1" in regen["error"]
    assert read_json(rt, "scenes/f1/assets/.failed")["error"]["code"] == "regen3d_failed"
    assert read_json(rt, "scenes/f1/assets/.regen3d_failed")["status"] == "failed"
    assert not b.exists("scenes/f1/assets/.regen3d_complete")

    # regen3d: a reconstruction with no usable object → the job's gate blocks, its .failed kept in regen3d-job/
    write_reconstruction(b, "f2", objects=())
    b.write_json("scenes/f2/assets/.failed", {"note": "an older failure from another producer"})
    b.write_json("scenes/f2/assets/.assets_ready", {"status": "ready"})
    assert results("regen3d-pipeline", "f2")[0]["status"] == "ERROR"
    assert read_json(rt, "scenes/f2/assets/.failed") == {
        "note": "an older failure from another producer"
    }  # not overwritten
    assert read_json(rt, "scenes/f2/regen3d-job/.failed")["error"]["code"] == "regen3d_quality_gate_failed"

    # interactive: the job fails (no manifest) → .failed with interactive_job_failed, FAILED returned (no raise)
    b.write_json("scenes/f3/assets/scene_assets.json", {"objects": []})
    out = results("interactive-pipeline", "f3")[0]
    assert (
        out["status"] == "FAILED"
        and out["message"] == "Interactive + simready pipeline failed for scenes/f3/assets/scene_assets.json"
    )
    assert read_json(rt, "scenes/f3/assets/.failed")["error"]["code"] == "interactive_job_failed"


def test_interactive_success_keeps_the_jobs_status(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(ARTICULATION_BACKEND="heuristic")
    b = rt.bucket
    write_stage1_scene(b, "i1", KITCHEN[2:4])  # nothing that must be articulated
    b.write_json("scenes/i1/assets/scene_assets.json", {"objects": []})
    out = results("interactive-pipeline", "i1")[0]
    assert out["status"] == "SUCCESS" and out["backend"] == "heuristic", json.dumps(
        b.read_json_or_none("scenes/i1/assets/.failed")["context"]
    )
    marker = read_json(rt, "scenes/i1/assets/.interactive_complete")
    job_status = marker["status"]
    assert (
        marker["backend"] == "heuristic" and job_status != "completed" and marker["workflow"] == "interactive-pipeline"
    )


def test_start_failures(make_runtime: Callable[..., Any], swap_jobs: Callable[[str, str], None]) -> None:
    for job in ("objects-job", "scale-job", "regen3d-adapter-job", "interactive-job"):
        swap_jobs(job, "tests.source.no_such_job_module")
    rt = make_runtime()
    b = rt.bucket
    b.write("scenes/st/objects/stale.json", b"{}")
    b.write("scenes/st/layout/scene_layout_scaled.json", b"{}")
    b.write("scenes/st/layout/scene_layout.json", layout_body("st"))
    assert results("objects-pipeline", "st")[0]["status"] == "ERROR"
    assert read_json(rt, "scenes/st/objects/.failed")["error"]["code"] == "objects_job_start_failed"
    assert "error" in read_json(rt, "scenes/st/objects/.objects_failed") and not b.exists(
        "scenes/st/objects/stale.json"
    )
    assert results("scale-pipeline", "st")[0]["status"] == "ERROR"
    assert read_json(rt, "scenes/st/layout/.failed")["error"]["code"] == "scale_job_start_failed"
    assert b.exists("scenes/st/layout/scene_layout.json")  # the input is never deleted (our departure)
    assert not b.exists("scenes/st/layout/scene_layout_scaled.json") and not b.exists("scenes/st/assets/.assets_ready")
    b.write("scenes/st/assets/leftover.bin", b"x")
    b.write_json("scenes/st/assets/.assets_ready", {"status": "ready"})
    assert results("regen3d-pipeline", "st")[0]["status"] == "ERROR"
    assert read_json(rt, "scenes/st/assets/.failed")["error"]["code"] == "regen3d_start_failed"
    assert not b.exists("scenes/st/assets/leftover.bin") and not b.exists("scenes/st/assets/.assets_ready")
    b.write("scenes/st/assets/interactive/old.usda", b"#usda 1.0\n")
    b.write_json("scenes/st/assets/scene_assets.json", {})
    out = results("interactive-pipeline", "st")[0]
    assert out["status"] == "FAILED" and out["error_code"] == "interactive_job_start_failed"
    assert read_json(rt, "scenes/st/assets/.failed")["error"]["code"] == "interactive_job_start_failed"
    assert not b.exists("scenes/st/assets/interactive/old.usda")
    json.dumps(out)
