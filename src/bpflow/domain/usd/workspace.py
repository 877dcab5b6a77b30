"""A local mirror of bucket keys, because USD reads and writes files, not bucket objects.

A job fetches the objects it needs into a temporary folder laid out exactly like the bucket
(``<tmp>/scenes/<id>/assets/...``), so relative asset paths authored in USD layers resolve the
same way on disk, in the bucket and on a bucket mount. Outputs are written locally and then
published to the same keys; nothing else of the temporary folder survives the job.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket


class Workspace:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.root = Path(tempfile.mkdtemp(prefix="bpflow-stage2-"))
        self.published: list[str] = []

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def path(self, key: str) -> Path:
        """Where ``key`` lives locally (its parent folder is created)."""
        p = self.root / key
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def key_of(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def fetch(self, key: str) -> Path | None:
        """Download one object; None when it does not exist."""
        try:
            raw = self.bucket.read(key)
        except ObjectNotFound:
            return None
        p = self.path(key)
        p.write_bytes(raw)
        return p

    def fetch_prefix(self, prefix: str, *, skip_hidden: bool = True) -> list[str]:
        """Download every object under ``prefix``; dot-files (markers) are skipped by default."""
        keys: list[str] = []
        for info in self.bucket.list(prefix.rstrip("/") + "/"):
            if skip_hidden and info.key.rsplit("/", 1)[-1].startswith("."):
                continue
            self.path(info.key).write_bytes(self.bucket.read(info.key))
            keys.append(info.key)
        return keys

    def publish(self, key: str, *, content_type: str = "application/octet-stream") -> str:
        """Upload the local file at ``key`` to the same key in the bucket."""
        self.bucket.write(key, self.path(key).read_bytes(), content_type=content_type)
        self.published.append(key)
        return key
