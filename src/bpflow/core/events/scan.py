"""Reconciliation: find trigger objects whose event was lost (a crash between a write and its
dispatch, a notification an object store dropped, a worker that was down) and dispatch them.

Only objects updated within the look-back window are considered, so pointing bpflow at an old
bucket does not replay its history; run ids make a re-dispatch of a handled object a no-op.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from bpflow.core.events.model import ObjectEvent

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

log = logging.getLogger("bpflow.scan")


def scan_once(rt: "Runtime", lookback_seconds: float | None = None) -> int:
    """Dispatch every enabled trigger object in the window; returns how many were handed over."""
    lookback = rt.scan_lookback_seconds if lookback_seconds is None else lookback_seconds
    since = datetime.now(timezone.utc) - timedelta(seconds=lookback)
    patterns = sorted({p for row in rt.triggers.rows if row.kind == "object" and row.is_enabled(rt.env) for p in row.patterns})
    seen: set[str] = set()
    count = 0
    for pattern in patterns:
        for info in rt.bucket.glob(_listing_glob(pattern)):
            if info.key in seen or info.updated < since:
                continue
            seen.add(info.key)
            rt.dispatcher.submit(ObjectEvent(bucket=rt.bucket.url, name=info.key, generation=info.generation, source="scan"))
            count += 1
    return count


def _listing_glob(pattern: str) -> str:
    """Brace alternation is the trigger matcher's business; list with a plain wildcard instead."""
    if "{" in pattern:
        return pattern[: pattern.index("{")] + "*"
    return pattern


class Scanner:
    def __init__(self, rt: "Runtime", interval_seconds: float) -> None:
        self.rt = rt
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bpflow-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        # First at start-up: files dropped while no process was running are recovered at once,
        # not one interval later (and a restart must not reset that clock).
        while True:
            try:
                n = scan_once(self.rt)
                log.debug("reconciliation scan handed over %d objects", n)
            except Exception:
                log.exception("reconciliation scan failed")
            if self._stop.wait(self.interval):
                return
