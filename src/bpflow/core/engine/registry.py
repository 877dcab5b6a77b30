"""Workflow registration: a bpflow workflow is a function ``(Run) -> Outcome`` made durable.

The decorator keeps workflow modules free of plumbing: it turns the function into a named DBOS
workflow taking the trigger payload, builds the :class:`Run` the function works with, and
records the outcome in metrics.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dbos import DBOS, SetWorkflowID, SetWorkflowTimeout

from bpflow.core import observe
from bpflow.core.engine.context import RunContext
from bpflow.core.engine.context import installed as installed_context
from bpflow.core.engine.durable import CheckFailed, check_now, checked_before_first_step, in_workflow, step
from bpflow.core.engine.queues import STAGE_WORK, QueueTier
from bpflow.core.engine.version import version_gone as check_version
from bpflow.core.errors import InvalidSceneId, WorkflowNotFound
from bpflow.core.storage import Bucket

if TYPE_CHECKING:
    from bpflow.core.config import Settings

log = logging.getLogger("bpflow.engine")

SUCCESS, SKIPPED, FAILED = "SUCCESS", "SKIPPED", "FAILED"


@dataclass
class Outcome:
    status: str
    message: str = ""
    markers: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def success(cls, message: str = "", markers: Iterable[str] = (), **details: Any) -> Outcome:
        return cls(SUCCESS, message, list(markers), details)

    @classmethod
    def skipped(cls, message: str, **details: Any) -> Outcome:
        return cls(SKIPPED, message, [], details)

    @classmethod
    def failed(cls, message: str, markers: Iterable[str] = (), **details: Any) -> Outcome:
        return cls(FAILED, message, list(markers), details)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "markers": self.markers, **self.details}


@dataclass
class Run:
    """What a workflow knows about the run it is in. Deterministic: built from the payload only;
    the process's bucket, settings and env come from the :class:`RunContext` the runtime
    injected (``ctx``; by default the one installed at launch)."""

    run_id: str
    workflow: str
    payload: dict[str, Any]
    ctx: RunContext | None = field(default=None, repr=False, compare=False)

    @property
    def context(self) -> RunContext:
        return self.ctx if self.ctx is not None else installed_context()

    @property
    def settings(self) -> Settings:
        return self.context.settings

    def start_run(self, workflow: str, run_id: str, payload: dict[str, Any]) -> Any:
        """Start (or attach to) another durable run, as the dispatcher does."""
        return self.context.start_run(workflow, run_id, payload)

    @property
    def data(self) -> dict[str, Any]:
        data = self.payload.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def object_name(self) -> str | None:
        name = self.data.get("name")
        return name if isinstance(name, str) else None

    @property
    def generation(self) -> str:
        return str(self.data.get("generation") or "0")

    @property
    def object_generation(self) -> int | None:
        """The exact object version this run acts on, when its payload names one."""
        raw = self.data.get("generation")
        try:
            generation = int(str(raw)) if raw not in (None, "") and self.object_name else None
        except ValueError:
            return None
        return generation or None  # 0: a manual payload that names no version

    @cached_property
    def scene_id(self) -> str | None:
        from bpflow.core.triggers import validate_scene_id

        explicit = self.payload.get("scene_id") or self.data.get("scene_id")
        if explicit is None and self.object_name and self.object_name.startswith("scenes/"):
            explicit = self.object_name.split("/")[1]
        if explicit is None:
            return None
        try:
            return validate_scene_id(str(explicit))
        except InvalidSceneId:
            return None

    @property
    def bucket(self) -> Bucket:
        return self.context.bucket

    @property
    def bucket_name(self) -> str:
        return str(self.data.get("bucket") or self.bucket.url)

    def scene(self, rel: str) -> str:
        if self.scene_id is None:
            raise InvalidSceneId("this run has no valid scene id", field="scene_id")
        return f"scenes/{self.scene_id}/{rel}"

    def param(self, name: str, env_name: str | None = None, default: Any = None) -> Any:
        """Reference precedence: payload field if not null, else env var if set, else default.

        Read in a workflow body, it is its own recorded step: the env is the worker's, so a replay
        on another worker must see the first execution's value. The project's workflows read their
        flags together in one step (``blocks.params.recorded_params``); a plug-in workflow that
        calls this in its body stays correct, one step per read.
        """
        if in_workflow():
            return step(f"read parameter {name}", self._read_param, name, env_name, default)
        return self._read_param(name, env_name, default)

    def _read_param(self, name: str, env_name: str | None, default: Any) -> Any:
        value = self.payload.get(name)
        if value is not None:
            return value
        if env_name:
            env_value = self.context.env.get(env_name)
            if env_value is not None:
                return env_value
        return default


@dataclass
class WorkflowDef:
    name: str
    dbos_fn: Callable[[dict[str, Any]], dict[str, Any]]
    body: Callable[[Run], Outcome]
    timeout_seconds: float | None
    queue: QueueTier = STAGE_WORK
    """The tier it runs in (``engine.queues``): above every tier of the runs it waits on."""

    @property
    def queue_name(self) -> str:
        """The DBOS queue its runs go to: its tier, split by its job class where workers are."""
        from bpflow.core.engine.queues import queue_name
        from bpflow.core.job_classes import workflow_class

        return queue_name(self.queue, workflow_class(self.name))

    def enqueue(self, run_id: str, payload: dict[str, Any]) -> None:
        """Durably queue a run of this workflow under ``run_id`` (a repeat attaches to the run
        already there) and tell the queue's pollers: the one way a process starts a run."""
        from bpflow.core.engine.queue_polling import wake

        check_now()  # inside a run: its own version check comes before it starts another
        queue = self.queue_name
        with SetWorkflowID(run_id), SetWorkflowTimeout(self.timeout_seconds):
            DBOS.enqueue_workflow(queue, self.dbos_fn, payload)
        wake(queue)


