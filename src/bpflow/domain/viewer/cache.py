"""The viewer's GLB and thumbnail of a scene, made once per version of ``usd/scene.usda``.

Converting takes a second or more (composing the USD, triangulating), so the results are kept on
the service's local disk (``$BPFLOW_HOME/cache/viewer/<scene>/``), named by the USD object's
generation: a re-assembled scene gets a new generation and so a fresh conversion, and the older
files of that scene are removed. The assembly writes the objects' layers under ``assets/`` before
``scene.usda``, so the USD's generation also covers them. Concurrent requests for the same
version wait on one conversion instead of repeating it. Nothing is written to the bucket: a
viewer must never start a pipeline event.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket
from bpflow.domain.usd.workspace import Workspace
from bpflow.domain.viewer.glb import to_glb
from bpflow.domain.viewer.scene_parts import ViewerScene, read_scene
from bpflow.domain.viewer.thumbnail import render_thumbnail

#: Bumped when the conversion changes, so cached files of an older converter are not served.
CONVERTER_VERSION = 1
USD_REL = "usd/scene.usda"


class SceneUsdMissing(ObjectNotFound):
    code = "scene_usd_missing"


@dataclass(frozen=True)
class Cached:
    path: Path
    generation: int


class ViewerCache:
    def __init__(self, bucket: Bucket, root: Path) -> None:
        self.bucket = bucket
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def glb(self, scene_id: str) -> Cached:
        return self._get(scene_id, "glb", to_glb)

    def thumbnail(self, scene_id: str) -> Cached:
        return self._get(scene_id, "png", render_thumbnail)

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _get(self, scene_id: str, suffix: str, make: Callable[[ViewerScene], bytes]) -> Cached:
        key = f"scenes/{scene_id}/{USD_REL}"
        info = self.bucket.stat(key)
        if info is None:
            raise SceneUsdMissing(
                f"scene {scene_id} has no {USD_REL} yet (the usd-assembly stage writes it)", field="scene_id"
            )
        folder = self.root / scene_id
        target = folder / f"{info.generation}-v{CONVERTER_VERSION}.{suffix}"
        if target.is_file():
            return Cached(target, info.generation)
        with self._lock(str(target)):
            if not target.is_file():
                data = make(self._read(scene_id, key))
                folder.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
                tmp.write_bytes(data)
                os.replace(tmp, target)
                for old in folder.glob(f"*.{suffix}"):
                    if old != target:
                        old.unlink(missing_ok=True)
        return Cached(target, info.generation)

    def _read(self, scene_id: str, key: str) -> ViewerScene:
        """The composed scene: in place on a directory bucket, else from a local mirror of
        ``usd/`` and ``assets/`` (the layers the USD references by relative path)."""
        local = getattr(self.bucket, "path_for", None)
        if local is not None:
            return read_scene(local(key))
        with Workspace(self.bucket) as ws:
            ws.fetch_prefix(f"scenes/{scene_id}/usd")
            ws.fetch_prefix(f"scenes/{scene_id}/assets")
            if not ws.path(key).is_file():
                raise SceneUsdMissing(f"scene {scene_id} has no {USD_REL}", field="scene_id")
            return read_scene(ws.path(key))
