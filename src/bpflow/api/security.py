"""What every request and response of the HTTP service goes through.

* With a token configured, every route but ``/healthz`` needs ``Authorization: Bearer
  $BPFLOW_API_TOKEN`` (``http_guards.RequireToken``); the dashboard uses a session cookie instead,
  obtained by typing the token once on ``/login`` (rate-limited per client). The cookie holds an
  expiry and an HMAC of the token and that expiry, never the token, so no response carries the
  secret, it dies by itself and with a token change, and it is ``SameSite=Strict`` (plus an Origin
  check) so another site cannot post forms with it. Without a configured token the service only
  binds to loopback (``bpflow up`` refuses otherwise) and everything is open to local clients,
  though not to forms posted from another site nor to another Host name (DNS rebinding).
* A scene id in the path (``/api/scenes/<id>/...``, ``/scenes/<id>/...``) is checked before
  routing, on the raw path, so ``..`` or an encoded ``/`` is a 400 on every endpoint, including
  ones added later.
* Every response body is scrubbed of configured secrets (``Settings.secret_values()``): markers,
  run outputs and job logs are written by code that might print a key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import HTTPException, Request

from bpflow.core.errors import BpflowError, InvalidSceneId, ObjectNotFound
from bpflow.core.scrub import Scrubber
from bpflow.core.triggers import validate_scene_id

SESSION_COOKIE = "bpflow_session"
SCENE_PREFIXES = ("/api/scenes/", "/scenes/")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def unauthorized(message: str = "missing or wrong bearer token") -> HTTPException:
    return HTTPException(
        status_code=401, detail={"code": "unauthorized", "message": message}, headers={"WWW-Authenticate": "Bearer"}
    )


class LoginLimiter:
    """Failed sign-ins per client in a sliding window: guessing the token from one address is
    limited to ``max_failures`` tries a ``window_seconds``."""

    def __init__(self, max_failures: int = 10, window_seconds: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                if not times:
                    self._failures.pop(client, None)
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory whatever the number of clients
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]


class Guard:
    """Who may read and change things.

    The session cookie is ``<expiry>.<HMAC(token, expiry)>``: it expires by itself, and a new
    token invalidates every cookie made with the old one (revocation = rotating the token).
    """

    def __init__(self, token: str | None, *, session_hours: float = 12.0) -> None:
        self.token = token
        self.session_seconds = int(session_hours * 3600)
        self.logins = LoginLimiter()

    def _session_sig(self, expires: int) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), f"bpflow dashboard session|{expires}".encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        """A fresh cookie value, valid for ``session_seconds``."""
        expires = int(time.time()) + self.session_seconds
        return f"{expires}.{self._session_sig(expires)}"

    def session_valid(self, cookie: str) -> bool:
        if self.token is None or not cookie:
            return False
        expires_raw, _, sig = cookie.partition(".")
        if not expires_raw.isascii() or not expires_raw.isdigit() or len(expires_raw) > 12:
            return False
        expires = int(expires_raw)
        return expires > time.time() and hmac.compare_digest(sig.encode(), self._session_sig(expires).encode())

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _same_origin(self, request: Request) -> bool:
        if request.headers.get("sec-fetch-site", "") == "cross-site":
            return False
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def same_origin(self, request: Request) -> bool:
        """Not posted by another site's page (browsers send Origin / Sec-Fetch-Site on those)."""
        return self._same_origin(request)

    def authorized(self, request: Request) -> bool:
        if self.token is None:
            # Open on loopback, but a page from another site must not post to it (browsers send
            # Origin on cross-site posts; curl and SDKs send none).
            return self._same_origin(request)
        header = request.headers.get("authorization", "")
        if hmac.compare_digest(header.encode(), f"Bearer {self.token}".encode()):
            return True
        return self.session_valid(request.cookies.get(SESSION_COOKIE, "")) and self._same_origin(request)

    def require(self, request: Request) -> None:
        if not self.authorized(request):
            raise unauthorized()


def path_scene_error(raw_path: str) -> InvalidSceneId | None:
    """The invalid scene id in a ``/api/scenes/<id>`` or ``/scenes/<id>`` path, if any."""
    for prefix in SCENE_PREFIXES:
        if raw_path.startswith(prefix):
            segment = raw_path[len(prefix) :].split("/", 1)[0]
            if not segment:
                return None
            try:
                validate_scene_id(unquote(segment))
            except InvalidSceneId as exc:
                return exc
            return None
    return None


class SceneIdGuard:
    """ASGI middleware: 400 for a bad scene id in the path, before any route sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            exc = path_scene_error(raw.decode("latin-1").split("?", 1)[0])
            if exc is not None:
                body = json.dumps({"error": exc.to_dict()}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


_TEXTUAL = (b"text/", b"application/json", b"application/javascript", b"application/problem+json", b"image/svg")


class ScrubSecrets:
    """ASGI middleware: replace configured secrets in every textual response body."""

    def __init__(self, app: ASGIApp, scrubber: Scrubber) -> None:
        self.app = app
        self.scrubber = scrubber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.scrubber:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        textual = False

        async def wrapped(message: Message) -> None:
            nonlocal start, textual
            if message["type"] == "http.response.start":
                start = message
                ctype = dict(message.get("headers") or []).get(b"content-type", b"")
                textual = ctype.startswith(_TEXTUAL)
                if not textual:
                    await send(message)
                return
            if message["type"] == "http.response.body" and textual:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = self.scrubber.bytes(b"".join(chunks))
                assert start is not None
                headers = [(k, v) for k, v in (start.get("headers") or []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


def http_status(exc: BpflowError) -> int:
    """The HTTP status of a bpflow error, by its code."""
    code = exc.code
    if code in (
        "scene_not_found",
        "run_not_found",
        "object_not_found",
        "workflow_not_found",
        "marker_not_found",
    ) or isinstance(exc, ObjectNotFound):
        return 404
    if code in (
        "precondition_failed",
        "scene_exists",
        "not_implemented",
        "trigger_missing",
        "rerun_unsupported",
        "rerun_refused",
        "run_active",
        "ambiguous_run_id",
    ):
        return 409
    if exc.retryable:
        return 503
    return 400
