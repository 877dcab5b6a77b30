"""The pre-forked job launcher's own process (``main``, run by ``bpflow.core.runners.zygote``).

Started by a worker (``bpflow.core.runners.zygote``) as a fresh interpreter, it imports bpflow and the
jobs' heavy modules once, then forks one child per job request. What makes forking safe here is
what this process never holds: no thread (checked before every fork, ``/proc/self/task``), no
database connection, no lock, no open bucket; it only imports modules and answers on sockets.

Protocol (``SOCK_SEQPACKET``, one JSON document per message):

* control socket, worker → here: ``{"module", "argv", "env", "cwd"}`` with four descriptors:
  the job's own socket, its stdout and stderr pipe ends and the lifeline read end;
* job socket, here → worker: ``{"pid"}`` once forked (or ``{"error"}``), then ``{"status"}``
  (the wait status) once the job ended and its group was killed;
* job socket, worker → here: ``{"kill": signal}`` (timeout); end of file means the worker gave
  up supervising the job: its group is killed.

The job leader is reaped only after its whole group got SIGKILL, so the group id (= its pid)
cannot have been reused when it is signalled (the subprocess runner's rule). The end of the
control socket (the worker is gone, whatever killed it) kills every job and ends this process;
each job also watches its own lifeline pipe to the worker and has a parent-death signal.
"""

from __future__ import annotations

import array
import atexit
import gc
import importlib
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

MAX_MESSAGE = 1 << 20
FDS_PER_JOB = 4
#: Imported once here so a job does not pay for them: bpflow's job contract and storage, the
#: settings model. Only pure-Python modules that start no thread and open nothing at import.
PRELOAD: tuple[str, ...] = (
    "bpflow.core.job_entry",
    "bpflow.core.errors",
    "bpflow.jobs",
    "bpflow.core.jobkit",
    "bpflow.core.storage",
    "bpflow.core.storage.local",
    "bpflow.core.config",
    "bpflow.blocks.markers",
    "runpy",
    "json",
    "yaml",
    "pydantic",
)


class JobRequest(TypedDict):
    """One job request as the worker sends it (JSON): the module to run as ``__main__`` and the
    process state it gets."""

    module: str
    argv: NotRequired[list[str]]
    env: NotRequired[dict[str, str]]
    cwd: NotRequired[str]


#: Set by the worker: extra modules to preload (comma-separated), e.g. a job's heavy imports.
PRELOAD_ENV = "BPFLOW_ZYGOTE_PRELOAD"


