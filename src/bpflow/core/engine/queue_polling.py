"""How DBOS polls bpflow's queues: woken by work, with this process's own slot limits.

**Per-process limits.** DBOS keeps one row per queue in the system database and every poller
re-reads it before each poll, so on PostgreSQL the ``worker_concurrency`` the *last* process
registered applied to every process: a ``bpflow up`` meant to run one run at a time and a big
worker meant to run sixteen both ran whatever the last one to start said. bpflow's limits
(``BPFLOW_WORKER_CONCURRENCY``, ``BPFLOW_ORCHESTRATOR_CONCURRENCY``) are per process, so this
process's pollers read the row through :func:`install`'s wrapper, which puts this process's
limit in it (and keeps the row for a second instead of reading it before every poll).

**Wake-ups.** DBOS takes queued runs by polling each queue from its own thread. Every poll is several database
reads, whether or not there is work, and a run waits for the next poll. Polling every 10 ms
kept that wait short but cost a good part of a core per process in idle reads, and on
PostgreSQL every worker pays it for every queue. So bpflow tells the poller when there is
something to take instead:

* **a run was enqueued** in this process (the dispatcher, a stage starting a stage): that queue's
  poller polls at once; on PostgreSQL a trigger on DBOS's run table notifies every process of
  every run queued by anyone (:func:`database_announces`), heard by a :class:`Listener`;
* **a run of this process ended**: its slot is free, so its queue's poller looks for the next
  queued run at once.

The configured poll interval (``BPFLOW_QUEUE_POLL_SECONDS``) stays as the safety net for work
nobody announced (a run enqueued by a CLI on SQLite), so it can be long. A woken poller polls at
most every ``MIN_POLL_GAP_SECONDS``, so a burst is taken in a few polls, not one per run; and
the runs it claimed count against its limit until they start (:func:`_pulsing_active_runs`).

DBOS has no hook for this. Its queue threads sleep on the stop event it hands them; ``install``
swaps that event for one whose ``wait`` also ends when the waiting thread's queue is pulsed
(DBOS names each queue's thread ``queue-worker-<queue>``). A DBOS that changed those internals
leaves ``install`` a no-op and bpflow polling at the configured interval, logged once;
``tests/engine/test_queue_polling.py`` fails on such a DBOS so an upgrade cannot lose it silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("bpflow.runtime")

CHANNEL = "bpflow_queued_runs"
MIN_POLL_GAP_SECONDS = 0.01
"""A woken poller polls at most this often: in a burst (a hundred events at once, runs ending
together) one poll takes every run it has slots for instead of one poll per announcement."""
_THREAD_PREFIX = "queue-worker-"


class WakeableStop(threading.Event):
    """DBOS's stop event for its queue threads, plus a per-queue pulse.

    ``wait`` in a queue's thread returns False (not stopped: poll now) once per pulse of that
    queue since its last return; a pulse that lands while the thread is polling is kept for its
    next wait, so no announcement is lost. Other threads sharing the event wait as before."""

    def __init__(self) -> None:
        super().__init__()
        self._pulses: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._polled: dict[str, float] = {}
        self._queue_conds: dict[str, threading.Condition] = {}  # share the event's lock

    def _cond_of(self, queue: str) -> threading.Condition:
        """Under the lock: the condition only ``queue``'s thread waits on, so a pulse wakes it
        alone, not every queue's thread."""
        cond = self._queue_conds.get(queue)
        if cond is None:
            cond = self._queue_conds[queue] = threading.Condition(self._cond._lock)  # type: ignore[attr-defined]
        return cond

    def pulse(self, queue: str) -> None:
        with self._cond:  # type: ignore[attr-defined]
            self._pulses[queue] = self._pulses.get(queue, 0) + 1
            self._cond_of(queue).notify_all()

    def set(self) -> None:
        super().set()
        with self._cond:  # type: ignore[attr-defined]
            for cond in self._queue_conds.values():
                cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        name = threading.current_thread().name
        queue = name[len(_THREAD_PREFIX) :] if name.startswith(_THREAD_PREFIX) else None
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:  # type: ignore[attr-defined]
            while not self._flag:  # type: ignore[attr-defined]
                if queue is not None:
                    pulses = self._pulses.get(queue, 0)
                    if pulses != self._seen.get(queue, 0):
                        gap = self._polled.get(queue, 0.0) + MIN_POLL_GAP_SECONDS - time.monotonic()
                        if gap <= 0:
                            self._seen[queue] = pulses
                            self._polled[queue] = time.monotonic()
                            return False
                        deadline = time.monotonic() + gap if deadline is None else min(deadline, time.monotonic() + gap)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                (self._cond if queue is None else self._cond_of(queue)).wait(remaining)  # type: ignore[attr-defined]
            return True


_STOP: WakeableStop | None = None
_PATCHED = False
_LIMITS: dict[str, int] = {}


