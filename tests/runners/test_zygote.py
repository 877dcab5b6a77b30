"""The pre-forked launcher: a forked job looks like a fresh process, and dies with its worker
even though its parent is the launcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bpflow.core.runners import ZygoteRunner
from bpflow.core.runners.zygote import _launcher

from .test_runners import FIXTURE_JOB, _fixture_job, _import_root, spec, wait_dead  # noqa: F401 - autouse: registers the fixture job


def _state(result_stdout: str) -> dict[str, object]:
    return json.loads(result_stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_forked_job_is_a_fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_API_KEY", "sk-not-for-jobs-123456")
    monkeypatch.setenv("BPFLOW_API_TOKEN", "token-not-for-jobs-123456")
    runner = ZygoteRunner()
    first, second = (runner.run(spec("state")) for _ in range(2))
    assert first.succeeded and second.succeeded, first.stderr_tail
    a, b = _state(first.stdout_tail), _state(second.stdout_tail)
    launcher = _launcher(sys.executable)
    assert launcher is not None
    for state in (a, b):
        assert state["pid"] == state["pgid"] == state["sid"]  # own session and process group
        assert state["ppid"] == launcher.proc.pid  # forked by the launcher, not a fresh interpreter
        assert state["sigterm_default"] and state["sigint_python"]
        assert state["threads"] == 1 or state["threads"] == 2  # the job's lifeline watcher at most
        env = set(state["env"])  # type: ignore[arg-type]
        assert "SOME_SERVICE_API_KEY" not in env and "BPFLOW_API_TOKEN" not in env  # the allowlist
        assert "FIXTURE_MODE" in env and "BPFLOW_EXECUTION_ID" in env
        assert state["cwd"] == os.getcwd()
    assert a["random"] != b["random"]  # reseeded: forked children do not replay one random stream
    # the launcher never held a secret either
    launcher_env = Path(f"/proc/{launcher.proc.pid}/environ").read_bytes()
    assert b"sk-not-for-jobs" not in launcher_env and b"token-not-for-jobs" not in launcher_env


def test_interpreter_start_settings_get_a_fresh_interpreter() -> None:
    """PYTHONHASHSEED is read when an interpreter starts: a job asking for its own gets one."""
    result = ZygoteRunner().run(spec("state", PYTHONHASHSEED="123"))
    assert result.succeeded, result.stderr_tail
    fresh = subprocess.run(
        [sys.executable, "-c", "print(hash('bpflow'))"],
        env={**os.environ, "PYTHONHASHSEED": "123"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert _state(result.stdout_tail)["hash"] == int(fresh.stdout)


WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from bpflow.jobs import register_job
    from bpflow.core.runners import {runner}
    from bpflow.core.runners.base import JobSpec
    register_job({job!r}, {module!r})
    {runner}().run(JobSpec(name={job!r}, env={env!r}, timeout_seconds=600))
    """
)


@pytest.mark.parametrize("runner", ["ZygoteRunner", "SubprocessRunner"])
def test_a_job_dies_with_its_killed_worker(tmp_path: Path, runner: str) -> None:
    pid_file = tmp_path / "grandchild.pid"
    env = {"FIXTURE_MODE": "grandchild", "FIXTURE_PID_FILE": str(pid_file), "PYTHONPATH": _import_root()}
    code = WORKER.format(
        root=_import_root(), runner=runner, job=FIXTURE_JOB, module="tests.runners.jobs_fixture", env=env
    )
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=_import_root())
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
        job = os.getpgid(grandchild)  # the job leads the grandchild's group
        launchers = [
            int(p)
            for p in subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
        ]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        for pid in (job, grandchild, *launchers):
            assert wait_dead(pid, within=2.0), (
                f"process {pid} outlived its worker: "
                + Path(f"/proc/{pid}/cmdline").read_text()
                + " ppid "
                + Path(f"/proc/{pid}/stat").read_text()
            )
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
