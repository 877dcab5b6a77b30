"""Shared by the Stage-2 tests: seeding a scene, triggering it, reading a run's end."""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bpflow.core.ids import object_run_id
from bpflow.core.storage import Bucket
from tests.conftest import wait_until
from tests.stage2.stage1_fixture import KITCHEN, ObjectSpec, regen3d_marker, write_stage1_scene

WORKFLOW = "usd-assembly-pipeline"
STAGE_MARKERS = (
    "usd/.usd_complete",
    "assets/.usd_assembly_complete",
    "replicator/.replicator_complete",
    "isaac_lab/.isaac_lab_complete",
)
RUN_TIMEOUT = 240.0


def trigger(bucket: Bucket, scene: str, objects: tuple[ObjectSpec, ...] = KITCHEN) -> str:
    """Write the Stage-1 set and then its completion marker; returns the run id it starts."""
    write_stage1_scene(bucket, scene, objects)
    key = f"scenes/{scene}/assets/.regen3d_complete"
    info = bucket.write_json(key, regen3d_marker(scene, objects))
    return object_run_id(WORKFLOW, key, info.generation)


def finished(run_id: str, timeout: float = RUN_TIMEOUT) -> Any:
    """The run's final DBOS status (SUCCESS or ERROR), waiting for it to end."""

    def done() -> Any:
        st = DBOS.get_workflow_status(run_id)
        return st if st is not None and st.status in ("SUCCESS", "ERROR", "CANCELLED") else None

    return wait_until(done, timeout=timeout, interval=0.1)


def outcome(run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    st = finished(run_id, timeout)
    assert st.status == "SUCCESS", f"{run_id} ended {st.status}: {st.error}"
    result = DBOS.retrieve_workflow(run_id).get_result()
    assert isinstance(result, dict)
    return result


def runs_of(scene: str) -> list[str]:
    return sorted(w.workflow_id for w in DBOS.list_workflows(name=WORKFLOW) if f"scenes/{scene}/" in w.workflow_id)


def job_steps(run_id: str) -> list[str]:
    return [s["function_name"] for s in DBOS.list_workflow_steps(run_id) if s["function_name"].startswith("job ")]


def settle(timeout: float = RUN_TIMEOUT) -> None:
    """Wait until no run is in flight (downstream stages started by our markers included), so a
    runtime is never shut down under a running workflow."""

    def idle() -> bool:
        return not DBOS.list_workflows(status=["PENDING", "ENQUEUED"])

    wait_until(idle, timeout=timeout, interval=0.2)


class WriteCounter:
    """Counts bucket writes per key (a listener on the runtime's bucket)."""

    def __init__(self, bucket: Bucket) -> None:
        self.counts: dict[str, int] = {}
        bucket.add_listener(self)

    def __call__(self, info: Any) -> None:
        self.counts[info.key] = self.counts.get(info.key, 0) + 1
