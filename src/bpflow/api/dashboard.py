"""The web dashboard: server-rendered pages that refresh their live parts without a reload.

Each page with changing data marks a region ``data-live``; a few lines of script in ``base.html``
fetch the same URL with ``?partial=1`` every second or two and swap the region when it changed.
No build step, no client state: the HTML is the same view the API's JSON gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bpflow import __version__
from bpflow.api import dag_svg
from bpflow.api.artifacts import artifacts_router, human_bytes
from bpflow.api.episodes import episode_list, episodes_router
from bpflow.api.http_guards import MAX_FORM_BYTES
from bpflow.api.learning import learning_router, learning_view
from bpflow.api.recent import RecentDispatches
from bpflow.api.rest import change_schedule, read_marker, resolve_run, schedule_table, triggers_table
from bpflow.api.scene_views import scene_views_router
from bpflow.api.security import SESSION_COOKIE, Guard
from bpflow.api.submit import FORM_FIELDS, RequestRejected, SceneExists, request_from_form, submit_request
from bpflow.api.submit_image import image_submit_router
from bpflow.api.viewer import viewer_router
from bpflow.core.config import TEXT_BACKENDS
from bpflow.core.engine.registry import registered
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.request.contract import PROVIDER_POLICIES, QUALITY_TIERS, SOURCE_MODES
from bpflow.ops import fmt
from bpflow.ops.coordination import list_breakers, list_locks
from bpflow.ops.dag import load_dag
from bpflow.ops.rerun import rerun_scene
from bpflow.ops.run_logs import run_logs
from bpflow.ops.runs import RUN_STATES, RunReader, short_run_id
from bpflow.ops.runs import runs_page as find_runs
from bpflow.ops.scene_list import find_scenes
from bpflow.ops.scene_status import SCENE_STATES, scene_status

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_env = TEMPLATES.env
_env.filters["duration"] = fmt.duration
_env.filters["ts"] = fmt.timestamp
_env.filters["ts_short"] = lambda v: fmt.timestamp(v, short=True)
_env.filters["symbol"] = fmt.symbol
_env.filters["pretty"] = lambda v: (
    json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False, default=str) if not isinstance(v, str) else v
)
_env.filters["urlpath"] = lambda v: quote(str(v), safe="/:@")
_env.filters["label"] = lambda v: str(v).replace("_", " ")
_env.filters["rel"] = lambda key, scene_id: fmt.scene_relative(scene_id, key)
_env.filters["when"] = fmt.time_html
_env.filters["short_id"] = short_run_id
STATIC = Path(__file__).parent / "static"
_env.filters["bytes"] = human_bytes


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form (all the dashboard posts), parsed without a multipart dependency;
    a repeated field keeps its last value, as a browser's single inputs never repeat."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:  # reported, never silently emptied (the HTTP layer refuses it first)
        raise HTTPException(
            status_code=413, detail={"code": "request_too_large", "message": f"form larger than {MAX_FORM_BYTES} bytes"}
        )
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _live(request: Request) -> str:
    """The URL the page's live region polls: this page with ``partial=1``."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "partial"]
    return request.url.path + "?" + urlencode([*params, ("partial", "1")])


def _failing_job(jobs: list[dict[str, Any]]) -> int | None:
    """Index of the job launch to open first: the last one that failed, else the last one."""
    for i in range(len(jobs) - 1, -1, -1):
        j = jobs[i]
        if j.get("start_error") or j.get("timed_out") or (j.get("exit_code") not in (None, 0)):
            return i
    return len(jobs) - 1 if jobs else None


