"""Prefect 3 on the peers' workload: one flow of 6 no-op tasks per scene.

The local ephemeral server (Prefect starts it itself when no API URL is set) on a fresh
PREFECT_HOME (its SQLite database). Flows are called from 8 threads at once (bpflow's worker
concurrency); ``--sequential`` calls them one after the other. Run with the Prefect peer venv's
python.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CONCURRENCY, STAGES, chain_figures, emit, workload  # noqa: E402

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-peer-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")  # a loaded machine starts it slowly
# Its local server answers 503 while its SQLite database is locked by another write, and the client
# retries 503 five times by default: 8 threads at once can use them up (seen 2026-12-07). Prefect's own
# knob, raised so that a slow run is measured instead of a failed one.
os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "20")

import prefect  # noqa: E402
from prefect import flow, task  # noqa: E402


@task
def noop(scene: str, stage: int) -> int:
    return stage


@flow
def chain(scene: str) -> None:
    for stage in range(1, STAGES + 1):
        noop(scene, stage)


def main() -> int:
    sequential = "--sequential" in sys.argv
    scenes, reps = workload()

    def run_once(tag: str, n: int) -> float:
        ids = [f"{tag}{i:04d}" for i in range(n)]
        t0 = time.perf_counter()
        if sequential:
            for scene in ids:
                chain(scene)
        else:
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                list(pool.map(chain, ids))
        return time.perf_counter() - t0

    chain("warm-first")  # starts the ephemeral server, from one thread: threads starting it at once race
    run_once("warm", 3)
    walls = [run_once(f"r{rep}s", scenes) for rep in range(reps)]
    mode = "sequential" if sequential else f"{CONCURRENCY} threads"
    emit(
        {
            "name": f"Prefect ({mode})",
            "version": prefect.__version__,
            "chain": chain_figures(walls, scenes),
            "setup": f"one flow of 6 tasks per scene, {mode}; local ephemeral server (SQLite)",
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
