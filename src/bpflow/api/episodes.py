"""Stage 4 on the dashboard: a scene's episodes (task, success, why) and their camera videos.

The list comes from ``episodes/episodes_summary.json`` (written by the episode job); videos
are served from ``episodes/lerobot/videos/`` only — the route takes a path inside that folder,
refuses anything else (``..``, other extensions) and streams local files with range support,
so the browser's player can seek.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from bpflow.core.triggers import validate_scene_id

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

VIDEO_ROOT = "episodes/lerobot/"


def episode_list(rt: Runtime, scene_id: str) -> dict[str, Any] | None:
    """The summary's figures and one row per episode (None before the stage wrote anything)."""
    try:
        summary = rt.bucket.read_json_or_none(f"scenes/{scene_id}/episodes/episodes_summary.json")
    except ValueError:
        return None
    if not isinstance(summary, dict):
        return None
    rows = []
    for r in summary.get("episode_results") or []:
        if not isinstance(r, dict):
            continue
        videos = raw_videos if isinstance(raw_videos := r.get("videos"), dict) else {}
        rows.append(
            {
                "index": r.get("episode_index"),
                "task_id": r.get("task_id"),
                "object_id": r.get("object_id"),
                "success": r.get("success") is True,
                "reason": r.get("reason"),
                "frames": r.get("frames"),
                "videos": [
                    {"camera": str(k).rsplit(".", 1)[-1], "url": f"/scenes/{scene_id}/episodes/videos/{v}"}
                    for k, v in sorted(videos.items())
                ],
            }
        )
    return {
        "episodes": summary.get("episodes"),
        "successful": summary.get("successful"),
        "success_rate": summary.get("success_rate"),
        "fps": summary.get("fps"),
        "dataset": f"scenes/{scene_id}/{VIDEO_ROOT.rstrip('/')}",
        "rows": rows,
    }


def episodes_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get("/scenes/{scene_id}/episodes/videos/{path:path}", summary="One episode camera video (MP4)")
    def episode_video(scene_id: str, path: str) -> Response:
        validate_scene_id(scene_id)
        parts = path.split("/")
        if not path.endswith(".mp4") or any(p in ("", ".", "..") for p in parts) or parts[0] != "videos":
            raise HTTPException(status_code=404, detail="not an episode video")
        key = f"scenes/{scene_id}/{VIDEO_ROOT}{path}"
        local = rt.bucket.path_for(key) if hasattr(rt.bucket, "path_for") else None
        if local is not None:
            if not local.is_file():
                raise HTTPException(status_code=404, detail="no such video")
            return FileResponse(local, media_type="video/mp4")
        if not rt.bucket.exists(key):
            raise HTTPException(status_code=404, detail="no such video")
        return Response(rt.bucket.read(key), media_type="video/mp4")

    return router
