"""FastAPI application served by ``bpflow up``: ingestion, REST, the dashboard and ``/metrics``.

Ingestion answers only after the run is durably enqueued, so an Eventarc-style sender that
retries on failure never loses an event, and a retry of a delivered event attaches to its run.
Errors are one shape everywhere (``{"error": {code, message, field?}}``; an HTML page on the
dashboard), and every response leaves through the secret scrubber.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from bpflow import __version__, observe
from bpflow.api.dashboard import TEMPLATES, build_dashboard
from bpflow.api.recent import RecentDispatches
from bpflow.api.rest import build_router
from bpflow.api.security import Guard, SceneIdGuard, ScrubSecrets, http_status
from bpflow.config import redact_text
from bpflow.engine.runtime import Runtime, api_token
from bpflow.errors import BpflowError, InvalidSceneId
from bpflow.events.cloudevents import parse_http
from bpflow.events.model import ObjectEvent
from bpflow.status.runs import RunReader
from bpflow.status.scrub import Scrubber

#: Paths answered in JSON even when an error happens; everything else is a dashboard page.
_MACHINE_PREFIXES = ("/api/", "/events", "/metrics", "/healthz", "/openapi.json", "/docs")


def _error(status: int, exc: BpflowError) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": exc.to_dict()})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(_MACHINE_PREFIXES)


def _error_response(request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if _wants_html(request):
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"request": request, "status": status, "error": error, "version": __version__, "partial": False, "live_url": "", "logged_in": False},
            status_code=status, headers=headers,
        )
    return JSONResponse(status_code=status, content={"error": error}, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BpflowError)
    async def bpflow_error(request: Request, exc: BpflowError) -> Response:
        return _error_response(request, http_status(exc), exc.to_dict())

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, dict) else {"code": f"http_{exc.status_code}", "message": str(exc.detail)}
        return _error_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            problems.append({"field": ".".join(loc) or "$", "message": str(err.get("msg", "invalid")), "code": "validation_failed"})
        first = problems[0] if problems else {"field": "$", "message": "invalid request"}
        error = {"code": "validation_failed", "message": f"{first['field']}: {first['message']}", "field": first["field"], "details": {"problems": problems}}
        return _error_response(request, 400, error)


def _dispatch_all(rt: Runtime, parsed: list[Any]) -> list[dict[str, Any]]:
    results = []
    for ev in parsed:
        if isinstance(ev, ObjectEvent):
            results.append({"type": "object", "name": ev.name, **rt.dispatcher.dispatch_object(ev).to_dict()})
        else:
            results.append({"type": ev.type, "id": ev.id, **rt.dispatcher.dispatch_custom(ev).to_dict()})
    return results


def create_app(rt: Runtime) -> FastAPI:
    guard = Guard(api_token(rt.settings))
    recent = RecentDispatches()
    rt.dispatcher.on_started.append(recent.record)
    if rt.client is None:
        observe.set_active_runs_source(RunReader(rt).count_active)
        observe.set_queue_health_source(RunReader(rt).queue_health)

    app = FastAPI(title="bpflow", version=__version__, description="Durable, event-driven scene pipeline: REST API and dashboard.")
    _install_error_handlers(app)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        queues = {q.queue: q.to_dict() for q in RunReader(rt).queue_health()}
        status = "stalled" if any(q["stalled"] for q in queues.values()) else "ok"
        return {"status": status, "version": __version__, "bucket": redact_text(rt.bucket.url), "auth": "token" if guard.enabled else "none (loopback only)", "queues": queues}

    @app.post("/events", status_code=202, tags=["service"], summary="CloudEvents ingestion (binary or structured mode)")
    async def events(request: Request) -> JSONResponse:
        guard.require(request)
        body = await request.body()
        try:
            parsed = parse_http(dict(request.headers), body)
        except BpflowError as exc:
            observe.EVENTS_RECEIVED.labels("http").inc()
            observe.EVENTS.labels("http", "rejected").inc()
            return _error(400, exc)
        results = await run_in_threadpool(_dispatch_all, rt, parsed)  # database work: off the event loop
        return JSONResponse(status_code=202, content={"events": results})

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(observe.REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(build_router(rt, guard, recent))
    app.include_router(build_dashboard(rt, guard, recent))

    @app.api_route("/api/scenes/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    @app.api_route("/scenes/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def scene_path_with_slash(rest: str) -> None:
        """Reached only when no route matched: the scene id must then have held a '/'."""
        raise InvalidSceneId(f"invalid scene id {rest!r}: a scene id is one path segment", field="scene_id", details={"scene_id": rest})
    # The middleware added last is the outermost: secrets are scrubbed from every answer, the 400 included.
    app.add_middleware(SceneIdGuard)
    app.add_middleware(ScrubSecrets, scrubber=Scrubber.from_settings(rt.settings))
    return app

