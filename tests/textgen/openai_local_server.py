"""A real local HTTP server speaking the OpenAI chat-completions protocol, with scripted answers.

Tests drive the real ``openai`` SDK (and the job's real HTTP calls to SAGE / SceneSmith) against
it: ``POST /v1/chat/completions`` answers from a per-path queue of :class:`Reply` objects (a good
plan, a malformed answer, a 429 with ``Retry-After``, a 500, ...). Every request is recorded
(path, headers, JSON body) so tests can check what was sent. An unscripted request gets a 599,
which the client sees as a server error, so a test that under-scripts fails visibly.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"


@dataclass
class Reply:
    """One scripted answer: HTTP status, body (bytes, or a JSON-able object) and headers."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def chat(content: str | None, model: str = "local-model") -> Reply:
    """A well-formed chat completion whose message content is ``content``."""
    return Reply(
        200,
        {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        },
    )


def plan_reply(objects: list[dict[str, Any]], room_type: str = "kitchen") -> Reply:
    return chat(json.dumps({"room_type": room_type, "objects": objects}))


def rate_limited(retry_after: str = "1") -> Reply:
    return Reply(
        429, {"error": {"message": "rate limited", "type": "rate_limit_exceeded"}}, {"Retry-After": retry_after}
    )


def server_error(status: int = 500) -> Reply:
    return Reply(status, {"error": {"message": "upstream exploded", "type": "server_error"}})


GOOD_KITCHEN: list[dict[str, Any]] = [
    {"name": "refrigerator", "category": "refrigerator", "sim_role": "articulated_appliance"},
    {"name": "dining table", "category": "table", "sim_role": "static"},
    {"name": "mug", "category": "mug", "sim_role": "manipulable_object", "count": 2},
    {"name": "kitchen counter", "category": "counter", "sim_role": "static"},
    {"name": "toaster", "category": "toaster", "sim_role": "static"},
    {
        "name": "espresso machine",
        "category": "espresso_machine",
        "sim_role": "static",
        "dimensions": {"width": 0.3, "height": 0.4, "depth": 0.35},
    },
]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        llm_server = self.server.llm_server
        with llm_server.lock:
            llm_server.requests.append(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            queue = llm_server.replies.get(self.path)
            reply = (
                queue.popleft() if queue else Reply(599, {"error": {"message": "no scripted reply for " + self.path}})
            )
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    llm_server: ChatServer


class ChatServer:
    """The server plus its script and its log of received requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.replies: dict[str, deque[Reply]] = {}
        self.requests: list[dict[str, Any]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.llm_server = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.replies.setdefault(path, deque()).extend(replies)

    def script_chat(self, *replies: Reply) -> None:
        self.script(CHAT_PATH, *replies)

    def received(self, path: str = CHAT_PATH) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running() -> Iterator[ChatServer]:
    server = ChatServer().start()
    try:
        yield server
    finally:
        server.stop()
