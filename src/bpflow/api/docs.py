"""``/docs``: Swagger UI, off unless ``BPFLOW_API_DOCS=true``, and then served from this process.

FastAPI's default page loads Swagger UI from a CDN with no integrity check: whoever controls that
CDN (or the network path to it) runs script in the dashboard's origin. Here the assets come from
the ``swagger-ui-bundle-v2`` package on disk, and the page has no inline script, so the service's
``script-src 'self'`` policy holds on it too. ``/openapi.json`` stays available either way (the
CLI and tests read it); with a token set it needs the token like every other route.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bpflow API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>
"""


def install_docs(app: FastAPI, enabled: bool) -> None:
    """Serve the dashboard's static script always; the API docs only when ``enabled``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if not enabled:
        return
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)
