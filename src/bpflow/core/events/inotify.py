"""Linux inotify, just the part the bucket watcher needs: a recursive watch that skips one subtree.

A directory bucket keeps its ledger, lock and temporary files under ``<root>/.bpflow``; every
Bucket-API write touches that folder about ten times (temporary file, ledger entry, lock). A
general-purpose watcher (watchdog) watches it too and turns each of those into Python objects
that are then dropped, which cost more CPU than the whole rest of a stage's dispatch. Here the
kernel is never asked about that folder, and only the events that can complete an object are
requested: a close after writing, a move into a folder, a creation, a change of times (``cp -p``
sets them after its close, and that makes a new version).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from bpflow.core.errors import StorageError

IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000
IN_CLOEXEC = os.O_CLOEXEC
IN_NONBLOCK = os.O_NONBLOCK

MASK = IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW
log = logging.getLogger("bpflow.watcher")
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)

_libc = ctypes.CDLL(None, use_errno=True)
AVAILABLE = hasattr(_libc, "inotify_init1")  # Linux only
if AVAILABLE:
    _libc.inotify_init1.argtypes = [ctypes.c_int]
    _libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


@dataclass(frozen=True, slots=True)
class Change:
    """One kernel event: ``path`` is absolute; ``overflow`` means events were lost (the queue
    filled) and only a scan can say what changed."""

    path: str
    mask: int

    @property
    def is_dir(self) -> bool:
        return bool(self.mask & IN_ISDIR)

    @property
    def overflow(self) -> bool:
        return bool(self.mask & IN_Q_OVERFLOW)


class TreeWatch:
    """Watches ``root`` and every folder below it except ``skip`` (an absolute path), following no
    symlink. New folders are watched as they appear; what was written into them before their
    watch existed is reported by :meth:`add_tree`'s walk."""

    def __init__(self, root: str, skip: str) -> None:
        self.root = root
        self.skip = skip
        if not AVAILABLE:
            raise StorageError("inotify is not available on this system (the watcher is Linux-only)", retryable=False)
        fd = _libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
        if fd < 0:
            err = ctypes.get_errno()
            raise StorageError(f"inotify_init1 failed: {os.strerror(err)}", retryable=False)
        self.fd = fd
        self._paths: dict[int, str] = {}
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self.limit_reached = False
        self._fds: tuple[int, ...] = (fd, self._wake_r, self._wake_w)
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)
        self._poller.register(self._wake_r, select.POLLIN)

    def skipped(self, path: str) -> bool:
        return path == self.skip or path.startswith(self.skip + os.sep)

    def _add(self, path: str) -> bool:
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):  # gone, or a link: nothing to watch
                return False
            if err == errno.ENOSPC:  # fs.inotify.max_user_watches: say it once, keep what is watched
                if not self.limit_reached:
                    self.limit_reached = True
                    log.warning(
                        "inotify watch limit reached (fs.inotify.max_user_watches) at %s: files in folders "
                        "not watched are found by the reconciliation scan only",
                        path,
                    )
                return False
            raise StorageError(f"cannot watch {path}: {os.strerror(err)}", retryable=False)
        self._paths[wd] = path
        return True

    def add_tree(self, top: str) -> Iterator[str]:
        """Watch ``top`` and the folders below it; yields the files already there (written
        before the watch could see them)."""
        if self.skipped(top) or not self._add(top):
            return
        for folder, dirs, files in os.walk(top, followlinks=False):
            kept = []
            for name in dirs:
                sub = os.path.join(folder, name)
                if not self.skipped(sub) and not os.path.islink(sub) and self._add(sub):
                    kept.append(name)
            dirs[:] = kept
            for name in files:
                yield os.path.join(folder, name)

    def read(self, timeout: float | None = None) -> list[Change] | None:
        """The kernel's next events, waiting at most ``timeout`` seconds (None: until there are
        some); [] when the time ran out, None once :meth:`wake` was called."""
        if self._closed:
            return None
        ready = {fd for fd, _ in self._poller.poll(None if timeout is None else max(1, int(timeout * 1000 + 0.999)))}
        if self._wake_r in ready or self._closed:
            return None
        if self.fd not in ready:
            return []
        try:
            buf = os.read(self.fd, 256 * 1024)
        except BlockingIOError:
            return []
        return list(self._parse(buf))

    def _parse(self, buf: bytes) -> Iterator[Change]:
        offset = 0
        while offset + _HEADER.size <= len(buf):
            wd, mask, _cookie, length = _HEADER.unpack_from(buf, offset)
            raw = buf[offset + _HEADER.size : offset + _HEADER.size + length]
            offset += _HEADER.size + length
            if mask & IN_Q_OVERFLOW:
                yield Change(self.root, mask)
                continue
            if mask & IN_IGNORED:  # the folder was removed (or unwatched)
                self._paths.pop(wd, None)
                continue
            folder = self._paths.get(wd)
            if folder is None:
                continue
            name = os.fsdecode(raw.rstrip(b"\0"))
            yield Change(os.path.join(folder, name) if name else folder, mask)

    def wake(self) -> None:
        """Makes a blocked :meth:`read` return, for good (to stop). Idempotent."""
        if not self._closed:
            self._closed = True
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Releases the descriptors; only once no thread can be in :meth:`read`."""
        self.wake()
        fds, self._fds = self._fds, ()
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
