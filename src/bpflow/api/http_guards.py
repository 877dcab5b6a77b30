"""ASGI middleware every request of the HTTP service passes before any route sees it.

* :class:`HostCheck`: the ``Host`` header must name this service (loopback names, the bound host,
  ``BPFLOW_ALLOWED_HOSTS``). A DNS-rebinding page reaches a loopback port under its own name
  (``rebind.evil.example``), so without this check a browser would let it drive the API. 400.
* :class:`RequireToken`: with ``BPFLOW_API_TOKEN`` set, every route needs it (bearer header or
  the dashboard's session cookie) except ``/healthz``, the sign-in page, the dashboard's static
  script and, when ``BPFLOW_METRICS_PUBLIC`` is on, ``/metrics``. Pages redirect to ``/login``.
* :class:`BodyLimit`: a body over the limit is 413 (forms have a smaller one), JSON nested past
  any real document is 400; the body is read once, here, and replayed to the route.
* :class:`SecurityHeaders`: no framing (clickjacking), a script/style policy the dashboard
  meets, no MIME sniffing, no referrer to other origins, on every response.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from bpflow.api.security import ASGIApp, Guard, Message, Receive, Scope, Send
from bpflow.core.contracts.json_limits import JsonTooDeep, loads_bounded

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})

MAX_BODY_BYTES = 1024 * 1024
MAX_FORM_BYTES = 64 * 1024
#: Multipart routes that carry a file, with their own limit (the photo form: a 20 MB photo).
UPLOAD_LIMITS: dict[str, int] = {"/submit/image": 20 * 1024 * 1024 + 64 * 1024}

#: Paths a client may use without the token (exact, or a prefix ending in "/").
PUBLIC_PATHS = ("/healthz", "/login", "/logout", "/static/", "/favicon.ico")

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # The dashboard sizes a few elements with style attributes (the stage DAG's SVG among them).
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)

MACHINE_PREFIXES = ("/api/", "/events", "/metrics", "/healthz", "/openapi.json", "/docs")


def host_name(header: str) -> str:
    """``Host`` without its port, lower-case; ``[::1]:8080`` → ``::1``."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind_host: str | None, extra: Iterable[str]) -> frozenset[str] | None:
    """The Host names served; None when ``*`` switches the check off."""
    names = set(LOOPBACK_HOSTS)
    extra = [e.strip().lower() for e in extra if e.strip()]
    if "*" in extra:
        return None
    names.update(host_name(e) if e.startswith("[") else e for e in extra)
    if bind_host and bind_host.strip().lower() not in WILDCARD_BINDS:
        names.add(host_name(bind_host) if bind_host.startswith("[") else bind_host.strip().lower())
    return frozenset(names)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


def _machine(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


async def _refuse(
    send: Send, path: str, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    if _machine(path):
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        ctype = b"application/json"
    else:
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{html.escape(message)}</p>".encode()
        ctype = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HostCheck:
    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            host = _headers(scope).get("host", "")
            if host_name(host) not in self.allowed:
                shown = host[:100] or "(none)"
                await _refuse(
                    send,
                    scope.get("path", ""),
                    400,
                    "host_not_allowed",
                    f"Host {shown!r} is not served here; add it to BPFLOW_ALLOWED_HOSTS if it is this service's name",
                )
                return
        await self.app(scope, receive, send)


class RequireToken:
    def __init__(self, app: ASGIApp, guard: Guard, *, metrics_public: bool) -> None:
        self.app = app
        self.guard = guard
        self.public = PUBLIC_PATHS + (("/metrics",) if metrics_public else ())

    def _is_public(self, path: str) -> bool:
        return any(path == p or (p.endswith("/") and path.startswith(p)) for p in self.public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.guard.enabled or self._is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.guard.authorized(request):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope.get("method") == "GET" and not _machine(path):
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
            location = "/login?next=" + quote(target, safe="")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", location.encode()), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await _refuse(
            send, path, 401, "unauthorized", "missing or wrong bearer token", [(b"www-authenticate", b"Bearer")]
        )


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_form_bytes: int = MAX_FORM_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_form_bytes = max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope.get("path", "")
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        limit = (
            self.max_form_bytes
            if ctype in ("application/x-www-form-urlencoded", "multipart/form-data")
            else self.max_bytes
        )
        if ctype == "multipart/form-data" and path in UPLOAD_LIMITS:
            limit = UPLOAD_LIMITS[path]
        too_large = f"request body larger than {limit} bytes"
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, path, 413, "request_too_large", too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, path, 413, "request_too_large", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if body and (ctype == "application/json" or ctype.endswith("+json")):
            try:
                loads_bounded(body)
            except JsonTooDeep as exc:
                await _refuse(send, path, 400, exc.code, exc.message)
                return
            except ValueError:
                pass  # not JSON at all: the route says so, with its own field
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                extra: list[Any] = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*(message.get("headers") or []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
