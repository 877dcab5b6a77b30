"""A directory used as a bucket: the embedded default.

Generations come from a ledger, not from timestamps: ``<root>/.bpflow/generations/`` keeps, per
key, the last generation handed out and the identity of the file it was given to (inode, size,
mtime, ctime). A file whose identity differs from its ledger entry is a new version and gets
``max(now, last + 1)``, so generations strictly increase per key whatever a writer does to
timestamps: a request restored with ``cp -p`` or from a backup is a new version, and a
deleted-then-restored key never reuses an old generation (the entry outlives the file). ctime
is what catches those writers, because no program can set it. A key the ledger has never seen
starts at its mtime, so a bucket written before the ledger keeps its generations (and run ids).
``updated`` stays the file's mtime: what the writer says about its age (a restored marker is old).

Writes made through bpflow assign the generation under an exclusive flock and record it at once.
Create-only uses ``link(2)``, which the kernel makes atomic. Temporary files, the lock and the
ledger live in ``<root>/.bpflow/``, which listings never show.
"""

from __future__ import annotations

import fcntl
import hashlib
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
        self._ledger = self._internal / "generations"
        # key → (identity, generation) this process has seen. An identity gets one generation,
        # ever (ctime never goes back), so a match needs no ledger read.
        self._known: dict[str, tuple[tuple[int, ...], int]] = {}
        # key → identity of the last version written through this Bucket while it had listeners:
        # those were told at once, so the file watcher need not dispatch that version again.
        self._notified: dict[str, tuple[int, ...]] = {}

    # -- helpers ---------------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        """The key's path; refuses (ObjectOutsideBucket) one that a symlink leads out of the root."""
        return contained_path(self.root, key)

    def _info(self, key: str, st: os.stat_result, *, locked: bool = False) -> ObjectInfo:
        generation = self._generation(key, st, locked=locked)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            updated=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=timezone.utc),  # what the file says
            generation=generation,
            bucket=str(self.root),
        )

    # -- the generation ledger ---------------------------------------------------------------
    def _entry_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self._ledger / digest[:2] / digest[2:]

    def _entry(self, key: str) -> tuple[int, tuple[int, ...]] | None:
        """(generation, file identity) last recorded for ``key``."""
        try:
            fields = [int(v) for v in self._entry_path(key).read_text().split()]
        except (FileNotFoundError, ValueError):
            return None
        return (fields[0], tuple(fields[1:])) if len(fields) == 5 else None

    def _record(self, key: str, generation: int, identity: tuple[int, ...]) -> None:
        path = self._entry_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._internal / "tmp" / uuid.uuid4().hex
        tmp.write_text(" ".join(str(v) for v in (generation, *identity)))
        os.replace(tmp, path)

    def _generation(self, key: str, st: os.stat_result, *, locked: bool) -> int:
        identity = _identity(st)
        known = self._known.get(key)
        if known is not None and known[0] == identity:
            return known[1]
        entry = self._entry(key)
        if entry is not None and entry[1] == identity:
            self._remember(key, identity, entry[0])
            return entry[0]
        if not locked:
            with self._locked():
                return self._generation(key, st, locked=True)
        # Under the lock: another process may have recorded this very version meanwhile.
        if entry is None:
            generation = st.st_mtime_ns  # first sight: keep what the key had before the ledger
        else:
            generation = max(time.time_ns(), entry[0] + 1)
        self._record(key, generation, identity)
        self._remember(key, identity, generation)
        return generation

    def _remember(self, key: str, identity: tuple[int, ...], generation: int) -> None:
        if len(self._known) >= 100_000:
            self._known.clear()
        self._known[key] = (identity, generation)

    def notified(self, key: str, st: os.stat_result) -> bool:
        """Whether the file ``st`` describes is the version of ``key`` this Bucket wrote and told
        its listeners about. Any other writer, even of the same bytes, changes the file's
        identity (its ctime at least), so a foreign version is never mistaken for ours."""
        return self._notified.get(key) == _identity(st)

    def _next_generation(self, key: str, current: ObjectInfo | None) -> int:
        if current is not None:  # its generation is the ledger's latest for the key
            return max(time.time_ns(), current.generation + 1)
        entry = self._entry(key)  # deleted keys keep their entry: never reuse a generation
        return max(time.time_ns(), (entry[0] if entry else 0) + 1)

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
        return self._stat_locked(key, locked=False)

    def _stat_locked(self, key: str, *, locked: bool = True) -> ObjectInfo | None:
        try:
            st = os.stat(self.path_for(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._info(key, st, locked=locked) if _is_file(st) else None

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
                current = self._stat_locked(key)
                if if_generation_match == 0 and current is not None:
                    raise PreconditionFailed(f"object already exists: {key}", field="key")
                if if_generation_match not in (None, 0):
                    if current is None or current.generation != if_generation_match:
                        raise PreconditionFailed(
                            f"generation mismatch for {key}: expected {if_generation_match}, "
                            f"found {current.generation if current else 'none'}",
                            field="key",
                        )
                gen = self._next_generation(key, current)
                os.utime(tmp, ns=(gen, gen))
                if if_generation_match == 0:
                    try:
                        os.link(tmp, path)  # atomic create-only, even against foreign writers
                    except FileExistsError:
                        raise PreconditionFailed(f"object already exists: {key}", field="key") from None
                    os.unlink(tmp)  # before the stat: dropping a link changes the file's ctime
                else:
                    os.replace(tmp, path)
                st = os.stat(path)
                self._record(key, gen, _identity(st))
                self._remember(key, _identity(st), gen)
                if self._listeners:
                    if len(self._notified) >= 10_000:
                        self._notified.clear()
                    self._notified[key] = _identity(st)
                info = self._info(key, st, locked=True)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        return info

    def _delete(self, key: str, if_generation_match: int | None) -> bool:
        path = self.path_for(key)
        with self._locked():
            current = self._stat_locked(key)
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


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes whenever the file's content may have: ctime cannot be set by any writer."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _is_file(st: os.stat_result) -> bool:
    import stat as _stat

    return _stat.S_ISREG(st.st_mode)
