"""The one storage interface every part of bpflow talks to.

Markers are objects, so the whole pipeline's correctness rests on three guarantees every backend
gives: a create-only write that exactly one writer wins, a compare-and-swap on the object's
generation, and a generation that strictly increases on each write of the same key (so an event
for ``key@generation`` names one version of one object, forever).
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bpflow.core.errors import InvalidObjectKey, ObjectNotFound

WriteListener = Callable[["ObjectInfo"], None]

_BAD_SEGMENTS = {"", ".", ".."}


def check_key(key: str) -> str:
    """Reject keys that could escape a prefix or that backends disagree on."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKey("object key must be a non-empty string", field="key")
    if len(key.encode("utf-8", "surrogatepass")) > 1024:
        raise InvalidObjectKey("object key longer than 1024 bytes", field="key")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidObjectKey(f"invalid object key {key!r}", field="key")
    for seg in key.split("/"):
        if seg in _BAD_SEGMENTS:
            raise InvalidObjectKey(f"invalid path segment in object key {key!r}", field="key")
    return key


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches within one path segment, ``**`` across segments, ``?`` one character."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                out[-1] = "(?:.*/)?"
                i += 1
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def literal_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard: what can be listed server-side."""
    cut = len(pattern)
    for ch in "*?[{":
        pos = pattern.find(ch)
        if pos != -1:
            cut = min(cut, pos)
    return pattern[:cut]


def common_literal_prefix(patterns: Iterable[str]) -> str:
    """The longest prefix every pattern's matches share (what one listing can cover)."""
    return os.path.commonprefix([literal_prefix(p) for p in patterns])


def normalise_prefix(prefix: str) -> str:
    """A key prefix inside a remote bucket: ``""`` or ``"some/path/"`` (validated like a key)."""
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    check_key(prefix)
    return prefix + "/"


def split_bucket_url(url: str, scheme: str) -> tuple[str, str]:
    """``<scheme>://name[/prefix]`` → (name, prefix)."""
    from bpflow.core.errors import ConfigError

    if not url.startswith(f"{scheme}://"):
        raise ConfigError(f"not a {scheme}:// bucket URL: {url!r}", field="BPFLOW_BUCKET_URL")
    name, _, prefix = url[len(scheme) + 3 :].partition("/")
    return name, prefix


@dataclass(frozen=True, slots=True)
class Listed:
    """One object as a listing sees it, without its generation.

    Working out a generation costs a HEAD per object on S3 and a ledger read on the local
    backend, while a scan mostly wants to know which objects exist and when they changed, so it
    can look closer at the few that matter (``Bucket.stat`` gives their generation)."""

    key: str
    size: int
    updated_s: float  # POSIX seconds, the same instant as ObjectInfo.updated


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    updated: datetime
    generation: int
    bucket: str = ""
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


