"""A run acts on exactly its own object version: stale and future generations rewrite nothing,
and an event that arrives before its object does not use up the run id."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from dbos import DBOS

from bpflow.core.events.model import ObjectEvent
from bpflow.core.ids import object_run_id
from tests.conftest import wait_until
from tests.source.conftest import OFFLINE_STAGE1, REQUEST, finished, result_of, runs_of

WORKFLOW = "source-orchestrator"
FAILED = "scenes/{}/.source_orchestrator_failed"


def _bad_request(scene: str) -> dict[str, Any]:
    """A request the orchestrator rejects at once: a whole run in well under a second."""
    return {"schema_version": "v1", "scene_id": scene, "source_mode": "text", "quality_tier": "no-such-tier"}


def _event(rt: Any, key: str, generation: int) -> ObjectEvent:
    return ObjectEvent(bucket=rt.bucket.url, name=key, generation=generation, source="http")


def test_stale_and_future_generations_rewrite_nothing(make_runtime: Any) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    scene = "ver1"
    key = REQUEST.format(scene)
    info = rt.bucket.write_json(key, _bad_request(scene))
    wait_until(finished(WORKFLOW, scene))
    marker = rt.bucket.stat(FAILED.format(scene))
    assert marker is not None

    stale = rt.dispatcher.dispatch_object(_event(rt, key, info.generation - 1))
    wait_until(finished(WORKFLOW, scene, count=2))
    result = result_of(stale.run_ids[0])
    assert result["status"] == "SKIPPED" and "superseded" in result["message"], result

    future_gen = info.generation + 10**9
    future = rt.dispatcher.dispatch_object(_event(rt, key, future_gen))
    assert future.run_ids == [] and future.deferred == [f"{key}@{future_gen}"]
    time.sleep(1.0)  # a few re-checks go by: the version never appears
    assert DBOS.get_workflow_status(object_run_id(WORKFLOW, key, future_gen)) is None  # the run id is still free

    after = rt.bucket.stat(FAILED.format(scene))
    assert after is not None and after.generation == marker.generation  # nothing rewritten
    assert len(runs_of(WORKFLOW, scene)) == 2


def test_event_before_its_object_then_the_object_runs_once(make_runtime: Any, tmp_path: Path) -> None:
    rt = make_runtime(**OFFLINE_STAGE1)
    scene = "ver2"
    key = REQUEST.format(scene)
    # The object's generation is known before it lands: a file that appears with a given mtime
    # (a first sight keeps its mtime), moved in the way an upload tool finishes a file.
    staged = tmp_path / "staged.json"
    staged.write_text(
        '{"schema_version": "v1", "scene_id": "ver2", "source_mode": "text", "quality_tier": "no-such-tier"}'
    )
    generation = time.time_ns() - 10**9
    os.utime(staged, ns=(generation, generation))

    early = rt.dispatcher.dispatch_object(_event(rt, key, generation))
    assert early.run_ids == []  # held back, not started and not consumed
    time.sleep(0.3)
    target = rt.bucket.path_for(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, target)
    assert rt.bucket.stat(key).generation == generation

    wait_until(lambda: rt.bucket.exists(FAILED.format(scene)), timeout=60)
    rows = wait_until(finished(WORKFLOW, scene))
    assert [r.workflow_id for r in rows] == [object_run_id(WORKFLOW, key, generation)]
    assert result_of(rows[0].workflow_id)["status"] != "SKIPPED"
