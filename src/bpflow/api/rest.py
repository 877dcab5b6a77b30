"""REST under ``/api/``: scenes, runs, markers, events, triggers, reruns, cancel, emit.

Every answer is built by the same ``bpflow.ops`` functions as the CLI and the dashboard, so
``bpflow status SCENE --json`` and ``GET /api/scenes/SCENE`` agree. Mutations go through the
:class:`~bpflow.api.security.Guard`; errors are ``{"error": {code, message, field?}}``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bpflow.api.recent import RecentDispatches
from bpflow.api.security import Guard
from bpflow.api.submit import submit_request
from bpflow.core.contracts.json_limits import JsonTooDeep, loads_bounded
from bpflow.core.engine.registry import registered
from bpflow.core.errors import InvalidObjectKey, ObjectNotFound, ValidationFailed
from bpflow.core.events.model import OBJECT_FINALIZED, CustomEvent, ObjectEvent
from bpflow.core.storage.base import check_key
from bpflow.core.triggers import validate_scene_id
from bpflow.ops.coordination import list_breakers, list_locks
from bpflow.ops.dag import load_dag
from bpflow.ops.rerun import rerun_scene, retry_run
from bpflow.ops.run_logs import run_logs
from bpflow.ops.runs import RunReader, runs_page
from bpflow.ops.scene_list import find_scenes
from bpflow.ops.scene_status import MAX_MARKER_BYTES, scene_status

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime


class RerunBody(BaseModel):
    workflow: str = Field(description="Workflow (or stage) name, e.g. usd-assembly-pipeline.")
    force: bool = Field(False, description="Run again even if this input version already ran (new run id).")


class EmitBody(BaseModel):
    type: str = Field(description="Event type, e.g. manual.geniesim.job.completed.")
    data: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(None, description="Event id; the same id attaches to the same run.")
    workflow: str | None = Field(None, description="Start this workflow directly (manual trigger).")


def check_run_id(run_id: str) -> str:
    """Run ids embed object keys; one with a ``..`` segment cannot exist and is refused."""
    if not run_id or ".." in run_id.replace(":", "/").replace("@", "/").split("/"):
        raise ValidationFailed(f"invalid run id {run_id!r}", field="run_id")
    return run_id


def resolve_run(rt: Runtime, ref: str) -> str:
    """A full run id from a run id or a unique prefix of its short id (URLs, API, forms)."""
    return RunReader(rt).resolve(check_run_id(ref))


def read_marker(rt: Runtime, scene_id: str, path: str) -> dict[str, Any]:
    """A scene object's content for the marker viewer: JSON parsed, text as text, capped."""
    validate_scene_id(scene_id)
    try:
        key = check_key(f"scenes/{scene_id}/{path}")
    except InvalidObjectKey as exc:
        raise ValidationFailed(exc.message, field="path") from None
    info = rt.bucket.stat(key)
    if info is None:
        raise ObjectNotFound(f"no object {key}", code="marker_not_found", field="path")
    truncated = info.size > MAX_MARKER_BYTES
    raw = rt.bucket.read(key)[:MAX_MARKER_BYTES]
    body: Any
    kind = "text"
    try:
        body = loads_bounded(raw)
        kind = "json"
    except (ValueError, JsonTooDeep):
        body = raw.decode("utf-8", "replace")
    return {
        "key": key,
        "scene_id": scene_id,
        "path": path,
        "generation": info.generation,
        "updated": info.updated.timestamp(),
        "size": info.size,
        "kind": kind,
        "truncated": truncated,
        "body": body,
    }


def emit_event(rt: Runtime, body: EmitBody) -> dict[str, Any]:
    """What ``bpflow emit`` does, for the API: a manual run, a storage event, or a custom event."""
    if body.workflow is not None:
        run_id = None if body.id is None else f"{body.workflow}:manual:{body.id}"
        out = rt.dispatcher.start_manual(
            body.workflow, {"type": body.type, "data": body.data, **body.data}, run_id=run_id
        )
    elif body.type == OBJECT_FINALIZED:
        name, generation = body.data.get("name"), body.data.get("generation")
        if not isinstance(name, str) or not name:
            raise ValidationFailed("data.name is required for a storage event", field="data.name")
        try:
            gen = int(str(generation))
        except ValueError:
            raise ValidationFailed("data.generation must be an integer", field="data.generation") from None
        out = rt.dispatcher.dispatch_object(
            ObjectEvent(bucket=str(body.data.get("bucket", "")), name=name, generation=gen, source="api")
        )
    else:
        out = rt.dispatcher.dispatch_custom(
            CustomEvent(type=body.type, id=body.id or uuid.uuid4().hex, data=body.data, source="api")
        )
    return out.to_dict()


def triggers_table(rt: Runtime) -> list[dict[str, Any]]:
    implemented = set(registered())
    return [{**row.to_dict(env=rt.env), "implemented": row.workflow in implemented} for row in rt.triggers.rows]


def schedule_table(rt: Runtime) -> list[dict[str, Any]]:
    from dbos import DBOS

    from bpflow.core.engine.schedules import schedule_rows

    return schedule_rows(rt, DBOS)


def change_schedule(rt: Runtime, workflow: str, action: str) -> dict[str, Any]:
    from dbos import DBOS

    from bpflow.core.engine.schedules import set_paused

    if action not in ("pause", "resume"):
        raise ValidationFailed(f"unknown schedule action {action!r} (use pause or resume)", field="action")
    set_paused(DBOS, workflow, action == "pause")
    return next(r for r in schedule_table(rt) if r["workflow"] == workflow)