class Bucket(ABC):
    """Backends implement the abstract methods; the helpers here are shared."""

    url: str

    def __init__(self) -> None:
        self._listeners: list[WriteListener] = []

    # -- events: writes made through the Bucket notify listeners immediately --------------
    def add_listener(self, fn: WriteListener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: WriteListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, info: ObjectInfo) -> None:
        for fn in list(self._listeners):
            fn(info)

    # -- backend surface -------------------------------------------------------------------
    @abstractmethod
    def _read(self, key: str) -> tuple[bytes, ObjectInfo]: ...

    @abstractmethod
    def _write(self, key: str, data: bytes, if_generation_match: int | None, content_type: str) -> ObjectInfo:
        """``if_generation_match``: None = unconditional, 0 = must not exist, N = must be at N."""

    @abstractmethod
    def _delete(self, key: str, if_generation_match: int | None) -> bool: ...

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None: ...

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""

    # -- public API ----------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        return self._read(check_key(key))[0]

    def read_with_info(self, key: str) -> tuple[bytes, ObjectInfo]:
        return self._read(check_key(key))

    def read_text(self, key: str) -> str:
        return self.read(key).decode("utf-8")

    def read_json(self, key: str) -> Any:
        return json.loads(self.read(key))

    def read_json_or_none(self, key: str) -> Any:
        try:
            return self.read_json(key)
        except ObjectNotFound:
            return None

    def write(
        self,
        key: str,
        data: bytes | str,
        *,
        if_generation_match: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        if isinstance(data, str):
            data = data.encode("utf-8")
        info = self._write(check_key(key), data, if_generation_match, content_type)
        self._notify(info)
        return info

    def write_json(self, key: str, obj: Any, *, if_generation_match: int | None = None) -> ObjectInfo:
        body = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return self.write(key, body, if_generation_match=if_generation_match, content_type="application/json")

    def create(self, key: str, data: bytes | str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Create-only write. Raises PreconditionFailed when the object already exists."""
        return self.write(key, data, if_generation_match=0, content_type=content_type)

    def create_json(self, key: str, obj: Any) -> ObjectInfo:
        return self.write_json(key, obj, if_generation_match=0)

    def delete(self, key: str, *, if_generation_match: int | None = None) -> bool:
        """True when an object was deleted, False when there was none."""
        return self._delete(check_key(key), if_generation_match)

    def exists(self, key: str) -> bool:
        return self.stat(check_key(key)) is not None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._list(prefix)

    def glob(self, pattern: str) -> Iterator[ObjectInfo]:
        rx = glob_to_regex(pattern)
        for info in self._list(literal_prefix(pattern)):
            if rx.match(info.key):
                yield info

    def list_keys(self, prefix: str = "", *, start_after: str = "") -> Iterator[Listed]:
        """Objects under ``prefix`` after ``start_after``, in key order, without generations.
        Backends whose listing is dearer with generations (local, S3) override this."""
        for info in self._list(prefix):
            if info.key > start_after:
                yield Listed(info.key, info.size, info.updated.timestamp())

    def list_folders(self, prefix: str, *, start_after: str = "") -> Iterator[str]:
        """Names of the "folders" right under ``prefix`` (which ends with "/") that hold at least
        one object, after ``start_after``, in the order of their keys (``name + "/"``): a page of
        scene ids without listing the scenes' objects. Backends with a delimiter listing override."""
        last = None
        after = prefix + start_after + "/" if start_after else ""
        for entry in self.list_keys(prefix, start_after=after):
            name, sep, _ = entry.key[len(prefix) :].partition("/")
            if sep and name != last and name != start_after:
                last = name
                yield name

    def glob_keys(self, patterns: Iterable[str], *, start_after: str = "") -> Iterator[Listed]:
        """Objects matching any of ``patterns`` (``glob`` syntax), in key order, without
        generations: one listing of the patterns' common literal prefix, however many patterns."""
        pats = sorted(set(patterns))
        if not pats:
            return
        rxs = [glob_to_regex(p) for p in pats]
        for entry in self.list_keys(common_literal_prefix(pats), start_after=start_after):
            if any(rx.match(entry.key) for rx in rxs):
                yield entry

    def close(self) -> None:  # noqa: B027 - an optional hook with a no-op default, not abstract
        """Release clients and connections; backends override when they hold any."""


class RemoteBucket(Bucket):
    """An object-store bucket, optionally narrowed to a key prefix: what S3 and GCS share."""

    scheme: str = ""

    def __init__(self, name: str, prefix: str) -> None:
        from bpflow.core.errors import ConfigError

        super().__init__()
        if not name:
            raise ConfigError(f"{self.scheme}:// bucket name is empty", field="BPFLOW_BUCKET_URL")
        self.name = name
        self.prefix = normalise_prefix(prefix)
        self.url = f"{self.scheme}://{name}/{self.prefix}" if self.prefix else f"{self.scheme}://{name}"

    def _full(self, key: str) -> str:
        return self.prefix + key
