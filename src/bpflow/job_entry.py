"""The job side of the lifeline: ``python -m bpflow.job_entry <job module>``.

Ties the job to the worker that started it (see ``bpflow.runners.lifeline``), then runs the job
module exactly as ``python -m <job module>`` would. Kept outside ``bpflow.runners`` so starting a
job imports nothing but this.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading

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
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os.killpg(os.getpgid(0), signal.SIGKILL)  # end of file: nobody supervises this job any more


def _start_lifeline() -> None:
    raw = os.environ.pop(LIFELINE_FD_ENV, None)
    os.environ.pop(PARENT_PID_ENV, None)
    if raw:
        threading.Thread(target=_watch, args=(int(raw),), name="bpflow-lifeline", daemon=True).start()


def tie_to_supervisor() -> None:
    """Die with the process that supervises this job (parent-death signal + lifeline pipe).

    Also used by the pre-forked launcher (``bpflow.runners.zygote``), whose children are jobs
    too: there the parent is the launcher and the lifeline pipe still leads to the worker."""
    _die_with_parent()
    _start_lifeline()


def run_as_main(module: str) -> None:
    """What ``python -m <module>`` does, including its one-line error for a missing module."""
    runpy._run_module_as_main(module, alter_argv=True)  # type: ignore[attr-defined]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bpflow.job_entry <job module> [args...]")
    module = sys.argv[1]
    tie_to_supervisor()
    del sys.argv[1]
    run_as_main(module)


if __name__ == "__main__":
    main()
