"""A live `bpflow up` (real subprocess, free port, private home) and Debian's chromium.

The server runs the test chain (tests/fixtures/chain.py) behind a request intake
(tests/fixtures/intake.py) and shows the test stage DAG (tests/fixtures/chain_stages.yaml), so a
request submitted through the dashboard's form runs real jobs end to end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, runtime_env, wait_until
from tests.fixtures.ops_env import chain_values
from tests.support.services import service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chain_env(home: Path, **extra: str) -> dict[str, str]:
    return runtime_env(home, **chain_values(**extra))


@dataclass
class LiveServer:
    url: str
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def bucket_root(self) -> Path:
        return self.home / "bucket"

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kw)


def start_server(tmp: Path, **extra: str) -> LiveServer:
    home = tmp / "home"
    port = free_port()
    env = chain_env(home, BPFLOW_HTTP_PORT=str(port), **extra)
    log = tmp / "bpflow-up.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bpflow.cli", "up"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", home, env, proc, log)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"bpflow up exited {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            return server.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=90, interval=0.2)
    return server


def stop_server(server: LiveServer) -> None:
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("ui"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright; missing chromium fails in CI and skips elsewhere."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure-system-deps.sh does as root)"
        service_missing("chromium", message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()
