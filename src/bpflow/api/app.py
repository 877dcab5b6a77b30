"""FastAPI application served by ``bpflow up``.

Ingestion answers only after the run is durably enqueued, so an Eventarc-style sender that
retries on failure never loses an event, and a retry of a delivered event attaches to its run.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bpflow import __version__, observe
from bpflow.engine.runtime import Runtime, api_token
from bpflow.errors import BpflowError
from bpflow.events.cloudevents import parse_http
from bpflow.events.model import ObjectEvent


def _error(status: int, exc: BpflowError) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": exc.to_dict()})


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="bpflow", version=__version__)
    token = api_token(rt.settings)

    def require_token(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(status_code=401, detail={"code": "unauthorized", "message": "missing or wrong bearer token"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "bucket": rt.bucket.url}

    @app.post("/events", status_code=202)
    async def events(request: Request) -> JSONResponse:
        require_token(request)
        body = await request.body()
        try:
            parsed = parse_http(dict(request.headers), body)
        except BpflowError as exc:
            observe.EVENTS.labels("http", "rejected").inc()
            return _error(400, exc)
        results = []
        for ev in parsed:
            if isinstance(ev, ObjectEvent):
                results.append({"type": "object", "name": ev.name, **rt.dispatcher.dispatch_object(ev).to_dict()})
            else:
                results.append({"type": ev.type, "id": ev.id, **rt.dispatcher.dispatch_custom(ev).to_dict()})
        return JSONResponse(status_code=202, content={"events": results})

    @app.get("/api/triggers")
    def triggers() -> list[dict[str, Any]]:
        return [row.to_dict(env=rt.env) for row in rt.triggers.rows]

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(observe.REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)

    return app
