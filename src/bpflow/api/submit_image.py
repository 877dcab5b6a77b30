"""The dashboard's image request form (``GET/POST /submit/image``): a room photo is checked
(``domain.imagegen.decode``: type, size, pixels, decodability), uploaded to
``scenes/<id>/images/<name>`` and named by an image request written like any other submit.

The multipart body is parsed with the standard library (no extra dependency) after its size is
bounded by Content-Length and by what is actually read; a bad photo or request writes nothing.
"""

from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bpflow.api.submit import RequestRejected, SceneExists, submit_request
from bpflow.core.errors import BpflowError
from bpflow.domain.imagegen.decode import MAX_IMAGE_BYTES, ImageRejected, check_image
from bpflow.domain.request.contract import SCHEMA_VERSION, new_scene_id

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

MAX_BODY_BYTES = MAX_IMAGE_BYTES + 64 * 1024


class UploadRejected(BpflowError):
    code = "invalid_upload"


async def read_multipart(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """``{field: (file name or None, bytes)}`` of a multipart/form-data body, size-bounded."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise UploadRejected("the form must be sent as multipart/form-data", field="image")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise UploadRejected(f"the upload is larger than {MAX_BODY_BYTES} bytes", code="image_too_large", field="image")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise UploadRejected(
                f"the upload is larger than {MAX_BODY_BYTES} bytes", code="image_too_large", field="image"
            )
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + bytes(body)
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in msg.iter_parts() if msg.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True) or b""
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def image_request(rt: Runtime, fields: dict[str, tuple[str | None, bytes]]) -> tuple[str, str, bytes, dict[str, Any]]:
    """(scene id, image key, photo bytes, request) from the form, or a typed refusal."""
    from bpflow.domain.request.contract import image_object_key

    filename, data = fields.get("image", (None, b""))
    if not filename:
        raise UploadRejected("choose a photo (PNG or JPEG) to upload", code="image_missing", field="image")
    check_image(data, PurePosixPath(filename).name)
    prompt = fields.get("prompt", (None, b""))[1].decode("utf-8", "replace").strip()
    scene_id = fields.get("scene_id", (None, b""))[1].decode("utf-8", "replace").strip() or new_scene_id(
        prompt or PurePosixPath(filename).stem
    )
    key = image_object_key(scene_id, Path(PurePosixPath(filename).name))
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scene_id": scene_id,
        "source_mode": "image",
        "image": {"gcs_uri": key},
    }
    tier = fields.get("quality_tier", (None, b""))[1].decode("utf-8", "replace").strip()
    if tier:
        doc["quality_tier"] = tier
    if prompt:
        doc["prompt"] = prompt
    return scene_id, key, data, doc


class PageRenderer(Protocol):
    """The dashboard's template renderer (``dashboard.page``), passed in so this router shares its layout."""

    def __call__(self, request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse: ...


def image_submit_router(rt: Runtime, page: PageRenderer, mutation: list[Any]) -> APIRouter:
    ui = APIRouter(tags=["dashboard"])

    def form(request: Request, values: dict[str, str], error: str, status_code: int) -> HTMLResponse:
        return page(
            request,
            "submit_image.html",
            status_code=status_code,
            values=values,
            error=error,
            max_mb=MAX_IMAGE_BYTES // (1024 * 1024),
        )

    @ui.get("/submit/image", response_class=HTMLResponse, summary="The image request form")
    def submit_image_page(request: Request) -> HTMLResponse:
        return form(request, {"quality_tier": "standard"}, "", 200)

    @ui.post(
        "/submit/image",
        response_class=HTMLResponse,
        dependencies=mutation,
        summary="Upload a photo and submit an image request",
    )
    async def submit_image_post(request: Request) -> Response:
        values: dict[str, str] = {}
        try:
            fields = await read_multipart(request)
            values = {k: v[1].decode("utf-8", "replace") for k, v in fields.items() if v[0] is None}
            scene_id, key, data, doc = image_request(rt, fields)
            from bpflow.api.submit import check_request

            _, problems = check_request(rt, doc)
            if problems:
                raise RequestRejected(problems)
            if rt.bucket.exists(key):
                raise SceneExists(f"scene {scene_id} already has {key}", field="scene_id")
            rt.bucket.write(key, data)
            submit_request(rt, doc)
        except (ImageRejected, UploadRejected, RequestRejected, SceneExists) as exc:
            return form(request, values, f"{exc.code}: {exc.message}", 409 if isinstance(exc, SceneExists) else 400)
        return RedirectResponse(f"/scenes/{scene_id}", status_code=303)

    return ui
