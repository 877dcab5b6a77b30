"""A scene's artifacts on the dashboard: every object under ``scenes/<id>/`` as a folder tree
(size, updated, generation), one object opened (JSON pretty-printed, text, image, video), and any
object downloaded.

Every path a request names goes through :func:`scene_object_key`: it must stay inside the scene's
own prefix (no ``..``, ``.``, empty segment, backslash, NUL or absolute path — after the URL's
percent-decoding), and a directory bucket additionally refuses a symlink that leads out of its
root. A refused path is a 400 naming the field; a missing object a 404.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from bpflow.core.contracts.json_limits import JsonTooDeep, loads_bounded
from bpflow.core.errors import InvalidObjectKey, ObjectNotFound, ValidationFailed
from bpflow.core.storage.base import ObjectInfo, check_key
from bpflow.core.triggers import validate_scene_id
from bpflow.ops.dag import load_dag

if TYPE_CHECKING:
    from collections.abc import Callable

    from bpflow.core.engine.runtime import Runtime

#: Opened in the page up to this size; bigger objects are offered for download only.
MAX_PREVIEW_BYTES = 512 * 1024
_TEXT_SUFFIXES = (
    ".json",
    ".jsonl",
    ".txt",
    ".log",
    ".usda",
    ".yaml",
    ".yml",
    ".md",
    ".py",
    ".csv",
    ".svg",
    ".xml",
    ".mtl",
    ".obj",
)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


class ArtifactPathRefused(ValidationFailed):
    code = "artifact_path_refused"


class ArtifactNotFound(ObjectNotFound):
    code = "artifact_not_found"


def human_bytes(n: int | float | None) -> str:
    """1536 → "1.5 KB" (powers of 1024, as file browsers show sizes)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def scene_object_key(scene_id: str, path: str) -> str:
    """``scenes/<scene_id>/<path>``, or :class:`ArtifactPathRefused` for a path that could
    leave the scene's prefix."""
    validate_scene_id(scene_id)
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(s in ("", ".", "..") for s in path.split("/"))
    ):
        raise ArtifactPathRefused(f"path {path!r} is not a file inside scene {scene_id}", field="path")
    try:
        key = check_key(f"scenes/{scene_id}/{path}")
    except InvalidObjectKey as exc:
        raise ArtifactPathRefused(exc.message, field="path") from None
    if not key.startswith(f"scenes/{scene_id}/"):
        raise ArtifactPathRefused(f"path {path!r} leaves scene {scene_id}", field="path")
    return key


@dataclass
class Folder:
    """One folder of the tree, with its totals (so a collapsed folder still tells its size)."""

    name: str
    path: str  # scene-relative, ending in "/" ("" for the scene's root)
    folders: dict[str, Folder] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    size: int = 0
    updated: float = 0.0

    def sorted_folders(self) -> list[Folder]:
        return [self.folders[k] for k in sorted(self.folders)]


def list_artifacts(rt: Runtime, scene_id: str) -> list[dict[str, Any]]:
    """Every object of the scene: scene-relative path, size, updated (epoch s), generation."""
    prefix = f"scenes/{validate_scene_id(scene_id)}/"
    out = [_row(info, prefix) for info in rt.bucket.list(prefix)]
    return sorted(out, key=lambda r: r["path"])


def _row(info: ObjectInfo, prefix: str) -> dict[str, Any]:
    return {
        "path": info.key[len(prefix) :],
        "size": info.size,
        "updated": info.updated.timestamp(),
        "generation": info.generation,
    }


def build_tree(rows: list[dict[str, Any]]) -> Folder:
    root = Folder("", "")
    for row in rows:
        parts = row["path"].split("/")
        node = root
        chain = [root]
        for seg in parts[:-1]:
            node = node.folders.setdefault(seg, Folder(seg, node.path + seg + "/"))
            chain.append(node)
        node.files.append({**row, "name": parts[-1]})
        for f in chain:
            f.count += 1
            f.size += row["size"]
            f.updated = max(f.updated, row["updated"])
    return root


