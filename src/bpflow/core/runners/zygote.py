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
  as the subprocess runner (``_LogSink``, ``collect``, ``lifeline.fence_previous``); the job's
  two output pipes and its status socket are watched by the thread that runs the job, in one
  ``poll`` (no reader thread per stream: a worker runs many jobs at once, and each thread is a
  start, a join and a wait for the interpreter lock).

If the launcher cannot be made safe (a preloaded module started a thread) the runner falls back
to the subprocess runner with a warning rather than fork a threaded process.
"""

from __future__ import annotations

import json
import logging
import math
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
from bpflow.core.runners.base import (
    TAIL_BYTES,
    JobResult,
    JobSpec,
    check_available,
    new_execution_id,
    resolve,
)
from bpflow.core.runners.job_env import job_process_env
from bpflow.core.runners.subprocess import (
    READ_CHUNK,
    READER_JOIN_SECONDS,
    KeptTail,
    SubprocessRunner,
    _LogSink,
    collect,
)
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
        streams = _Streams(out_r, err_r, self.tail_bytes)
        try:
            pid = self._started(ours)
        except JobStartError:
            ours.close()
            os.close(write_end)
            streams.close()
            raise
        lifeline.record_attempt(fence_dir, fence_key, pid)
        streams.sink = _LogSink(os.path.join(spec.log_dir, f"{execution_id}.log")) if spec.log_dir else None

        try:
            status, timed_out = _supervise(ours, streams, spec.timeout_seconds, self.grace_seconds)
        finally:  # closing our end makes the launcher kill the group if it still runs
            ours.close()
            os.close(write_end)
            lifeline.clear_attempt(fence_dir, fence_key)
        duration = time.monotonic() - started

        return collect(
            spec.name,
            module,
            execution_id,
            [streams.kept[out_r], streams.kept[err_r]],
            (streams,),
            streams.sink,
            _returncode(status),
            timed_out,
            duration,
        )

    @staticmethod
    def _started(sock: socket.socket) -> int:
        doc = _receive(sock, READY_SECONDS)
        if doc is None or "pid" not in doc:
            why = (doc or {}).get("error", "no answer from the job launcher")
            raise JobStartError(f"cannot start job process: {why}", code="runner_exec_failed", retryable=True)
        return int(doc["pid"])


class _Streams:
    """A job's stdout and stderr pipes, read by the supervising thread whenever ``poll`` says
    so: each chunk goes to the whole log (``sink``) and the last ``limit`` bytes are kept."""

    def __init__(self, out_r: int, err_r: int, limit: int) -> None:
        self.fds = (out_r, err_r)
        self.open = set(self.fds)
        self.sink: _LogSink | None = None
        self.kept = {fd: KeptTail(limit) for fd in self.fds}

    def read(self, fd: int) -> bool:
        """Read what ``fd`` has; False at end of file (every writer has closed it)."""
        try:
            chunk = os.read(fd, READ_CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self.open.discard(fd)
            return False
        if self.sink is not None:
            self.sink.write(chunk)
        self.kept[fd].add(chunk)
        return True

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.open.clear()


def _supervise(sock: socket.socket, streams: _Streams, timeout: float, grace: float) -> tuple[int | None, bool]:
    """Wait for the job's wait status while draining its output, on this thread alone.

    Past ``timeout`` the group gets SIGTERM, ``grace`` seconds later SIGKILL (both through the
    launcher); a launcher that never answers after that leaves the status None. Once the status
    is in, the pipes are drained to end of file, for at most ``READER_JOIN_SECONDS`` (a helper
    that escaped the group may hold them open). Returns (wait status or None, timed out)."""
    poller = select.poll()
    for fd in streams.open:
        poller.register(fd, select.POLLIN)
    sock_fd = sock.fileno()
    poller.register(sock_fd, select.POLLIN)
    status: int | None = None
    ended = timed_out = False
    escalation = [(signal.SIGTERM, grace), (signal.SIGKILL, KILL_WAIT_SECONDS)]
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if ended and not streams.open:
            break
        if now >= deadline:
            if ended or not escalation:
                break  # drained as long as we wait, or the launcher never answered
            sig, wait = escalation.pop(0)
            timed_out = True
            _send_kill(sock, sig)
            deadline = now + wait
            continue
        for fd, _events in poller.poll(max(1, math.ceil((deadline - now) * 1000))):
            if fd == sock_fd:
                poller.unregister(sock_fd)
                try:
                    data = sock.recv(MAX_MESSAGE)
                except OSError:
                    data = b""
                doc = json.loads(data) if data else {}
                status = int(doc["status"]) if "status" in doc else signal.SIGKILL  # no status: the launcher died
                ended = True
                deadline = time.monotonic() + READER_JOIN_SECONDS
            elif not streams.read(fd):
                poller.unregister(fd)
    return status, timed_out


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
