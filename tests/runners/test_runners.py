"""Runners against real jobs: exit codes, env contract, timeouts, process groups, outages."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bpflow.core.errors import ConfigError, JobStartError, StorageError
from bpflow.core.jobkit import env_bool, env_int, env_str, job_context, run_main
from bpflow.core.runners import InProcessRunner, JobSpec, Runner, SubprocessRunner, ZygoteRunner, get_runner
from bpflow.core.storage.local import LocalBucket
from bpflow.jobs import JOBS, register_job

from . import jobs_fixture

FIXTURE_JOB = "fixture-job"
FIXTURE_MODULE = jobs_fixture.__name__


def _import_root() -> str:
    """The sys.path entry under which FIXTURE_MODULE is importable, however pytest named it."""
    depth = FIXTURE_MODULE.count(".")
    return str(Path(jobs_fixture.__file__).resolve().parents[depth])


@pytest.fixture(autouse=True)
def _fixture_job() -> None:
    register_job(FIXTURE_JOB, FIXTURE_MODULE)


#: Every process runner keeps the same contract: each test of a process runner runs against both.
PROCESS_RUNNERS = [SubprocessRunner, ZygoteRunner]


@pytest.fixture(params=PROCESS_RUNNERS, ids=["subprocess", "zygote"])
def Proc(request: pytest.FixtureRequest) -> Callable[..., Runner]:  # noqa: N802 - it stands for a runner class
    return request.param  # type: ignore[no-any-return]


def spec(mode: str, timeout: float = 60.0, **env: str) -> JobSpec:
    base = {"FIXTURE_MODE": mode, "PYTHONPATH": _import_root()}
    return JobSpec(name=FIXTURE_JOB, env={**base, **env}, timeout_seconds=timeout)


def alive(pid: int) -> bool:
    """A zombie counts as dead: it runs nothing, and init may be slow to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def wait_dead(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def read_pid(path: Path) -> int:
    return int(path.read_text())


# --- subprocess runner -------------------------------------------------------------------


def test_subprocess_success_and_env_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, Proc: Callable[..., Runner]
) -> None:
    monkeypatch.setenv("FIXTURE_INHERITED", "from-parent")
    monkeypatch.setenv("FIXTURE_OVERRIDE", "parent")
    # Jobs get an allowlist of the service env: the operator names extra variables to pass on.
    monkeypatch.setenv("BPFLOW_JOB_ENV_PASSTHROUGH", "FIXTURE_INHERITED,FIXTURE_OVERRIDE")
    result = Proc().run(
        spec(
            "ok",
            BUCKET="blueprint-scenes",
            SCENE_ID="scene-1",
            BPFLOW_BUCKET_URL=f"file://{tmp_path}",
            BPFLOW_RUN_ID="wf:scenes/scene-1/x@1",
            FIXTURE_OVERRIDE="spec",
        )
    )
    assert result.succeeded and result.exit_code == 0 and not result.timed_out
    env = json.loads(result.stdout_tail.strip().splitlines()[-1])["env"]
    assert env["BUCKET"] == "blueprint-scenes"
    assert env["SCENE_ID"] == "scene-1"
    assert env["BPFLOW_BUCKET_URL"] == f"file://{tmp_path}"
    assert env["BPFLOW_RUN_ID"] == "wf:scenes/scene-1/x@1"
    assert env["BPFLOW_JOB_NAME"] == FIXTURE_JOB
    assert env["BPFLOW_EXECUTION_ID"] == result.execution_id and result.execution_id.startswith(FIXTURE_JOB + "-")
    assert env["FIXTURE_INHERITED"] == "from-parent"  # a passthrough name of os.environ reaches the job
    assert env["FIXTURE_OVERRIDE"] == "spec"  # the spec env wins
    assert result.duration_seconds > 0


@pytest.mark.parametrize(
    ("mode", "code"),
    [("exit", 3), ("system_exit", 4), ("raise", 1), ("bad_param", 2)],
)
def test_subprocess_failures_are_results_not_exceptions(mode: str, code: int, Proc: Callable[..., Runner]) -> None:
    result = Proc().run(spec(mode))
    assert result.exit_code == code and not result.succeeded and not result.timed_out
    if mode == "raise":
        assert "Traceback" in result.stderr_tail and "fixture exploded" in result.stderr_tail
    if mode == "bad_param":
        line = json.loads(result.stderr_tail.strip())
        assert line["error"]["code"] == "invalid_config" and "Traceback" not in result.stderr_tail


