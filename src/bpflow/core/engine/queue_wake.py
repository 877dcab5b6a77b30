"""Queue pollers woken by work, so they need not poll fast.

DBOS takes queued runs by polling each queue from its own thread. Every poll is several database
reads, whether or not there is work, and a run waits for the next poll. Polling every 10 ms
kept that wait short but cost a good part of a core per process in idle reads, and on
PostgreSQL every worker pays it for every queue. So bpflow tells the poller when there is
something to take instead:

* **a run was enqueued** in this process (the dispatcher, a stage starting a stage): that queue's
  poller polls at once; on PostgreSQL a ``NOTIFY`` tells the pollers of every other process;
* **a run of this process ended**: its slot is free, so its queue's poller looks for the next
  queued run at once.

The configured poll interval (``BPFLOW_QUEUE_POLL_SECONDS``) stays as the safety net for work
nobody announced (a run enqueued by a CLI on SQLite, a resumed run), so it can be long.

DBOS has no hook for this. Its queue threads sleep on the stop event it hands them; ``install``
swaps that event for one whose ``wait`` also ends when the waiting thread's queue is pulsed
(DBOS names each queue's thread ``queue-worker-<queue>``). A DBOS that changed those internals
leaves ``install`` a no-op and bpflow polling at the configured interval, logged once;
``tests/engine/test_queue_wake.py`` fails on such a DBOS so an upgrade cannot lose it silently.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("bpflow.runtime")

CHANNEL = "bpflow_queue_wake"
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

    def pulse(self, queue: str) -> None:
        with self._cond:  # type: ignore[attr-defined]
            self._pulses[queue] = self._pulses.get(queue, 0) + 1
            self._cond.notify_all()  # type: ignore[attr-defined]

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
                self._cond.wait(remaining)  # type: ignore[attr-defined]
            return True


_STOP: WakeableStop | None = None
_PATCHED = False


def install(dbos: Any) -> bool:
    """Between ``DBOS(config=...)`` and ``DBOS.launch()``: DBOS's queue threads get a wakeable
    stop event, and a run that ends pulses its queue. ``dbos``: the DBOS instance just built.
    False when this DBOS's internals are not the ones this relies on (bpflow then polls)."""
    global _PATCHED
    try:
        import dbos._dbos as dbos_module
        from dbos._core import ActiveWorkflowById
    except ImportError:
        return _unsupported("dbos._dbos / dbos._core not found")
    if not hasattr(dbos_module, "queue_thread") or not isinstance(
        getattr(dbos, "_active_workflows_set", None), ActiveWorkflowById
    ):
        return _unsupported("DBOS's queue thread or active-run set is not where bpflow expects it")
    if not _PATCHED:
        dbos_module.queue_thread = _wakeable_queue_thread(dbos_module.queue_thread)
        _PATCHED = True
    dbos._active_workflows_set = _pulsing_active_runs(ActiveWorkflowById)()
    return True


def _wakeable_queue_thread(original: Any) -> Any:
    """DBOS's queue manager thread, run with a WakeableStop in place of DBOS's stop event (also
    in DBOS's own list, so ``DBOS.destroy`` stops it as before)."""

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
        original(wakeable, instance)

    return queue_thread


def _pulsing_active_runs(base: type) -> type:
    class PulsingActiveRuns(base):  # type: ignore[misc]
        """A run that ends frees a slot of its queue: let the queue's poller fill it now."""

        def _remove(self, key: str, bucket: Any) -> None:
            super()._remove(key, bucket)
            if bucket is not None:
                pulse_local(bucket[0])

    return PulsingActiveRuns


def _unsupported(why: str) -> bool:
    log.warning("queue wake-ups unavailable (%s): queues are polled every BPFLOW_QUEUE_POLL_SECONDS", why)
    return False


def pulse_local(queue: str) -> None:
    """This process's poller of ``queue`` polls now (no-op before launch or without install)."""
    stop = _STOP
    if stop is not None:
        stop.pulse(queue)


def announce(queue: str, engine: sa.Engine | None) -> None:
    """A run was just enqueued on ``queue``: this process's poller, and on PostgreSQL every
    listening process's, polls now. Best effort: a lost announcement costs one poll interval."""
    pulse_local(queue)
    if engine is None or engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_notify(:channel, :queue)"), {"channel": CHANNEL, "queue": queue})
    except sa.exc.DatabaseError:
        log.debug("could not announce a run on %s", queue, exc_info=True)


class Listener(threading.Thread):
    """PostgreSQL only: turns other processes' announcements into pulses of this process's
    pollers. Its own connection (LISTEN holds it); reconnects after a database blip."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(name="bpflow-queue-wake-listener", daemon=True)
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stop_event = threading.Event()
        self.listening = threading.Event()

    def run(self) -> None:
        import psycopg

        while not self._stop_event.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop_event.is_set():
                        for note in conn.notifies(timeout=0.5):
                            pulse_local(note.payload)
            except psycopg.Error:
                self.listening.clear()
                log.warning("queue wake-up listener lost its connection; reconnecting", exc_info=True)
                self._stop_event.wait(1.0)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(3.0)
