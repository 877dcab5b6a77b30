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
from bpflow.ops.lineage import lineage
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
        raise RerunRefused(
            f"scene {scene_id} has no trigger object for {workflow} (expected {wanted})",
            code="trigger_missing",
            field="scene",
        )
    return max(found, key=lambda i: (i.updated, i.key))


@dataclass
class SceneRerun:
    """What a rerun did for a scene: one result per scene it started (or attached) in, the seeds
    of a multi-seed request each on their own, and the seeds it could not rerun with why."""

    scene_id: str
    workflow: str
    results: list[RerunResult]
    not_rerun: list[dict[str, str]]
    seeds: bool

    def to_dict(self) -> dict[str, Any]:
        if not self.seeds and len(self.results) == 1:
            return self.results[0].to_dict()
        return {
            "scene_id": self.scene_id,
            "workflow": self.workflow,
            "seeds": [r.to_dict() for r in self.results],
            "not_rerun": self.not_rerun,
        }

    def lines(self, force: bool) -> list[str]:
        """What happened, and what to do when nothing new started."""
        out = []
        if self.seeds:
            out.append(f"{self.scene_id} is a multi-seed request: {self.workflow} runs in its seeds")
        for r in self.results:
            if r.attached:
                out.append(
                    f"{r.scene_id}: {r.workflow} already has a run for this input version ({r.run_id}, {r.previous_state}); nothing new started. "
                    f"To run it again: bpflow rerun {r.workflow} --scene {r.scene_id} --force"
                )
            else:
                out.append(f"{r.scene_id}: started {r.run_id}")
        for n in self.not_rerun:
            out.append(f"{n['scene_id']}: not rerun: {n['reason']}")
        return out


def rerun_scene(rt: Runtime, name: str, scene_id: str, *, force: bool = False) -> SceneRerun:
    """``rerun_stage`` for a scene, or for each seed of a multi-seed request when the stage runs
    in the seeds (every stage but the request's own first one)."""
    validate_scene_id(scene_id)
    workflow = resolve_workflow(rt, name)
    dag = load_dag(rt.env)
    lin = lineage(rt.bucket, scene_id)
    if not lin.is_parent or (dag.stages and dag.stages[0].workflow == workflow):
        return SceneRerun(scene_id, workflow, [rerun_stage(rt, name, scene_id, force=force)], [], seeds=False)
    results: list[RerunResult] = []
    missing: list[dict[str, str]] = []
    for child in lin.children:
        try:
            results.append(rerun_stage(rt, name, child, force=force))
        except RerunRefused as exc:
            if exc.code != "trigger_missing":
                raise
            missing.append({"scene_id": child, "reason": exc.message})
    if not results:
        raise RerunRefused(
            f"{scene_id} is a {len(lin.children)}-seed request and {workflow} runs in its seeds ({', '.join(lin.children)}), "
            f"none of which has its trigger object yet: rerun the request's first stage, or wait for the seeds",
            code="trigger_missing",
            field="scene",
        )
    return SceneRerun(scene_id, workflow, results, missing, seeds=True)


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
    payload = ObjectEvent(
        bucket=info.bucket or rt.bucket.url, name=info.key, generation=info.generation, source="rerun"
    ).payload()
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


RETRY_MARK = ":rerun:"


def retry_run(rt: Runtime, run_id: str) -> RerunResult:
    """Run a finished run's workflow again with the same input (the dashboard's retry button,
    ``POST /api/runs/<id>/retry``). The new id is the old one with a fresh ``:rerun:`` suffix, so
    it still names its scene and trigger; the workflow itself decides whether its input is
    still current (a superseded object version ends "superseded", as any run would)."""
    reader = RunReader(rt)
    info = reader.get(run_id)
    if info.active:
        raise RerunRefused(
            f"run {run_id} is still {info.state}: cancel it first, or wait for it to end",
            code="run_active",
            field="run_id",
        )
    if find_workflow(info.workflow) is None:
        raise WorkflowNotFound(
            f"{info.workflow} is not implemented in this build", code="not_implemented", field="workflow"
        )
    if not info.payload:
        raise RerunRefused(f"run {run_id} kept no input to start again with", code="rerun_unsupported", field="run_id")
    new_id = f"{run_id.split(RETRY_MARK, 1)[0]}{RETRY_MARK}{uuid.uuid4().hex[:8]}"
    rt.dispatcher.start_run(info.workflow, new_id, dict(info.payload))
    gen = info.generation
    return RerunResult(
        workflow=info.workflow,
        scene_id=info.scene_id or "",
        run_id=new_id,
        trigger=info.trigger or "",
        generation=int(gen) if gen is not None and gen.isdigit() else 0,
        attached=False,
        previous_state=info.state,
    )
