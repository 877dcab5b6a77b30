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


def chain_figures(walls: list[float], scenes: int) -> dict[str, Any]:
    """Wall times of the repetitions → the figures peers.json reports (median repetition)."""
    wall = statistics.median(walls)
    return {
        "scenes": scenes,
        "stages": STAGES,
        "repetitions": len(walls),
        "wall_s": round(wall, 3),
        "wall_s_each": [round(w, 3) for w in walls],
        "per_stage_ms": round(wall * 1000 / (scenes * STAGES), 2),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def emit(doc: dict[str, Any]) -> None:
    """The result, as the last line of stdout (libraries may print before it)."""
    sys.stdout.write("\n" + json.dumps(doc) + "\n")
    sys.stdout.flush()