def stage_outputs(rt: Runtime, stage_name: str) -> list[str]:
    """A stage's outputs as scene-relative prefixes: the folders of its completion markers
    (``usd/.usd_complete`` → ``usd/``), or the marker files themselves at the scene's root."""
    stage = load_dag(rt.env).get(stage_name)
    if stage is None:
        return []
    outs: list[str] = []
    for marker in stage.complete:
        out = marker.rsplit("/", 1)[0] + "/" if "/" in marker else marker
        if out not in outs:
            outs.append(out)
    return outs


def _kind(path: str) -> str:
    low = path.lower()
    if low.endswith(".json") or low.rsplit("/", 1)[-1].startswith("."):
        return "json"  # markers are JSON documents
    if low.endswith(_IMAGE_SUFFIXES):
        return "image"
    if low.endswith(".mp4"):
        return "video"
    if low.endswith(_TEXT_SUFFIXES):
        return "text"
    return "binary"


def open_artifact(rt: Runtime, scene_id: str, path: str) -> dict[str, Any]:
    """What the artifact page shows: the object's facts and, when small enough, its content."""
    key = scene_object_key(scene_id, path)
    info = rt.bucket.stat(key)
    if info is None:
        raise ArtifactNotFound(f"scene {scene_id} has no object {path}", field="path")
    kind = _kind(path)
    doc: dict[str, Any] = {
        "key": key,
        "path": path,
        "size": info.size,
        "updated": info.updated.timestamp(),
        "generation": info.generation,
        "kind": kind,
        "body": None,
        "too_big": False,
    }
    if kind in ("json", "text"):
        if info.size > MAX_PREVIEW_BYTES:
            doc["too_big"] = True
            return doc
        raw = rt.bucket.read(key)
        if kind == "json":
            try:
                doc["body"] = loads_bounded(raw)
            except (ValueError, JsonTooDeep):
                doc["kind"] = "text"
        if doc["body"] is None:
            doc["body"] = raw.decode("utf-8", "replace")
    return doc


def download(rt: Runtime, scene_id: str, path: str, *, inline: bool = False) -> Response:
    key = scene_object_key(scene_id, path)
    name = path.rsplit("/", 1)[-1]
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}"
    local = getattr(rt.bucket, "path_for", None)
    if local is not None:
        file = local(key)  # refuses a symlink out of the bucket (ObjectOutsideBucket)
        if not file.is_file():
            raise ArtifactNotFound(f"scene {scene_id} has no object {path}", field="path")
        return FileResponse(file, media_type=media, headers={"content-disposition": disposition})
    try:
        data = rt.bucket.read(key)
    except ObjectNotFound:
        raise ArtifactNotFound(f"scene {scene_id} has no object {path}", field="path") from None
    return Response(data, media_type=media, headers={"content-disposition": disposition})


def artifacts_router(rt: Runtime, page: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(tags=["artifacts"])

    @router.get("/api/scenes/{scene_id}/artifacts", summary="A scene's objects: path, size, updated, generation")
    def artifacts_json(scene_id: str) -> dict[str, Any]:
        return {"scene_id": scene_id, "objects": list_artifacts(rt, scene_id)}

    @router.get("/scenes/{scene_id}/artifacts", response_class=HTMLResponse, summary="A scene's artifacts as a tree")
    def artifacts_page(request: Request, scene_id: str, stage: str = Query("", max_length=100)) -> HTMLResponse:
        rows = list_artifacts(rt, scene_id)
        focus = stage_outputs(rt, stage) if stage else []
        open_dirs = {p[: i + 1] for p in focus for i, ch in enumerate(p) if ch == "/"}
        return page(
            request,
            "artifacts.html",
            partial_template="_artifacts.html",
            scene_id=scene_id,
            tree=build_tree(rows),
            total=len(rows),
            stage=stage,
            focus=focus,
            open_dirs=open_dirs,
        )

    @router.get("/scenes/{scene_id}/artifacts/{path:path}", response_class=HTMLResponse, summary="One artifact opened")
    def artifact_page(request: Request, scene_id: str, path: str) -> HTMLResponse:
        return page(request, "artifact.html", scene_id=scene_id, art=open_artifact(rt, scene_id, path))

    @router.get("/scenes/{scene_id}/files/{path:path}", summary="Download one object of the scene")
    def file_download(scene_id: str, path: str, inline: bool = False) -> Response:
        return download(rt, scene_id, path, inline=inline)

    return router
