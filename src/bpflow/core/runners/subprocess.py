"""The default runner: each job is ``python -m <module>`` in its own process group.

Why a process group: a job may start helpers (a converter, a simulator) and a timeout must stop
all of them, not just the Python process, or orphans keep writing into the bucket after the
workflow has rolled the stage back. The job leads its own session (``start_new_session``), so
``killpg`` reaches everything it spawned, unless a helper deliberately starts its own session.

When the job's main process exits, whatever it left running in its group is killed too, as a
container runtime tears the container down. A job also dies with its worker (``lifeline``: a
parent-death signal and a pipe the job watches), and an older attempt of the same job step left by
a crashed worker is killed before the step runs again. The group is signalled while the leader is still an
unreaped zombie, so its pid (= the group id) cannot have been reused by an unrelated process.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Protocol

from bpflow.core.errors import JobStartError
from bpflow.core.runners import lifeline
from bpflow.core.runners.base import TAIL_BYTES, JobResult, JobSpec, check_available, new_execution_id, resolve, tail
from bpflow.core.runners.job_env import job_process_env

READ_CHUNK = 65536
READER_JOIN_SECONDS = 5.0

# runpy's own one-line error when ``python -m`` cannot find the module: the job never started.
_RUNPY_NOT_FOUND = re.compile(r"^[^\n]*: (No module named |Error while finding module specification for )")


class KeptTail:
    """The last ``limit`` bytes of a stream, fed chunk by chunk by whoever drains it; memory
    stays bounded whatever the job prints. Read once the stream is drained (``join`` has
    nothing to wait for), or through ``_TailReader``, which drains it on a thread."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buf = bytearray()

    def add(self, chunk: bytes) -> None:
        self._buf += chunk
        if len(self._buf) > 2 * self._limit:
            del self._buf[: len(self._buf) - self._limit]

    def join(self, timeout: float | None = None) -> None:
        return None

    def text(self) -> str:
        return tail(bytes(self._buf), self._limit)


class _TailReader(threading.Thread):
    """Drains one pipe to EOF into the whole log and a ``KeptTail``.

    Draining on a thread is what keeps a chatty job from blocking on a full pipe (and the runner
    from deadlocking on it).
    """

    def __init__(self, pipe: IO[bytes], limit: int, sink: _LogSink | None = None) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._sink = sink
        self._kept = KeptTail(limit)
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while chunk := self._pipe.read1(READ_CHUNK):  # type: ignore[attr-defined]
                if self._sink is not None:
                    self._sink.write(chunk)
                with self._lock:
                    self._kept.add(chunk)
        except (OSError, ValueError):
            pass  # pipe closed under us: keep what we have

    def text(self) -> str:
        with self._lock:
            return self._kept.text()


class TailSource(Protocol):
    """What ``collect`` reads a stream's tail from: a reader thread, or a ``KeptTail`` fed by
    the supervising thread itself (the zygote runner's ``_Streams``)."""

    def join(self, timeout: float | None = None) -> None: ...

    def text(self) -> str: ...


class Closable(Protocol):
    def close(self) -> None: ...


