"""`bpflow schedules`: what is installed, paused or off, with last/next run in local time and UTC;
pause/resume from the CLI survive a restart; a row's paused flag installs it paused."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from dbos import DBOS

from bpflow.cli.schedules_cmd import schedules_command
from bpflow.core.engine.schedules import schedule_rows
from tests.conftest import runtime_env


def _rows(rt: Any, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    return {r["workflow"]: r for r in schedule_rows(rt, DBOS, now)}


def test_every_schedule_row_is_listed_with_its_state_and_next_run(make_runtime: Any) -> None:
    rt = make_runtime(ENABLE_TEXT_AUTONOMY_DAILY="true")
    rows = _rows(rt, datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    assert {
        "retention-cleanup",
        "text-autonomy-daily",
        "scene-generation-pipeline",
        "genie-sim-import-poller",
        "delivery-integrity-audit",
    } <= set(rows)
    daily = rows["text-autonomy-daily"]
    assert daily["state"] == "active" and daily["timezone"] == "America/New_York"
    assert daily["next_run"] == {
        "local": "2026-03-08T09:00:00-04:00",
        "utc": "2026-03-08T13:00:00Z",
    }  # after the DST change
    assert rows["retention-cleanup"]["next_run"]["utc"] == "2026-03-08T03:00:00Z"
    assert (
        rows["scene-generation-pipeline"]["enabled"] is False
        and rows["scene-generation-pipeline"]["state"] == "not installed"
    )


def test_pause_and_resume_from_the_cli_survive_a_restart(make_runtime: Any) -> None:
    rt = make_runtime(ENABLE_TEXT_AUTONOMY_DAILY="true")
    assert schedules_command(action="pause", workflow="text-autonomy-daily", json_output=True) == 0
    assert DBOS.get_schedule("bpflow:text-autonomy-daily")["status"] == "PAUSED"
    assert _rows(rt)["text-autonomy-daily"]["next_run"] is None
    rt.shutdown()
    rt2 = make_runtime(ENABLE_TEXT_AUTONOMY_DAILY="true")  # same home: the pause is kept
    assert _rows(rt2)["text-autonomy-daily"]["state"] == "paused"
    schedules_command(action="resume", workflow="text-autonomy-daily", json_output=True)
    assert _rows(rt2)["text-autonomy-daily"]["state"] == "active"


def test_the_paused_flag_installs_the_schedule_paused(make_runtime: Any) -> None:
    rt = make_runtime(ENABLE_TEXT_AUTONOMY_DAILY="true", TEXT_AUTONOMY_SCHEDULER_PAUSED="true")
    assert _rows(rt)["text-autonomy-daily"]["state"] == "paused"


def test_the_cli_reads_schedules_from_the_database_and_refuses_an_unknown_one(make_runtime: Any, tmp_path: Any) -> None:
    rt = make_runtime(ENABLE_TEXT_AUTONOMY_DAILY="true")
    rt.shutdown()
    env = runtime_env(tmp_path / "home", ENABLE_TEXT_AUTONOMY_DAILY="true", COLUMNS="200")

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bpflow.cli", "schedules", *a], env=env, capture_output=True, text=True, timeout=120
        )

    out = run("--json")
    assert out.returncode == 0, out.stderr
    rows = {r["workflow"]: r for r in json.loads(out.stdout)}
    assert rows["text-autonomy-daily"]["state"] == "active" and rows["text-autonomy-daily"]["next_run"]["utc"].endswith(
        ":00:00Z"
    )
    bad = run("pause", "scene-generation-pipeline")
    assert bad.returncode == 1 and "schedule_not_installed" in bad.stderr and "Traceback" not in bad.stderr
    table = run()
    assert table.returncode == 0 and "text-autonomy-daily" in table.stdout and "America/New_York" in table.stdout
