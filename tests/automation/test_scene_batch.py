"""scene-batch on the embedded default: a manifest of 20 requests runs through the source
orchestrator with bounded parallelism; bad manifests and bad entries get clear errors and
write nothing outside their own prefix; a re-run resumes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from tests.conftest import runtime_env, wait_until
from tests.source.conftest import OFFLINE_STAGE1, request_body
from tests.support.overlap import most_at_once

WF = "scene-batch"
PROMPTS = [
    "a kitchen with a fridge, a table and two mugs",
    "an office with a desk, a chair and a monitor",
    "a bedroom with a bed, a nightstand and a lamp",
    "a living room with a sofa, a coffee table and a book",
]


def run_batch(rt: Any, payload: dict[str, Any], timeout: float = 900) -> tuple[str, Any]:
    run_id = rt.dispatcher.start_manual(WF, payload).run_ids[0]
    status = wait_until(
        lambda: (s := DBOS.get_workflow_status(run_id)) and s.status in ("SUCCESS", "ERROR") and s,
        timeout=timeout,
        interval=0.5,
    )
    if status.status == "SUCCESS":
        return "SUCCESS", DBOS.retrieve_workflow(run_id).get_result()
    return "ERROR", status.error


def scene_keys(rt: Any) -> set[str]:
    return {i.key for i in rt.bucket.list("scenes/")}


@pytest.mark.long(65)
@pytest.mark.timeout(1200)  # a load-bound machine must not fail it: the wall time is measured in bench/
def test_a_batch_of_20_scenes_completes_with_bounded_parallelism(
    make_runtime: Any, stage1_only: None, tmp_path: Path
) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    scenes = [request_body(f"b20_{i:02d}", prompt=PROMPTS[i % len(PROMPTS)]) for i in range(20)]
    rt.bucket.write_json("batches/b20/manifest.json", {"scenes": scenes})
    status, result = run_batch(
        rt, {"manifest_object": "batches/b20/manifest.json", "max_concurrent": 3, "poll_seconds": 1}
    )
    assert status == "SUCCESS", result
    assert result["scene_count"] == 20 and result["failed"] == 0
    report = rt.bucket.read_json("batches/b20/batch_report.json")
    assert (
        report["status"] == "completed" and report["total"] == 20 and report["success"] == 20 and report["failed"] == 0
    )
    assert {r["status"] for r in report["scene_reports"]} == {"SUCCESS"}
    for i in range(20):
        assert rt.bucket.exists(f"scenes/b20_{i:02d}/assets/.regen3d_complete")
    orchestrators = [w for w in DBOS.list_workflows(name="source-orchestrator")]
    assert len(orchestrators) == 20
    assert (
        most_at_once([(r.created_at, r.updated_at) for r in orchestrators]) <= 3 + 1
    )  # +1: a finished scene's run may still be closing when the next starts
    assert rt.bucket.read_json("batches/b20/dead_letter_queue.json") == []

    # the results table, as a user asks for it (a separate process reading the same home)
    env = runtime_env(Path(rt.settings.home), **OFFLINE_STAGE1, COLUMNS="200")
    out = subprocess.run(
        [sys.executable, "-m", "bpflow.cli", "batch", "status", "b20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "20/20 succeeded" in out.stdout and out.stdout.count("SUCCESS") == 20
    print(out.stdout)

    # the same manifest again: every scene already succeeded, nothing is resubmitted
    before = {w.workflow_id for w in DBOS.list_workflows(name="source-orchestrator")}
    status, again = run_batch(rt, {"manifest_object": "batches/b20/manifest.json", "poll_seconds": 1})
    assert status == "SUCCESS" and again["failed"] == 0
    assert {r["status"] for r in rt.bucket.read_json("batches/b20/batch_report.json")["scene_reports"]} == {"SKIPPED"}
    assert {w.workflow_id for w in DBOS.list_workflows(name="source-orchestrator")} == before


def test_a_manifest_that_is_not_json_fails_clearly_and_writes_only_its_report(make_runtime: Any) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    rt.bucket.write("batches/broken/manifest.json", b"{scenes: [oops")
    status, error = run_batch(rt, {"manifest_object": "batches/broken/manifest.json"})
    assert status == "ERROR" and "Invalid manifest payload" in str(error)
    report = rt.bucket.read_json("batches/broken/batch_report.json")
    assert report["status"] == "failed" and "Invalid manifest payload" in report["error"]
    assert scene_keys(rt) == set()
    assert {i.key.split("/")[1] for i in rt.bucket.list("batches/")} == {"broken"}

    for payload, message in (
        ({}, "manifest_object is required"),
        ({"manifest_object": "../x.json"}, "not a valid object key"),
    ):
        status, error = run_batch(rt, payload)
        assert status == "ERROR" and message in str(error)
    rt.bucket.write_json("batches/empty/manifest.json", {"scenes": []})
    status, error = run_batch(rt, {"manifest_object": "batches/empty/manifest.json"})
    assert status == "ERROR" and "Manifest scene list is empty" in str(error)


def test_invalid_entries_are_reported_and_never_written_while_the_rest_run(
    make_runtime: Any, stage1_only: None
) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    rt.bucket.write_json(
        "scenes/taken/prompts/scene_request.json", request_body("taken", prompt="somebody else's kitchen with a mug")
    )
    taken_before = rt.bucket.read("scenes/taken/prompts/scene_request.json")
    manifest = [
        request_body("mixok1"),
        request_body("mixbad", seed_count=0),
        "just a string",
        request_body("mixok1"),  # duplicate: processed once
        request_body("taken"),  # another request owns this scene: not overwritten
        request_body("../escape"),
    ]
    rt.bucket.write_json("batches/mixed.json", manifest)
    status, error = run_batch(rt, {"manifest_object": "batches/mixed.json", "poll_seconds": 1})
    assert status == "ERROR" and "scenes failed" in str(error)
    report = rt.bucket.read_json("batches/mixed/batch_report.json")
    by_index = {r["index"]: r for r in report["scene_reports"]}
    assert by_index[0]["status"] == "SUCCESS"
    assert by_index[1]["status"] == "INVALID" and by_index[1]["problems"][0]["field"] == "seed_count"
    assert by_index[2]["status"] == "INVALID" and by_index[2]["problems"][0]["field"] == "scenes[2]"
    assert by_index[3]["status"] == "DUPLICATE"
    assert by_index[4]["status"] == "INVALID" and by_index[4]["error"].startswith("scene_exists")
    assert by_index[5]["status"] == "INVALID"
    assert rt.bucket.read("scenes/taken/prompts/scene_request.json") == taken_before
    written = {k.split("/")[1] for k in scene_keys(rt)}
    assert written == {"mixok1", "taken"}
    dlq = rt.bucket.read_json("batches/mixed/dead_letter_queue.json")
    assert {d["index"] for d in dlq} == {1, 2, 4, 5}
