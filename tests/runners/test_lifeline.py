"""A resumed job step never races an older attempt: the group a crashed worker's attempt left
behind is killed before the step runs again, and only if it is still that very process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpflow.core.runners import lifeline
from bpflow.core.runners.base import JobSpec
from bpflow.core.runners.subprocess import SubprocessRunner
from bpflow.core.runners.zygote import ZygoteRunner


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _alive(pid)


def _group_members(pgid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == pgid:
            continue
        try:
            if os.getpgid(int(name)) == pgid and _alive(int(name)):
                out.append(int(name))
        except OSError:
            continue
    return out


def test_a_recorded_older_attempt_is_killed_with_its_helpers(tmp_path: Path) -> None:
    # An attempt of a job step (leader + helper in one group), as a crashed worker left it.
    leader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess,sys,time; subprocess.Popen([sys.executable,'-c','import time; time.sleep(600)']); time.sleep(600)",
        ],
        start_new_session=True,
    )
    lifeline.record_attempt(str(tmp_path), "run-1/some-job", leader.pid)
    time.sleep(0.3)
    helpers = _group_members(leader.pid)
    assert helpers, "the helper did not start"
    assert lifeline.fence_previous(str(tmp_path), "run-1/some-job")
    leader.wait(timeout=10)
    assert all(_wait_dead(pid) for pid in helpers)


def test_a_reused_pid_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        (tmp_path / "x").mkdir()
        lifeline.record_attempt(str(tmp_path / "x"), "run-2/job", other.pid)
        entry = next((tmp_path / "x").iterdir())
        pid, started = entry.read_text().split()
        entry.write_text(f"{pid} {int(started) - 1}")  # the recorded process started at another time
        assert not lifeline.fence_previous(str(tmp_path / "x"), "run-2/job")
        assert other.poll() is None
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait()


@pytest.mark.parametrize("runner", [SubprocessRunner, ZygoteRunner])
def test_the_runner_clears_its_record_when_the_job_ends(
    tmp_path: Path, runner: type[SubprocessRunner | ZygoteRunner]
) -> None:
    logs = tmp_path / "logs" / "jobs"
    runner().run(
        JobSpec(
            name="noop-job",
            env={"BPFLOW_RUN_ID": "run-3", "BPFLOW_BUCKET_URL": f"file://{tmp_path}/bucket"},
            timeout_seconds=60,
            log_dir=str(logs),
        )
    )
    attempts = tmp_path / "logs" / "attempts"
    assert not attempts.exists() or list(attempts.iterdir()) == []
