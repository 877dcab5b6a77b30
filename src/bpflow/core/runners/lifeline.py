"""Jobs die with the worker that started them (the worker side; the job side is ``bpflow.core.job_entry``).

A job runs as ``python -m bpflow.core.job_entry <module>`` in its own process group (so a
timeout can stop its helpers too). That group would outlive a killed worker and go on writing the
outputs a resumed run is about to write again, so the job is tied to its worker twice:

* ``PR_SET_PDEATHSIG``: the kernel sends SIGKILL to the job when its parent dies (set here, in
  the job, then checked against the parent pid the runner recorded, to close the window where the
  worker died before the call);
* a lifeline pipe: the runner keeps the write end open for the job's lifetime; a thread here reads
  the other end and, at end of file (the worker is gone, whatever killed it), kills the job's whole
  process group, helpers included.

Here: the pipe and the env that hands it over, and the fence against an older attempt of the same
job step (``fence_previous``).
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

from bpflow.core.job_entry import LIFELINE_FD_ENV, PARENT_PID_ENV


# -- worker side -----------------------------------------------------------------------------
def lifeline_pipe() -> tuple[int, int]:
    """(read end for the job, write end the runner holds until the job has ended)."""
    read_end, write_end = os.pipe()  # both close-on-exec: no other job inherits this worker's end
    return read_end, write_end


def lifeline_env(read_end: int) -> dict[str, str]:
    return {LIFELINE_FD_ENV: str(read_end), PARENT_PID_ENV: str(os.getpid())}


def fence_dir(log_dir: str | None) -> str:
    """Where attempts are recorded: beside the jobs' logs under the bpflow home, or, for a
    runner given no log folder (tests, benchmarks), a per-user temporary folder, never the
    current directory."""
    if log_dir:
        return os.path.join(os.path.dirname(log_dir), "attempts")
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"bpflow-attempts-{os.getuid()}")


def _fence_path(fence_dir: str, key: str) -> Path:
    return Path(fence_dir) / hashlib.sha256(key.encode()).hexdigest()[:32]


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def fence_previous(fence_dir: str, key: str) -> bool:
    """Kill the process group an older, interrupted attempt of this job step left behind (a
    worker that crashed mid-job and was restarted on this machine). True if one was killed."""
    path = _fence_path(fence_dir, key)
    try:
        pid_s, started = path.read_text().split()
    except (OSError, ValueError):
        return False
    pid = int(pid_s)
    if _start_time(pid) != started:  # gone, or the pid now belongs to another process
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def record_attempt(fence_dir: str, key: str, pid: int) -> None:
    started = _start_time(pid)
    if started is None:
        return
    path = _fence_path(fence_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid} {started}")


def clear_attempt(fence_dir: str, key: str) -> None:
    _fence_path(fence_dir, key).unlink(missing_ok=True)
