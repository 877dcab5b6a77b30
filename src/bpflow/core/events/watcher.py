"""Files dropped into a local bucket by another program start their workflows.

inotify reports a file once it is closed after writing or moved into place, so a half-written file
is never dispatched. A created file without a close event yet counts only once no process has it
open for writing (a slow writer that creates the file, then writes it half a second later, is
dispatched on its close, not while it is still empty). Writes made through this runtime's Bucket
were dispatched when they were made: the watcher recognises them by the file's identity
(``LocalBucket.notified``) and leaves them alone. Writes by other bpflow processes (a job) are
dispatched here; their generation is the one the writer recorded. The bucket's own folder
(``.bpflow``: ledger, lock, temporary files) is not watched at all (``events/inotify.py``).
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bpflow.core.events.inotify import IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_MOVED_TO, Change, TreeWatch
from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import INTERNAL_DIR, LocalBucket

#: Hands an event to the dispatcher (``Dispatcher.submit``): the watcher needs nothing else of it.
Submit = Callable[[ObjectEvent], Any]

log = logging.getLogger("bpflow.watcher")

QUIET_SECONDS = 0.02
"""A finished file (closed after writing, or moved in) is dispatched once nothing more happened
to it for this long: ``cp -p`` and ``rsync -t`` set the file's times just after closing it, and
the dispatched version must be the one with those times."""

SETTLE_SECONDS = 0.1
"""How long a created (or re-timed) file may wait for its close event before it counts as
complete, provided no process has it open for writing."""


@dataclass
class _Pending:
    key: str
    due: float
    complete: bool  # closed after writing or moved in: no look for writers needed
    seen: tuple[int, int] | None  # (size, mtime) when scheduled, for the settle check


class _Handler:
    """Decides, per path, when a change is a finished version to dispatch. Runs on the watcher's
    one thread; the pending table needs no lock."""

    def __init__(self, bucket: LocalBucket, submit: Submit) -> None:
        self.bucket = bucket
        self.submit = submit
        self.root = str(bucket.root)
        self._pending: dict[str, _Pending] = {}
        # (due, path) of every scheduling; an entry whose due no longer matches the table is stale.
        # A heap, so a bulk copy of many files costs log n per file, not a scan of the table.
        self._due: list[tuple[float, str]] = []

    def _key(self, path: str) -> str | None:
        """The object key of ``path`` (the bucket's own folder never gets here: it is not watched)."""
        if not path.startswith(self.root + os.sep):
            return None
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def changed(self, path: str, *, complete: bool, settle: float = SETTLE_SECONDS) -> None:
        """``complete``: closed after writing or moved into place; otherwise created or re-timed,
        which counts once it has not changed for ``settle`` seconds and no process writes it."""
        key = self._key(path)
        if key is None:
            return
        try:
            st = os.stat(path)
        except OSError:
            self._pending.pop(path, None)
            return
        if not self.bucket.writing(key) and self.bucket.notified(key, st):
            self._pending.pop(path, None)  # the runtime's own write: dispatched when it was made
            return
        before = self._pending.get(path)
        complete = complete or (before is not None and before.complete)
        delay = QUIET_SECONDS if complete else settle
        self._schedule(path, _Pending(key, time.monotonic() + delay, complete, (st.st_size, st.st_mtime_ns)))

    def _schedule(self, path: str, pending: _Pending) -> None:
        self._pending[path] = pending
        heapq.heappush(self._due, (pending.due, path))

    def next_due(self) -> float | None:
        """Seconds until the earliest pending path is due (None: nothing pending)."""
        while self._due:
            due, path = self._due[0]
            pending = self._pending.get(path)
            if pending is not None and pending.due == due:
                return max(0.0, due - time.monotonic())
            heapq.heappop(self._due)  # rescheduled or dropped since
        return None

    def run_due(self) -> None:
        now = time.monotonic()
        while self._due and self._due[0][0] <= now:
            due, path = heapq.heappop(self._due)
            pending = self._pending.get(path)
            if pending is None or pending.due != due:
                continue
            del self._pending[path]
            key = pending.key
            try:
                st = os.stat(path)
            except OSError:
                continue
            if self.bucket.writing(key):  # our own write is still being recorded: look again
                self._schedule(path, _Pending(key, now + QUIET_SECONDS, pending.complete, pending.seen))
                continue
            if self.bucket.notified(key, st):
                continue
            if not pending.complete and ((st.st_size, st.st_mtime_ns) != pending.seen or _open_for_writing(path)):
                # still being written: wait for its close
                self._schedule(path, _Pending(key, now + SETTLE_SECONDS, False, (st.st_size, st.st_mtime_ns)))
                continue
            self._dispatch(key)

    def _dispatch(self, key: str) -> None:
        try:
            info = self.bucket.stat(key)
        except Exception:  # an invalid key (e.g. a stray name, a link out) is simply not an event
            return
        if info is not None:
            self.submit(ObjectEvent(bucket=self.bucket.url, name=key, generation=info.generation, source="watcher"))


def _open_for_writing(path: str) -> bool:
    """Whether a process (that we may inspect) holds ``path`` open for writing. inotify cannot
    say: a file created in a folder that is itself brand new is opened before the watch on that
    folder exists, so its open is never reported, only its close."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return False
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") != path:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
            except (OSError, StopIteration, ValueError):
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                return True
    return False


class BucketWatcher:
    """One thread reads inotify for the whole bucket tree and dispatches finished files (no
    second hand-over thread, no timer threads: per event it does a stat)."""

    def __init__(self, bucket: LocalBucket, submit: Submit) -> None:
        self.bucket = bucket
        self.handler = _Handler(bucket, submit)
        root = str(bucket.root)
        self.tree = TreeWatch(root, os.path.join(root, INTERNAL_DIR))
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The watches exist when start returns; files already in the bucket are the scan's.
        try:
            for _existing in self.tree.add_tree(self.tree.root):
                pass
        except BaseException:
            self.tree.close()
            raise
        self._thread = threading.Thread(target=self._loop, name="bpflow-watcher", daemon=True)
        self._thread.start()
        log.info("watching %s for dropped files", self.bucket.root)

    def _loop(self) -> None:
        while (changes := self.tree.read(self.handler.next_due())) is not None:
            for change in changes:
                try:
                    self._handle(change)
                except Exception:  # one bad path must not end the watch
                    log.exception("watcher: could not handle %s", change.path)
            try:
                self.handler.run_due()
            except Exception:
                log.exception("watcher: dispatching finished files failed")

    def _handle(self, change: Change) -> None:
        if change.overflow:
            log.warning("inotify dropped events (queue full): the reconciliation scan finds what was missed")
            return
        if self.tree.skipped(change.path):
            return
        if change.is_dir:
            if change.mask & (IN_CREATE | IN_MOVED_TO):  # a new folder: watch it, and take what is in it
                for path in self.tree.add_tree(change.path):
                    # Written before the watch: its close may never be reported, so no point
                    # waiting for one; unchanged and with no writer, it is complete.
                    self.handler.changed(path, complete=False, settle=QUIET_SECONDS)
        elif change.mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
            self.handler.changed(change.path, complete=True)
        elif change.mask & (IN_CREATE | IN_ATTRIB):
            self.handler.changed(change.path, complete=False)

    def stop(self) -> None:
        self.tree.wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():  # still inside a handler: leave the descriptors to the process
                return
        self.tree.close()
