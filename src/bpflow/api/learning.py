"""The learning loop on the dashboard: training (steps, loss, the loss curve as a chart, the model
location) and the closed-loop evaluation (success per task beside the scripted expert, episode
lengths, the trial videos).

The chart is the SVG the training job rendered server-side (``loss_curve.svg``), shown as an
``<img>``: no script, so the dashboard's CSP allows it and an SVG cannot run code. Files are
served only from their own folders (``episodes/**/training/loss_curve.svg``,
``evaluation/videos/**.mp4``); anything else is a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from bpflow.core.stages import STAGES
from bpflow.core.triggers import validate_scene_id

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

#: The training stage's completion marker (scene-relative, ``core/stages.yaml``): it names the model.
TRAINED = STAGES["training"].complete[0]


def _json(rt: Runtime, key: str) -> dict[str, Any] | None:
    try:
        body = rt.bucket.read_json_or_none(key)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _trained(rt: Runtime, scene_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(training marker, training_result.json, the loss chart's key) — keys only inside the scene."""
    marker = _json(rt, f"scenes/{scene_id}/{TRAINED}")
    result_key = (marker or {}).get("training_result")
    own = f"scenes/{scene_id}/"
    trained = (
        _json(rt, result_key)
        if isinstance(result_key, str) and result_key.startswith(own) and ".." not in result_key.split("/")
        else None
    )
    chart = (trained or {}).get("loss_chart")
    ok = (
        isinstance(chart, str)
        and chart.startswith(own)
        and chart.endswith("/training/loss_curve.svg")
        and ".." not in chart.split("/")
    )
    return marker, trained, chart if ok else None


def learning_view(rt: Runtime, scene_id: str) -> dict[str, Any] | None:
    """Training and evaluation of the scene, or None before training finished."""
    marker, trained, chart = _trained(rt, scene_id)
    if marker is None:
        return None
    report = _json(rt, f"scenes/{scene_id}/evaluation/report.json")
    tasks = []
    for t in (report or {}).get("tasks") or []:
        videos = [
            v
            for v in t.get("videos") or []
            if isinstance(v, str) and v.startswith(f"scenes/{scene_id}/evaluation/videos/")
        ]
        tasks.append(
            {
                **t,
                "video_urls": [
                    f"/scenes/{scene_id}/evaluation/videos/{v.split('/evaluation/videos/', 1)[1]}" for v in videos
                ],
            }
        )
    return {
        "model_path": marker.get("model_path"),
        "architecture": marker.get("architecture"),
        "steps": marker.get("steps"),
        "final_loss": marker.get("final_loss"),
        "first_loss": (trained or {}).get("first_loss"),
        "seconds_per_step": (trained or {}).get("seconds_per_step"),
        "chart_url": f"/scenes/{scene_id}/training/loss_curve.svg" if chart else None,
        "report": report,
        "tasks": tasks,
    }


def _file(rt: Runtime, key: str, media_type: str) -> Response:
    local = rt.bucket.path_for(key) if hasattr(rt.bucket, "path_for") else None
    if local is not None:
        if not local.is_file():
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(local, media_type=media_type)
    if not rt.bucket.exists(key):
        raise HTTPException(status_code=404, detail="not found")
    return Response(rt.bucket.read(key), media_type=media_type)


def learning_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get("/scenes/{scene_id}/training/loss_curve.svg", summary="The training loss curve (SVG)")
    def loss_curve(scene_id: str) -> Response:
        chart = _trained(rt, validate_scene_id(scene_id))[2]
        if chart is None:
            raise HTTPException(status_code=404, detail="no loss curve")
        return _file(rt, chart, "image/svg+xml")

    @router.get("/scenes/{scene_id}/evaluation/videos/{path:path}", summary="One evaluation trial video (MP4)")
    def trial_video(scene_id: str, path: str) -> Response:
        validate_scene_id(scene_id)
        parts = path.split("/")
        if not path.endswith(".mp4") or any(p in ("", ".", "..") for p in parts):
            raise HTTPException(status_code=404, detail="not an evaluation video")
        return _file(rt, f"scenes/{scene_id}/evaluation/videos/{path}", "video/mp4")

    return router
