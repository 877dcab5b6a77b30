"""REST endpoints, the CLI/dashboard agreement, and /metrics, on a runtime running real jobs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
from tests.conftest import wait_until


def bpflow(*args: str) -> subprocess.CompletedProcess[str]:
    # The launched runtime's environment: same home, database, trigger files and stage DAG.
    return subprocess.run(
        [sys.executable, "-m", "bpflow.cli", *args], env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def test_status_json_agrees_with_the_dashboard(api: Api) -> None:
    api.run_scene("agree-ok", "a quiet library")
    api.run_scene("agree-bad", "FAIL on purpose")
    for scene in ("agree-ok", "agree-bad"):
        cli = bpflow("status", scene, "--json")
        assert cli.returncode == (0 if scene == "agree-ok" else 1), cli.stderr
        from_cli = json.loads(cli.stdout)
        from_api = api.client.get(f"/api/scenes/{scene}").json()
        assert from_cli == from_api
        # The page shows the same states and error codes, stage by stage.
        html = api.client.get(f"/scenes/{scene}").text
        rows = dict(re.findall(r'<tr id="stage-[^"]+" data-stage="([^"]+)" data-state="([^"]+)"', html))
        assert rows == {st["name"]: st["state"] for st in from_cli["stages"]}
        codes = set(re.findall(r'data-error-code="([^"]+)"', html))
        assert codes == {st["error_code"] for st in from_cli["stages"] if st["error_code"]}
    assert json.loads(bpflow("status", "agree-bad", "--json").stdout)["stages"][1]["error_code"] == "test_copy_failed"
    summary = json.loads(bpflow("status", "--json").stdout)
    assert summary["scenes"] == api.client.get("/api/scenes").json()["scenes"]
    assert {s["scene_id"]: s["state"] for s in summary["scenes"]} == {"agree-ok": "succeeded", "agree-bad": "failed"}
    # Pages in scene-id order, with the cursor of the next one.
    first = api.client.get("/api/scenes", params={"limit": 1}).json()
    assert [s["scene_id"] for s in first["scenes"]] == ["agree-bad"] and first["next_after"] == "agree-bad"
    second = api.client.get("/api/scenes", params={"limit": 1, "after": first["next_after"]}).json()
    assert [s["scene_id"] for s in second["scenes"]] == ["agree-ok"] and second["next_after"] is None


def _samples(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = api.client.get("/metrics").text
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def test_metrics_parse_and_counters_move_when_runs_happen(make_api: Any, tmp_path: Path) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "retry_policy.yaml").write_text(
        "max_retries: 0\nbase_delay_seconds: 0.1\nmax_delay_seconds: 0.1\nbackoff_factor: 1\n"
    )
    down = tmp_path / "runner-down"
    api = make_api(BPFLOW_POLICY_DIR=str(policy), BPFLOW_RUNNER_DOWN_FILE=str(down))
    before = _samples(api)

    api.run_scene("metrics-ok", "a pantry")
    api.run_scene("metrics-bad", "FAIL here")
    api.rt.bucket.write_json("scenes/metrics-ok/unrelated.json", {})  # matches no trigger
    down.write_text("outage")  # the next job cannot start, and no retry is allowed
    api.rt.bucket.write_json("scenes/metrics-down/test/input.json", {})
    wait_until(lambda: api.rt.bucket.exists("scenes/metrics-down/test/a/.failed"), timeout=60)
    api.rt.dispatcher.drain()
    wait_until(
        lambda: (
            _total(_samples(api), "bpflow_runs_total", workflow="test-stage-a", status="ERROR")
            > _total(before, "bpflow_runs_total", workflow="test-stage-a", status="ERROR")
        ),
        timeout=60,
    )
    after = _samples(api)

    def moved(name: str, **labels: str) -> float:
        return _total(after, name, **labels) - _total(before, name, **labels)

    assert moved("bpflow_runs_total", workflow="test-stage-a", status="SUCCESS") == 1
    assert moved("bpflow_runs_total", workflow="test-stage-a", status="FAILED") == 1
    assert moved("bpflow_runs_total", workflow="test-stage-b", status="SUCCESS") == 1
    assert moved("bpflow_runs_total", workflow="test-request-intake", status="SUCCESS") == 2
    assert (
        moved("bpflow_job_duration_seconds_count", workflow="test-stage-a", job="test-copy-job", status="SUCCEEDED")
        == 1
    )
    assert (
        moved("bpflow_job_duration_seconds_count", workflow="test-stage-a", job="test-copy-job", status="FAILED") == 1
    )
    assert moved("bpflow_job_timeout_usage_ratio_count", job="test-copy-job") == 3
    assert moved("bpflow_job_retry_exhausted_total", workflow="test-stage-a", job="test-copy-job") == 1
    assert moved("bpflow_job_invocations_total", job="test-copy-job", event="start") == 4
    assert moved("bpflow_job_failure_events_total", job="test-copy-job") == 2
    assert moved("bpflow_events_received_total") >= 8
    assert moved("bpflow_events_total", outcome="dispatched") >= 6
    assert moved("bpflow_events_total", outcome="ignored") >= 1
    assert moved("bpflow_dispatch_latency_seconds_count") >= 6
    families = {f.name for f in text_string_to_metric_families(api.client.get("/metrics").text)}
    assert "bpflow_runs_active" in families
    # The run that could not start shows in the scene's view too.
    stage_a = api.client.get("/api/scenes/metrics-down").json()["stages"][1]
    assert stage_a["state"] == "failed" and stage_a["error_code"] == "test_copy_start_failed"


def test_rest_endpoints(api: Api) -> None:
    c = api.client
    dag = c.get("/api/dag").json()
    assert [s["name"] for s in dag["stages"]] == ["intake", "stage-a", "stage-b"] and all(
        s["implemented"] for s in dag["stages"]
    )
    api.run_scene("rest-1", "a garage")
    # Submitting a request for an existing scene is refused; a missing scene id is generated.
    again = c.post("/api/scenes", json={"schema_version": "v1", "scene_id": "rest-1", "prompt": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "scene_exists"
    gen = c.post("/api/scenes", json={"schema_version": "v1", "prompt": "a sunny porch"})
    assert gen.status_code == 201 and gen.json()["scene_id"].startswith("a-sunny-porch-")
    bad = c.post(
        "/api/scenes",
        json={"schema_version": "v1", "scene_id": "rest-2", "prompt": "", "seed_count": 0, "quality_tier": "gold"},
    )
    assert bad.status_code == 400
    assert {p["field"] for p in bad.json()["error"]["details"]["problems"]} == {"prompt", "seed_count", "quality_tier"}
    assert c.post("/api/scenes", content=b"[1, 2]", headers={"content-type": "application/json"}).status_code == 400
    assert not api.rt.bucket.exists("scenes/rest-2/prompts/scene_request.json")

    chain = {"test-request-intake", "test-stage-a", "test-stage-b"}
    runs = [r for r in c.get("/api/runs", params={"scene": "rest-1"}).json() if r["workflow"] in chain]
    assert {r["workflow"] for r in runs} == chain
    assert all(r["state"] == "succeeded" and r["scene_id"] == "rest-1" for r in runs)
    assert c.get("/api/runs", params={"status": "failed", "scene": "rest-1", "workflow": "test-stage-a"}).json() == []
    assert c.get("/api/runs", params={"status": "bogus"}).status_code == 400
    run_a = next(r for r in runs if r["workflow"] == "test-stage-a")
    detail = c.get(f"/api/runs/{run_a['run_id']}").json()
    assert [s["name"] for s in detail["steps"]][:2] == [
        "lock scenes/rest-1/locks/test-stage-a.lock",  # the version check is recorded with it
        "job test-copy-job attempt 1",
    ]
    logs = c.get(f"/api/runs/{run_a['run_id']}/logs").json()
    assert logs["jobs"][0]["exit_code"] == 0 and logs["jobs"][0]["log_available"]
    assert c.get("/api/runs/test-stage-a:scenes/rest-1/nope@1").status_code == 404
    assert c.get("/api/runs/test-stage-a:scenes/..%2F..%2Fx@1").status_code == 400
    # Cancelling a finished run changes nothing.
    assert c.post(f"/api/runs/{run_a['run_id']}/cancel").json()["state"] == "succeeded"

    marker = c.get("/api/scenes/rest-1/markers/test/b/.b_complete").json()
    assert marker["kind"] == "json" and marker["body"]["status"] == "completed"
    assert c.get("/api/scenes/rest-1/markers/test/missing.json").status_code == 404

    # Rerun: the current input version's run exists, so it attaches; --force runs again.
    attached = c.post("/api/scenes/rest-1/rerun", json={"workflow": "test-stage-a"}).json()
    assert attached["attached"] is True and attached["run_id"] == run_a["run_id"]
    forced = c.post("/api/scenes/rest-1/rerun", json={"workflow": "stage-a", "force": True}).json()
    assert forced["attached"] is False and forced["run_id"].startswith(run_a["run_id"] + ":rerun:")
    wait_until(lambda: c.get(f"/api/runs/{forced['run_id']}").json()["run"]["state"] == "succeeded", timeout=60)
    assert c.get("/api/scenes/rest-1").json()["stages"][1]["attempts"] == 2
    assert c.post("/api/scenes/rest-1/rerun", json={"workflow": "no-such-workflow"}).status_code == 404
    assert (
        c.post("/api/scenes/rest-1/rerun", json={"workflow": "test-not-implemented"}).json()["error"]["code"]
        == "not_implemented"
    )

    emitted = c.post("/api/emit", json={"type": "bpflow.test.ping", "id": "e1", "data": {"scene_id": "emitted"}})
    assert emitted.status_code == 202 and emitted.json()["run_ids"] == ["test-custom:bpflow.test.ping:e1"]
    wait_until(lambda: api.rt.bucket.exists("scenes/emitted/test/custom.json"), timeout=30)
    assert any(e["run_id"] == "test-custom:bpflow.test.ping:e1" for e in c.get("/api/events").json())

    api.rt.bucket.write_json(
        "scenes/rest-1/locks/usd-assembly.lock",
        {"workflow": "usd-assembly-pipeline", "run_id": "r1", "owner": "h:1", "created_at": 1.0, "expires_at": 2.0},
    )
    api.rt.bucket.write_json(
        "scenes/rest-1/geniesim/.circuit_breaker.json",
        {"failure_count": 3, "status": "open", "last_failure_reason": "geniesim_export_failed"},
    )
    locks = c.get("/api/locks").json()
    assert [(lk["scene_id"], lk["lock"], lk["expired"]) for lk in locks] == [("rest-1", "usd-assembly", True)]
    breakers = c.get("/api/breakers").json()
    assert breakers[0]["scene_id"] == "rest-1" and breakers[0]["status"] == "open" and breakers[0]["failure_count"] == 3
    ops = c.get("/ops").text
    assert "usd-assembly" in ops and "geniesim_export_failed" in ops
    triggers = {t["workflow"]: t for t in c.get("/api/triggers").json()}
    assert triggers["test-stage-a"]["implemented"] and not triggers["test-not-implemented"]["implemented"]
    assert "source-orchestrator" in c.get("/triggers").text
    page = c.get("/runs", params={"workflow": "test-stage-a", "status": "succeeded"}).text
    assert run_a["run_id"] in page
