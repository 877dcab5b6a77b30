"""Raw DBOS on the peers' workload: one workflow of 6 no-op steps per scene, enqueued per scene.

bpflow's settings: SQLite in WAL mode with synchronous=NORMAL, a queue polled every 0.01 s with a
worker concurrency of 8. Run with the DBOS peer venv's python (``python bench/peers/dbos_chain.py``).

``--shape``: what a bpflow stage asks of DBOS, written by hand: each stage its own enqueued
workflow of two steps (the job, the marker) that enqueues the next stage. The gap between this
row and bpflow's in-process row is bpflow's own cost (trigger match, dispatch, bucket, version
check); the gap between this row and the plain one is the price of a durable event chain.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from importlib.metadata import version
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlalchemy as sa  # noqa: E402
from common import CONCURRENCY, STAGES, chain_figures, emit, tree_cpu_seconds, wait_for, workload  # noqa: E402
from dbos import DBOS, DBOSConfig  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402

FINISHED: dict[str, float] = {}


@DBOS.step()
def noop_step(scene: str, stage: int) -> int:
    return stage


@DBOS.workflow()
def chain(scene: str) -> None:
    for stage in range(1, STAGES + 1):
        noop_step(scene, stage)
    FINISHED[scene] = time.time()


@DBOS.step()
def marker_step(scene: str, stage: int) -> int:
    return stage


@DBOS.workflow()
def stage_workflow(scene: str, stage: int) -> None:
    noop_step(scene, stage)
    marker_step(scene, stage)
    if stage < STAGES:
        DBOS.enqueue_workflow("chain", stage_workflow, scene, stage + 1)
    else:
        FINISHED[scene] = time.time()


def sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=20, max_overflow=10)

    @sa_event.listens_for(engine, "connect")
    def _on_connect(conn: Any, _record: Any) -> None:
        conn.isolation_level = "IMMEDIATE"
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def main() -> int:
    shape = "--shape" in sys.argv
    scenes, reps = workload()
    url = f"sqlite:///{tempfile.mkdtemp(prefix='dbos-peer-')}/dbos.sqlite"
    cfg: DBOSConfig = {
        "name": "dbos-peer",
        "system_database_url": url,
        "system_database_engine": sqlite_engine(url),
        "console_log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.05,
    }
    DBOS(config=cfg)
    DBOS.launch()
    DBOS.register_queue("chain", worker_concurrency=CONCURRENCY, polling_interval_sec=0.01)
    time.sleep(1.5)  # the queue worker thread starts on DBOS's next queue check

    def run_once(tag: str, n: int) -> tuple[float, float]:
        ids = [f"{tag}{i:04d}" for i in range(n)]
        cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
        for scene in ids:
            if shape:
                DBOS.enqueue_workflow("chain", stage_workflow, scene, 1)
            else:
                DBOS.enqueue_workflow("chain", chain, scene)
        wait_for(lambda: all(s in FINISHED for s in ids), 600, f"{n} workflows", interval=0.02)
        return time.perf_counter() - t0, tree_cpu_seconds() - cpu0

    run_once("warm", 5)
    measured = [run_once(f"r{rep}s", scenes) for rep in range(reps)]
    DBOS.destroy()
    emit(
        {
            "name": "DBOS (raw, in bpflow's shape)" if shape else "DBOS (raw)",
            "version": version("dbos"),
            "chain": chain_figures([w for w, _ in measured], scenes, [c for _, c in measured]),
            "setup": (
                "6 workflows per scene, each 2 steps and enqueuing the next"
                if shape
                else "one workflow of 6 steps per scene, enqueued"
            )
            + "; SQLite WAL, queue poll 0.01 s, worker concurrency 8",
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