def install(dbos: Any, limits: dict[str, int]) -> bool:
    """Between ``DBOS(config=...)`` and ``DBOS.launch()``: DBOS's queue threads get a wakeable
    stop event and read the queue rows with this process's ``limits`` (queue name → runs at once
    here) from their first poll, and a run that ends pulses its queue. ``dbos``: the DBOS
    instance just built. False when this DBOS's internals are not the ones this relies on
    (bpflow then polls, with the database's limits)."""
    global _PATCHED, _LIMITS
    try:
        import dbos._dbos as dbos_module
        from dbos._core import ActiveWorkflowById
    except ImportError:
        return _unsupported("dbos._dbos / dbos._core not found")
    if not hasattr(dbos_module, "queue_thread") or not isinstance(
        getattr(dbos, "_active_workflows_set", None), ActiveWorkflowById
    ):
        return _unsupported("DBOS's queue thread or active-run set is not where bpflow expects it")
    _LIMITS = dict(limits)
    if not _PATCHED:
        dbos_module.queue_thread = _wakeable_queue_thread(dbos_module.queue_thread)
        _PATCHED = True
    dbos._active_workflows_set = _pulsing_active_runs(ActiveWorkflowById)()
    return True


def _wakeable_queue_thread(original: Any) -> Any:
    """DBOS's queue manager thread, run with a WakeableStop in place of DBOS's stop event (also
    in DBOS's own list, so ``DBOS.destroy`` stops it as before) and, before any queue is polled,
    this process's limits on the queue rows its pollers read."""

    def queue_thread(stop_event: threading.Event, instance: Any) -> None:
        global _STOP
        wakeable = WakeableStop()
        events = instance.background_thread_stop_events
        for i, event in enumerate(events):
            if event is stop_event:
                events[i] = wakeable
        if stop_event.is_set():  # destroyed before the swap
            wakeable.set()
        _STOP = wakeable
        sys_db = instance._sys_db
        active = instance._active_workflows_set
        if callable(getattr(sys_db, "get_queue", None)) and callable(getattr(sys_db, "start_queued_workflows", None)):
            sys_db.get_queue = _local_queue_rows(sys_db.get_queue, _LIMITS)
            if callable(getattr(sys_db, "_is_latest_version", None)):
                sys_db._is_latest_version = _kept_answer(sys_db._is_latest_version)
            if hasattr(active, "claimed"):
                sys_db.start_queued_workflows = _counting_claims(sys_db.start_queued_workflows, active)
        else:
            _unsupported("DBOS's system database is not shaped as expected", what="per-process queue limits")
        original(wakeable, instance)

    return queue_thread


#: A claimed run whose execution has not registered after this long is no longer counted (its
#: start failed; DBOS's recovery owns it now), so a lost start cannot hold a slot for good.
CLAIM_SECONDS = 30.0


def _pulsing_active_runs(base: type) -> type:
    class PulsingActiveRuns(base):  # type: ignore[misc]
        """DBOS's set of this process's running runs, which also

        * counts runs **claimed but not started yet**: DBOS claims a run in one thread and its
          execution registers here from another, a moment later; a poll in that moment (a wake-up
          makes it likely) saw the slot as free and took one run too many;
        * pulses the queue when a run ends: its slot is free, the poller can fill it now."""

        def __init__(self) -> None:
            super().__init__()
            self.claimed: dict[str, tuple[str, float]] = {}  # run id -> (queue, claimed at)

        def claim(self, key: str, queue: str) -> None:
            with self._lock:
                self.claimed[key] = (queue, time.monotonic())

        def add(self, key: str, queue_name: Any = None, queue_partition_key: Any = None) -> Any:
            with self._lock:
                self.claimed.pop(key, None)
            return super().add(key, queue_name, queue_partition_key)

        def count_for_queue(self, queue_name: str) -> int:
            now = time.monotonic()
            with self._lock:
                for key, (_, at) in list(self.claimed.items()):
                    if now - at > CLAIM_SECONDS:
                        del self.claimed[key]
                waiting = sum(1 for queue, _ in self.claimed.values() if queue == queue_name)
            return int(super().count_for_queue(queue_name)) + waiting

        def _remove(self, key: str, bucket: Any) -> None:
            super()._remove(key, bucket)
            if bucket is not None:
                wake(bucket[0])

    return PulsingActiveRuns


def _kept_answer(ask: Any) -> Any:
    """DBOS's "is this the latest application version?" of this process, answered from a read at
    most ``QUEUE_ROW_SECONDS`` old: DBOS asks it on every enqueue and every poll, and a new
    version deployed takes over the queues that much later."""
    kept = _Kept()

    def is_latest_version(app_version: str, c: Any = None) -> bool:
        return bool(kept.get(app_version, lambda: bool(ask(app_version, c))))

    return is_latest_version


