"""usd-assembly-pipeline failure paths on the real runtime: each ends in the documented status
and markers, with the scene lock released.

Faults are real: bad input that makes a real job exit non-zero, a required articulation the
rules cannot provide, and a test-only stand-in (``fault_jobs``) for a hung job, a job that exits
0 without its marker, and a job that fails outright. Runner outages use the runner's own switch
(``BPFLOW_RUNNER_DOWN_FILE``); short waits come from a policy override folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from bpflow.blocks.lock import try_acquire
from bpflow.core.ids import object_run_id
from bpflow.jobs import JOBS, register_job
from tests.conftest import wait_until
from tests.stage2.helpers import STAGE_MARKERS, WORKFLOW, finished, job_steps, outcome, settle, trigger
from tests.stage2.stage1_fixture import KITCHEN, ObjectSpec, regen3d_marker, with_object, without, write_stage1_scene

STAGE2_JOBS = ("usd-assembly-job", "simready-job", "interactive-job", "replicator-job", "isaac-lab-job")
FAST_POLLING = "simready_marker:\n  delays: [0.2, 0.2, 0.2]\n  max_attempts: 3\n"
# waits 0.5, 1, 2, 4 s: a budget the test's watcher cannot miss, yet short to exhaust
FAST_RETRY = "max_retries: 4\nbase_delay_seconds: 0.5\nmax_delay_seconds: 4\nbackoff_factor: 2\n"
SOFA = ObjectSpec(
    "sofa_0",
    "sofa",
    "static",
    (1.2, 0.8, 0.8),
    (1.6, 0.0, -1.5),
    "box",
    "sofa",
    "a sofa someone asked to articulate",
    required=True,
    candidate=True,
    material="fabric",
)


def _policy_dir(tmp_path: Path, **files: str) -> str:
    d = tmp_path / "policy"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text)
    return str(d)


@pytest.fixture
def fault_jobs() -> Iterator[None]:
    saved = dict(JOBS)
    for job in STAGE2_JOBS:
        register_job(job, "tests.stage2.fault_jobs")
    yield
    JOBS.clear()
    JOBS.update(saved)


def _error(run_id: str) -> str:
    st = finished(run_id)
    assert st.status == "ERROR", f"{run_id} ended {st.status}"
    return str(st.error)


def _failed(bucket: Any, scene: str, rel: str) -> dict[str, Any]:
    body = bucket.read_json(f"scenes/{scene}/{rel}")
    assert (
        body["status"] == "failed"
        and body["scene_id"] == scene
        and body["context"]["workflow_execution_id"].startswith(WORKFLOW)
    )
    return body


def _start(
    runtime: Any,
    scene: str,
    objects: tuple[ObjectSpec, ...] = KITCHEN,
    faults: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    **payload: Any,
) -> str:
    """Seed a scene (minus the ``drop`` keys) and start its run. Payload fields (the flags) go in
    as an orchestrator passes them: the trigger marker is then written behind the dispatcher's
    back, as another tool would, so only the orchestrator-style start (same run id) counts."""
    bucket = runtime.bucket
    if faults:
        bucket.write_json(f"scenes/{scene}/test/faults.json", faults)
    write_stage1_scene(bucket, scene, objects)
    for rel in drop:
        bucket.delete(f"scenes/{scene}/{rel}")
    key = f"scenes/{scene}/assets/.regen3d_complete"
    if not payload:
        return object_run_id(WORKFLOW, key, bucket.write_json(key, regen3d_marker(scene, objects)).generation)
    bucket.path_for(key).write_text("{}")
    gen = bucket.stat(key).generation
    run_id = object_run_id(WORKFLOW, key, gen)
    runtime.dispatcher.start_run(
        WORKFLOW, run_id, {"data": {"bucket": bucket.url, "name": key, "generation": str(gen)}, **payload}
    )
    return run_id


def _no_lock(bucket: Any, scene: str) -> None:
    assert not bucket.exists(f"scenes/{scene}/locks/usd-assembly.lock")


def test_failure_paths(make_runtime: Callable[..., Any], tmp_path: Path, fault_jobs: None) -> None:
    rt = make_runtime(BPFLOW_POLICY_DIR=_policy_dir(tmp_path, polling=FAST_POLLING))
    b = rt.bucket
    runs = {
        "convert-fails": _start(rt, "convert-fails", drop=("assets/obj_mug_0/model.usd",)),
        "no-simready-marker": _start(rt, "no-simready-marker", faults={"simready-job": "drop_marker"}),
        "gate-hybrid": _start(rt, "gate-hybrid", with_object(KITCHEN, SOFA)),
        "gate-strict": _start(
            rt,
            "gate-strict",
            with_object(without(KITCHEN, "fridge_0", "cabinet_0"), ObjectSpec(**{**SOFA.__dict__, "required": False})),
            interactive_failure_policy="strict",
        ),
        "gate-warn": _start(rt, "gate-warn", with_object(KITCHEN, SOFA), interactive_failure_policy="warn"),
        "replicator-tolerated": _start(
            rt, "replicator-tolerated", faults={"replicator-job": "exit:1"}, require_replicator=False
        ),
        "isaac-tolerated": _start(rt, "isaac-tolerated", faults={"isaac-lab-job": "exit:1"}, require_isaac="false"),
        "isaac-required": _start(rt, "isaac-required", faults={"isaac-lab-job": "exit:1"}),
    }
    # convert: a real job exits 2 on bad input → ERROR, usd/.failed names the job's own error
    assert "USD conversion job FAILED for scene convert-fails" in _error(runs["convert-fails"])
    body = _failed(b, "convert-fails", "usd/.failed")
    assert body["error"]["code"] == "usd_convert_failed" and body["error"]["stage"] == "convert"
    assert body["context"]["config_context"]["job_error"] == {
        "code": "asset_missing",
        "field": "objects[3].asset.path",
        "message": body["context"]["config_context"]["job_error"]["message"],
    }
    assert len(job_steps(runs["convert-fails"])) == 1

    # simready exited 0 without its marker → the bounded wait ends, ERROR, simready/.failed
    assert "missing .simready_complete after 3 checks" in _error(runs["no-simready-marker"])
    assert _failed(b, "no-simready-marker", "simready/.failed")["error"]["code"] == "simready_marker_missing"

    # hybrid_strict: a required object could not be articulated → gate fails
    message = _error(runs["gate-hybrid"])
    assert (
        "Interactive gate failed for scene gate-hybrid (policy=hybrid_strict, candidate_articulation_count=3, required_articulation_count=3"
        in message
    )
    assert _failed(b, "gate-hybrid", "assets/.interactive_failed")["error"]["code"] == "interactive_gate_failed"
    assert b.read_json("scenes/gate-hybrid/assets/.interactive_complete")["summary"]["required_failures"] == ["sofa_0"]

    # strict: nothing required, but the only candidate failed (status failure) → gate fails
    assert "policy=strict" in _error(runs["gate-strict"]) and "marker_status=failure" in _error(runs["gate-strict"])
    assert _failed(b, "gate-strict", "assets/.interactive_failed")["error"]["code"] == "interactive_gate_failed"

    # warn: the same required failure is only logged; the sofa is placed as a static body
    result = outcome(runs["gate-warn"])
    assert (
        result["status"] == "SUCCESS"
        and result["interactive"]["passed"]
        and result["interactive"]["marker_status"] == "failed"
    )  # the job exited 1
    assert b.read_json("scenes/gate-warn/assets/.interactive_complete")["status"] == "failure"
    assert not b.exists("scenes/gate-warn/assets/.interactive_failed")
    assert b.read_json("scenes/gate-warn/usd/usd_assembly_manifest.json")["articulation_warnings"]

    # require_replicator=false: a failed replicator is tolerated; no Stage-3 trigger is written
    result = outcome(runs["replicator-tolerated"])
    assert result["status"] == "SUCCESS" and result["replicator_ok"] is False
    assert not b.exists("scenes/replicator-tolerated/replicator/.replicator_complete")
    assert b.exists("scenes/replicator-tolerated/isaac_lab/.isaac_lab_complete")
    assert _failed(b, "replicator-tolerated", "replicator/.failed")["error"]["type"] == "tolerated_failure"

    # require_isaac=false: PARTIAL_SUCCESS without the Isaac package
    result = outcome(runs["isaac-tolerated"])
    assert result["status"] == "PARTIAL_SUCCESS" and "isaac_lab_package" not in result["outputs"]
    assert result["message"] == "Full pipeline completed for scene isaac-tolerated (USD + Replicator, Isaac Lab failed)"
    assert not b.exists("scenes/isaac-tolerated/isaac_lab/.isaac_lab_complete")
    assert b.exists("scenes/isaac-tolerated/replicator/.replicator_complete")

    # require_isaac (default): ERROR; the USD markers stand, Stage 3 is not started
    assert "Isaac Lab job failed and REQUIRE_ISAAC=true for scene isaac-required" in _error(runs["isaac-required"])
    assert _failed(b, "isaac-required", "isaac_lab/.failed")["error"]["code"] == "isaac_lab_failed"
    assert b.exists("scenes/isaac-required/usd/.usd_complete") and not b.exists(
        "scenes/isaac-required/replicator/.replicator_complete"
    )

    for scene in runs:
        _no_lock(b, scene)
    for scene in ("convert-fails", "no-simready-marker", "gate-hybrid", "gate-strict"):
        assert not any(b.exists(f"scenes/{scene}/{m}") for m in STAGE_MARKERS), scene
    settle()


def test_interactive_job_that_cannot_start(make_runtime: Callable[..., Any]) -> None:
    saved = dict(JOBS)
    register_job("interactive-job", "tests.stage2.no_such_job_module")  # the launcher cannot start it
    try:
        rt = make_runtime()
        b = rt.bucket
        b.write("scenes/start-hybrid/assets/interactive/stale.usda", "#usda 1.0\n")
        hybrid = _start(rt, "start-hybrid")
        warn = _start(rt, "start-warn", interactive_failure_policy="warn")
        assert "policy=hybrid_strict" in _error(hybrid)
        body = _failed(b, "start-hybrid", "assets/.interactive_failed")
        assert (
            body["error"]["code"] == "interactive_gate_failed"
            and "no marker" in body["context"]["config_context"]["cause"]
        )
        assert not b.exists("scenes/start-hybrid/assets/interactive/stale.usda")  # the step's outputs rolled back
        result = outcome(warn)  # warn: the pipeline goes on without articulation
        assert result["status"] == "SUCCESS" and result["interactive"]["marker_status"] == "failed"
        assert _failed(b, "start-warn", "assets/.interactive_failed")["error"]["code"] == "interactive_start_failed"
        for scene in ("start-hybrid", "start-warn"):
            _no_lock(b, scene)
        settle()
    finally:
        JOBS.clear()
        JOBS.update(saved)


def test_held_lock_and_foreign_objects_are_skipped(runtime: Any) -> None:
    b = runtime.bucket
    holder = try_acquire(
        b,
        "scenes/held/locks/usd-assembly.lock",
        scene_id="held",
        workflow=WORKFLOW,
        run_id="someone-else",
        ttl_seconds=600,
    )
    assert holder["acquired"]
    run_id = trigger(b, "held")
    result = outcome(run_id)
    assert (
        result["status"] == "SKIPPED"
        and result["message"] == "Lock already exists for scene held at scenes/held/locks/usd-assembly.lock"
    )
    assert b.read_json("scenes/held/locks/usd-assembly.lock")["run_id"] == "someone-else" and job_steps(run_id) == []
    odd = runtime.dispatcher.start_manual(
        WORKFLOW, {"data": {"bucket": b.url, "name": "scenes/held/assets/scene_manifest.json"}}
    ).run_ids[0]
    assert outcome(odd) == {
        "status": "SKIPPED",
        "message": "Not a completion marker file: scenes/held/assets/scene_manifest.json",
        "markers": [],
    }


def test_job_timeout(make_runtime: Callable[..., Any], tmp_path: Path, fault_jobs: None) -> None:
    timeouts = (
        "workflows:\n  usd-assembly-pipeline:\n    jobs:\n      convert: {timeout_seconds: 2, job: usd-assembly-job}\n"
    )
    rt = make_runtime(BPFLOW_POLICY_DIR=_policy_dir(tmp_path, timeouts=timeouts))
    run_id = _start(rt, "hung", faults={"usd-assembly-job:convert": "sleep:120"})
    assert "USD conversion job FAILED for scene hung" in _error(run_id)
    body = _failed(rt.bucket, "hung", "usd/.failed")
    assert body["error"]["code"] == "usd_convert_timeout" and body["context"]["config_context"]["timed_out"] is True
    assert len(job_steps(run_id)) == 1  # a job that started is never relaunched
    _no_lock(rt.bucket, "hung")


def test_runner_outage_within_and_past_the_retry_budget(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    down = tmp_path / "runner-down"
    rt = make_runtime(
        BPFLOW_POLICY_DIR=_policy_dir(tmp_path, retry_policy=FAST_RETRY), BPFLOW_RUNNER_DOWN_FILE=str(down)
    )
    b = rt.bucket

    down.write_text("outage")
    run_id = trigger(b, "outage-short")

    def refused_once() -> bool:
        steps = DBOS.list_workflow_steps(run_id) if DBOS.get_workflow_status(run_id) else []
        return any(
            s["function_name"] == "job usd-assembly-job attempt 1" and "start_error" in (s["output"] or {})
            for s in steps
        )

    wait_until(refused_once, timeout=60)
    down.unlink()  # back before the retries run out
    assert outcome(run_id)["status"] == "SUCCESS"
    assert job_steps(run_id)[:2] == ["job usd-assembly-job attempt 1", "job usd-assembly-job attempt 2"]
    settle()

    down.write_text("outage")
    write_stage1_scene(b, "outage-long")
    b.write("scenes/outage-long/usd/stale_scene.usda", "#usda 1.0\n")
    b.write("scenes/outage-long/usd/locks/keep.lock", "{}")
    info = b.write_json("scenes/outage-long/assets/.regen3d_complete", regen3d_marker("outage-long"))
    long_id = object_run_id(WORKFLOW, "scenes/outage-long/assets/.regen3d_complete", info.generation)
    assert "runner unavailable" in _error(long_id)
    body = _failed(b, "outage-long", "usd/.failed")
    assert body["error"]["code"] == "usd_convert_start_failed" and body["error"]["message"] == "runner unavailable"
    assert not b.exists("scenes/outage-long/usd/stale_scene.usda")  # the stage's outputs rolled back
    assert b.exists("scenes/outage-long/usd/locks/keep.lock") and b.exists(
        "scenes/outage-long/assets/scene_manifest.json"
    )
    assert len(job_steps(long_id)) == 5  # 1 + 4 retries
    _no_lock(b, "outage-long")
    down.unlink()
