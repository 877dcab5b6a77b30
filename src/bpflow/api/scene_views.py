"""The Episodes and Learning pages of a scene, with their chart data.

Episodes: the list (task, success, why), the camera videos playing in the page, and for the chosen
episode its joint positions (``observation.state``) and commanded actions (``action``) over time,
read from the scene's LeRobot dataset (``episodes/lerobot/data/**.parquet``, feature names from
``meta/info.json``). Learning: the training loss curve (``loss_curve.json``, the points the
training job parsed from LeRobot's log) and the evaluation report (policy beside the scripted
expert per task). Every chart is drawn in the browser by the vendored uPlot from the JSON these
routes serve; nothing but the scene's own keys is read.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bpflow.api.episodes import VIDEO_ROOT, episode_list
from bpflow.api.learning import TRAINED, _json, learning_view
from bpflow.core.errors import ObjectNotFound
from bpflow.core.triggers import validate_scene_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from bpflow.core.engine.runtime import Runtime

#: The series a trajectory chart shows: (dataset feature, label).
TRAJECTORY_FEATURES = (("observation.state", "joint positions"), ("action", "actions"))
#: Points kept per series: a long episode is thinned evenly, the chart cannot show more anyway.
MAX_POINTS = 2000


class EpisodeNotFound(ObjectNotFound):
    code = "episode_not_found"


def _read_parquet(rt: Runtime, key: str, columns: list[str]) -> Any:
    local = getattr(rt.bucket, "path_for", None)
    if local is not None:
        return pq.read_table(local(key), columns=columns)
    return pq.read_table(io.BytesIO(rt.bucket.read(key)), columns=columns)


def trajectory(rt: Runtime, scene_id: str, episode: int) -> dict[str, Any]:
    """One episode's joint and action series: ``{"fps", "t": [...], "series": {feature: {"names", "values": [[...] per dim]}}}``."""
    root = f"scenes/{validate_scene_id(scene_id)}/{VIDEO_ROOT}"
    info = _json(rt, f"{root}meta/info.json")
    if info is None:
        raise EpisodeNotFound(f"scene {scene_id} has no episode dataset yet", field="scene_id")
    features = info.get("features") or {}
    wanted = [f for f, _ in TRAJECTORY_FEATURES if f in features]
    rows: dict[str, list[np.ndarray]] = {f: [] for f in wanted}
    times: list[np.ndarray] = []
    for obj in sorted(rt.bucket.list(f"{root}data/"), key=lambda o: o.key):
        if not obj.key.endswith(".parquet"):
            continue
        table = _read_parquet(rt, obj.key, ["episode_index", "frame_index", *wanted])
        mask = table.column("episode_index").to_numpy() == episode
        if not mask.any():
            continue
        frames = table.column("frame_index").to_numpy()[mask]
        times.append(frames / float(info.get("fps") or 1))
        for f in wanted:
            rows[f].append(np.stack(table.column(f).to_numpy(zero_copy_only=False)[mask]))
    if not times:
        raise EpisodeNotFound(f"scene {scene_id} has no episode {episode}", field="episode")
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    step = max(1, int(np.ceil(len(t) / MAX_POINTS)))
    keep = order[::step]
    series = {}
    for f, label in TRAJECTORY_FEATURES:
        if f not in rows:
            continue
        values = np.concatenate(rows[f])[keep]
        names = features[f].get("names") or [f"{f}[{i}]" for i in range(values.shape[1])]
        series[f] = {
            "label": label,
            "names": list(names),
            "values": [[round(float(v), 5) for v in col] for col in values.T],
        }
    return {
        "scene_id": scene_id,
        "episode": episode,
        "fps": info.get("fps"),
        "frames": int(len(t)),
        "t": [round(float(v), 4) for v in t[keep]],
        "series": series,
    }


def loss_points(rt: Runtime, scene_id: str) -> dict[str, Any]:
    """The training loss curve: ``{"step": [...], "loss": [...]}`` (empty before training)."""
    view = learning_view(rt, validate_scene_id(scene_id))
    marker = _json(rt, f"scenes/{scene_id}/{TRAINED}") or {}
    result_key = marker.get("training_result")
    result = (
        _json(rt, result_key) if isinstance(result_key, str) and result_key.startswith(f"scenes/{scene_id}/") else None
    )
    curve_key = (result or {}).get("loss_curve")
    points: list[dict[str, Any]] = []
    if (
        view is not None
        and isinstance(curve_key, str)
        and curve_key.startswith(f"scenes/{scene_id}/")
        and ".." not in curve_key.split("/")
    ):
        points = [p for p in (_json(rt, curve_key) or {}).get("points") or [] if isinstance(p, dict)]
    ok = [p for p in points if isinstance(p.get("step"), (int, float)) and isinstance(p.get("loss"), (int, float))]
    return {"scene_id": scene_id, "step": [p["step"] for p in ok], "loss": [p["loss"] for p in ok]}


def evaluation_bars(view: dict[str, Any] | None) -> dict[str, Any]:
    """Per task: the policy's and the scripted expert's success rate (for the bar chart)."""
    tasks = (view or {}).get("tasks") or []
    return {
        "tasks": [str(t.get("task_id")) for t in tasks],
        "policy": [float(t.get("success_rate") or 0) for t in tasks],
        "expert": [float(t.get("expert_success_rate") or 0) for t in tasks],
    }


def scene_views_router(rt: Runtime, page: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get(
        "/scenes/{scene_id}/episodes",
        response_class=HTMLResponse,
        summary="A scene's robot episodes: success, videos, trajectories",
    )
    def episodes_page(request: Request, scene_id: str) -> HTMLResponse:
        return page(request, "episodes.html", scene_id=scene_id, episodes=episode_list(rt, validate_scene_id(scene_id)))

    @router.get("/api/scenes/{scene_id}/trajectory", summary="One episode's joint positions and actions over time")
    def trajectory_json(scene_id: str, episode: int = Query(0, ge=0, le=10_000_000)) -> dict[str, Any]:
        return trajectory(rt, scene_id, episode)

    @router.get(
        "/scenes/{scene_id}/learning",
        response_class=HTMLResponse,
        summary="Training loss and the closed-loop evaluation",
    )
    def learning_page(request: Request, scene_id: str) -> HTMLResponse:
        return page(
            request, "learning.html", scene_id=scene_id, learning=learning_view(rt, validate_scene_id(scene_id))
        )

    @router.get(
        "/api/scenes/{scene_id}/learning/charts",
        summary="The learning page's chart data: loss curve and evaluation per task",
    )
    def learning_charts(scene_id: str) -> dict[str, Any]:
        return {"loss": loss_points(rt, scene_id), "evaluation": evaluation_bars(learning_view(rt, scene_id))}

    return router