class _LogSink:
    """The job's whole output (both streams), kept on disk for ``bpflow logs`` and operators;
    the result itself only carries the tails."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        with self._lock:
            self._fh.write(chunk)
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()


class SubprocessRunner:
    """Runs jobs as local child processes with the env contract (an allowlist of os.environ + spec env on top)."""

    name = "subprocess"

    def __init__(self, *, python: str | None = None, grace_seconds: float = 2.0, tail_bytes: int = TAIL_BYTES) -> None:
        self.python = python or sys.executable
        self.grace_seconds = grace_seconds
        self.tail_bytes = tail_bytes

    def run(self, spec: JobSpec) -> JobResult:
        check_available()
        execution_id = new_execution_id(spec.name)
        module, job_env = resolve(spec, execution_id)
        env = job_process_env(spec.name, job_env)  # an allowlist of os.environ, never the API token
        env["PYTHONUNBUFFERED"] = "1"  # a killed job's last lines still reach the tail
        argv = [self.python, "-m", "bpflow.core.job_entry", module]
        fence_dir = lifeline.fence_dir(spec.log_dir)
        fence_key = f"{job_env.get('BPFLOW_RUN_ID', execution_id)}/{spec.name}"
        lifeline.fence_previous(fence_dir, fence_key)
        read_end, write_end = lifeline.lifeline_pipe()
        env.update(lifeline.lifeline_env(read_end))

        started = time.monotonic()
        try:
            proc = _spawn(argv, env, pass_fds=(read_end,))
        except JobStartError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        lifeline.record_attempt(fence_dir, fence_key, proc.pid)
        sink = _LogSink(os.path.join(spec.log_dir, f"{execution_id}.log")) if spec.log_dir else None
        readers = [_TailReader(proc.stdout, self.tail_bytes, sink), _TailReader(proc.stderr, self.tail_bytes, sink)]  # type: ignore[arg-type]
        for reader in readers:
            reader.start()

        try:
            timed_out = not _wait_exited(proc, spec.timeout_seconds)
            if timed_out:
                _signal_group(proc.pid, signal.SIGTERM)
                _wait_exited(proc, self.grace_seconds)
        finally:  # also on KeyboardInterrupt in the caller: never leave a job running unsupervised
            _signal_group(proc.pid, signal.SIGKILL)  # stragglers after a timeout, or leftovers of a finished job
            returncode = proc.wait()
            os.close(write_end)
            lifeline.clear_attempt(fence_dir, fence_key)
        duration = time.monotonic() - started

        return collect(
            spec.name, module, execution_id, readers, (proc.stdout, proc.stderr), sink, returncode, timed_out, duration
        )


def collect(
    job: str,
    module: str,
    execution_id: str,
    readers: Sequence[TailSource],
    pipes: tuple[Closable | None, ...],
    sink: _LogSink | None,
    returncode: int,
    timed_out: bool,
    duration: float,
) -> JobResult:
    """The end of a process job, whichever runner started it: drain and close its output, keep
    the log, tell a missing module (a start failure) from a job that ran, build the result."""
    for reader in readers:
        reader.join(READER_JOIN_SECONDS)  # a helper that escaped the group may hold a pipe open
    for pipe in pipes:
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    stdout_tail, stderr_tail = readers[0].text(), readers[1].text()
    if sink is not None:
        sink.close()
    if not timed_out:
        module_not_found(job, module, returncode, stderr_tail)
    return JobResult(
        name=job,
        exit_code=None if timed_out else _exit_code(returncode),
        duration_seconds=duration,
        timed_out=timed_out,
        stdout_tail=stdout_tail,
        stderr_tail=stderr_tail,
        execution_id=execution_id,
        log_path=sink.path if sink is not None else "",
    )


def module_not_found(job: str, module: str, returncode: int, stderr_tail: str) -> None:
    """runpy's one-line error and exit 1: the module does not exist, so the job never started."""
    text = stderr_tail.strip()
    if returncode == 1 and _RUNPY_NOT_FOUND.match(text) and "\n" not in text:
        raise JobStartError(
            f"job module {module!r} not found: {text}",
            code="job_module_not_found",
            retryable=False,
            details={"job": job, "module": module},
        )


def _spawn(argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
    """Start the job; failing to exec is a start failure, retryable unless it cannot ever work."""
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            close_fds=True,
            pass_fds=pass_fds,
        )
    except (FileNotFoundError, PermissionError) as exc:
        raise JobStartError(f"cannot execute {argv[0]}: {exc}", code="runner_exec_failed", retryable=False) from exc
    except OSError as exc:  # EAGAIN / ENOMEM from fork: the machine is busy, a retry may work
        raise JobStartError(f"cannot start job process: {exc}", code="runner_exec_failed", retryable=True) from exc


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until the process has exited, WITHOUT reaping it; True if it exited in time.

    Leaving it a zombie keeps its pid, which is also its process-group id, reserved, so the
    ``killpg`` that follows cannot hit a recycled group. Linux uses a pidfd; other Unixes poll
    ``waitid(WNOWAIT)``; as a last resort the process is reaped (small reuse window).
    """
    if proc.returncode is not None:
        return True
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(proc.pid)
        except OSError:
            fd = None
        if fd is not None:
            try:  # poll, not select: a busy worker may hold descriptors beyond FD_SETSIZE
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                return bool(poller.poll(max(0, int(timeout * 1000))))
            finally:
                os.close(fd)
    waitid = getattr(os, "waitid", None)
    if waitid is not None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _exit_code(returncode: int) -> int:
    """A death by signal N is reported as 128+N, as shells and container runtimes do (137 = SIGKILL)."""
    return 128 - returncode if returncode < 0 else returncode
