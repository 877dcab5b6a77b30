"""The pre-forked job launcher: the subprocess runner's isolation without its interpreter start.

A job run by ``SubprocessRunner`` spends most of its ~40 ms start on a fresh interpreter and on
importing bpflow. Here a worker starts one launcher process (``zygote_server``) as a fresh
interpreter, which imports bpflow and the jobs' heavy modules once and then forks a child per
job. Every property of the subprocess runner holds, each for the same reason:

* **own process and process group**: the child calls ``setsid``; timeouts and the end of the
  job signal the whole group (through the launcher, which is the leader's parent and reaps it
  only after the group got SIGKILL, so the group id is never a recycled pid);
* **env allowlist**: the child's ``os.environ`` is replaced by exactly what the subprocess
  runner would pass (``job_env.job_process_env``); the launcher itself starts with the allowlist
  of no job, so no secret ever sits in it. Interpreter-start variables (``STARTUP_ENV``) cannot
  be changed after start: a job whose env sets them differently runs as a plain subprocess;
* **dies with its worker**: the child's parent is the launcher, so its parent-death signal fires
  when the launcher dies, and the launcher ends (killing every job) when its control socket to
  the worker closes, which the kernel does whatever killed the worker. Independently, the child
  watches a lifeline pipe whose only write end is the worker's (``lifeline``);
* **whole log kept, tails returned, exit code reported, older attempts fenced**: the same code
  as the subprocess runner (``_LogSink``, ``_TailReader``, ``lifeline.fence_previous``).

If the launcher cannot be made safe (a preloaded module started a thread) the runner falls back
to the subprocess runner with a warning rather than fork a threaded process.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from bpflow.core.errors import JobStartError
from bpflow.core.job_entry import LIFELINE_FD_ENV, PARENT_PID_ENV
from bpflow.core.runners import lifeline
from bpflow.core.runners.base import TAIL_BYTES, JobResult, JobSpec, check_available, new_execution_id, resolve
from bpflow.core.runners.job_env import job_process_env
from bpflow.core.runners.subprocess import SubprocessRunner, _LogSink, _TailReader, collect
from bpflow.core.runners.zygote_server import MAX_MESSAGE, PRELOAD_ENV, JobRequest

log = logging.getLogger("bpflow.runners")

#: Read by the interpreter (or the dynamic loader) when it starts: a forked child keeps the
#: launcher's, so a job asking for other values than the launcher's gets a fresh interpreter.
STARTUP_ENV = (
    "PYTHONHASHSEED",
    "PYTHONHOME",
    "PYTHONIOENCODING",
    "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONSAFEPATH",
    "PYTHONUTF8",
    "PYTHONOPTIMIZE",
    "PYTHONDEVMODE",
    "PYTHONMALLOC",
    "PYTHONNOUSERSITE",
    "PYTHONPLATLIBDIR",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
)
READY_SECONDS = 60.0
KILL_WAIT_SECONDS = 10.0


class _Launcher:
    """One launcher process of this worker and the socket that keeps it alive."""

    def __init__(self, python: str) -> None:
        env = job_process_env("", {})  # the allowlist of no job: no secret enters the launcher
        env["PYTHONUNBUFFERED"] = "1"  # children inherit unbuffered stdio: a killed job's last lines still arrive
        preload = os.environ.get(PRELOAD_ENV)
        if preload:
            env[PRELOAD_ENV] = preload
        self.env = env
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [python, "-c", "from bpflow.core.runners.zygote_server import main; main()", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                close_fds=True,
            )
        except (FileNotFoundError, PermissionError) as exc:
            ours.close()
            raise JobStartError(f"cannot execute {python}: {exc}", code="runner_exec_failed", retryable=False) from exc
        except OSError as exc:
            ours.close()
            raise JobStartError(
                f"cannot start the job launcher: {exc}", code="runner_exec_failed", retryable=True
            ) from exc
        finally:
            theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.usable = self._wait_ready()

    def _wait_ready(self) -> bool:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if poller.poll(int(READY_SECONDS * 1000)):
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if data and "ready" in json.loads(data):
                return True
        self.close()
        return False

    def alive(self) -> bool:
        return self.usable and self.proc.poll() is None

    def startup_value(self, name: str) -> str | None:
        return self.env.get(name)

    def submit(self, request: JobRequest, fds: list[int]) -> None:
        payload = json.dumps(request).encode()
        with self.lock:  # one message, one send: never interleaved
            self.sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _fd_array(fds))])

    def close(self) -> None:
        self.usable = False
        try:
            self.sock.close()  # the launcher sees end of file, kills its jobs and exits
        finally:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _fd_array(fds: list[int]) -> bytes:
    import array

    return array.array("i", fds).tobytes()


_LAUNCHERS: dict[str, _Launcher] = {}
_LAUNCHERS_LOCK = threading.Lock()


def _launcher(python: str) -> _Launcher | None:
    """This process's launcher for ``python``, started on first use and again if it died.
    None when it cannot be made safe (then jobs run as plain subprocesses)."""
    with _LAUNCHERS_LOCK:
        current = _LAUNCHERS.get(python)
        if current is not None and current.alive():
            return current
        if current is not None:
            current.close()
        launcher = _Launcher(python)
        if not launcher.usable:
            log.warning("the pre-forked job launcher did not start safely; running jobs as plain subprocesses")
            return None
        _LAUNCHERS[python] = launcher
        return launcher


def shutdown_launchers() -> None:
    """End this process's launchers (their running jobs are killed with them)."""
    with _LAUNCHERS_LOCK:
        for launcher in _LAUNCHERS.values():
            launcher.close()
        _LAUNCHERS.clear()


