"""A worker killed mid-job, and files dropped while no worker ran, with real `bpflow up` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bpflow.core.storage.local import LocalBucket
from tests.conftest import runtime_env, wait_until
from tests.engine.test_processes import BPFLOW, _free_port, _log_says, _process


def _job_processes(home: Path, scene: str | None, job: str = "test-copy-job") -> list[int]:
    """Live (not zombie) processes whose environment says they are this home's ``job`` (for
    ``scene``, when given)."""
    wanted = {f"BPFLOW_HOME={home}".encode(), f"BPFLOW_JOB_NAME={job}".encode()} | (
        {f"SCENE_ID={scene}".encode()} if scene else set()
    )
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = set((entry / "environ").read_bytes().split(b"\0"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if state == "Z":
            continue
        if wanted <= env:
            found.append(int(entry.name))
        elif comm == job[:15] and scene is None and f"BPFLOW_HOME={home}".encode() in env:
            # a zygote-forked job: its /proc environ is the launcher's, its name is the job's
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (the job launcher, the jobs, their helpers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return [pid for pid in found if _alive(pid)]


@pytest.mark.parametrize("runner", ["subprocess", "zygote"])
def test_jobs_die_with_a_killed_worker_and_the_run_resumes(tmp_path: Path, runner: str) -> None:
    home = tmp_path / "home"
    env = runtime_env(home, BPFLOW_RUNNER=runner)
    log = tmp_path / "up.log"
    args = [*BPFLOW, "up", "--port", str(_free_port())]
    bucket = LocalBucket(home / "bucket")
    bucket.write_json("scenes/kill1/test/input.json", {"v": 1})
    with _process(args, env, log) as first:
        wait_until(lambda: _log_says(log, "bpflow up:"), timeout=60)
        started = subprocess.run(
            [
                *BPFLOW,
                "emit",
                "manual",
                "--workflow",
                "test-job-outputs",
                "--id",
                "kill1",
                "--data",
                json.dumps({"scene_id": "kill1", "sleep": 600}),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        # the runner opens the job's log once the job runs (a forked job shows the launcher's
        # initial environment in /proc, so it is found as a descendant of the worker instead)
        wait_until(lambda: list((home / "logs" / "jobs").glob("test-copy-job-*.log")), timeout=60)
        jobs = sorted(set(_job_processes(home, "kill1")) | set(_descendants(first.pid)))
        assert jobs
        os.kill(first.pid, signal.SIGKILL)  # the worker only: its jobs lead their own sessions
        first.wait()
        deadline = time.monotonic() + 2.0
        while [p for p in jobs if _alive(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p for p in jobs if _alive(p)] == [], f"job processes {jobs} outlived their worker"


def test_a_file_dropped_while_down_is_picked_up_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = runtime_env(home, BPFLOW_SCAN_INTERVAL_SECONDS="3600")  # only a start-up scan can find it
    log = tmp_path / "up.log"
    args = [*BPFLOW, "up", "--port", str(_free_port())]
    bucket = LocalBucket(home / "bucket")
    with _process(args, env, log):
        wait_until(lambda: _log_says(log, "bpflow up:"), timeout=60)
    path = bucket.path_for("scenes/down1/test/input.json")
    path.parent.mkdir(parents=True)
    path.write_text('{"dropped": "while down"}')  # no watcher, no event: nobody is running
    ready_lines = log.read_text().count("bpflow up:")
    with _process(args, env, log):
        wait_until(lambda: log.read_text().count("bpflow up:") > ready_lines, timeout=60)
        ready = time.monotonic()
        wait_until(lambda: bucket.exists("scenes/down1/test/a/.a_complete"), timeout=120)
        picked_up = time.monotonic() - ready
    print(f"picked up and completed {picked_up:.1f}s after start-up")
