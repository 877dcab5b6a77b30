"""Long-running processes: ``bpflow up`` (everything) and ``bpflow worker`` (runs only)."""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading

from bpflow.cli.consoles import err_console
from bpflow.core.engine.runtime import Runtime, api_token
from bpflow.core.errors import ConfigError


class _ScrubbingFormatter(logging.Formatter):
    """Service log lines go through the same secret scrubber as pages and markers."""

    def format(self, record: logging.LogRecord) -> str:
        from bpflow.core.scrub import Scrubber

        return Scrubber.for_process().text(super().format(record))


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


MIN_TOKEN_LENGTH = 16


def check_bind(host: str, token: str | None) -> None:
    """Beyond loopback the token is the only thing between the network and the service: there
    must be one, and one long enough not to be guessed (the sign-in is rate-limited, the API not)."""
    if _is_loopback(host):
        return
    if token is None:
        raise ConfigError(
            f"refusing to bind {host} without BPFLOW_API_TOKEN: set a token, or bind to 127.0.0.1",
            field="BPFLOW_HTTP_HOST",
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to bind {host} with a BPFLOW_API_TOKEN of {len(token)} characters: use at least {MIN_TOKEN_LENGTH} (e.g. `openssl rand -hex 24`)",
            field="BPFLOW_API_TOKEN",
        )


def serve_up(*, host: str | None, port: int | None, watch: bool) -> None:
    import uvicorn

    from bpflow.api.app import create_app

    rt = Runtime()
    _setup_logging(rt.options.log_level)
    host = host or rt.settings.bpflow_http_host
    port = port or rt.settings.bpflow_http_port
    token = api_token(rt.settings)
    check_bind(host, token)
    if token is None:
        err_console.print("[yellow]no BPFLOW_API_TOKEN set: serving on loopback only[/yellow]")
    rt.launch(role="all", watch=watch)
    err_console.print(f"bpflow up: bucket {rt.bucket.url}, http://{host}:{port}")
    try:
        uvicorn.run(create_app(rt, bind_host=host), host=host, port=port, log_level="warning")
    finally:
        rt.shutdown()


def serve_worker() -> None:
    rt = Runtime()
    _setup_logging(rt.options.log_level)
    rt.launch(role="worker")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err_console.print(f"bpflow worker: bucket {rt.bucket.url}")
    try:
        stop.wait()
    finally:
        rt.shutdown()