_WORKFLOWS: dict[str, WorkflowDef] = {}


def version_gone(run: Run) -> str | None:
    return check_version(run)


def workflow(
    name: str, *, timeout_seconds: float | None = None, queue: QueueTier = STAGE_WORK, job_class: str | None = None
) -> Callable[[Callable[[Run], Outcome]], Callable[[Run], Outcome]]:
    """``job_class`` overrides the class derived from the jobs the timeouts table lists for it."""
    if job_class is not None:
        from bpflow.core.job_classes import declare_workflow_class

        declare_workflow_class(name, job_class)

    def decorate(body: Callable[[Run], Outcome]) -> Callable[[Run], Outcome]:
        def run_workflow(payload: dict[str, Any]) -> dict[str, Any]:
            run = Run(run_id=DBOS.workflow_id or "", workflow=name, payload=payload, ctx=installed_context())
            try:
                with checked_before_first_step(lambda: version_gone(run)):
                    outcome = body(run)
            except CheckFailed as gone:
                outcome = Outcome.skipped(gone.reason, version_mismatch=True)
            except Exception:
                observe.RUNS.labels(name, "ERROR").inc()
                raise
            observe.RUNS.labels(name, outcome.status).inc()
            return outcome.to_dict()

        run_workflow.__name__ = run_workflow.__qualname__ = "wf_" + name.replace("-", "_")
        run_workflow.__module__ = body.__module__
        dbos_fn = DBOS.workflow(name=name)(run_workflow)
        _WORKFLOWS[name] = WorkflowDef(name, dbos_fn, body, timeout_seconds, queue)
        return body

    return decorate


def get_workflow(name: str) -> WorkflowDef:
    try:
        return _WORKFLOWS[name]
    except KeyError:
        raise WorkflowNotFound(f"no implementation registered for workflow {name!r}", field="workflow") from None


def find_workflow(name: str) -> WorkflowDef | None:
    return _WORKFLOWS.get(name)


def registered() -> list[str]:
    return sorted(_WORKFLOWS)


BUILTIN_MODULES = ("bpflow.workflows",)


def import_workflow_modules(extra: Iterable[str] = ()) -> None:
    """Import the built-in workflow package and any plug-in modules (``BPFLOW_WORKFLOW_MODULES``)."""
    for mod in (*BUILTIN_MODULES, *[m.strip() for m in extra if m.strip()]):
        importlib.import_module(mod)
