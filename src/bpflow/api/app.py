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

from bpflow import __version__
from bpflow.api.dashboard import TEMPLATES, build_dashboard
from bpflow.api.docs import install_docs
from bpflow.api.http_guards import BodyLimit, HostCheck, RequireToken, SecurityHeaders, allowed_hosts
from bpflow.api.ingest import deliver
from bpflow.api.recent import RecentDispatches
from bpflow.api.rest import build_router
from bpflow.api.security import Guard, SceneIdGuard, ScrubSecrets, http_status
from bpflow.core import observe
from bpflow.core.config import redact_text
from bpflow.core.engine.runtime import Runtime, api_token
from bpflow.core.errors import BpflowError, InvalidSceneId
from bpflow.core.scrub import Scrubber
from bpflow.ops.runs import RunReader

#: Paths answered in JSON even when an error happens; everything else is a dashboard page.
_MACHINE_PREFIXES = ("/api/", "/events", "/metrics", "/healthz", "/openapi.json", "/docs")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(_MACHINE_PREFIXES)


def _error_response(
    request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    if _wants_html(request):
        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {
                "request": request,
                "status": status,
                "error": error,
                "version": __version__,
                "partial": False,
                "live_url": "",
                "logged_in": False,
            },
            status_code=status,
            headers=headers,
        )
    return JSONResponse(status_code=status, content={"error": error}, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BpflowError)
    async def bpflow_error(request: Request, exc: BpflowError) -> Response:
        return _error_response(request, http_status(exc), exc.to_dict())

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"code": f"http_{exc.status_code}", "message": str(exc.detail)}
        )
        return _error_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            problems.append(
                {"field": ".".join(loc) or "$", "message": str(err.get("msg", "invalid")), "code": "validation_failed"}
            )
        first = problems[0] if problems else {"field": "$", "message": "invalid request"}
        error = {
            "code": "validation_failed",
            "message": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "details": {"problems": problems},
        }
        return _error_response(request, 400, error)


def create_app(rt: Runtime, *, bind_host: str | None = None) -> FastAPI:
    """The service. ``bind_host``: the address ``bpflow up`` listens on (default: the
    configured one), whose name the Host check accepts besides the loopback names."""
    settings = rt.settings
    guard = Guard(api_token(settings), session_hours=settings.bpflow_session_hours)
    recent = RecentDispatches()
    rt.dispatcher.on_started.append(recent.record)
    if rt.client is None:
        observe.set_active_runs_source(RunReader(rt).count_active)
        observe.set_queue_health_source(RunReader(rt).queue_health)

    app = FastAPI(
        title="bpflow",
        version=__version__,
        description="Durable, event-driven scene pipeline: REST API and dashboard.",
        docs_url=None,
        redoc_url=None,
    )
    _install_error_handlers(app)
    install_docs(app, settings.bpflow_api_docs)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        health = RunReader(rt).queue_health()
        queues = {q.queue: q.to_dict() for q in health}
        problems = [f"{q.queue}: {q.queued} queued, no consumer" for q in health if q.no_consumer]
        status = "stalled" if any(q.stalled for q in health) else "no_consumer" if problems else "ok"
        return {
            "status": status,
            "version": __version__,
            "bucket": redact_text(rt.bucket.url),
            "auth": "token" if guard.enabled else "none (loopback only)",
            "queues": queues,
            "problems": problems,
        }

    @app.post("/events", status_code=202, tags=["service"], summary="CloudEvents ingestion (binary or structured mode)")
    async def events(request: Request) -> JSONResponse:
        guard.require(request)
        body = await request.body()
        status, content = await run_in_threadpool(deliver, rt, dict(request.headers), body)
        return JSONResponse(status_code=status, content=content)

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(observe.REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(build_router(rt, guard, recent))
    app.include_router(build_dashboard(rt, guard, recent))

    @app.api_route(
        "/api/scenes/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    @app.api_route("/scenes/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def scene_path_with_slash(rest: str) -> None:
        """Reached only when no route matched: the scene id must then have held a '/'."""
        raise InvalidSceneId(
            f"invalid scene id {rest!r}: a scene id is one path segment", field="scene_id", details={"scene_id": rest}
        )

    # The middleware added last is the outermost: secrets are scrubbed from every answer, the 400 included;
    # the Host check and the token come before any body is read or any route runs.
    app.add_middleware(SceneIdGuard)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequireToken, guard=guard, metrics_public=settings.bpflow_metrics_public)
    app.add_middleware(
        HostCheck, allowed=allowed_hosts(bind_host or settings.bpflow_http_host, settings.bpflow_allowed_hosts)
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ScrubSecrets, scrubber=Scrubber.from_settings(rt.settings))
    return app
