"""Item 4 in a real browser (Debian's chromium) against a live ``bpflow up``: the dashboard runs
under its Content-Security-Policy without a single violation, and another page cannot frame it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import LiveServer, chromium, page, start_server, stop_server  # noqa: F401 - fixtures

__all__ = ["chromium", "page"]


def pump_until(page: Any, predicate: Any, timeout: float = 30.0) -> None:
    """Wait while letting Playwright deliver its events (a plain sleep would not)."""
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError("browser condition not met in time")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path)
    try:
        yield live
    finally:
        stop_server(live)


def test_the_dashboard_runs_under_its_policy_and_cannot_be_framed(page: Any, server: LiveServer) -> None:
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    resp = httpx.post(
        server.url + "/api/scenes",
        json={"schema_version": "v1", "scene_id": "csp-1", "prompt": "a small hall"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    for path in ("/", "/runs", "/triggers", "/ops", "/submit", "/login", "/scenes/csp-1"):
        page.goto(server.url + path)
        assert page.locator("main").count() == 1, path
    # The scene page's script is alive: the live region polls and the marker viewer opens.
    polled: list[str] = []
    page.on("request", lambda req: polled.append(req.url) if "partial=1" in req.url else None)
    pump_until(page, lambda: polled)
    violations = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [], violations
    # A page of another origin framing the dashboard gets nothing.
    page.goto("about:blank")
    page.set_content(f'<iframe id="f" src="{server.url}/"></iframe>')
    # Chromium replaces a frame its headers forbid with its error page.
    pump_until(page, lambda: any(f.name == "f" and f.url.startswith("chrome-error://") for f in page.frames))
    assert page.frame_locator("#f").locator("text=Scenes").count() == 0