@pytest.mark.parametrize("ignore_term", [False, True])
def test_subprocess_timeout_kills_whole_process_group(
    tmp_path: Path, ignore_term: bool, Proc: Callable[..., Runner]
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    env = {"FIXTURE_PID_FILE": str(pid_file)}
    if ignore_term:
        env["FIXTURE_IGNORE_TERM"] = "1"
    started = time.monotonic()
    result = Proc(grace_seconds=0.5).run(spec("grandchild", timeout=2.0, **env))
    assert result.timed_out and result.exit_code is None and not result.succeeded
    assert time.monotonic() - started < 10
    grandchild = read_pid(pid_file)
    assert wait_dead(grandchild), f"grandchild {grandchild} survived the timeout"


def test_subprocess_kills_leftovers_of_a_finished_job(tmp_path: Path, Proc: Callable[..., Runner]) -> None:
    pid_file = tmp_path / "leftover.pid"
    started = time.monotonic()
    result = Proc().run(spec("leftover", FIXTURE_PID_FILE=str(pid_file)))
    assert result.succeeded
    assert time.monotonic() - started < 4  # not stuck on the pipes the grandchild inherited
    assert wait_dead(read_pid(pid_file))


def test_subprocess_large_output_does_not_deadlock(Proc: Callable[..., Runner]) -> None:
    result = Proc().run(spec("big_output", timeout=60.0, FIXTURE_BYTES="5000000"))
    assert result.succeeded
    assert result.stdout_tail.endswith("END-OUT\n") and result.stderr_tail.endswith("END-ERR\n")
    assert len(result.stdout_tail.encode()) <= 8192 and len(result.stderr_tail.encode()) <= 8192


def test_runner_down_file_is_a_retryable_start_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, Proc: Callable[..., Runner]
) -> None:
    down = tmp_path / "runner.down"
    monkeypatch.setenv("BPFLOW_RUNNER_DOWN_FILE", str(down))
    assert Proc().run(spec("ok")).succeeded  # switch configured but off
    down.touch()
    for runner in (Proc(), InProcessRunner()):
        with pytest.raises(JobStartError) as info:
            runner.run(spec("ok"))
        assert info.value.retryable and info.value.code == "runner_unavailable"
    down.unlink()
    assert Proc().run(spec("ok")).succeeded  # outage over


@pytest.mark.parametrize(
    "runner", [SubprocessRunner(), ZygoteRunner(), InProcessRunner()], ids=["subprocess", "zygote", "inprocess"]
)
def test_unknown_job_is_a_non_retryable_start_failure(runner: Runner) -> None:
    with pytest.raises(JobStartError) as info:
        runner.run(JobSpec(name="no-such-job", env={}, timeout_seconds=5))
    assert not info.value.retryable and info.value.code == "unknown_job"


@pytest.mark.parametrize(
    "runner", [SubprocessRunner(), ZygoteRunner(), InProcessRunner()], ids=["subprocess", "zygote", "inprocess"]
)
def test_missing_module_is_a_non_retryable_start_failure(runner: Runner) -> None:
    register_job("ghost-job", "bpflow.jobs.does_not_exist")
    try:
        with pytest.raises(JobStartError) as info:
            runner.run(JobSpec(name="ghost-job", env={}, timeout_seconds=30))
        assert not info.value.retryable and info.value.code == "job_module_not_found"
    finally:
        JOBS.pop("ghost-job", None)


def test_missing_executable_is_a_start_failure(Proc: Callable[..., Runner]) -> None:
    with pytest.raises(JobStartError) as info:
        Proc(python="/nonexistent/python3").run(spec("ok"))
    assert info.value.code == "runner_exec_failed"


def test_invalid_spec_is_rejected_before_start(Proc: Callable[..., Runner]) -> None:
    bad = JobSpec(name=FIXTURE_JOB, env={"N": 3}, timeout_seconds=5)  # type: ignore[dict-item]
    with pytest.raises(JobStartError) as info:
        Proc().run(bad)
    assert not info.value.retryable and info.value.code == "invalid_job_spec"


def test_noop_job_runs_for_real(tmp_path: Path, Proc: Callable[..., Runner]) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    env = {"BPFLOW_BUCKET_URL": bucket.url, "BUCKET": "b", "SCENE_ID": "s1", "BPFLOW_RUN_ID": "r1"}
    for runner in (Proc(), InProcessRunner()):
        result = runner.run(JobSpec(name="noop-job", env=env, timeout_seconds=60))
        assert result.succeeded, result.stderr_tail
        line = json.loads(result.stdout_tail.strip().splitlines()[-1])
        assert line == {"action": "noop", "bucket": bucket.url, "scene": "s1", "run_id": "r1"}
    assert list(bucket.list()) == []  # a no-op writes nothing


