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
import stat as _stat
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bpflow.core.errors import ObjectNotFound, PreconditionFailed, StorageError
from bpflow.core.storage.base import Bucket, Listed, ObjectInfo, check_key, common_literal_prefix, glob_to_regex
from bpflow.core.storage.containment import contained_path, is_contained

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
        # key → writes through this Bucket in progress: between the rename that makes a version
        # visible and its entry in ``_notified``, the watcher must wait, not dispatch it.
        self._writing: dict[str, int] = {}
        self._writing_lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        """The key's path; refuses (ObjectOutsideBucket) one that a symlink leads out of the root."""
        return contained_path(self.root, key)

    def _info(self, key: str, st: os.stat_result, *, locked: bool = False, follow: bool = True) -> ObjectInfo:
        """Metadata of the version ``st`` describes. When that version has left the key meanwhile
        (replaced or deleted), ``follow`` describes the key's current version instead; without it
        (a read, whose bytes belong to the old version) ``_Superseded`` goes to the caller."""
        for _ in range(_SUPERSEDED_RETRIES):
            try:
                generation = self._generation(key, st, locked=locked)
                break
            except _Superseded:
                if not follow:
                    raise
                try:
                    st = os.stat(self.path_for(key))
                except (FileNotFoundError, NotADirectoryError):
                    raise ObjectNotFound(f"object not found: {key}", field="key") from None
        else:
            raise StorageError(f"{key} kept changing while its generation was read", retryable=True)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            updated=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC),  # what the file says
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
        # A version that is no longer at the key must not be recorded: a reader still holding a
        # replaced file (whose unlink changed its ctime) would otherwise give the live version's
        # ledger entry to a dead file, and the live version a new generation.
        try:
            live = _identity(os.stat(self.path_for(key)))
        except (FileNotFoundError, NotADirectoryError):
            raise _Superseded(key) from None
        if live != identity:
            raise _Superseded(key)
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

    def writing(self, key: str) -> bool:
        """Whether this Bucket is in the middle of writing ``key`` (its version may be visible
        already, but ``notified`` cannot say yet whether it is ours)."""
        return key in self._writing

    @contextmanager
    def _announcing(self, key: str) -> Iterator[None]:
        with self._writing_lock:
            self._writing[key] = self._writing.get(key, 0) + 1
        try:
            yield
        finally:
            with self._writing_lock:
                left = self._writing.pop(key) - 1
                if left:
                    self._writing[key] = left

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
        for _ in range(_SUPERSEDED_RETRIES):
            try:
                with open(path, "rb") as fh:
                    if not _is_file(os.fstat(fh.fileno())):
                        raise ObjectNotFound(f"object not found: {key}", field="key")
                    data = fh.read()
                    st = os.fstat(fh.fileno())  # after the read: a replace meanwhile shows as nlink 0
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(f"object not found: {key}", field="key") from None
            if st.st_nlink == 0:
                continue  # replaced while we read: these bytes are a version the key no longer has
            try:
                return data, self._info(key, st, follow=False)
            except _Superseded:
                continue
        raise StorageError(f"{key} kept changing while it was read", retryable=True)

    def stat(self, key: str) -> ObjectInfo | None:
        return self._stat_locked(key, locked=False)

    def _stat_locked(self, key: str, *, locked: bool = True) -> ObjectInfo | None:
        try:
            st = os.stat(self.path_for(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not _is_file(st):
            return None
        try:
            return self._info(key, st, locked=locked)
        except ObjectNotFound:
            return None  # deleted since the stat

    def _write(self, key: str, data: bytes, if_generation_match: int | None, content_type: str) -> ObjectInfo:
        path = self.path_for(key)
        tmp = self._tmp_file(data)
        try:
            with self._announcing(key), self._locked():
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
        for key, st in self._walk(prefix, "", None):
            try:
                yield self._info(key, st)
            except ObjectNotFound:
                continue  # deleted since the walk saw it

    def list_keys(self, prefix: str = "", *, start_after: str = "") -> Iterator[Listed]:
        for key, st in self._walk(prefix, start_after, None):
            yield Listed(key, st.st_size, st.st_mtime_ns / 1e9)

    def list_folders(self, prefix: str, *, start_after: str = "") -> Iterator[str]:
        """One ``scandir`` of the folder; a sub-folder counts once it holds an object (the walk
        stops at its first file)."""
        base = self.root / prefix.rstrip("/") if prefix.strip("/") else self.root
        if not base.is_dir() or not is_contained(self.root, base):
            return
        try:
            with os.scandir(base) as it:
                names = sorted(e.name + "/" for e in it if e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            return
        after = start_after + "/" if start_after else ""
        for sort_name in names:
            name = sort_name[:-1]
            if sort_name <= after or (base == self.root and name == INTERNAL_DIR):
                continue
            if next(self._walk(prefix + sort_name, "", None), None) is not None:
                yield name

    def glob_keys(self, patterns: Iterable[str], *, start_after: str = "") -> Iterator[Listed]:
        pats = sorted(set(patterns))
        if not pats:
            return
        for key, st in self._walk(common_literal_prefix(pats), start_after, _SegmentMatcher(pats)):
            yield Listed(key, st.st_size, st.st_mtime_ns / 1e9)

    def read(self, key: str) -> bytes:
        """The body alone: no generation to work out, so no ledger read (the poller reads
        thousands of job.json files and needs none of their generations). Containment is checked
        on the opened file itself where /proc shows it: one readlink instead of a realpath walk."""
        check_key(key)
        try:
            fd = os.open(self.root / key if _PROC_FD else self.path_for(key), os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"object not found: {key}", field="key") from None
        with open(fd, "rb") as fh:
            if _PROC_FD and not _inside(self.root, os.readlink(f"/proc/self/fd/{fd}")):
                self.path_for(key)  # raises ObjectOutsideBucket, the same error as everywhere
            if not _is_file(os.fstat(fd)):
                raise ObjectNotFound(f"object not found: {key}", field="key")
            return fh.read()

    def _walk(
        self, prefix: str, start_after: str, matcher: _SegmentMatcher | None
    ) -> Iterator[tuple[str, os.stat_result]]:
        """(key, stat) of each regular file under ``prefix`` after ``start_after``, in key order.

        Key order without collecting and sorting every key: each folder's entries are sorted by
        name, with "/" appended to folder names, and since every key below folder ``d`` starts
        with ``d/`` that is the order of the keys themselves. Whole folders before
        ``start_after`` are skipped unopened, and with a ``matcher`` so are folders no pattern
        can reach (a marker scan never opens ``episodes/`` or ``assets/`` contents it does not
        name). Symlinked folders are never followed; a file link must resolve inside the root."""
        base_rel = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / base_rel if base_rel else self.root
        if not base.is_dir() or not is_contained(self.root, base):
            return
        parts = base_rel.split("/") if base_rel else []
        state = matcher.start(parts) if matcher is not None else None
        if matcher is not None and state is None:
            return
        yield from self._walk_dir(
            str(base), base_rel + "/" if base_rel else "", len(parts), prefix, start_after, matcher, state
        )

    def _walk_dir(
        self,
        path: str,
        rel: str,
        depth: int,
        prefix: str,
        start_after: str,
        matcher: _SegmentMatcher | None,
        state: tuple[tuple[int, bool], ...] | None,
    ) -> Iterator[tuple[str, os.stat_result]]:
        tails = matcher.literal_tails(state, depth) if matcher is not None and state is not None else None
        if tails is not None:
            yield from self._probe(path, rel, tails, prefix, start_after)
            return
        try:
            with os.scandir(path) as it:
                entries = [(e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e) for e in it]
        except (FileNotFoundError, NotADirectoryError):
            return  # pruned or replaced while we walked
        entries.sort(key=lambda pair: pair[0])
        for sort_name, entry in entries:
            key = rel + sort_name
            if key <= start_after and not (sort_name.endswith("/") and start_after.startswith(key)):
                continue  # this object, or every key in this folder, comes at or before start_after
            is_dir = sort_name.endswith("/")
            if not (key.startswith(prefix) or (is_dir and prefix.startswith(key))):
                continue
            if depth == 0 and entry.name == INTERNAL_DIR:
                continue
            child_state = None
            if matcher is not None:
                assert state is not None
                child_state = matcher.step(state, depth, entry.name, is_dir=is_dir, key=key)
                if child_state is None:
                    continue
            if is_dir:
                yield from self._walk_dir(entry.path, key, depth + 1, prefix, start_after, matcher, child_state)
                continue
            if entry.is_symlink() and not is_contained(self.root, entry.path):
                continue  # a link out of the bucket is not an object of it
            try:
                st = entry.stat()
            except (FileNotFoundError, NotADirectoryError):
                continue
            if _is_file(st):
                yield key, st

    def _probe(
        self, path: str, rel: str, tails: list[str], prefix: str, start_after: str
    ) -> Iterator[tuple[str, os.stat_result]]:
        """Every pattern left names exact paths below this folder: look them up instead of
        listing it (a scene folder holds thousands of files; its markers are a handful of lstats)."""
        real_dirs: dict[str, bool] = {}
        for tail in tails:
            key = rel + tail
            if key <= start_after or not key.startswith(prefix):
                continue
            parts = tail.split("/")
            ok = True
            for i in range(1, len(parts)):  # the walk never follows a symlinked folder: neither does this
                sub = "/".join(parts[:i])
                if sub not in real_dirs:
                    try:
                        real_dirs[sub] = _stat.S_ISDIR(os.lstat(os.path.join(path, sub)).st_mode)
                    except OSError:
                        real_dirs[sub] = False
                if not real_dirs[sub]:
                    ok = False
                    break
            if not ok:
                continue
            full = os.path.join(path, tail)
            try:
                st = os.lstat(full)
                if _stat.S_ISLNK(st.st_mode):
                    if not is_contained(self.root, full):
                        continue  # a link out of the bucket is not an object of it
                    st = os.stat(full)
            except OSError:
                continue
            if _is_file(st):
                yield key, st


class _SegmentMatcher:
    """Glob patterns matched one path segment at a time, so a walk can skip folders early.

    The walk carries the patterns still alive (index, and whether a ``**`` segment was passed,
    after which anything deeper may match and the full pattern decides). The per-depth tables are
    memoised: one dict lookup per entry for literal segments, one regex per distinct wildcard."""

    def __init__(self, patterns: list[str]) -> None:
        self.full = [glob_to_regex(p) for p in patterns]
        self.segs = [p.split("/") for p in patterns]
        self._tables: dict[tuple[tuple[tuple[int, bool], ...], int], _Table] = {}

    def start(self, parts: list[str]) -> tuple[tuple[int, bool], ...] | None:
        state: tuple[tuple[int, bool], ...] = tuple((i, False) for i in range(len(self.segs)))
        for depth, name in enumerate(parts):
            nxt = self.step(state, depth, name, is_dir=True, key="")
            if nxt is None:
                return None
            state = nxt
        return state

    def literal_tails(self, state: tuple[tuple[int, bool], ...], depth: int) -> list[str] | None:
        """The exact remaining paths when every alive pattern is literal from ``depth`` on, in
        key order; None when some segment needs a listing."""
        table = self._tables.get((state, depth))
        if table is None:
            table = self._tables[(state, depth)] = _Table(self, state, depth)
        return table.tails

    def step(
        self, state: tuple[tuple[int, bool], ...], depth: int, name: str, *, is_dir: bool, key: str
    ) -> tuple[tuple[int, bool], ...] | None:
        """The state below folder ``name``, or for a file a non-None value when it matches."""
        table = self._tables.get((state, depth))
        if table is None:
            table = self._tables[(state, depth)] = _Table(self, state, depth)
        hits = [*table.literal.get(name, ()), *table.any_name, *table.starred]
        for rx, idxs in table.wild:
            if rx.match(name):
                hits.extend(idxs)
        if not hits:
            return None
        if is_dir:
            alive = tuple(sorted({(i, starred) for i, starred in hits if starred or len(self.segs[i]) > depth + 1}))
            return alive or None
        return ((0, False),) if any(self.full[i].match(key) for i, _ in hits) else None


class _Table:
    """For one (alive patterns, depth): what segment each alive pattern wants there."""

    def __init__(self, m: _SegmentMatcher, state: tuple[tuple[int, bool], ...], depth: int) -> None:
        self.literal: dict[str, list[tuple[int, bool]]] = {}
        self.any_name: list[tuple[int, bool]] = []
        self.starred: list[tuple[int, bool]] = []
        wild: dict[str, list[tuple[int, bool]]] = {}
        for i, starred in state:
            segs = m.segs[i]
            if starred:
                self.starred.append((i, True))
                continue
            if depth >= len(segs):
                continue
            seg = segs[depth]
            if "**" in seg:
                self.starred.append((i, True))
            elif seg == "*":
                self.any_name.append((i, False))
            elif any(ch in seg for ch in "*?[{"):
                wild.setdefault(seg, []).append((i, False))
            else:
                self.literal.setdefault(seg, []).append((i, False))
        self.wild = [(glob_to_regex(seg), idxs) for seg, idxs in wild.items()]
        rests = [m.segs[i][depth:] for i, starred in state if not starred]
        literal = all(not any(ch in seg for ch in "*?[{") for rest in rests for seg in rest) and not self.starred
        self.tails: list[str] | None = sorted({"/".join(rest) for rest in rests if rest}) if literal and rests else None


_SUPERSEDED_RETRIES = 8


class _Superseded(Exception):
    """The stat at hand describes a version that has left its key (replaced or deleted)."""


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes whenever the file's content may have: ctime cannot be set by any writer."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_PROC_FD = os.path.isdir("/proc/self/fd")


def _inside(root: Path, real: str) -> bool:
    base = str(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _is_file(st: os.stat_result) -> bool:
    return _stat.S_ISREG(st.st_mode)
