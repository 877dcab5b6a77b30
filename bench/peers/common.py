"""What every contender's script shares: the workload's size and how a result is measured.

Stdlib only: the peers' scripts import this file from their own venvs, without bpflow.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

SCENES = 100
STAGES = 6
REPS = 3
CONCURRENCY = 8
"""Runs at once where the orchestrator lets the caller choose: bpflow's default worker concurrency."""


def workload() -> tuple[int, int]:
    """(scenes, repetitions), overridable for a quick run: BENCH_SCENES, BENCH_REPS."""
    return int(os.environ.get("BENCH_SCENES", SCENES)), int(os.environ.get("BENCH_REPS", REPS))


def wait_for(pred: Callable[[], Any], timeout: float, what: str = "runs", interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def chain_figures(walls: list[float], scenes: int, cpus: list[float] | None = None) -> dict[str, Any]:
    """Wall times of the repetitions → the figures peers.json reports (median repetition).

    ``cpus``: CPU seconds the contender's processes used in each repetition (``tree_cpu_seconds``
    deltas). On a shared machine wall time follows the load; CPU time per stage hardly does."""
    wall = statistics.median(walls)
    out: dict[str, Any] = {
        "scenes": scenes,
        "stages": STAGES,
        "repetitions": len(walls),
        "wall_s": round(wall, 3),
        "wall_s_each": [round(w, 3) for w in walls],
        "per_stage_ms": round(wall * 1000 / (scenes * STAGES), 2),
    }
    if cpus:
        cpu = statistics.median(cpus)
        out["cpu_s_each"] = [round(c, 3) for c in cpus]
        out["cpu_per_stage_ms"] = round(cpu * 1000 / (scenes * STAGES), 2)
    return out


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (``[1]`` the parent, ``[11:15]``
    utime, stime, cutime, cstime in clock ticks); None for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process, its reaped children, and every
    live descendant with the children it reaped (a job launcher and the jobs it forked)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    try:
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            fields = proc_stat(name)
            if fields is None:
                continue
            pid = int(name)
            parents[pid] = int(fields[1])
            times[pid] = sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    except (OSError, ValueError, AttributeError):
        return total
    me = os.getpid()
    for pid in times:
        p, seen = parents.get(pid), 0
        while p and p != me and seen < 64:
            p, seen = parents.get(p), seen + 1
        if p == me and pid != me:
            total += times[pid]
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def emit(doc: dict[str, Any]) -> None:
    """The result, as the last line of stdout (libraries may print before it)."""
    sys.stdout.write("\n" + json.dumps(doc) + "\n")
    sys.stdout.flush()