class ZygoteRunner:
    """Forks each job from a warm launcher process; same contract as ``SubprocessRunner``."""

    name = "zygote"

    def __init__(self, *, python: str | None = None, grace_seconds: float = 2.0, tail_bytes: int = TAIL_BYTES) -> None:
        self.python = python or sys.executable
        self.grace_seconds = grace_seconds
        self.tail_bytes = tail_bytes
        self._fallback = SubprocessRunner(python=self.python, grace_seconds=grace_seconds, tail_bytes=tail_bytes)

    def run(self, spec: JobSpec) -> JobResult:
        check_available()
        execution_id = new_execution_id(spec.name)
        module, job_env = resolve(spec, execution_id)
        launcher = _launcher(self.python)
        if launcher is None:
            return self._fallback.run(spec)
        env = job_process_env(spec.name, job_env)
        env["PYTHONUNBUFFERED"] = "1"
        if any(env.get(name) != launcher.startup_value(name) for name in STARTUP_ENV):
            return self._fallback.run(spec)
        fence_dir = lifeline.fence_dir(spec.log_dir)
        fence_key = f"{job_env.get('BPFLOW_RUN_ID', execution_id)}/{spec.name}"
        lifeline.fence_previous(fence_dir, fence_key)
        read_end, write_end = lifeline.lifeline_pipe()
        env.update(lifeline.lifeline_env(read_end))
        env[PARENT_PID_ENV] = str(launcher.proc.pid)  # the child's parent is the launcher
        env[LIFELINE_FD_ENV] = "3"  # where the launcher puts the lifeline in the child

        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.monotonic()
        try:
            launcher.submit(
                {"module": module, "argv": [], "env": env, "cwd": os.getcwd()},
                [theirs.fileno(), out_w, err_w, read_end],
            )
        except OSError as exc:
            for fd in (out_r, write_end):
                os.close(fd)
            ours.close()
            raise JobStartError(f"the job launcher is gone: {exc}", code="runner_unavailable", retryable=True) from exc
        finally:
            theirs.close()
            for fd in (out_w, err_w, read_end):
                os.close(fd)
        stdout, stderr = open(out_r, "rb"), open(err_r, "rb")  # noqa: SIM115 - closed below
        try:
            pid = self._started(ours)
        except JobStartError:
            ours.close()
            os.close(write_end)
            stdout.close()
            stderr.close()
            raise
        lifeline.record_attempt(fence_dir, fence_key, pid)
        sink = _LogSink(os.path.join(spec.log_dir, f"{execution_id}.log")) if spec.log_dir else None
        readers = [_TailReader(stdout, self.tail_bytes, sink), _TailReader(stderr, self.tail_bytes, sink)]
        for reader in readers:
            reader.start()

        status: int | None = None
        timed_out = False
        try:
            status = _receive_status(ours, spec.timeout_seconds)
            if status is None:
                timed_out = True
                _send_kill(ours, signal.SIGTERM)
                status = _receive_status(ours, self.grace_seconds)
                if status is None:
                    _send_kill(ours, signal.SIGKILL)
                    status = _receive_status(ours, KILL_WAIT_SECONDS)
        finally:  # closing our end makes the launcher kill the group if it still runs
            ours.close()
            os.close(write_end)
            lifeline.clear_attempt(fence_dir, fence_key)
        duration = time.monotonic() - started

        return collect(
            spec.name, module, execution_id, readers, (stdout, stderr), sink, _returncode(status), timed_out, duration
        )

    @staticmethod
    def _started(sock: socket.socket) -> int:
        doc = _receive(sock, READY_SECONDS)
        if doc is None or "pid" not in doc:
            why = (doc or {}).get("error", "no answer from the job launcher")
            raise JobStartError(f"cannot start job process: {why}", code="runner_exec_failed", retryable=True)
        return int(doc["pid"])


def _receive(sock: socket.socket, timeout: float) -> dict[str, Any] | None:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(max(0, int(timeout * 1000))):
        return None
    try:
        data = sock.recv(MAX_MESSAGE)
    except OSError:
        return {}
    return json.loads(data) if data else {}


def _receive_status(sock: socket.socket, timeout: float) -> int | None:
    """The job's wait status; None if it is still running after ``timeout``. A launcher that
    died meanwhile (its jobs die with it) reads as a SIGKILL."""
    doc = _receive(sock, timeout)
    if doc is None:
        return None
    return int(doc["status"]) if "status" in doc else signal.SIGKILL


def _send_kill(sock: socket.socket, sig: signal.Signals) -> None:
    try:
        sock.send(json.dumps({"kill": int(sig)}).encode())
    except OSError:
        pass  # the launcher is gone, and the job with it


def _returncode(status: int | None) -> int:
    """A wait status as ``Popen.returncode`` has it: exit code, or minus the killing signal."""
    if status is None:
        return -signal.SIGKILL
    return os.waitstatus_to_exitcode(status)
