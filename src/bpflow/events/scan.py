"""Reconciliation: find trigger objects whose event was lost (a crash between a write and its
dispatch, a notification an object store dropped, a worker that was down) and dispatch them.

Only objects updated within the look-back window are considered, so pointing bpflow at an old
bucket does not replay its history; run ids make a re-dispatch of a handled object a no-op.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from bpflow.engine.registry import registered
from bpflow.events.model import ObjectEvent

if TYPE_CHECKING:
    from bpflow.engine.runtime import Runtime

log = logging.getLogger("bpflow.scan")


@dataclass
class ScanPass:
    """What one pass found: trigger objects in the window, the workflow starts they ask for, and
    the workflows among those this build lacks (by name, with how many objects asked)."""

    objects: int = 0
    starts: int = 0
    not_implemented: Counter[str] = field(default_factory=Counter)

    def summary(self, lookback: float) -> str:
        missing = ", ".join(f"{wf} ({n})" for wf, n in sorted(self.not_implemented.items()))
        tail = f"; not implemented in this build, not started: {missing}" if missing else ""
        return f"reconciliation scan: {self.objects} trigger objects updated in the last {lookback:g} s handed to the dispatcher ({self.starts} workflow starts, duplicates of handled runs are no-ops){tail}"


def scan_once(rt: "Runtime", lookback_seconds: float | None = None) -> int:
    """Dispatch every enabled trigger object in the window; returns how many were handed over."""
    return scan_pass(rt, lookback_seconds).objects


def scan_pass(rt: "Runtime", lookback_seconds: float | None = None) -> ScanPass:
    """One pass: each object in the window is handed over (a debug line each), counted by what it
    would start."""
    lookback = rt.scan_lookback_seconds if lookback_seconds is None else lookback_seconds
    since = datetime.now(timezone.utc) - timedelta(seconds=lookback)
    patterns = sorted({p for row in rt.triggers.rows if row.kind == "object" and row.is_enabled(rt.env) for p in row.patterns})
    implemented = set(registered())
    seen: set[str] = set()
    found = ScanPass()
    for pattern in patterns:
        for info in rt.bucket.glob(_listing_glob(pattern)):
            if info.key in seen or info.updated < since:
                continue
            seen.add(info.key)
            workflows = [m.workflow for m in rt.triggers.match_object(info.key, env=rt.env)]
            missing = [wf for wf in workflows if wf not in implemented]
            found.objects += 1
            found.starts += len(workflows) - len(missing)
            found.not_implemented.update(missing)
            log.debug("scan: %s@%s -> %s%s", info.key, info.generation, ", ".join(workflows) or "nothing",
                      f" (not implemented: {', '.join(missing)})" if missing else "")
            rt.dispatcher.submit(ObjectEvent(bucket=rt.bucket.url, name=info.key, generation=info.generation, source="scan"))
    return found


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
                found = scan_pass(self.rt)
                log.info(found.summary(self.rt.scan_lookback_seconds))
            except Exception:
                log.exception("reconciliation scan failed")
            if self._stop.wait(self.interval):
                return
