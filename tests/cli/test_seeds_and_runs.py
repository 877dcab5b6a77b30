"""Issue 15 as an operator meets it on the command line, against a running runtime (real
subprocesses, the test chain behind a request intake that fans multi-seed requests out the way
the source orchestrator does): `submit --seeds 2 --wait` ends with the right exit code, parent and
seeds point at each other, `rerun` with a parent id reruns the seeds, short run ids, retry,
`triggers --explain`, and the reconciliation scan's one line per pass."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from bpflow.ops.runs import RunReader, short_run_id
from tests.cli.test_ops_commands import bpflow
from tests.conftest import runtime_env, wait_until
from tests.fixtures.ops_env import chain_values


@pytest.fixture
def chain(make_runtime: Callable[..., Any]) -> Any:
    return make_runtime(**chain_values())


def _submit_wait(prompt: str, scene: str, timeout: int = 120) -> tuple[Any, float]:
    start = time.monotonic()
    proc = bpflow("submit", prompt, "--seeds", "2", "--scene-id", scene, "--wait", "--timeout", str(timeout))
    return proc, time.monotonic() - start


@pytest.mark.long(70)
def test_submit_two_seeds_wait_succeeds_links_both_ways_and_reruns_in_the_seeds(chain: Any) -> None:
    proc, took = _submit_wait("a workshop with two benches", "seeds-ok")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "seeds-ok"
    assert (
        "waiting up to 120 s" in proc.stderr
        and "scene seeds-ok complete (2 seeds: seeds-ok-s001, seeds-ok-s002)" in proc.stderr
    )
    assert "seed seeds-ok-s002: succeeded" in proc.stderr
    assert took < 120
    parent = json.loads(bpflow("status", "seeds-ok", "--json").stdout)
    assert parent["state"] == "succeeded" and parent["parent"] is None
    assert [(c["scene_id"], c["seed"], c["state"]) for c in parent["children"]] == [
        ("seeds-ok-s001", 1, "succeeded"),
        ("seeds-ok-s002", 2, "succeeded"),
    ]
    # The parent's later stages are its seeds' together, never "pending forever".
    stages = {s["name"]: s for s in parent["stages"]}
    assert stages["stage-b"]["state"] == "succeeded" and stages["stage-b"]["detail"] == "2/2 seeds done"
    child = json.loads(bpflow("status", "seeds-ok-s001", "--json").stdout)
    assert child["state"] == "succeeded" and child["parent"] == "seeds-ok" and child["seed"] == 1
    assert child["stages"][0]["state"] == "succeeded" and child["stages"][0]["detail"] == "seed of seeds-ok"
    table = bpflow("status", "seeds-ok-s002")
    assert "seed 2 of seeds-ok" in table.stdout
    listing = {s["scene_id"]: s for s in json.loads(bpflow("status", "--json").stdout)["scenes"]}
    assert listing["seeds-ok-s002"]["parent"] == "seeds-ok" and len(listing["seeds-ok"]["children"]) == 2
    # Piped tables are not cut at 80 columns.
    wide = bpflow("runs", "--workflow", "test-stage-b", env={**chain.env, "COLUMNS": ""})
    assert "test-stage-b:scenes/seeds-ok-s001/test/a/.a_complete@" in wide.stdout

    # `rerun` with the parent's id reruns the stage in each seed, and says so.
    attached = bpflow("rerun", "test-stage-a", "--scene", "seeds-ok")
    assert attached.returncode == 0, attached.stderr
    out = attached.stdout
    assert "seeds-ok is a multi-seed request: test-stage-a runs in its seeds" in out
    assert "seeds-ok-s001: test-stage-a already has a run for this input version" in out
    assert "bpflow rerun test-stage-a --scene seeds-ok-s002 --force" in out
    forced = json.loads(bpflow("rerun", "test-stage-a", "--scene", "seeds-ok", "--force", "--json").stdout)
    assert [r["scene_id"] for r in forced["seeds"]] == ["seeds-ok-s001", "seeds-ok-s002"]
    assert all(not r["attached"] and ":rerun:" in r["run_id"] for r in forced["seeds"])
    reader = RunReader(chain)
    for r in forced["seeds"]:
        wait_until(lambda r=r: (info := reader.find(r["run_id"])) is not None and info.state == "succeeded", timeout=60)


def test_submit_two_seeds_wait_ends_with_failure_within_its_timeout(chain: Any) -> None:
    proc, took = _submit_wait("FAIL both seeds", "seeds-bad", timeout=90)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert took < 90
    assert "seed seeds-bad-s001 failed" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(bpflow("status", "seeds-bad", "--json").stdout)["state"] == "failed"


def _colliding_ids(prefix: str, count: int = 2) -> list[str]:
    """Manual run ids whose short ids share their first four hex digits (birthday search)."""
    seen: dict[str, str] = {}
    for i in range(200_000):
        run_id = f"test-custom:manual:{prefix}{i}"
        head = hashlib.sha1(run_id.encode()).hexdigest()[:4]
        if head in seen:
            return [seen[head], run_id][:count]
        seen[head] = run_id
    raise AssertionError("no collision found")


def test_short_run_ids_retry_and_ambiguous_prefixes(chain: Any) -> None:
    chain.bucket.write_json(
        "scenes/short-bad/prompts/scene_request.json",
        {"schema_version": "v1", "scene_id": "short-bad", "prompt": "FAIL now"},
    )
    wait_until(lambda: chain.bucket.exists("scenes/short-bad/test/a/.failed"), timeout=60)
    failed = json.loads(bpflow("runs", "--status", "failed", "--workflow", "test-stage-a", "--json").stdout)[0]
    assert failed["short_id"] == short_run_id(failed["run_id"]) and len(failed["short_id"]) == 8
    logs = bpflow("logs", failed["short_id"][:6])
    assert logs.returncode == 1 and failed["run_id"] in logs.stdout and "asked to fail" in logs.stdout
    retried = json.loads(bpflow("retry", failed["short_id"][:5], "--json").stdout)
    assert retried["run_id"].startswith(failed["run_id"] + ":rerun:") and retried["previous_state"] == "failed"
    reader = RunReader(chain)
    wait_until(lambda: (r := reader.find(retried["run_id"])) is not None and r.state == "failed", timeout=60)
    # Two runs whose short ids start alike: a 4-digit prefix names neither, with a clear error.
    a, b = _colliding_ids("amb-")
    for run_id in (a, b):
        chain.dispatcher.start_manual("test-custom", {"type": "manual", "data": {}}, run_id=run_id)
    prefix = short_run_id(a)[:4]
    ambiguous = bpflow("logs", prefix, "--json")
    assert ambiguous.returncode == 1, ambiguous.stdout
    error = json.loads(ambiguous.stdout)["error"]
    assert error["code"] == "ambiguous_run_id" and a in error["message"] and b in error["message"]
    assert bpflow("logs", short_run_id(a)).returncode in (0, 1)  # the whole short id is unique
    missing = bpflow("logs", "ffffffffffff", "--json")
    assert json.loads(missing.stdout)["error"]["code"] == "run_not_found"


def test_triggers_explain_marks_workflows_this_build_lacks(tmp_path: Any) -> None:
    env = runtime_env(tmp_path, **chain_values())
    proc = bpflow("triggers", "--explain", "scenes/k1/test/unimplemented.json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "test-not-implemented: matches, but is [not implemented in this build]: never started" in proc.stdout
    assert "starts;" not in proc.stdout
    ok = bpflow("triggers", "--explain", "scenes/k1/test/input.json", env=env)
    assert "test-stage-a: starts;" in ok.stdout


def test_config_filter_and_validate_without_a_scene_id(tmp_path: Any) -> None:
    env = runtime_env(tmp_path)
    some = bpflow("config", "geniesim", env=env)
    assert some.returncode == 0 and "GENIESIM_PORT" in some.stdout and "BPFLOW_HTTP_PORT" not in some.stdout
    assert "matching 'geniesim'" in some.stdout
    data = json.loads(bpflow("config", "TEXT_GEN_MAX", "--json", env=env).stdout)
    assert list(data["settings"]) == ["TEXT_GEN_MAX_SEEDS"]
    request = tmp_path / "my_request.json"
    request.write_text(
        json.dumps({"schema_version": "v1", "prompt": "a bedroom with a bed and a lamp", "seed_count": 2})
    )
    valid = bpflow("validate", str(request), env=env)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "no scene_id (bpflow submit and POST /api/scenes make one from the prompt)" in valid.stdout
    doc = json.loads(bpflow("validate", str(request), "--json", env=env).stdout)
    assert doc["valid"] and doc["scene_id_generated_on_submit"] and doc["request"]["scene_id"] is None
    request.write_text(json.dumps({"schema_version": "v1", "prompt": "", "seed_count": 0}))
    assert bpflow("validate", str(request), env=env).returncode == 1


def test_times_in_another_zone(chain: Any) -> None:
    chain.bucket.write_json(
        "scenes/tz-1/prompts/scene_request.json", {"schema_version": "v1", "scene_id": "tz-1", "prompt": "a hall"}
    )
    wait_until(lambda: chain.bucket.exists("scenes/tz-1/test/b/.b_complete"), timeout=60)
    utc = bpflow("status", "tz-1")
    assert "Z " in utc.stdout or "Z│" in utc.stdout.replace(" ", "")
    paris = bpflow("status", "tz-1", "--tz", "Asia/Tokyo")
    assert paris.returncode == 0 and "JST" in paris.stdout
    bad = bpflow("runs", "--tz", "Mars/Olympus")
    assert bad.returncode == 2 and "time zone" in bad.stderr


def test_the_scan_logs_one_summary_line_per_pass(chain: Any, caplog: pytest.LogCaptureFixture) -> None:
    from bpflow.core.events.scan import Scanner

    for i in range(3):
        chain.bucket.write_json(f"scenes/scan-{i}/test/unimplemented.json", {})
    chain.dispatcher.drain()  # the writes' own events say it once each, at INFO: that is not the scan
    caplog.set_level(logging.INFO)
    caplog.clear()
    scanner = Scanner(chain, interval_seconds=3600)
    scanner.start()
    try:
        wait_until(lambda: any(r.name == "bpflow.scan" for r in caplog.records), timeout=20)
        chain.dispatcher.drain()
    finally:
        scanner.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "bpflow.scan" and r.levelno >= logging.INFO]
    assert len(lines) == 1, lines
    assert "not implemented in this build, not started: test-not-implemented (3)" in lines[0]
    noisy = [r for r in caplog.records if r.levelno >= logging.INFO and "has no implementation" in r.getMessage()]
    assert noisy == []