def _counting_claims(claim: Any, active: Any) -> Any:
    """DBOS's ``start_queued_workflows`` of this process: what it claims counts as running here
    until its execution registers."""

    def start_queued_workflows(queue: Any, *args: Any, **kwargs: Any) -> Any:
        result = claim(queue, *args, **kwargs)
        for key in result[0]:
            active.claim(key, queue.name)
        return result

    return start_queued_workflows


#: How long a poller keeps a queue's row (and the latest-version answer) before reading it again.
QUEUE_ROW_SECONDS = 1.0


class _Kept:
    """Answers read from the database, kept ``QUEUE_ROW_SECONDS`` per key. None is not kept: a
    queue registered a moment later must be found at the next read."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, read: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and time.monotonic() - hit[0] < QUEUE_ROW_SECONDS:
            return hit[1]
        answer = read()
        if answer is not None:
            with self._lock:
                self._answers[key] = (time.monotonic(), answer)
        return answer


def _local_queue_rows(read: Any, limits: dict[str, int]) -> Any:
    """DBOS's ``get_queue`` of this process: the row with this process's limit, kept briefly."""
    kept = _Kept()

    def with_local_limit(name: str, kwargs: dict[str, Any]) -> Any:
        row = read(name, **kwargs)
        if row is not None:
            row._worker_concurrency = limits[name]
        return row

    def get_queue(name: str, **kwargs: Any) -> Any:
        if name not in limits or kwargs.get("client_system_database") is not None:
            return read(name, **kwargs)
        return kept.get(name, lambda: with_local_limit(name, kwargs))

    return get_queue


def _unsupported(why: str, what: str = "queue wake-ups (queues are polled every BPFLOW_QUEUE_POLL_SECONDS)") -> bool:
    log.warning("%s unavailable: %s", what, why)
    return False


def wake(queue: str) -> None:
    """This process's poller of ``queue`` polls now: a run was queued here, or one of this
    process's runs ended, or the database announced a run queued elsewhere. A no-op before
    launch or without :func:`install`."""
    stop = _STOP
    if stop is not None:
        stop.pulse(queue)


_ANNOUNCE_SQL = """
SELECT pg_advisory_xact_lock(hashtext('bpflow_queue_announcements'));
CREATE OR REPLACE FUNCTION "{schema}".bpflow_announce_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{channel}', NEW.queue_name);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER bpflow_announce_inserted AFTER INSERT ON "{schema}".workflow_status
    FOR EACH ROW WHEN (NEW.status = 'ENQUEUED' AND NEW.queue_name IS NOT NULL)
    EXECUTE FUNCTION "{schema}".bpflow_announce_queued();
CREATE OR REPLACE TRIGGER bpflow_announce_requeued AFTER UPDATE OF status ON "{schema}".workflow_status
    FOR EACH ROW WHEN (NEW.status = 'ENQUEUED' AND OLD.status IS DISTINCT FROM 'ENQUEUED' AND NEW.queue_name IS NOT NULL)
    EXECUTE FUNCTION "{schema}".bpflow_announce_queued();
"""


def database_announces(engine: sa.Engine, schema: str) -> bool:
    """PostgreSQL: a trigger on DBOS's run table notifies ``CHANNEL`` with the queue's name when a
    run is queued or queued again, at commit, whoever queued it (``bpflow up``, a worker, a CLI,
    DBOS's own recovery). A duplicate event that attaches to an existing run inserts nothing and
    announces nothing, and no process spends a round trip on it. Idempotent; every runtime on
    the database installs it at launch (under a lock, so two launching at once do not collide).
    False (logged: pollers fall back to the poll interval) when it cannot be installed."""
    if engine.dialect.name != "postgresql":
        return False
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_ANNOUNCE_SQL.format(schema=schema.replace('"', ""), channel=CHANNEL))
    except sa.exc.DatabaseError as exc:
        return _unsupported(str(exc).splitlines()[0], what="database announcements of queued runs")
    return True


class Listener(threading.Thread):
    """PostgreSQL only: turns other processes' announcements into pulses of this process's
    pollers. Its own connection (LISTEN holds it); reconnects after a database blip.

    An announcement made while nobody listens is lost (before the first LISTEN, runs put back
    in the queue by DBOS's recovery at launch; during a reconnect): each time it starts
    listening it wakes every one of ``queues`` once, so whatever was announced before is taken."""

    def __init__(self, engine: sa.Engine, queues: list[str]) -> None:
        super().__init__(name="bpflow-queue-wake-listener", daemon=True)
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.queues = list(queues)
        self._stop_event = threading.Event()
        self.listening = threading.Event()

    def run(self) -> None:
        import psycopg

        while not self._stop_event.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    for queue in self.queues:
                        wake(queue)
                    while not self._stop_event.is_set():
                        for note in conn.notifies(timeout=0.5):
                            wake(note.payload)
            except psycopg.Error:
                self.listening.clear()
                log.warning("queue wake-up listener lost its connection; reconnecting", exc_info=True)
                self._stop_event.wait(1.0)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(3.0)
