"""POST /events: Eventarc-shaped CloudEvents (binary and structured mode) start workflows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbos import DBOS
from fastapi.testclient import TestClient

from bpflow.api.app import create_app
from tests.conftest import wait_until


def test_binary_mode_storage_event_starts_workflow(runtime: Any) -> None:
    info = runtime.bucket.write_json("scenes/http1/test/input.json", {"via": "http"})
    client = TestClient(create_app(runtime), base_url="http://127.0.0.1")
    bucket = Path(runtime.bucket.root).name  # a directory bucket answers to its folder's name
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "ce-id": "1234",
        "ce-subject": f"objects/{info.key}",
        "content-type": "application/json",
    }
    body = {"bucket": bucket, "name": info.key, "generation": str(info.generation)}
    resp = client.post("/events", headers=headers, content=json.dumps(body))
    assert resp.status_code == 202, resp.text
    run_id = f"test-stage-a:{info.key}@{info.generation}"
    assert resp.json()["events"][0]["run_ids"] == [run_id]
    wait_until(lambda: runtime.bucket.exists("scenes/http1/test/a/.a_complete"), timeout=60)
    # Eventarc retries a delivery it thinks failed: same run, nothing new.
    again = client.post("/events", headers=headers, content=json.dumps(body))
    assert again.json()["events"][0]["run_ids"] == [run_id]
    assert len([w for w in DBOS.list_workflows(name="test-stage-a") if "http1" in w.workflow_id]) == 1


def test_structured_mode_and_custom_event(runtime: Any) -> None:
    client = TestClient(create_app(runtime), base_url="http://127.0.0.1")
    envelope = {
        "specversion": "1.0",
        "type": "bpflow.test.ping",
        "source": "test",
        "id": "evt-42",
        "data": {"scene_id": "http2", "ok": True},
    }
    resp = client.post(
        "/events", headers={"content-type": "application/cloudevents+json"}, content=json.dumps(envelope)
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["events"][0]["run_ids"] == ["test-custom:bpflow.test.ping:evt-42"]
    wait_until(lambda: runtime.bucket.exists("scenes/http2/test/custom.json"))


STORAGE = {
    "specversion": "1.0",
    "type": "google.cloud.storage.object.v1.finalized",
    "source": "//storage.googleapis.com/projects/_/buckets/b",
    "id": "e1",
}


def test_bad_events_are_rejected_with_the_field(runtime: Any) -> None:
    client = TestClient(create_app(runtime), base_url="http://127.0.0.1")
    cases = [
        ({"content-type": "application/json"}, b"{}", "content-type"),
        ({"content-type": "application/cloudevents+json"}, b"not json", "body"),
        (
            {"content-type": "application/cloudevents+json"},
            json.dumps({**STORAGE, "data": {"name": "scenes/a/x", "generation": "abc"}}).encode(),
            "data.generation",
        ),
        (
            {"content-type": "application/cloudevents+json"},
            json.dumps({**STORAGE, "data": {"generation": "1"}}).encode(),
            "data.name",
        ),
        (
            {"content-type": "application/cloudevents+json"},
            json.dumps({"specversion": "1.0", "source": "test", "type": "x.custom", "data": {}}).encode(),
            "id",
        ),
    ]
    for headers, body, field in cases:
        resp = client.post("/events", headers=headers, content=body)
        assert resp.status_code == 400, (field, resp.text)
        assert resp.json()["error"]["field"] == field


def test_events_need_the_token_when_one_is_configured(make_runtime: Any) -> None:
    rt = make_runtime(BPFLOW_API_TOKEN="s3cret-token")
    client = TestClient(create_app(rt), base_url="http://127.0.0.1")
    envelope = {"specversion": "1.0", "source": "test", "type": "bpflow.test.ping", "id": "e1", "data": {}}
    headers = {"content-type": "application/cloudevents+json"}
    assert client.post("/events", headers=headers, content=json.dumps(envelope)).status_code == 401
    ok = client.post(
        "/events", headers={**headers, "authorization": "Bearer s3cret-token"}, content=json.dumps(envelope)
    )
    assert ok.status_code == 202
    assert "s3cret-token" not in client.get("/healthz").text
