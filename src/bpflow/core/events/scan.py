"""Reconciliation: find trigger objects whose event was lost (a crash between a write and its
dispatch, a notification an object store dropped, a worker that was down) and dispatch them.

Only objects updated within the look-back window are considered, so pointing bpflow at an old
bucket does not replay its history; run ids make a re-dispatch of a handled object a no-op.

At scale (100,000 scenes) three things keep a pass cheap:
- one listing for every trigger pattern together, names and update times only
  (``Bucket.glob_keys``): no generation per object, no folder a pattern cannot reach;
- the generation (``stat``) and the dispatch, which costs a database lookup, only for the objects
  inside the window;
- after the first pass the window starts where the previous pass started, less an overlap
  (``OVERLAP_S``), so a steady bucket hands almost nothing over. An object written while a pass
  was listing, behind the point the listing had reached, has an update time after that pass's
  start, so the next pass gets it. Every ``FULL_EVERY`` passes the whole look-back is scanned again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bpflow.core.engine.registry import registered
from bpflow.core.events.model import ObjectEvent

if TYPE_CHECKING:
    from bpflow.core.storage import Bucket
    from bpflow.core.triggers import TriggerMap


class ScanSource(Protocol):
    """What a scan needs (the runtime passes itself): the bucket, the trigger map under an env,
    the look-back window and where events go. Declared here so the scan never imports the runtime."""

    bucket: Bucket
    triggers: TriggerMap

    @property
    def env(self) -> Mapping[str, str]: ...  # read only: a host may keep a dict

    scan_lookback_seconds: float

    @property
    def submit(self) -> Callable[[ObjectEvent], Any]: ...


log = logging.getLogger("bpflow.scan")

# An object becomes visible a little after the time it is stamped with (the local bucket stamps
# before its rename; S3's LastModified is when the upload began), and clocks drift: the overlap
# between passes covers both.
OVERLAP_S = 300.0
FULL_EVERY = 120  # passes; at the default 30 s interval, the whole window once an hour


@dataclass
class ScanPass:
    """What one pass found: trigger objects in the window, the workflow starts they ask for, and
    the workflows among those this build lacks (by name, with how many objects asked)."""

    objects: int = 0
    starts: int = 0
    not_implemented: Counter[str] = field(default_factory=Counter)

    def summary(self, window: str) -> str:
        missing = ", ".join(f"{wf} ({n})" for wf, n in sorted(self.not_implemented.items()))
        tail = f"; not implemented in this build, not started: {missing}" if missing else ""
        return f"reconciliation scan ({window}): {self.objects} trigger objects handed to the dispatcher ({self.starts} workflow starts, duplicates of handled runs are no-ops){tail}"


def scan_once(rt: ScanSource, lookback_seconds: float | None = None, *, since_s: float | None = None) -> int:
    """Dispatch every enabled trigger object updated in the window; returns how many were handed
    over. The window is the look-back, narrowed to ``since_s`` (POSIX seconds) when given."""
    return scan_pass(rt, lookback_seconds, since_s=since_s).objects


def scan_pass(rt: ScanSource, lookback_seconds: float | None = None, *, since_s: float | None = None) -> ScanPass:
    """``scan_once``, counting what each object would start (a debug line per object: the pass's
    one info line is the Scanner's summary)."""
    lookback = rt.scan_lookback_seconds if lookback_seconds is None else lookback_seconds
    cutoff = time.time() - lookback
    if since_s is not None:
        cutoff = max(cutoff, since_s)
    patterns = {
        _listing_glob(p)
        for row in rt.triggers.rows
        if row.kind == "object" and row.is_enabled(rt.env)
        for p in row.patterns
    }
    implemented = set(registered())
    found = ScanPass()
    for entry in rt.bucket.glob_keys(patterns):
        if entry.updated_s < cutoff:
            continue
        info = rt.bucket.stat(entry.key)  # the generation: only for the few objects in the window
        if info is None:
            continue  # deleted since the listing
        workflows = [m.workflow for m in rt.triggers.match_object(info.key, env=rt.env)]
        missing = [wf for wf in workflows if wf not in implemented]
        found.objects += 1
        found.starts += len(workflows) - len(missing)
        found.not_implemented.update(missing)
        log.debug(
            "scan: %s@%s -> %s%s",
            info.key,
            info.generation,
            ", ".join(workflows) or "nothing",
            f" (not implemented: {', '.join(missing)})" if missing else "",
        )
        rt.submit(ObjectEvent(bucket=rt.bucket.url, name=info.key, generation=info.generation, source="scan"))
    return found


def _listing_glob(pattern: str) -> str:
    """Brace alternation is the trigger matcher's business; list with a plain wildcard instead."""
    if "{" in pattern:
        return pattern[: pattern.index("{")] + "*"
    return pattern


class Scanner:
    """The periodic scan: a full look-back pass at start-up and every ``full_every`` passes,
    incremental passes in between."""

    def __init__(
        self,
        rt: ScanSource,
        interval_seconds: float,
        *,
        overlap_seconds: float = OVERLAP_S,
        full_every: int = FULL_EVERY,
    ) -> None:
        self.rt = rt
        self.interval = interval_seconds
        self.overlap = overlap_seconds
        self.full_every = max(1, full_every)
        self._passes = 0
        self._last_start: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bpflow-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def pass_once(self) -> int:
        """One pass: incremental from the previous pass's start (less the overlap) when there
        was one that succeeded and a full pass is not due. Logs its one summary line."""
        started = time.time()
        full = self._last_start is None or self._passes % self.full_every == 0
        since = None if full else self._last_start - self.overlap  # type: ignore[operator]
        found = scan_pass(self.rt, since_s=since)
        self._last_start = (
            started  # only after a pass that finished: after a failure the next pass reaches back further
        )
        self._passes += 1
        window = (
            f"last {self.rt.scan_lookback_seconds:g} s" if since is None else f"since {time.time() - since:.0f} s ago"
        )
        log.info(found.summary(window))
        return found.objects

    def _loop(self) -> None:
        # First at start-up: files dropped while no process was running are recovered at once,
        # not one interval later (and a restart must not reset that clock).
        while True:
            try:
                self.pass_once()
            except Exception:
                log.exception("reconciliation scan failed")
            if self._stop.wait(self.interval):
                return
