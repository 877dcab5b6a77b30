"""The job side of the lifeline: ``python -m bpflow.core.job_entry <job module>``.

Ties the job to the worker that started it (see ``bpflow.core.runners.lifeline``), then runs the job
module exactly as ``python -m <job module>`` would. Kept outside ``bpflow.core.runners`` so starting a
job imports nothing but this.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

LIFELINE_FD_ENV = "BPFLOW_LIFELINE_FD"
PARENT_PID_ENV = "BPFLOW_LIFELINE_PARENT"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the lifeline pipe still holds
        pass
    expected = os.environ.get(PARENT_PID_ENV)
    if expected and os.getppid() != int(expected):  # the worker died before prctl took effect
        os.killpg(os.getpgid(0), signal.SIGKILL)


def _watch(fd: int) -> None:
    """Block until end of file on the lifeline (the worker is gone), then kill the job's group."""
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os.killpg(os.getpgid(0), signal.SIGKILL)  # end of file: nobody supervises this job any more


def _start_lifeline() -> None:
    """The lifeline is watched by a small process of the job's group, not a thread of the job:
    the parent-death SIGKILL takes the job's leader (and any thread of it) at once, often
    before a thread could act, and its helpers would outlive it. The watcher does not die with
    the leader; it sees the pipe's end and kills the whole group, itself included. It is
    detached (double fork), so the job never sees, waits for or reaps an unexpected child."""
    raw = os.environ.pop(LIFELINE_FD_ENV, None)
    os.environ.pop(PARENT_PID_ENV, None)
    if not raw:
        return
    fd = int(raw)
    middle = os.fork()  # the caller is single-threaded here: nothing of the job has run yet
    if middle == 0:
        try:
            if os.fork() == 0:
                os.closerange(0, fd)
                os.closerange(fd + 1, 65536)
                _watch(fd)
        finally:
            os._exit(0)
    os.waitpid(middle, 0)
    os.close(fd)


def tie_to_supervisor() -> None:
    """Die with the process that supervises this job (parent-death signal + lifeline pipe).

    Also used by the pre-forked launcher (``bpflow.core.runners.zygote``), whose children are jobs
    too: there the parent is the launcher and the lifeline pipe still leads to the worker."""
    _die_with_parent()
    _start_lifeline()


def run_as_main(module: str) -> None:
    """What ``python -m <module>`` does, including its one-line error for a missing module."""
    runpy._run_module_as_main(module, alter_argv=True)  # type: ignore[attr-defined]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bpflow.core.job_entry <job module> [args...]")
    module = sys.argv[1]
    tie_to_supervisor()
    del sys.argv[1]
    run_as_main(module)


if __name__ == "__main__":
    main()
