"""The `bpflow` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import runtime_env
from tests.support.seed_workflows import SEED_TABLE_WORKFLOWS

SEED_WORKFLOWS = SEED_TABLE_WORKFLOWS


def bpflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bpflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_triggers_json_lists_every_seed_workflow(tmp_path: Path) -> None:
    env = runtime_env(tmp_path)
    del env["BPFLOW_TRIGGER_FILES"]
    proc = bpflow("triggers", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {r["workflow"] for r in rows}
    assert SEED_WORKFLOWS <= names
    assert {"asset-replication-pipeline", "image-to-scene-orchestrator", "image-to-scene-pipeline"} <= names
    for r in rows:
        assert {"workflow", "kind", "patterns", "schedule", "event_type", "enabled"} <= set(r)
        assert r["kind"] in {"object", "schedule", "event", "manual"}
    by = {r["workflow"]: r for r in rows}
    assert by["usd-assembly-pipeline"]["patterns"] == ["scenes/*/assets/.regen3d_complete"]
    assert by["retention-cleanup"]["schedule"] == "0 3 * * *"
    assert by["dwm-preparation-pipeline"]["enabled"] is False
    assert by["retention-cleanup"]["implemented"] is True


def test_triggers_table_and_explain(tmp_path: Path) -> None:
    env = runtime_env(tmp_path)
    table = bpflow("triggers", env=env)
    assert table.returncode == 0 and "source-orchestrator" in table.stdout
    proc = bpflow("triggers", "--explain", "scenes/k1/usd/.usd_complete", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    started = {m["workflow"] for m in result["matches"] if m["started"]}
    assert started == {"episode-generation-pipeline", "arena-export-pipeline"}
    assert {m["scene_id"] for m in result["matches"]} == {"k1"}
    nothing = json.loads(bpflow("triggers", "--explain", "scenes/a/usd/.usd_complete.tmp", "--json", env=env).stdout)
    assert nothing["matches"] == []


def test_config_redacts_secrets(tmp_path: Path) -> None:
    env = runtime_env(
        tmp_path, OPENAI_API_KEY="sk-SENTINEL-cli-1", BPFLOW_DATABASE_URL="postgresql://u:pw-SENTINEL@h/db"
    )
    proc = bpflow("config", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "SENTINEL" not in proc.stdout
    assert json.loads(proc.stdout)


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    env = runtime_env(tmp_path, BPFLOW_HTTP_PORT="not-a-port")
    proc = bpflow("up", env=env)
    assert proc.returncode == 2
    assert "BPFLOW_HTTP_PORT" in proc.stderr and "Traceback" not in proc.stderr
    proc = bpflow("emit", "x.y", "--data", "[1,", env=runtime_env(tmp_path))
    assert proc.returncode == 2 and "data" in proc.stderr and "Traceback" not in proc.stderr


def test_emit_custom_event_and_manual_run_reach_a_running_runtime(runtime: object, tmp_path: Path) -> None:
    import os

    from tests.conftest import wait_until

    env = dict(os.environ)  # the launched runtime's environment: same database and bucket
    proc = bpflow("emit", "bpflow.test.ping", "--id", "emit-1", "--data", '{"scene_id": "emit1"}', "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["run_ids"] == ["test-custom:bpflow.test.ping:emit-1"]
    bucket = runtime.bucket  # type: ignore[attr-defined]
    wait_until(lambda: bucket.exists("scenes/emit1/test/custom.json"), timeout=30)

    proc = bpflow(
        "emit", "manual", "--workflow", "test-custom", "--id", "m1", "--data", '{"scene_id": "emit2"}', env=env
    )
    assert proc.returncode == 0, proc.stderr
    wait_until(lambda: bucket.exists("scenes/emit2/test/custom.json"), timeout=30)


def test_scan_dispatches_a_missed_object(runtime: object) -> None:
    import os

    from tests.conftest import wait_until

    bucket = runtime.bucket  # type: ignore[attr-defined]
    runtime.bucket.remove_listener(runtime.dispatcher.on_write)  # type: ignore[attr-defined]  # the event is "lost"
    bucket.write_json("scenes/missed/test/input.json", {})
    proc = bpflow("scan", "--json", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dispatched"] >= 1
    wait_until(lambda: bucket.exists("scenes/missed/test/a/.a_complete"), timeout=60)
