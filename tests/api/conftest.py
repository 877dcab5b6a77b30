"""An in-process runtime running the test chain, with the HTTP app on a TestClient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_until
from tests.fixtures.ops_env import chain_values

TOKEN = "tok-SENTINEL-4a1f9e2b77"


@dataclass
class Api:
    rt: Any
    client: TestClient

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def run_scene(self, scene_id: str, prompt: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Submit a request and wait until the scene is terminal; returns GET /api/scenes/<id>."""
        resp = self.client.post(
            "/api/scenes", json={"schema_version": "v1", "scene_id": scene_id, "prompt": prompt}, headers=headers or {}
        )
        assert resp.status_code == 201, resp.text

        def terminal() -> dict[str, Any] | None:
            r = self.client.get(f"/api/scenes/{scene_id}", headers=headers or {})
            body = r.json() if r.status_code == 200 else None
            return body if body and body["state"] in ("succeeded", "failed", "stalled") else None

        return wait_until(terminal, timeout=90)


@pytest.fixture
def make_api(make_runtime: Callable[..., Any]) -> Callable[..., Api]:
    from bpflow.api.app import create_app

    def make(**extra: str) -> Api:
        rt = make_runtime(**chain_values(**extra))
        return Api(rt, TestClient(create_app(rt), base_url="http://127.0.0.1"))

    return make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """No token configured (loopback mode)."""
    return make_api()


@pytest.fixture
def secured_api(make_api: Callable[..., Api]) -> Api:
    return make_api(BPFLOW_API_TOKEN=TOKEN)
