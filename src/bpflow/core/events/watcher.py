"""Files dropped into a local bucket by another program start their workflows.

inotify (through watchdog) reports a file once it is closed after writing or moved into place,
so a half-written file is never dispatched. A created file without a close event yet counts only
once no process has it open for writing (a slow writer that creates the file, then writes it
half a second later, is dispatched on its close, not while it is still empty). Writes made through
this runtime's Bucket were dispatched when they were made: the watcher recognises them by the file's
identity (``LocalBucket.notified``) and leaves them alone. Writes by other bpflow processes (a job)
are dispatched here; their generation is the one the writer recorded.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from bpflow.core.events.model import ObjectEvent
from bpflow.core.storage.local import INTERNAL_DIR, LocalBucket

#: Hands an event to the dispatcher (``Dispatcher.submit``): the watcher needs nothing else of it.
Submit = Callable[[ObjectEvent], Any]

log = logging.getLogger("bpflow.watcher")

SETTLE_SECONDS = 0.1
"""How long a created file may wait for its close event before it counts as complete."""

#: The only events the handler acts on. Passed to watchdog as its filter, which also narrows the
#: inotify mask: opens, reads (the ledger is read on every generation lookup), modifications and
#: attribute changes never reach this process, only creations, moves and closes after writing.
EVENTS = [FileClosedEvent, FileMovedEvent, FileCreatedEvent]


class _Handler(FileSystemEventHandler):
    def __init__(self, bucket: LocalBucket, submit: Submit) -> None:
        self.bucket = bucket
        self.submit = submit
        self.root = str(bucket.root)
        self.internal = os.path.join(self.root, INTERNAL_DIR) + os.sep
        self._pending: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def _key(self, path: str) -> str | None:
        if not path.startswith(self.root + os.sep) or path.startswith(self.internal):
            return None
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def _ours(self, key: str, path: str) -> bool:
        """A write this runtime's Bucket made and already dispatched (a stat; no ledger read)."""
        try:
            return self.bucket.notified(key, os.stat(path))
        except OSError:
            return False

    def _submit(self, path: str) -> None:
        key = self._key(path)
        if key is None or self._ours(key, path):
            return
        try:
            info = self.bucket.stat(key)
        except Exception:  # an invalid key (e.g. a stray name) is simply not an event
            return
        if info is not None:
            self.submit(ObjectEvent(bucket=self.bucket.url, name=key, generation=info.generation, source="watcher"))

    def on_closed(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileClosedEvent) and not event.is_directory:
            with self._lock:
                self._pending.pop(str(event.src_path), None)
            self._submit(str(event.src_path))

    def on_moved(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileMovedEvent) and not event.is_directory:
            self._submit(str(event.dest_path))

    def on_created(self, event: FileSystemEvent) -> None:
        # A file written in place is followed by a close event; one renamed or linked into the
        # bucket from outside arrives complete with none. Give the close event a moment, then
        # dispatch whatever is still waiting and no longer changing.
        if event.is_directory:
            return
        path = str(event.src_path)
        key = self._key(path)  # the bucket's own temporary files and ledger are never objects
        if key is not None and not self._ours(key, path):
            self._pending_created(path)

    def _pending_created(self, path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        with self._lock:
            self._pending[path] = (st.st_size, st.st_mtime_ns)
        timer = threading.Timer(SETTLE_SECONDS, self._settle, args=(path,))
        timer.daemon = True
        timer.start()

    def _settle(self, path: str) -> None:
        with self._lock:
            seen = self._pending.pop(path, None)
        if seen is None:  # a close event already dispatched it
            return
        key = self._key(path)
        if key is None or self._ours(key, path):  # before the costly look for writers in /proc
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        if (st.st_size, st.st_mtime_ns) != seen or _open_for_writing(path):  # still being written: wait for its close
            self._pending_created(path)
            return
        self._submit(path)


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
    def __init__(self, bucket: LocalBucket, submit: Submit) -> None:
        self.bucket = bucket
        self.observer = Observer(timeout=0.02)  # how often the emitter hands events over
        self.observer.schedule(_Handler(bucket, submit), str(bucket.root), recursive=True, event_filter=EVENTS)

    def start(self) -> None:
        self.observer.start()
        log.info("watching %s for dropped files", self.bucket.root)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
