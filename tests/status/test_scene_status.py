"""The stage-state rules, on a real bucket with runs as the engine reports them.

Runs are given as the engine's records (RunInfo), so every combination (an active run beside an
old marker, an errored orchestrator half way through Stage 1, ...) is set up exactly, without
waiting for a workflow to reach it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.core.triggers import TriggerMap
from bpflow.ops.dag import TEXT_DAG, Stage
from bpflow.ops.runs import RunInfo, run_state
from bpflow.ops.scene_status import SceneNotFound, scene_status, scene_summaries, scene_summaries_page

ALL = lambda stage: True  # noqa: E731 - every stage implemented
ORCH = "source-orchestrator"


@pytest.fixture
def rt(tmp_path: Path) -> Any:
    env = {"BPFLOW_TRIGGER_FILES": ""}
    return SimpleNamespace(bucket=LocalBucket(tmp_path / "bucket"), env=env, triggers=TriggerMap.default(env=env))


def mark(rt: Any, rel: str, body: Any = None, *, at: float | None = None) -> None:
    rt.bucket.write_json(f"scenes/s1/{rel}", body if body is not None else {"status": "completed"})
    if at is not None:
        path = Path(rt.bucket.root) / "scenes" / "s1" / rel
        os.utime(path, ns=(int(at * 1e9), int(at * 1e9)))


def run(
    workflow: str, status: str, *, created: float, outcome: str | None = None, error_code: str | None = None, n: int = 1
) -> RunInfo:
    out = {} if outcome is None else {"status": outcome, "message": f"{workflow} said {outcome}"}
    return RunInfo(
        run_id=f"{workflow}:scenes/s1/trigger@{n}",
        workflow=workflow,
        status=status,
        state=run_state(status, out),
        created_at=created,
        updated_at=created + 1,
        started_at=created,
        ended_at=None if status in ("PENDING", "ENQUEUED") else created + 1,
        scene_id="s1",
        trigger="scenes/s1/trigger",
        generation=str(n),
        outcome=out,
        error="boom" if status == "ERROR" else None,
        error_code=error_code,
    )


def states(rt: Any, runs: list[RunInfo], implemented: Any = ALL) -> tuple[str, dict[str, str]]:
    st = scene_status(rt, "s1", dag=TEXT_DAG, runs=runs, implemented=implemented, must_exist=False)
    return st.state, {s.name: s.state for s in st.stages}


def test_nothing_yet_is_pending_and_a_missing_first_stage_stalls(rt: Any) -> None:
    state, by = states(rt, [])
    assert state == "pending" and set(by.values()) == {"pending"}
    state, by = states(rt, [], implemented=lambda s: s.workflow != ORCH)
    assert state == "stalled"
    assert by[ORCH] == "not_implemented" and by["usd-assembly"] == "pending"
    with pytest.raises(SceneNotFound):
        scene_status(rt, "s1", dag=TEXT_DAG, runs=[], implemented=ALL)


def test_stage1_jobs_follow_the_orchestrator_run(rt: Any) -> None:
    t0 = time.time() - 100
    active = [run(ORCH, "PENDING", created=t0)]
    state, by = states(rt, active)
    assert state == "running"
    assert (by[ORCH], by["text-scene-gen"], by["text-scene-adapter"], by["usd-assembly"]) == (
        "running",
        "running",
        "pending",
        "pending",
    )
    mark(rt, "textgen/.textgen_complete", at=t0 + 10)
    _, by = states(rt, active)
    assert (by["text-scene-gen"], by["text-scene-adapter"]) == ("succeeded", "running")
    # The orchestrator errors during the adapter: the adapter failed, with the run's code.
    ended = [run(ORCH, "ERROR", created=t0, error_code="stage_failed")]
    st = scene_status(rt, "s1", dag=TEXT_DAG, runs=ended, implemented=ALL, must_exist=False)
    adapter = st.stages[2]
    assert st.state == "failed" and adapter.state == "failed" and adapter.error_code == "stage_failed"
    assert st.stages[3].state == "pending"
    # An old textgen marker does not count for a newer orchestrator run.
    _, by = states(rt, [run(ORCH, "PENDING", created=t0 + 50, n=2)])
    assert by["text-scene-gen"] == "running"


def test_newer_marker_wins_between_failure_and_completion(rt: Any) -> None:
    t0 = time.time() - 100
    mark(rt, "usd/.failed", {"error": {"code": "usd_assembly_failed", "message": "exit 1"}}, at=t0)
    st = scene_status(rt, "s1", dag=TEXT_DAG, runs=[], implemented=ALL, must_exist=False)
    usd = st.stages[3]
    assert (usd.state, usd.error_code, usd.error_message) == ("failed", "usd_assembly_failed", "exit 1")
    assert usd.marker is not None and usd.marker.key == "scenes/s1/usd/.failed"
    mark(rt, "usd/.usd_complete", at=t0 + 5)  # a later rerun succeeded
    _, by = states(rt, [])
    assert by["usd-assembly"] == "succeeded"
    mark(rt, "replicator/.failed", {"error": {"code": "replicator_failed"}}, at=t0 + 9)  # then failed again
    st = scene_status(rt, "s1", dag=TEXT_DAG, runs=[], implemented=ALL, must_exist=False)
    assert st.stages[3].state == "failed" and st.stages[3].error_code == "replicator_failed"


def test_runs_decide_over_markers_of_an_earlier_input(rt: Any) -> None:
    t0 = time.time() - 100
    mark(rt, "usd/.usd_complete", at=t0)
    wf = "usd-assembly-pipeline"
    _, by = states(rt, [run(wf, "ENQUEUED", created=t0 + 20)])
    assert by["usd-assembly"] == "running"
    st = scene_status(
        rt, "s1", dag=TEXT_DAG, runs=[run(wf, "ENQUEUED", created=t0 + 20)], implemented=ALL, must_exist=False
    )
    assert st.stages[3].detail == "queued"
    _, by = states(rt, [run(wf, "SUCCESS", created=t0 + 20, outcome="FAILED")])
    assert by["usd-assembly"] == "failed"
    # Skipped because the work was already there: the stage is done.
    st = scene_status(
        rt,
        "s1",
        dag=TEXT_DAG,
        runs=[run(wf, "SUCCESS", created=t0 + 20, outcome="SKIPPED")],
        implemented=ALL,
        must_exist=False,
    )
    assert st.stages[3].state == "succeeded" and st.stages[3].detail
    # Skipped with nothing done is skipped, and nothing after it can start.
    rt.bucket.delete("scenes/s1/usd/.usd_complete")
    state, by = states(rt, [run(wf, "SUCCESS", created=t0 + 20, outcome="SKIPPED")])
    assert by["usd-assembly"] == "skipped"
    assert by["variation-assets"] == "pending"
    _, by = states(rt, [run(wf, "CANCELLED", created=t0 + 20)])
    assert by["usd-assembly"] == "failed"


def test_a_scene_is_complete_when_nothing_implemented_is_left_to_start(rt: Any) -> None:
    for rel in (
        "textgen/.textgen_complete",
        "assets/.regen3d_complete",
        "usd/.usd_complete",
        "replicator/.replicator_complete",
        ".source_orchestrator_complete",
    ):
        mark(rt, rel)
    built = {ORCH, "usd-assembly-pipeline", "variation-assets-pipeline"}
    state, by = states(rt, [], implemented=lambda s: s.workflow in built)
    assert by["variation-assets"] == "pending" and state == "running"  # its trigger exists: it will start
    mark(rt, "variation_assets/.variation_pipeline_complete")
    state, by = states(rt, [], implemented=lambda s: s.workflow in built)
    assert state == "succeeded"
    assert by["genie-sim-export"] == by["episode-generation"] == "not_implemented"
    # Markers written elsewhere (another deployment) show even for stages this build lacks.
    mark(rt, "episodes/.episodes_complete")
    _, by = states(rt, [], implemented=lambda s: s.workflow in built)
    assert by["episode-generation"] == "succeeded"


def test_summaries_list_every_scene_a_page_at_a_time_in_id_order(rt: Any) -> None:
    mark(rt, "prompts/scene_request.json", {"prompt": "a small kitchen"})
    rt.bucket.write_json("scenes/s2/assets/.regen3d_complete", {})
    rt.bucket.write_json("scenes/.hidden/x.json", {})  # not a valid scene id: never listed
    lines = scene_summaries(rt, with_runs=False, dag=TEXT_DAG)
    assert [line["scene_id"] for line in lines] == ["s1", "s2"]
    assert lines[0]["prompt"] == "a small kitchen" and lines[1]["prompt"] is None
    assert lines[1]["stages"]["text-scene-adapter"] == "succeeded"
    assert lines[1]["updated"] == pytest.approx(
        rt.bucket.stat("scenes/s2/assets/.regen3d_complete").updated.timestamp(), abs=1e-5
    )
    # Pages: the cursor is the last id shown; a failure marker's code comes through the page too.
    rt.bucket.write_json("scenes/s1-b/.source_orchestrator_failed", {"error": {"code": "no_assets", "message": "x"}})
    rt.bucket.write_json("scenes/s3/episodes/big/unrelated.bin", {})  # a scene with no marker yet
    first, cursor = scene_summaries_page(rt, with_runs=False, dag=TEXT_DAG, limit=2)
    assert [line["scene_id"] for line in first] == ["s1-b", "s1"] and cursor == "s1"
    second, cursor = scene_summaries_page(rt, with_runs=False, dag=TEXT_DAG, limit=2, after=cursor)
    assert [line["scene_id"] for line in second] == ["s2", "s3"] and cursor is None
    assert first[0]["failed"] and first[0]["failed"][0]["error_code"] == "no_assets"
    assert second[1]["updated"] is None and second[1]["prompt"] is None
    # The page's view matches each scene's own table.
    for line in first + second:
        assert (
            line["stages"]
            == scene_status(rt, line["scene_id"], dag=TEXT_DAG, runs=[], details=False, must_exist=False).summary()[
                "stages"
            ]
        )


def test_stage_order_and_layers_of_the_text_dag() -> None:
    layers = TEXT_DAG.layers()
    for stage in TEXT_DAG.stages:
        assert all(layers[u] < layers[stage.name] for u in stage.upstream)
    assert [s.name for s in TEXT_DAG.stages][:4] == [
        "source-orchestrator",
        "text-scene-gen",
        "text-scene-adapter",
        "usd-assembly",
    ]
    by = {s.name: s for s in TEXT_DAG.stages}
    assert by["usd-assembly"].complete == (
        "usd/.usd_complete",
        "replicator/.replicator_complete",
        "isaac_lab/.isaac_lab_complete",
    )
    assert by["arena-export"].complete == ("arena/.arena_export_complete",)
    assert by["text-scene-adapter"].complete[0] == "assets/.regen3d_complete"
    assert isinstance(by["episode-generation"], Stage) and by["episode-generation"].upstream == ("usd-assembly",)


def test_a_stage_nothing_started_does_not_keep_the_scene_running(rt: Any) -> None:
    """Issue 15: every implemented stage that ran succeeded, the next one was never started
    (here: no run, its trigger written long ago). The scene ends instead of "running" forever."""
    old = time.time() - 3600
    for rel in (
        "textgen/.textgen_complete",
        "assets/.regen3d_complete",
        "usd/.usd_complete",
        "replicator/.replicator_complete",
        ".source_orchestrator_complete",
    ):
        mark(rt, rel, at=old)
    built = {ORCH, "usd-assembly-pipeline", "variation-assets-pipeline"}
    st = scene_status(rt, "s1", dag=TEXT_DAG, runs=[], implemented=lambda s: s.workflow in built, must_exist=False)
    by = {s.name: s for s in st.stages}
    assert st.state == "succeeded"
    assert by["variation-assets"].state == "pending" and by["variation-assets"].detail == "not started"
    # Within the grace period after its upstream finished, it is about to start.
    mark(rt, "usd/.usd_complete")
    assert states(rt, [], implemented=lambda s: s.workflow in built)[0] == "running"


def _seed_run(workflow: str, scene: str, status: str, created: float) -> RunInfo:
    out = {"status": "SUCCESS"} if status == "SUCCESS" else {}
    return RunInfo(
        run_id=f"{workflow}:scenes/{scene}/prompts/scene_request.json@1",
        workflow=workflow,
        status=status,
        state=run_state(status, out),
        created_at=created,
        updated_at=created + 1,
        started_at=created,
        ended_at=None if status == "PENDING" else created + 1,
        scene_id=scene,
        trigger=f"scenes/{scene}/prompts/scene_request.json",
        generation="1",
        outcome=out,
    )


def test_a_multi_seed_parent_and_its_seeds_point_at_each_other(rt: Any) -> None:
    t0 = time.time() - 60
    rt.bucket.write_json(
        "scenes/p1/prompts/scene_request.json",
        {"schema_version": "v1", "scene_id": "p1", "prompt": "a den", "seed_count": 2},
    )
    active = [_seed_run(ORCH, "p1", "PENDING", t0)]
    grouped = {"p1": active}
    # Seed 1 is through Stage 1 and USD; seed 2 has not started (its request is not written yet).
    rt.bucket.write_json("scenes/p1-s001/internal/scene_request.generated.json", {"scene_id": "p1-s001"})
    for rel in ("textgen/.textgen_complete", "assets/.regen3d_complete"):
        rt.bucket.write_json(f"scenes/p1-s001/{rel}", {"status": "completed"})
    seed1 = scene_status(rt, "p1-s001", dag=TEXT_DAG, runs=[], seed_runs=grouped, implemented=ALL, must_exist=False)
    assert seed1.parent == "p1" and seed1.lineage is not None and seed1.lineage.seed == 1
    assert [s.state for s in seed1.stages[:4]] == ["succeeded", "succeeded", "succeeded", "pending"]
    assert seed1.state == "running"  # USD's trigger was just written: it is about to start
    assert seed1.stages[0].detail == "seed of p1"
    seed2 = scene_status(rt, "p1-s002", dag=TEXT_DAG, runs=[], seed_runs=grouped, implemented=ALL, must_exist=False)
    assert (
        seed2.stages[0].state == "pending"
        and seed2.stages[0].detail == "waiting for p1"
        and seed2.stages[1].state == "pending"
    )
    parent = scene_status(rt, "p1", dag=TEXT_DAG, runs=active, seed_runs=grouped, implemented=ALL, must_exist=False)
    assert parent.state == "running" and [c["scene_id"] for c in parent.children] == ["p1-s001", "p1-s002"]
    by = {s.name: s for s in parent.stages}
    assert by["text-scene-gen"].state == "pending" and by["text-scene-gen"].detail == "1/2 seeds done"
    # Everything done in both seeds, the parent's run ended: the parent is done too.
    for scene in ("p1-s001", "p1-s002"):
        rt.bucket.write_json(f"scenes/{scene}/internal/scene_request.generated.json", {"scene_id": scene})
        for rel in (
            "textgen/.textgen_complete",
            "assets/.regen3d_complete",
            "usd/.usd_complete",
            "replicator/.replicator_complete",
            "variation_assets/.variation_pipeline_complete",
            "episodes/.episodes_complete",
            "geniesim/.geniesim_submitted",
            "geniesim/.geniesim_complete",
            "arena/.arena_export_complete",
        ):
            rt.bucket.write_json(f"scenes/{scene}/{rel}", {"status": "completed"})
    ended = {"p1": [_seed_run(ORCH, "p1", "SUCCESS", t0)]}
    parent = scene_status(rt, "p1", dag=TEXT_DAG, runs=ended["p1"], seed_runs=ended, implemented=ALL, must_exist=False)
    assert parent.state == "succeeded" and {c["state"] for c in parent.children} == {"succeeded"}
    assert all(s.state == "succeeded" for s in parent.stages)
    # A seed failing fails the request.
    rt.bucket.write_json("scenes/p1-s002/usd/.failed", {"error": {"code": "usd_assembly_failed"}})
    rt.bucket.delete("scenes/p1-s002/usd/.usd_complete")
    parent = scene_status(rt, "p1", dag=TEXT_DAG, runs=ended["p1"], seed_runs=ended, implemented=ALL, must_exist=False)
    assert (
        parent.state == "failed"
        and {s.name: s.error_code for s in parent.stages}["usd-assembly"] == "usd_assembly_failed"
    )
