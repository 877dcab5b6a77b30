"""Starting a stage again for a scene: ``bpflow rerun`` and the dashboard's rerun button.

A rerun is for the *current* input version (DESIGN principle 2): the run id is the one the
trigger object's current generation gives, so if that run exists the rerun attaches to it instead
of running the stage twice. ``force`` is the operator saying "run it again anyway": it appends a
fresh suffix to that id, keeping the ``<workflow>:scenes/<id>/...`` prefix that ties a run to its
scene.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bpflow.core.engine.registry import find_workflow
from bpflow.core.errors import BpflowError, WorkflowNotFound
from bpflow.core.events.model import ObjectEvent
from bpflow.core.ids import object_run_id
from bpflow.core.storage import ObjectInfo
from bpflow.core.storage.base import literal_prefix
from bpflow.core.triggers import compile_pattern, validate_scene_id
from bpflow.ops.dag import load_dag
from bpflow.ops.runs import RunReader

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

_SCENE_PATTERN = "scenes/*/"


class RerunRefused(BpflowError):
    code = "rerun_refused"


@dataclass
class RerunResult:
    workflow: str
    scene_id: str
    run_id: str
    trigger: str
    generation: int
    attached: bool
    previous_state: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_workflow(rt: Runtime, name: str) -> str:
    """A workflow name, or a stage name of the DAG (``usd-assembly`` → ``usd-assembly-pipeline``)."""
    stage = load_dag(rt.env).get(name)
    workflow = stage.workflow if stage is not None and name not in rt.triggers else name
    rt.triggers.get(workflow)  # unknown → WorkflowNotFound naming the field
    return workflow


def current_trigger(rt: Runtime, workflow: str, scene_id: str) -> ObjectInfo:
    """The newest existing object of ``scene_id`` that matches one of the workflow's patterns."""
    row = rt.triggers.get(workflow)
    if row.kind != "object":
        raise RerunRefused(
            f"{workflow} is started by {row.kind} triggers, not by a scene object: start it with `bpflow emit`",
            code="rerun_unsupported",
            field="workflow",
        )
    found: list[ObjectInfo] = []
    for pattern in row.patterns:
        if not pattern.startswith(_SCENE_PATTERN):
            continue
        regex = compile_pattern(pattern)
        rest = pattern[len(_SCENE_PATTERN) :]
        prefix = f"scenes/{scene_id}/{literal_prefix(rest)}"
        for info in rt.bucket.list(prefix):
            m = regex.fullmatch(info.key)
            if m is not None and m.group("scene_id") == scene_id:
                found.append(info)
    if not found:
        wanted = ", ".join(p.replace("*", scene_id, 1) for p in row.patterns)
        raise RerunRefused(f"scene {scene_id} has no trigger object for {workflow} (expected {wanted})", code="trigger_missing", field="scene")
    return max(found, key=lambda i: (i.updated, i.key))


def rerun_stage(rt: Runtime, name: str, scene_id: str, *, force: bool = False) -> RerunResult:
    validate_scene_id(scene_id)
    workflow = resolve_workflow(rt, name)
    if find_workflow(workflow) is None:
        raise WorkflowNotFound(f"{workflow} is not implemented in this build", code="not_implemented", field="workflow")
    info = current_trigger(rt, workflow, scene_id)
    run_id = object_run_id(workflow, info.key, info.generation)
    if force:
        run_id = f"{run_id}:rerun:{uuid.uuid4().hex[:8]}"
    previous = RunReader(rt).find(run_id)
    payload = ObjectEvent(bucket=info.bucket or rt.bucket.url, name=info.key, generation=info.generation, source="rerun").payload()
    rt.dispatcher.start_run(workflow, run_id, payload)
    return RerunResult(
        workflow=workflow,
        scene_id=scene_id,
        run_id=run_id,
        trigger=info.key,
        generation=info.generation,
        attached=previous is not None,
        previous_state=None if previous is None else previous.state,
    )
