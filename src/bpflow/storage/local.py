"""A directory used as a bucket: the embedded default.

Generation = the file's mtime in nanoseconds. Writes made through bpflow set it explicitly to
``max(now, previous + 1)`` under an exclusive flock, so it strictly increases per key; a file
dropped in by another program gets its own mtime, which is what the watcher and the
reconciliation scan see. Create-only uses ``link(2)``, which the kernel makes atomic.
Temporary files and the lock live in ``<root>/.bpflow/``, which listings never show.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from bpflow.errors import ObjectNotFound, PreconditionFailed, StorageError
from bpflow.storage.base import Bucket, ObjectInfo
from bpflow.storage.containment import contained_path, is_contained

INTERNAL_DIR = ".bpflow"


class LocalBucket(Bucket):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.url = f"file://{self.root}"
        self._internal = self.root / INTERNAL_DIR
        (self._internal / "tmp").mkdir(parents=True, exist_ok=True)
        self._lock_path = self._internal / "write.lock"

    # -- helpers ---------------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        """The key's path; refuses (ObjectOutsideBucket) one that a symlink leads out of the root."""
        return contained_path(self.root, key)

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=st.st_size,
            updated=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=timezone.utc),
            generation=st.st_mtime_ns,
            bucket=str(self.root),
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _tmp_file(self, data: bytes) -> Path:
        tmp = self._internal / "tmp" / uuid.uuid4().hex
        with open(tmp, "wb") as fh:
            fh.write(data)
        return tmp

    # -- backend surface ---------------------------------------------------------------------
    def _read(self, key: str) -> tuple[bytes, ObjectInfo]:
        path = self.path_for(key)
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not _is_file(st):
                    raise ObjectNotFound(f"object not found: {key}", field="key")
                data = fh.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"object not found: {key}", field="key") from None
        return data, self._info(key, st)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = os.stat(self.path_for(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._info(key, st) if _is_file(st) else None

    def _write(self, key: str, data: bytes, if_generation_match: int | None, content_type: str) -> ObjectInfo:
        path = self.path_for(key)
        tmp = self._tmp_file(data)
        try:
            with self._locked():
                # Under the lock: a concurrent delete prunes empty folders, which must not
                # remove this folder between its creation and the link/rename below.
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except (NotADirectoryError, FileExistsError) as exc:
                    raise StorageError(f"cannot create parent folder for {key}: {exc}", retryable=False) from exc
                current = self.stat(key)
                if if_generation_match == 0 and current is not None:
                    raise PreconditionFailed(f"object already exists: {key}", field="key")
                if if_generation_match not in (None, 0):
                    if current is None or current.generation != if_generation_match:
                        raise PreconditionFailed(
                            f"generation mismatch for {key}: expected {if_generation_match}, "
                            f"found {current.generation if current else 'none'}",
                            field="key",
                        )
                gen = time.time_ns()
                if current is not None and gen <= current.generation:
                    gen = current.generation + 1
                os.utime(tmp, ns=(gen, gen))
                if if_generation_match == 0:
                    try:
                        os.link(tmp, path)  # atomic create-only, even against foreign writers
                    except FileExistsError:
                        raise PreconditionFailed(f"object already exists: {key}", field="key") from None
                else:
                    os.replace(tmp, path)
                st = os.stat(path)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        return self._info(key, st)

    def _delete(self, key: str, if_generation_match: int | None) -> bool:
        path = self.path_for(key)
        with self._locked():
            current = self.stat(key)
            if current is None:
                if if_generation_match not in (None, 0):
                    raise PreconditionFailed(f"object not found for conditional delete: {key}", field="key")
                return False
            if if_generation_match is not None and current.generation != if_generation_match:
                raise PreconditionFailed(f"generation mismatch deleting {key}", field="key")
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            self._prune_empty_parents(path.parent)
        return True

    def _prune_empty_parents(self, folder: Path) -> None:
        """Object stores have no folders; keep the directory tree as sparse as the key space."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Walk only the deepest folder the prefix names, then filter on the full prefix.
        base_rel = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / base_rel if base_rel else self.root
        if not base.is_dir() or not is_contained(self.root, base):
            return
        found: list[tuple[str, os.stat_result]] = []
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, self.root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            if rel_dir == "":
                dirnames[:] = [d for d in dirnames if d != INTERNAL_DIR]
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if not key.startswith(prefix):
                    continue
                if os.path.islink(os.path.join(dirpath, name)) and not is_contained(self.root, os.path.join(dirpath, name)):
                    continue  # a link out of the bucket is not an object of it
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                if _is_file(st):
                    found.append((key, st))
        found.sort(key=lambda kv: kv[0])
        for key, st in found:
            yield self._info(key, st)


def _is_file(st: os.stat_result) -> bool:
    import stat as _stat

    return _stat.S_ISREG(st.st_mode)