def recv_fds(sock: socket.socket, maxfds: int) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancdata, _flags, _addr = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(maxfds * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    return data, list(fds)


def send(sock: socket.socket, doc: dict[str, object]) -> bool:
    try:
        sock.send(json.dumps(doc).encode())
        return True
    except OSError:
        return False


def preload(names: list[str]) -> list[str]:
    """Import what can be imported; a module that started a thread would make forking unsafe:
    that is reported (and the worker falls back to the subprocess runner)."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional preload missing here costs only speed
            continue
    return [name for name in names if name]


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


@dataclass
class Job:
    pid: int
    pidfd: int
    sock: socket.socket | None
    killed: bool = False


@dataclass
class Server:
    control: socket.socket
    jobs_by_pidfd: dict[int, Job] = field(default_factory=dict)
    jobs_by_sock: dict[int, Job] = field(default_factory=dict)

    def serve(self) -> None:
        poller = select.poll()
        poller.register(self.control, select.POLLIN)
        while True:
            for fd, _events in poller.poll():
                if fd == self.control.fileno():
                    if not self._accept(poller):
                        self._kill_all()
                        os._exit(0)  # at once: no interpreter teardown while the worker is gone
                elif fd in self.jobs_by_pidfd:
                    self._reap(poller, self.jobs_by_pidfd[fd])
                elif fd in self.jobs_by_sock:
                    self._command(poller, self.jobs_by_sock[fd])

    def _accept(self, poller: select.poll) -> bool:
        try:
            data, fds = recv_fds(self.control, FDS_PER_JOB)
        except OSError:
            return False
        if not data:
            return False  # the worker is gone
        if len(fds) != FDS_PER_JOB:
            for fd in fds:
                os.close(fd)
            return True
        job_sock = socket.socket(fileno=fds[0])
        out_w, err_w, lifeline_r = fds[1:]
        try:
            request: JobRequest = json.loads(data)
            if thread_count() != 1:  # never fork a process with another thread: its locks would be copied held
                raise RuntimeError(f"the job launcher has {thread_count()} threads; refusing to fork")
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001 - answered to the worker as a start failure
            send(job_sock, {"error": f"{type(exc).__name__}: {exc}"})
            job_sock.close()
            for fd in (out_w, err_w, lifeline_r):
                os.close(fd)
            return True
        if pid == 0:
            code = 127
            try:
                code = self._child(request, job_sock, out_w, err_w, lifeline_r)
            finally:
                os._exit(code)
        for fd in (out_w, err_w, lifeline_r):
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        job = Job(pid, pidfd, job_sock)
        self.jobs_by_pidfd[pidfd] = job
        self.jobs_by_sock[job_sock.fileno()] = job
        poller.register(pidfd, select.POLLIN)
        poller.register(job_sock, select.POLLIN)
        send(job_sock, {"pid": pid})
        return True

    def _command(self, poller: select.poll, job: Job) -> None:
        assert job.sock is not None
        try:
            data = job.sock.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:  # nobody supervises this job any more
            self._signal(job, signal.SIGKILL)
            self._forget_sock(poller, job)
            return
        try:
            sig = int(json.loads(data).get("kill", 0))
        except (ValueError, AttributeError, TypeError):
            return
        if sig:
            self._signal(job, sig)

    def _reap(self, poller: select.poll, job: Job) -> None:
        self._signal(job, signal.SIGKILL)  # what the leader left running in its group
        _, status = os.waitpid(job.pid, 0)
        poller.unregister(job.pidfd)
        os.close(job.pidfd)
        del self.jobs_by_pidfd[job.pidfd]
        if job.sock is not None:
            send(job.sock, {"status": status})
            self._forget_sock(poller, job)

    def _forget_sock(self, poller: select.poll, job: Job) -> None:
        if job.sock is None:
            return
        fd = job.sock.fileno()
        poller.unregister(fd)
        self.jobs_by_sock.pop(fd, None)
        job.sock.close()
        job.sock = None

    @staticmethod
    def _signal(job: Job, sig: int) -> None:
        try:  # the leader is not reaped yet, so its pid still names its group
            os.killpg(job.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_all(self) -> None:
        for job in list(self.jobs_by_pidfd.values()):
            self._signal(job, signal.SIGKILL)

    # -- in the forked child ----------------------------------------------------------------------
    def _child(self, request: JobRequest, job_sock: socket.socket, out_w: int, err_w: int, lifeline_r: int) -> int:
        os.setsid()  # its own session and process group, as the subprocess runner's jobs
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(lifeline_r, 3)
        # Detach the socket objects first: a socket collected later would close a descriptor
        # number the job may be using by then.
        for sock in (self.control, job_sock, *(j.sock for j in self.jobs_by_sock.values() if j.sock is not None)):
            sock.detach()
        os.closerange(4, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)
        fresh_process_state(request)
        name_process(os.environ.get("BPFLOW_JOB_NAME") or str(request["module"]).rsplit(".", 1)[-1])
        from bpflow.core.job_entry import tie_to_supervisor

        tie_to_supervisor()
        return run_job_module(str(request["module"]), [str(a) for a in request.get("argv") or []])


def name_process(name: str) -> None:
    """A forked job keeps the zygote's command line: give it the job's name (the kernel keeps 15
    bytes) so ``ps``, ``top`` and ``pkill`` tell the jobs apart."""
    try:
        with open("/proc/self/comm", "w") as fh:
            fh.write(name[:15])
    except OSError:
        pass  # not Linux, or /proc not mounted: the name is a convenience


def fresh_process_state(request: JobRequest) -> None:
    """What a fresh interpreter would have: default signal handlers and mask, the job's own
    environment, working directory and import path, fresh random seeds, no cached settings."""
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)  # what Python installs at start
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    env = request.get("env") or {}
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    cwd = request.get("cwd")
    if isinstance(cwd, str):
        os.chdir(cwd)
    # PYTHONPATH is read at interpreter start: put the job's entries where it would have.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
    sys.path[1:1] = extra
    random.seed()
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    from bpflow.core.config import reset_settings_cache

    reset_settings_cache()


def run_job_module(module: str, argv: list[str]) -> int:
    """Run ``module`` as ``__main__`` and return the exit code the interpreter would have, then
    wind down as the interpreter does (non-daemon threads joined, ``atexit`` handlers run)."""
    from bpflow.core.job_entry import run_as_main

    sys.argv = [module, *argv]
    code = 0
    try:
        run_as_main(module)
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - as the interpreter: any escape is a traceback and exit 1
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    return code & 0xFF


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[-1]))
    extra = [m.strip() for m in os.environ.get(PRELOAD_ENV, "").split(",") if m.strip()]
    preload([*PRELOAD, *extra])
    if thread_count() != 1:
        print(
            f"bpflow job launcher: a preloaded module started a thread ({thread_count()} threads); not forking",
            file=sys.stderr,
        )
        sys.exit(3)
    # Everything imported so far lives as long as the launcher: out of the collector's reach, a
    # forked job's collections never walk (and so never copy-on-write) the launcher's pages.
    gc.collect()
    gc.freeze()
    send(control, {"ready": os.getpid()})
    Server(control).serve()


if __name__ == "__main__":
    main()