def build_router(rt: Runtime, guard: Guard, recent: RecentDispatches) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["api"])
    # A dependency runs before the body is validated: a request without the token gets 401,
    # whatever its body.
    mutation = [Depends(guard.require)]

    @api.get("/dag", summary="The stage DAG the views use")
    def dag() -> dict[str, Any]:
        d = load_dag(rt.env)
        implemented = set(registered())
        out = d.to_dict()
        for st in out["stages"]:
            st["implemented"] = st["workflow"] in implemented
        return out

    @api.get(
        "/scenes",
        summary="One line per scene, a page in scene-id order: text search, state filter (next page: ?after=<next_after>)",
    )
    def scenes(
        limit: int = Query(200, ge=1, le=5000),
        after: str | None = Query(None, max_length=200, description="The previous page's 'next_after'."),
        q: str | None = Query(None, description="Part of the scene id or of its prompt (case-insensitive)."),
        state: str | None = Query(None, description="pending, running, succeeded, failed or stalled."),
    ) -> dict[str, Any]:
        page = find_scenes(rt, q=q, state=state, after=after, limit=limit)
        return {"dag": load_dag(rt.env).name, "scenes": page.scenes, "next_after": page.next_after}

    @api.post(
        "/scenes",
        status_code=201,
        dependencies=mutation,
        summary="Submit a scene request (validated first; nothing is written if invalid)",
    )
    def submit(
        doc: dict[str, Any] = Body(
            ..., description="A scene_request.json v1 document; scene_id is generated from the prompt when missing."
        ),
    ) -> dict[str, Any]:
        return submit_request(rt, doc).to_dict()

    @api.get("/scenes/{scene_id}", summary="A scene's stage table")
    def scene(scene_id: str) -> dict[str, Any]:
        return scene_status(rt, validate_scene_id(scene_id)).to_dict()

    @api.get("/scenes/{scene_id}/markers/{path:path}", summary="A marker's (or any scene object's) content")
    def marker(scene_id: str, path: str) -> dict[str, Any]:
        return read_marker(rt, scene_id, path)

    @api.post(
        "/scenes/{scene_id}/rerun",
        dependencies=mutation,
        summary="Start a stage again for the scene's current input version",
    )
    def rerun(scene_id: str, body: RerunBody) -> dict[str, Any]:
        return rerun_scene(rt, body.workflow, validate_scene_id(scene_id), force=body.force).to_dict()

    @api.get(
        "/runs", summary="Runs, newest first (keyset paging: the X-Next-Cursor header is the next page's 'before')"
    )
    def runs(
        response: Response,
        workflow: str | None = None,
        status: str | None = None,
        scene: str | None = None,
        limit: int = Query(50, ge=1, le=10000),
        before: str | None = Query(None, description="The previous page's X-Next-Cursor."),
    ) -> list[dict[str, Any]]:
        reader = RunReader(rt)
        page = runs_page(
            reader, workflow=workflow or None, status=status or None, scene=scene or None, limit=limit, before=before
        )
        if page.next_cursor is not None:
            response.headers["X-Next-Cursor"] = page.next_cursor
        return [r.to_dict() for r in reader.refine_timings(page.runs)]

    @api.get(
        "/runs/{run_id:path}/logs", summary="A run's steps and its jobs' whole logs (a run id or a short id prefix)"
    )
    def logs(run_id: str) -> dict[str, Any]:
        return run_logs(rt, resolve_run(rt, run_id))

    @api.post("/runs/{run_id:path}/cancel", dependencies=mutation, summary="Cancel a queued or running run")
    def cancel(run_id: str) -> dict[str, Any]:
        return RunReader(rt).cancel(resolve_run(rt, run_id)).to_dict()

    @api.post(
        "/runs/{run_id:path}/retry",
        status_code=202,
        dependencies=mutation,
        summary="Start a finished run's workflow again with the same input (new run id)",
    )
    def retry(run_id: str) -> dict[str, Any]:
        return retry_run(rt, resolve_run(rt, run_id)).to_dict()

    @api.get("/runs/{run_id:path}", summary="One run with its steps (a run id or a short id prefix)")
    def run(run_id: str) -> dict[str, Any]:
        reader = RunReader(rt)
        info = reader.get(resolve_run(rt, run_id))
        return {"run": info.to_dict(), "steps": [s.to_dict() for s in reader.steps(info.run_id)]}

    @api.get("/events", summary="Runs the dispatcher of this process started recently")
    def events(limit: int = Query(100, ge=1, le=500)) -> list[dict[str, Any]]:
        return recent.latest(limit)

    @api.post(
        "/emit",
        status_code=202,
        dependencies=mutation,
        summary="Emit a custom event, a storage event, or start a workflow by hand",
    )
    def emit(body: EmitBody) -> JSONResponse:
        result = emit_event(rt, body)
        return JSONResponse(
            status_code=202 if result["run_ids"] or not result["not_implemented"] else 409, content=result
        )

    @api.get("/triggers", summary="The trigger map, with what this build implements")
    def triggers() -> list[dict[str, Any]]:
        return triggers_table(rt)

    @api.get("/schedules", summary="Every schedule: cron, zone, state, last and next run (local and UTC)")
    def schedules() -> list[dict[str, Any]]:
        return schedule_table(rt)

    @api.post("/schedules/{workflow}/{action}", dependencies=mutation, summary="Pause or resume an installed schedule")
    def schedule_action(workflow: str, action: str) -> dict[str, Any]:
        return change_schedule(rt, workflow, action)

    @api.get("/locks", summary="Scene locks currently held")
    def locks() -> list[dict[str, Any]]:
        return list_locks(rt.bucket)

    @api.get("/breakers", summary="Genie Sim circuit breakers")
    def breakers() -> list[dict[str, Any]]:
        return list_breakers(rt.bucket)

    return api
