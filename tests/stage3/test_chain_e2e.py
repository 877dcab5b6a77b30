"""Stage 2 → Stage 3 on the real runtime: ``.regen3d_complete`` → usd-assembly →
``.replicator_complete`` → variation-assets → ``.variation_pipeline_complete``.

Each stage runs exactly once although the orchestrator (``start_stage``, the source
orchestrator's stage table) and the marker triggers both start it, and although both trigger
events are delivered twice.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS
from pxr import Usd

import bpflow.workflows.usd_assembly  # noqa: E402,F401 - the Stage-2 workflow this chain runs
from bpflow.core.engine.dispatcher import _Memo
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import LocalBucket
from bpflow.domain.variation.paths import Stage3Paths
from tests.conftest import wait_until
from tests.stage2.stage1_fixture import regen3d_marker, write_stage1_scene  # noqa: E402

MODULES = "tests.fixtures.chain,tests.stage3.orchestrate"
STAGE2, STAGE3 = "usd-assembly-pipeline", "variation-assets-pipeline"


def _redeliver(rt: Any, key: str) -> None:
    rt.dispatcher._memo = _Memo()  # past the in-process memo, down to the engine's dedupe
    rt.dispatcher.dispatch_object(
        ObjectEvent(bucket=rt.bucket.url, name=key, generation=rt.bucket.stat(key).generation, source="http")
    )


def _runs(name: str, scene: str) -> list[str]:
    return [w.workflow_id for w in DBOS.list_workflows(name=name) if f"scenes/{scene}/" in w.workflow_id]


def _job_steps(run_id: str, job: str) -> int:
    return sum(1 for s in DBOS.list_workflow_steps(run_id) if s["function_name"].startswith(f"job {job} attempt"))


def test_stage2_to_stage3_once_each(make_runtime: Any) -> None:
    rt = make_runtime(BPFLOW_WORKFLOW_MODULES=MODULES)
    scene, b = "chain1", rt.bucket
    p = Stage3Paths(scene)
    write_stage1_scene(LocalBucket(b.root), scene)
    trigger = f"scenes/{scene}/assets/.regen3d_complete"
    b.write_json(trigger, regen3d_marker(scene))  # the marker trigger starts Stage 2 ...
    orch = rt.dispatcher.start_manual("test-stage23-orchestrator", {"scene_id": scene}).run_ids[
        0
    ]  # ... and so does the orchestrator
    _redeliver(rt, trigger)

    wait_until(lambda: DBOS.get_workflow_status(orch).status in ("SUCCESS", "ERROR"), timeout=300)
    assert DBOS.get_workflow_status(orch).status == "SUCCESS", DBOS.get_workflow_status(orch).error
    result = DBOS.retrieve_workflow(orch).get_result()
    assert result["usd_assembly"]["status"] == "SUCCESS" and result["variation_assets"]["status"] == "SUCCESS", result

    replicator_key = f"scenes/{scene}/replicator/.replicator_complete"
    _redeliver(rt, replicator_key)
    rt.dispatcher.drain()
    stage2_runs, stage3_runs = _runs(STAGE2, scene), _runs(STAGE3, scene)
    assert stage2_runs == [f"{STAGE2}:{trigger}@{b.stat(trigger).generation}"] == [result["usd_assembly"]["run_id"]]
    assert (
        stage3_runs
        == [f"{STAGE3}:{replicator_key}@{b.stat(replicator_key).generation}"]
        == [result["variation_assets"]["run_id"]]
    )
    wait_until(lambda: DBOS.get_workflow_status(stage3_runs[0]).status == "SUCCESS", timeout=60)
    for job in ("variation-gen-job", "simready-job", "isaac-lab-refresh-job"):
        assert _job_steps(stage3_runs[0], job) == 1, job
    assert b.read_text(p.complete_marker).startswith("Completed at ")
    assert b.exists(p.isaac_baseline_marker) and b.exists(p.isaac_refresh_marker)
    doc = b.read_json(p.assets_json)
    assert doc["objects"], "the Stage-2 replicator selected nothing to vary"
    for obj in doc["objects"]:
        assert {"id", "category", "sim_role", "transform", "asset", "variants"} <= set(obj)
        stage = Usd.Stage.Open(str(b.path_for(obj["asset"]["path"])))
        assert set(stage.GetDefaultPrim().GetVariantSets().GetNames()) == {"scale", "color", "material"}
    # every variant got physics from Stage 2's simready job, and the refresh spawns it where
    # usd-assembly placed the object it replaces
    assert set(b.read_json(p.simready_marker)["simready_assets"]) == {o["id"] for o in doc["objects"]}
    plan = b.read_json(f"{p.isaac_lab}/task_spawn_plan_refresh.json")
    assert {s["asset_id"] for s in plan["variation_spawns"]} == {o["id"] for o in doc["objects"]}
    placed = {o["id"]: o for o in b.read_json(f"scenes/{scene}/usd/usd_assembly_manifest.json")["objects"]}
    for spawn in plan["variation_spawns"]:
        assert spawn["simready"] and spawn["variant_prim"] and spawn["pose"]["source"] == "usd_assembly"
        assert spawn["pose"]["position"] == placed[spawn["replaces"]]["center"]
    assert any(t["variation_asset_ids"] for t in plan["tasks"])  # the pick tasks of the varied objects

    # BPFLOW_LAST_STAGE=3 (tests/stage3/conftest.py): the orchestrator's stage table attaches to the
    # runs above and records Stages 4-5 as not requested, not failed; no marker started them either.
    down = rt.dispatcher.start_manual("test-downstream-orchestrator", {"scene_id": scene}).run_ids[0]
    wait_until(lambda: DBOS.get_workflow_status(down).status in ("SUCCESS", "ERROR"), timeout=120)
    assert DBOS.get_workflow_status(down).status == "SUCCESS", DBOS.get_workflow_status(down).error
    states = DBOS.retrieve_workflow(down).get_result()["states"]
    assert states == {
        "usd_assembly": "SUCCEEDED",
        "variation_assets": "SUCCEEDED",
        "geniesim_export": "NOT_REQUESTED",
        "arena_export": "NOT_REQUESTED",
    }
    assert _runs(STAGE2, scene) == stage2_runs and _runs(STAGE3, scene) == stage3_runs
    for later in (
        "episode-generation-pipeline",
        "genie-sim-export-pipeline",
        "arena-export-pipeline",
        "training-pipeline",
    ):
        assert _runs(later, scene) == [], later
