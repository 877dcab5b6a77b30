"""retention-cleanup on the real runtime: installed as a daily schedule, deletes by age rules
through its job, logs one JSON line per deletion."""

from __future__ import annotations

import os
import time
from typing import Any

from dbos import DBOS

from tests.conftest import wait_until

DAY = 86400


def _age(rt: Any, key: str, days: float) -> None:
    path = rt.bucket.path_for(key)
    t = time.time() - days * DAY
    os.utime(path, (t, t))


def test_schedule_is_installed_daily_at_three_utc(runtime: Any) -> None:
    sched = DBOS.get_schedule("bpflow:retention-cleanup")
    assert sched is not None
    assert sched["schedule"] == "0 3 * * *"
    assert sched["cron_timezone"] == "Etc/UTC"


def test_scheduled_tick_runs_cleanup_with_the_schedule_run_id(runtime: Any) -> None:
    b = runtime.bucket
    b.write("scenes/r1/input/photo.png", b"x")
    _age(runtime, "scenes/r1/input/photo.png", 120)
    DBOS.trigger_schedule("bpflow:retention-cleanup")

    def finished() -> list[Any]:
        return [w for w in DBOS.list_workflows(name="retention-cleanup") if w.status in ("SUCCESS", "ERROR")]

    runs = wait_until(finished, timeout=60)
    assert runs[0].workflow_id.startswith("retention-cleanup:0 3 * * *@")
    assert runs[0].status == "SUCCESS"
    assert not b.exists("scenes/r1/input/photo.png")


def test_manual_run_deletes_by_class_and_keeps_the_rest(runtime: Any) -> None:
    b = runtime.bucket
    objects = {
        "scenes/s1/input/a.png": 100,  # inputs 90 d → deleted
        "scenes/s1/input/new.png": 10,  # kept
        "scenes/s1/layout/scene_layout.json": 31,  # intermediate 30 d → deleted
        "scenes/s1/usd/scene.usda": 200,  # outputs 365 d → kept
        "scenes/s1/usd/.failed": 31,  # marker 30 d wins over the usd/ folder → deleted
        "scenes/s1/prompts/scene_request.json": 1000,  # never considered → kept
        "automation/text_daily/state.json": 1000,  # outside scenes/ → kept
    }
    for key, days in objects.items():
        b.write(key, b"{}")
        _age(runtime, key, days)
    out = runtime.dispatcher.start_manual("retention-cleanup", {"dry_run": "false"})
    result = DBOS.retrieve_workflow(out.run_ids[0]).get_result()
    assert result["status"] == "SUCCESS"
    assert result["message"].startswith("Retention cleanup triggered for bucket")
    remaining = {k for k in objects if b.exists(k)}
    assert remaining == {
        "scenes/s1/input/new.png",
        "scenes/s1/usd/scene.usda",
        "scenes/s1/prompts/scene_request.json",
        "automation/text_daily/state.json",
    }


def test_dry_run_deletes_nothing(runtime: Any) -> None:
    b = runtime.bucket
    b.write("scenes/d1/input/a.png", b"x")
    _age(runtime, "scenes/d1/input/a.png", 100)
    out = runtime.dispatcher.start_manual("retention-cleanup", {"dry_run": "true"})
    assert DBOS.retrieve_workflow(out.run_ids[0]).get_result()["status"] == "SUCCESS"
    assert b.exists("scenes/d1/input/a.png")


def test_one_json_log_line_per_deletion_is_kept(runtime: Any) -> None:
    import json
    from pathlib import Path

    b = runtime.bucket
    for i in range(3):
        b.write(f"scenes/l{i}/input/a.png", b"x")
        _age(runtime, f"scenes/l{i}/input/a.png", 100)
    out = runtime.dispatcher.start_manual("retention-cleanup", {})
    assert DBOS.retrieve_workflow(out.run_ids[0]).get_result()["status"] == "SUCCESS"
    logs = list((Path(runtime.settings.home) / "logs" / "jobs").glob("retention-cleanup-job-*.log"))
    assert len(logs) == 1
    lines = [json.loads(line) for line in logs[0].read_text().splitlines() if line.startswith("{")]
    deleted = sorted(rec["path"] for rec in lines if rec.get("action") == "deleted")
    assert deleted == [f"scenes/l{i}/input/a.png" for i in range(3)]
    assert lines[-1]["action"] == "summary" and lines[-1]["deleted"] == 3