def test_noop_job_without_bucket_url_is_bad_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BPFLOW_BUCKET_URL", raising=False)
    result = InProcessRunner().run(JobSpec(name="noop-job", env={}, timeout_seconds=10))
    assert result.exit_code == 2 and "BPFLOW_BUCKET_URL" in result.stderr_tail


# --- in-process runner -------------------------------------------------------------------


def test_inprocess_success_captures_output_and_scopes_env() -> None:
    before = dict(os.environ)
    result = InProcessRunner().run(spec("ok", SCENE_ID="s-in", BUCKET="bk"))
    assert result.succeeded
    env = json.loads(result.stdout_tail.strip())["env"]
    assert env["SCENE_ID"] == "s-in" and env["BUCKET"] == "bk" and env["BPFLOW_JOB_NAME"] == FIXTURE_JOB
    assert dict(os.environ) == before  # nothing leaked into the process env


@pytest.mark.parametrize(
    ("mode", "code"),
    [("exit", 3), ("system_exit", 4), ("raise", 1), ("bad_param", 2)],
)
def test_inprocess_failures(mode: str, code: int) -> None:
    result = InProcessRunner().run(spec(mode))
    assert result.exit_code == code and not result.succeeded and not result.timed_out
    if mode == "raise":
        assert "Traceback" in result.stderr_tail and "fixture exploded" in result.stderr_tail


def test_inprocess_timeout_abandons_the_thread() -> None:
    started = time.monotonic()
    result = InProcessRunner().run(spec("sleep", timeout=0.3, FIXTURE_SLEEP="1.5"))
    assert result.timed_out and result.exit_code is None and not result.succeeded
    assert time.monotonic() - started < 1.2


def test_inprocess_concurrent_jobs_see_their_own_env() -> None:
    results: dict[str, str] = {}

    def go(scene: str) -> None:
        res = InProcessRunner().run(spec("ok", SCENE_ID=scene))
        results[scene] = json.loads(res.stdout_tail.strip())["env"]["SCENE_ID"]

    threads = [threading.Thread(target=go, args=(f"scene-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {f"scene-{i}": f"scene-{i}" for i in range(8)}


# --- env contract helpers -----------------------------------------------------------------


def test_env_helpers_read_job_context_before_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_STR", "os")
    monkeypatch.setenv("X_INT", "7")
    with job_context({"X_STR": "ctx", "X_BOOL": "Yes", "X_BLANK": "  "}):
        assert env_str("X_STR") == "ctx"
        assert env_int("X_INT", 1) == 7  # falls back to os.environ
        assert env_bool("X_BOOL", False) is True
        assert env_str("X_BLANK", "dflt") == "dflt"  # blank means not given
    assert env_str("X_STR") == "os"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("on", True), ("Y", True), ("nope", False), ("0", False)])
def test_env_bool_truthy_set(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not expected) is expected


def test_env_int_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_DAYS", "ten")
    with pytest.raises(ConfigError, match="Invalid value for X_DAYS: ten") as info:
        env_int("X_DAYS", 1)
    assert info.value.field == "X_DAYS"


def test_run_main_exit_codes() -> None:
    err = io.StringIO()
    with job_context({}, stderr=err):
        assert run_main(lambda: None) == 0
        assert run_main(lambda: 5) == 5
        assert run_main(_raise(ConfigError("bad knob", field="K"))) == 2
        assert json.loads(err.getvalue().splitlines()[-1])["error"] == {
            "code": "invalid_config",
            "message": "bad knob",
            "field": "K",
        }
        assert run_main(_raise(StorageError("s3 is down"))) == 1  # retryable: an outage, not bad params
        assert run_main(_raise(KeyError("boom"))) == 1
    assert "Traceback" in err.getvalue() and "KeyError" in err.getvalue()


def _raise(exc: Exception) -> Callable[[], int]:
    def fn() -> int:
        raise exc

    return fn


# --- selection ---------------------------------------------------------------------------


def test_get_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BPFLOW_RUNNER", raising=False)
    assert isinstance(get_runner(), ZygoteRunner)
    assert isinstance(get_runner("subprocess"), SubprocessRunner)
    assert isinstance(get_runner("inprocess"), InProcessRunner)
    monkeypatch.setenv("BPFLOW_RUNNER", "inprocess")
    assert isinstance(get_runner(), InProcessRunner)
    assert isinstance(get_runner(), Runner)
    with pytest.raises(ConfigError):
        get_runner("warp-drive")
