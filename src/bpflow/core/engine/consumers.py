"""Which queues have a live worker: each launched runtime says so every few seconds.

DBOS dequeues only from the queues a process listens to and keeps no record of listeners, so a
class of work with no worker for it (``BPFLOW_WORKER_CLASSES``) would wait in its queue without
a word. Each runtime that executes runs keeps one row in ``bpflow_consumers`` (in the system
database next to DBOS's tables) naming the queues it takes, refreshed every
``HEARTBEAT_SECONDS``; a row older than ``STALE_SECONDS`` (a killed worker) no longer counts.
This only reports: the scheduling itself is DBOS's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("bpflow.runtime")

HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 20.0

_METADATA = sa.MetaData()
CONSUMERS = sa.Table(
    "bpflow_consumers",
    _METADATA,
    sa.Column("consumer_id", sa.String(255), primary_key=True),
    sa.Column("executor_id", sa.String(255), nullable=False),
    sa.Column("classes", sa.String(255), nullable=False),
    sa.Column("queues", sa.Text, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
)


def _ensure_table(engine: sa.Engine) -> None:
    """Create the table if missing; two processes creating it at once is not an error."""
    for attempt in range(3):
        try:
            _METADATA.create_all(engine, checkfirst=True)
            return
        except sa.exc.DatabaseError:
            if attempt == 2:
                raise
            time.sleep(0.2)


class Heartbeat(threading.Thread):
    """Keeps this process's row fresh until ``stop``; the row is removed on a clean stop."""

    def __init__(self, engine: sa.Engine, executor_id: str, classes: tuple[str, ...], queues: list[str]) -> None:
        super().__init__(name="bpflow-consumer-heartbeat", daemon=True)
        self.engine = engine
        self.row = {
            "consumer_id": f"{executor_id}@{socket.gethostname()}:{os.getpid()}",
            "executor_id": executor_id,
            "classes": ",".join(classes),
            "queues": ",".join(queues),
        }
        self._stop_event = threading.Event()
        _ensure_table(engine)
        self._beat()

    def _beat(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(CONSUMERS.delete().where(CONSUMERS.c.consumer_id == self.row["consumer_id"]))
            conn.execute(CONSUMERS.insert().values(**self.row, seen_at=time.time()))

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_SECONDS):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a database blip must not end the heartbeat
                log.warning("could not refresh this worker's consumer record", exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(HEARTBEAT_SECONDS)
        try:
            with self.engine.begin() as conn:
                conn.execute(CONSUMERS.delete().where(CONSUMERS.c.consumer_id == self.row["consumer_id"]))
        except Exception:  # noqa: BLE001 - the row goes stale on its own
            log.debug("could not remove this worker's consumer record", exc_info=True)


def live_consumers(engine: sa.Engine, now: float | None = None) -> dict[str, int] | None:
    """Live workers per queue name; None when no runtime of this version ever recorded one."""
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    try:
        if not sa.inspect(engine).has_table(CONSUMERS.name):
            return None
        with engine.connect() as conn:
            rows = conn.execute(sa.select(CONSUMERS.c.queues).where(CONSUMERS.c.seen_at >= cutoff)).all()
    except sa.exc.DatabaseError:
        log.warning("could not read the consumer records", exc_info=True)
        return None
    counts: dict[str, int] = {}
    for (queues,) in rows:
        for name in filter(None, str(queues).split(",")):
            counts[name] = counts.get(name, 0) + 1
    return counts


def system_engine(client: Any = None) -> sa.Engine:
    """The DBOS system database's engine: the client's in a CLI, else this process's DBOS."""
    if client is not None:
        return client._sys_db.engine  # type: ignore[no-any-return]
    from dbos._dbos import _get_dbos_instance

    return _get_dbos_instance()._sys_db.engine