def build_dashboard(rt: Runtime, guard: Guard, recent: RecentDispatches) -> APIRouter:
    ui = APIRouter(tags=["dashboard"])
    mutation = [Depends(guard.require)]
    ui.include_router(episodes_router(rt))
    ui.include_router(learning_router(rt))

    def page(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        partial = request.query_params.get("partial") == "1"
        base = {
            "request": request,
            "version": __version__,
            "guard": guard,
            "logged_in": guard.enabled and guard.authorized(request),
            "live_url": _live(request),
            "partial": partial,
            "dag": load_dag(rt.env),
            "bucket": rt.bucket.url,
        }
        template = ctx.pop("partial_template", None) if partial else None
        ctx.pop("partial_template", None)
        return TEMPLATES.TemplateResponse(request, template or name, {**base, **ctx}, status_code=status_code)

    ui.include_router(image_submit_router(rt, page, mutation))
    ui.include_router(artifacts_router(rt, page))
    ui.include_router(viewer_router(rt, page))
    ui.include_router(scene_views_router(rt, page))

    @ui.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(
            STATIC / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
        )

    @ui.get("/", response_class=HTMLResponse, summary="Scenes, with per-stage progress: search, state filter, pages")
    def scenes_page(
        request: Request,
        q: str | None = None,
        state: str | None = None,
        after: str | None = None,
        limit: int = Query(50, ge=1, le=500),
    ) -> HTMLResponse:
        q, state, after = (q or "").strip() or None, state or None, after or None
        found = find_scenes(rt, q=q, state=state, after=after, limit=limit)
        params = {k: v for k, v in (("q", q), ("state", state), ("limit", str(limit) if limit != 50 else None)) if v}
        next_url = "/?" + urlencode({**params, "after": found.next_after}) if found.next_after else None
        first_url = ("/?" + urlencode(params)) if params else "/"
        return page(
            request,
            "scenes.html",
            partial_template="_scenes.html",
            scenes=found.scenes,
            filters={"q": q or "", "state": state or ""},
            states=SCENE_STATES,
            next_url=next_url,
            first_url=first_url if after else None,
        )

    @ui.get("/scenes/{scene_id}", response_class=HTMLResponse, summary="A scene: stage DAG, runs, markers, failures")
    def scene_page(request: Request, scene_id: str) -> HTMLResponse:
        status = scene_status(rt, validate_scene_id(scene_id))
        dag = load_dag(rt.env)
        rerunnable = {
            st.name
            for st in status.stages
            if st.implemented
            and st.workflow in rt.triggers
            and rt.triggers.get(st.workflow).kind == "object"
            and (st.job is None)
            and not (status.parent and st is status.stages[0])  # a seed's first stage is its parent's run
        }
        return page(
            request,
            "scene.html",
            partial_template="_scene.html",
            scene=status,
            layout=dag_svg.layout(dag, status.stages),
            rerunnable=rerunnable,
            scene_id=scene_id,
            episodes=episode_list(rt, scene_id),
            learning=learning_view(rt, scene_id),
        )

    @ui.get("/scenes/{scene_id}/markers/{path:path}", response_class=HTMLResponse, summary="A marker's content")
    def marker_page(request: Request, scene_id: str, path: str) -> HTMLResponse:
        return page(request, "marker.html", marker=read_marker(rt, scene_id, path), scene_id=scene_id)

    @ui.post(
        "/scenes/{scene_id}/rerun", dependencies=mutation, summary="Rerun a stage (dashboard form: workflow, force)"
    )
    async def rerun_form(request: Request, scene_id: str) -> RedirectResponse:
        form = await read_form(request)
        force = form.get("force", "") in ("true", "on", "1")
        # DBOS refuses its blocking calls on the event loop's thread.
        result = await run_in_threadpool(
            rerun_scene, rt, form.get("workflow", ""), validate_scene_id(scene_id), force=force
        )
        return RedirectResponse(
            f"/scenes/{scene_id}?{urlencode({'note': '; '.join(result.lines(force))})}", status_code=303
        )

    @ui.get("/runs", response_class=HTMLResponse, summary="Runs, with filters")
    def runs_page(
        request: Request,
        workflow: str | None = None,
        status: str | None = None,
        scene: str | None = None,
        limit: int = Query(50, ge=1, le=1000),
        before: str | None = None,
    ) -> HTMLResponse:
        workflow, status, scene, before = workflow or None, status or None, scene or None, before or None
        reader = RunReader(rt)
        found = find_runs(reader, workflow=workflow, status=status, scene=scene, limit=limit, before=before)
        params = {
            k: v
            for k, v in (
                ("workflow", workflow),
                ("status", status),
                ("scene", scene),
                ("limit", str(limit) if limit != 50 else None),
            )
            if v
        }
        return page(
            request,
            "runs.html",
            partial_template="_runs.html",
            runs=reader.refine_timings(found.runs),
            filters={"workflow": workflow or "", "status": status or "", "scene": scene or ""},
            workflows=sorted(set(registered()) | set(load_dag(rt.env).workflows())),
            states=RUN_STATES,
            next_url="/runs?" + urlencode({**params, "before": found.next_cursor}) if found.next_cursor else None,
            first_url=("/runs?" + urlencode(params) if params else "/runs") if before else None,
        )

    @ui.get(
        "/runs/{run_id:path}",
        response_class=HTMLResponse,
        summary="One run: job logs (the failing one open), steps, retry and cancel",
    )
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        full = resolve_run(rt, run_id)
        data = run_logs(rt, full)
        return page(
            request,
            "run.html",
            partial_template="_run.html",
            data=data,
            run_id=full,
            failing=_failing_job(data["jobs"]),
        )

    @ui.post("/runs/{run_id:path}/cancel", dependencies=mutation, summary="Cancel a run (dashboard form)")
    def cancel_form(run_id: str) -> RedirectResponse:
        full = resolve_run(rt, run_id)
        RunReader(rt).cancel(full)
        return RedirectResponse(f"/runs/{quote(full, safe='/:@')}", status_code=303)

    @ui.get("/triggers", response_class=HTMLResponse, summary="The trigger map")
    def triggers_page(request: Request) -> HTMLResponse:
        return page(
            request, "triggers.html", rows=triggers_table(rt), recent=recent.latest(30), schedules=schedule_table(rt)
        )

    @ui.post(
        "/schedules/{workflow}/{action}", dependencies=mutation, summary="Pause or resume a schedule (dashboard form)"
    )
    def schedule_form(workflow: str, action: str) -> RedirectResponse:
        change_schedule(rt, workflow, action)
        return RedirectResponse("/triggers#schedules", status_code=303)

    @ui.get("/ops", response_class=HTMLResponse, summary="Locks held and circuit breakers")
    def ops_page(request: Request) -> HTMLResponse:
        return page(
            request,
            "ops.html",
            partial_template="_ops.html",
            locks=list_locks(rt.bucket),
            breakers=list_breakers(rt.bucket),
        )

    def submit_form(
        request: Request, values: dict[str, str], errors: dict[str, list[str]], general: list[str], status_code: int
    ) -> HTMLResponse:
        return page(
            request,
            "submit.html",
            status_code=status_code,
            values=values,
            errors=errors,
            general=general,
            choices={
                "source_mode": SOURCE_MODES,
                "quality_tier": QUALITY_TIERS,
                "text_backend": TEXT_BACKENDS,
                "provider_policy": PROVIDER_POLICIES,
            },
            max_seeds=rt.settings.text_gen_max_seeds,
        )

    @ui.get("/submit", response_class=HTMLResponse, summary="The submit form")
    def submit_page(request: Request) -> HTMLResponse:
        values = {"source_mode": "text", "quality_tier": "standard", "seed_count": "1", "allow_image_fallback": "on"}
        return submit_form(request, values, {}, [], 200)

    @ui.post(
        "/submit", response_class=HTMLResponse, dependencies=mutation, summary="Submit a scene request (dashboard form)"
    )
    async def submit_post(request: Request) -> Response:
        form = await read_form(request)
        values = {k: form.get(k, "") for k in FORM_FIELDS}
        doc, form_problems = request_from_form(values)
        try:
            done = await run_in_threadpool(submit_request, rt, doc, form_problems=form_problems)
        except RequestRejected as exc:
            errors: dict[str, list[str]] = {}
            general: list[str] = []
            for p in exc.problems:
                name = "image_uri" if p["field"].startswith("image") else p["field"].split(".")[0].split("[")[0]
                if name in FORM_FIELDS:
                    errors.setdefault(name, []).append(p["message"])
                else:
                    general.append(f"{p['field']}: {p['message']}")
            return submit_form(request, values, errors, general, 400)
        except SceneExists as exc:
            return submit_form(request, values, {"scene_id": [exc.message]}, [], 409)
        return RedirectResponse(f"/scenes/{done.scene_id}", status_code=303)

    @ui.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:
        return page(
            request, "login.html", next=next if next.startswith("/") and not next.startswith("//") else "/", error=""
        )

    @ui.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        token, next = form.get("token", ""), form.get("next", "/")
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        if not guard.enabled:
            return RedirectResponse(target, status_code=303)
        client = request.client.host if request.client else "?"
        wait = guard.logins.retry_after(client)
        if wait is not None:
            return page(
                request,
                "login.html",
                status_code=429,
                next=target,
                error=f"Too many wrong tokens from this address; try again in {wait} s.",
            )
        if not guard.same_origin(request) or not guard.token_matches(token):
            guard.logins.failed(client)
            return page(request, "login.html", status_code=401, next=target, error="That is not the API token.")
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie(
            SESSION_COOKIE,
            guard.new_session(),
            max_age=guard.session_seconds,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return resp

    @ui.post("/logout", include_in_schema=False)
    def logout() -> RedirectResponse:
        resp = RedirectResponse("/", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    return ui
