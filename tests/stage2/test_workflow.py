"""usd-assembly-pipeline on the real runtime: ``.regen3d_complete`` in a real bucket → one run,
six real jobs in order, four markers written once each by the workflow, and a scene that meets
the acceptance checks — also when the event arrives twice and an orchestrator starts the stage
at the same moment."""

from __future__ import annotations

import threading
import time
from typing import Any

from dbos import DBOS

from bpflow.blocks.stages import start_stage
from bpflow.core.engine.registry import Run
from bpflow.core.events.model import ObjectEvent
from tests.stage2.acceptance import check_scene
from tests.stage2.helpers import STAGE_MARKERS, WORKFLOW, WriteCounter, job_steps, outcome, runs_of, settle, trigger

EXPECTED_JOBS = [
    "usd-assembly-job",
    "simready-job",
    "interactive-job",
    "usd-assembly-job",
    "replicator-job",
    "isaac-lab-job",
]


def test_regen3d_complete_runs_stage2_once_with_duplicates_and_an_orchestrator(runtime: Any) -> None:
    bucket = runtime.bucket
    counter = WriteCounter(bucket)
    scene = "e2e1"
    started = time.monotonic()
    run_id = trigger(bucket, scene)
    key = f"scenes/{scene}/assets/.regen3d_complete"
    gen = bucket.stat(key).generation
    # The same finalize event delivered again, and an orchestrator starting the stage itself,
    # with the run id the trigger uses (DESIGN principle 2), from two threads at once.
    orchestrator = Run(
        run_id="test-orchestrator:manual:1", workflow="test-orchestrator", payload={"data": {"bucket": bucket.url}}
    )
    got: dict[str, str] = {}
    threads = [
        threading.Thread(
            target=lambda: got.setdefault(
                "orchestrator",
                start_stage(
                    orchestrator,
                    WORKFLOW,
                    key,
                    extra={
                        "interactive_failure_policy": "hybrid_strict",
                        "require_replicator": True,
                        "require_isaac": True,
                    },
                ),
            )
        ),
        threading.Thread(
            target=lambda: runtime.dispatcher.dispatch_object(
                ObjectEvent(bucket=bucket.url, name=key, generation=gen, source="redelivery")
            )
        ),
    ]
    for t in threads:
        t.start()
    runtime.dispatcher.dispatch_object(ObjectEvent(bucket=bucket.url, name=key, generation=gen, source="redelivery"))
    for t in threads:
        t.join()
    assert got["orchestrator"] == run_id

    result = outcome(run_id)
    elapsed = time.monotonic() - started
    assert result["status"] == "SUCCESS", result
    assert result["message"] == f"Full pipeline completed for scene {scene} (USD + Replicator + Isaac Lab)"
    assert result["outputs"] == {
        "scene_usda": f"scenes/{scene}/usd/scene.usda",
        "replicator_bundle": f"scenes/{scene}/replicator/",
        "isaac_lab_package": f"scenes/{scene}/isaac_lab/",
    }
    assert runs_of(scene) == [run_id]
    assert [s.removeprefix("job ").removesuffix(" attempt 1") for s in job_steps(run_id)] == EXPECTED_JOBS
    for rel in STAGE_MARKERS:
        body = bucket.read_json(f"scenes/{scene}/{rel}")
        assert body["workflow"] == WORKFLOW and body["run_id"] == run_id, rel
        assert counter.counts[f"scenes/{scene}/{rel}"] == 1, rel
    assert bucket.read_json(f"scenes/{scene}/isaac_lab/.isaac_lab_complete")["status"] == "complete"
    assert bucket.read_json(f"scenes/{scene}/replicator/.replicator_complete")["policies"]
    assert not bucket.exists(f"scenes/{scene}/locks/usd-assembly.lock")
    report = check_scene(
        bucket.path_for(f"scenes/{scene}/usd/scene.usda"),
        bucket.read_json(f"scenes/{scene}/assets/scene_manifest.json"),
        bucket.read_json(f"scenes/{scene}/layout/scene_layout_scaled.json"),
    )
    assert report["objects"] == 5
    durations = [
        (s["function_name"].split()[1], round(s["output"]["result"]["duration_seconds"], 2))
        for s in DBOS.list_workflow_steps(run_id)
        if s["function_name"].startswith("job ")
    ]
    print(f"stage2 wall time {elapsed:.1f}s; job seconds {durations}")
    settle()
    assert runs_of(scene) == [run_id]  # nothing downstream re-ran Stage 2


def test_rerun_with_new_stage1_output_replaces_the_markers(runtime: Any) -> None:
    bucket = runtime.bucket
    first = trigger(bucket, "e2e2")
    assert outcome(first)["status"] == "SUCCESS"
    old = {rel: bucket.stat(f"scenes/e2e2/{rel}").generation for rel in STAGE_MARKERS}
    settle()
    second = trigger(bucket, "e2e2")  # Stage 1 wrote a new version
    assert second != first
    assert outcome(second)["status"] == "SUCCESS"
    for rel in STAGE_MARKERS:
        assert bucket.read_json(f"scenes/e2e2/{rel}")["run_id"] == second
        assert bucket.stat(f"scenes/e2e2/{rel}").generation > old[rel]
    settle()
