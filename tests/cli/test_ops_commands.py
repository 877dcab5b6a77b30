"""`bpflow status / runs / rerun / logs` as a user runs them (real subprocesses) against a
running runtime, and `watch_scene` (what `bpflow submit --wait` and the demo call)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bpflow.ops.runs import RunReader
from tests.conftest import runtime_env, wait_until
from tests.fixtures.ops_env import chain_values


def bpflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**(env or os.environ), "COLUMNS": "220"}  # tables are not wrapped mid-word
    return subprocess.run(
        [sys.executable, "-m", "bpflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def request(rt: Any, scene: str, prompt: str) -> None:
    rt.bucket.write_json(
        f"scenes/{scene}/prompts/scene_request.json", {"schema_version": "v1", "scene_id": scene, "prompt": prompt}
    )


@pytest.fixture
def chain_rt(make_runtime: Callable[..., Any]) -> Any:
    rt = make_runtime(**chain_values())
    request(rt, "cli-ok", "a workshop")
    request(rt, "cli-bad", "FAIL this one")
    wait_until(
        lambda: (
            rt.bucket.exists("scenes/cli-ok/test/b/.b_complete") and rt.bucket.exists("scenes/cli-bad/test/a/.failed")
        ),
        timeout=60,
    )
    return rt


def test_status_table_json_and_exit_codes(chain_rt: Any) -> None:
    ok = bpflow("status", "cli-ok")
    assert ok.returncode == 0, ok.stderr
    for text in ("stage-a", "succeeded", "test/b/.b_complete"):
        assert text in ok.stdout
    bad = bpflow("status", "cli-bad")
    assert bad.returncode == 1
    assert "test_copy_failed" in bad.stdout and "exit 3" in bad.stdout
    data = json.loads(bpflow("status", "cli-bad", "--json").stdout)
    stages = {s["name"]: s for s in data["stages"]}
    assert data["state"] == "failed"
    assert stages["stage-a"]["state"] == "failed" and stages["stage-a"]["error_code"] == "test_copy_failed"
    assert stages["stage-a"]["attempts"] == 1 and stages["stage-a"]["duration_seconds"] > 0
    assert stages["stage-a"]["marker"]["key"] == "scenes/cli-bad/test/a/.failed"
    assert stages["stage-b"]["state"] == "pending"
    lines = {s["scene_id"]: s for s in json.loads(bpflow("status", "--json").stdout)["scenes"]}
    assert lines["cli-ok"]["state"] == "succeeded" and lines["cli-ok"]["done"] == 3
    assert lines["cli-bad"]["failed"] == [{"stage": "stage-a", "error_code": "test_copy_failed"}]
    # Usage errors exit 2, an unknown scene 1, both without a traceback.
    for args, code in ((("status", ".."), 2), (("status", "no-such-scene"), 1)):
        proc = bpflow(*args)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
    assert json.loads(bpflow("status", "no-such-scene", "--json").stdout)["error"]["code"] == "scene_not_found"


def test_runs_filters(chain_rt: Any) -> None:
    rows = json.loads(bpflow("runs", "--json", "--limit", "100").stdout)
    assert {"test-request-intake", "test-stage-a", "test-stage-b"} <= {r["workflow"] for r in rows}
    failed = json.loads(bpflow("runs", "--status", "failed", "--workflow", "test-stage-a", "--json").stdout)
    assert [r["scene_id"] for r in failed] == ["cli-bad"]
    assert failed[0]["outcome"]["message"] == "copy job failed"
    by_scene = json.loads(bpflow("runs", "--scene", "cli-ok", "--workflow", "test-stage-b", "--json").stdout)
    assert len(by_scene) == 1 and by_scene[0]["state"] == "succeeded"
    table = bpflow("runs", "--workflow", "test-stage-a")
    assert table.returncode == 0 and "cli-bad" in table.stdout
    bad = bpflow("runs", "--status", "sideways")
    assert bad.returncode == 2 and "status" in bad.stderr


@pytest.mark.long(70)
def test_rerun_attaches_to_the_current_input_then_force_runs_again(chain_rt: Any) -> None:
    first = json.loads(bpflow("rerun", "test-stage-a", "--scene", "cli-ok", "--json").stdout)
    assert first["attached"] is True and first["previous_state"] == "succeeded"
    gen = chain_rt.bucket.stat("scenes/cli-ok/test/input.json").generation
    assert first["run_id"] == f"test-stage-a:scenes/cli-ok/test/input.json@{gen}"
    forced = bpflow("rerun", "stage-a", "--scene", "cli-ok", "--force")
    assert forced.returncode == 0 and "started test-stage-a:scenes/cli-ok/test/input.json@" in forced.stdout
    run_id = forced.stdout.split("started ", 1)[1].split()[0]
    reader = RunReader(chain_rt)
    wait_until(lambda: (r := reader.find(run_id)) is not None and r.state == "succeeded", timeout=60)
    status = json.loads(bpflow("status", "cli-ok", "--json").stdout)
    assert status["stages"][1]["attempts"] == 2 and status["state"] == "succeeded"
    # A new input version: the plain rerun starts a new run id.
    chain_rt.bucket.write_json("scenes/cli-ok/test/input.json", {"again": True})
    wait_until(
        lambda: (
            chain_rt.bucket.stat("scenes/cli-ok/test/a/.a_complete").updated
            > chain_rt.bucket.stat("scenes/cli-ok/test/input.json").updated
        ),
        timeout=60,
    )
    again = json.loads(bpflow("rerun", "test-stage-a", "--scene", "cli-ok", "--json").stdout)
    assert (
        again["attached"] is True
        and again["generation"] == chain_rt.bucket.stat("scenes/cli-ok/test/input.json").generation
    )
    for args, code, err in (
        (("rerun", "no-such-workflow", "--scene", "cli-ok"), 2, "workflow_not_found"),
        (("rerun", "test-not-implemented", "--scene", "cli-ok"), 1, "not_implemented"),
        (("rerun", "test-stage-a", "--scene", "never-seen"), 1, "trigger_missing"),
        (("rerun", "test-custom", "--scene", "cli-ok"), 1, "rerun_unsupported"),
        (("rerun", "test-stage-a", "--scene", ".."), 2, "invalid_scene_id"),
    ):
        proc = bpflow(*args, "--json")
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["error"]["code"] == err


def test_logs_show_steps_and_the_whole_job_log(chain_rt: Any) -> None:
    failed = json.loads(bpflow("runs", "--status", "failed", "--workflow", "test-stage-a", "--json").stdout)[0]
    proc = bpflow("logs", failed["run_id"])
    assert proc.returncode == 1
    assert "job test-copy-job attempt 1" in proc.stdout and "asked to fail" in proc.stdout and "exit 3" in proc.stdout
    data = json.loads(bpflow("logs", failed["run_id"], "--json").stdout)
    job = data["jobs"][0]
    assert (
        job["log"].strip() == "asked to fail"
        and job["exit_code"] == 3
        and job["execution_id"].startswith("test-copy-job-")
    )
    assert [s["name"] for s in data["steps"]][-1].startswith("unlock ")
    ok = json.loads(bpflow("runs", "--status", "succeeded", "--workflow", "test-stage-b", "--json").stdout)[0]
    assert bpflow("logs", ok["run_id"]).returncode == 0
    missing = bpflow("logs", "test-stage-a:scenes/x/test/input.json@1", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "run_not_found"


def test_status_on_a_home_without_a_database_reads_markers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = runtime_env(home, **chain_values())
    scene = home / "bucket" / "scenes" / "dry" / "test"
    (scene / "a").mkdir(parents=True)
    (scene / "input.json").write_text("{}")
    (scene / "a" / ".a_complete").write_text('{"status": "completed"}')
    proc = bpflow("status", "dry", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "markers only" in proc.stderr
    states = {s["name"]: s["state"] for s in json.loads(proc.stdout)["stages"]}
    assert states == {"intake": "succeeded", "stage-a": "succeeded", "stage-b": "pending"}
    runs = bpflow("runs", env=env)
    assert runs.returncode == 1 and "bpflow up" in runs.stderr


def _watch(scene: str, **kw: Any) -> tuple[int, str]:
    from bpflow.cli.progress import watch_scene

    out = io.StringIO()
    code = watch_scene(scene, console=Console(file=out, width=120, **kw), poll_seconds=0.05, timeout=90)
    return code, out.getvalue()


def test_watch_scene_follows_a_scene_to_its_end(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(**chain_values())
    request(rt, "watch-ok", "a bakery")
    code, text = _watch("watch-ok")
    assert code == 0, text
    assert "watch-ok stage-b: succeeded" in text and "scene watch-ok complete" in text
    assert text.index("intake: succeeded") < text.index("stage-a: succeeded") < text.index("stage-b: succeeded")
    request(rt, "watch-bad", "FAIL please")
    code, text = _watch("watch-bad", force_terminal=True)  # the live progress-bar display
    assert code == 1
    assert "stage-a failed: test_copy_failed" in text
    from bpflow.cli.progress import watch_scene

    # A scene that never shows up, and a wait that ends first, are failures of the wait.
    assert watch_scene("watch-ok", timeout=0.0, console=Console(file=io.StringIO())) == 0  # already complete
    rt.bucket.write_json("scenes/watch-slow/test/unimplemented.json", {})
    out = io.StringIO()
    assert watch_scene("watch-slow", timeout=0.3, console=Console(file=out), poll_seconds=0.05) == 124
    assert "watch-slow" in out.getvalue()
