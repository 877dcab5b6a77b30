"""Calling a live SAGE or SceneSmith server, and turning its answer into a checked scene.

Wire format (JSON over HTTP POST to the configured URL as given, ``Content-Type:
application/json``, timeout ``SAGE_TIMEOUT_SECONDS`` / ``SCENESMITH_TIMEOUT_SECONDS``):

SAGE request: ``{schema_version:"v1", scene_id, prompt, quality_tier, seed, source_backend,
constraints, base_scene:{room_type, room_box{min,max}, objects:[package object records]}}``.
SceneSmith request: ``{schema_version:"v1", scene_id, prompt, quality_tier, seed,
provider_policy, constraints, pipeline_stages:["floor_plan","furniture","wall_mounted",
"ceiling_mounted","manipuland"]}``.
Response (either service), HTTP 200: ``{"package": {...}}`` or ``{"objects": [...], "room_type"?:
str, "request_id"?: str}``; each object needs ``name`` or ``category``, and may give
``id``, ``sim_role``, ``dimensions_est{width,height,depth}`` (metres),
``transform{position{x,y,z} (base-anchored), rotation_quaternion{w,x,y,z}}`` and
``parent_support_id`` (another object's ``id``, or ``room_floor``).

Any transport error, non-2xx status, non-JSON body or wrong shape is a ``RemoteFailure``: the
backend then falls back to its local implementation and records why. A remote layout is kept
only if it passes the same physical check as ours (inside our room, supported, no
interpenetration); otherwise its objects are re-placed by our solver and that is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bpflow.domain.scene.obb import quaternion_yaw
from bpflow.domain.textgen.generate import GeneratedScene, GenerationRequest, LLMOptions, generate_scene
from bpflow.domain.textgen.layout_check import check_layout
from bpflow.domain.textgen.llm_planner import NOT_RESTING
from bpflow.domain.textgen.model import Placed, PlannedObject
from bpflow.domain.textgen.packing import PlacementResult
from bpflow.domain.textgen.records import FLOOR_ID, build_records
from bpflow.domain.textgen.room_catalog import SIM_ROLES, canonical_room_type, canonical_token
from bpflow.domain.textgen.template_planner import MAX_OBJECTS, make_object, unique_names

SCENESMITH_STAGES = ["floor_plan", "furniture", "wall_mounted", "ceiling_mounted", "manipuland"]
MIN_DIM, MAX_DIM = 0.005, 20.0


class RemoteFailure(Exception):
    """A remote call that produced nothing usable; ``reason`` is short and secret-free."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def post_json(url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """POST ``body``; the decoded JSON object answer, or ``RemoteFailure``."""
    try:
        response = httpx.post(url, json=dict(body), timeout=timeout)
    except httpx.TimeoutException:
        raise RemoteFailure("timeout") from None
    except httpx.HTTPError as exc:
        raise RemoteFailure(f"transport_error:{type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise RemoteFailure(f"http_{response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise RemoteFailure("invalid_json") from None
    if not isinstance(data, dict):
        raise RemoteFailure("invalid_shape:not_an_object")
    return data


@dataclass
class RemoteObject:
    remote_id: str
    planned: PlannedObject
    pose: tuple[float, float, float, float] | None  # x, y, z, yaw
    parent: str | None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pose(raw: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(raw, Mapping):
        return None
    pos = raw.get("position")
    if not isinstance(pos, Mapping) or not all(_finite(pos.get(k)) for k in ("x", "y", "z")):
        return None
    q = raw.get("rotation_quaternion") or {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}
    if not isinstance(q, Mapping) or not all(_finite(q.get(k, 0.0)) for k in ("w", "x", "y", "z")):
        return None
    if abs(float(q.get("x", 0.0))) > 1e-6 or abs(float(q.get("z", 0.0))) > 1e-6:
        return None  # tilted: not an upright resting pose, so our solver re-places it
    return float(pos["x"]), float(pos["y"]), float(pos["z"]), quaternion_yaw(q)


def remote_objects(data: Mapping[str, Any]) -> tuple[str | None, list[RemoteObject]]:
    """(room type, objects) from either accepted response shape, or ``RemoteFailure``."""
    package = data.get("package")
    body: Mapping[str, Any] = package if isinstance(package, Mapping) else data
    items = body.get("objects")
    if not isinstance(items, list) or not items:
        raise RemoteFailure("invalid_shape:no_objects")
    out: list[RemoteObject] = []
    for n, item in enumerate(items[:MAX_OBJECTS], start=1):
        if not isinstance(item, Mapping):
            continue
        raw = item.get("name") if isinstance(item.get("name"), str) else item.get("category")
        name = canonical_token(raw) if isinstance(raw, str) else ""
        category = canonical_token(item["category"]) if isinstance(item.get("category"), str) else name
        if not name or name in NOT_RESTING or category in NOT_RESTING:
            continue
        role = canonical_token(item["sim_role"]) if isinstance(item.get("sim_role"), str) else ""
        obj = make_object(name, category or name, role if role in SIM_ROLES else None)
        dims = item.get("dimensions_est")
        if isinstance(dims, Mapping) and all(
            _finite(dims.get(k)) and MIN_DIM <= dims[k] <= MAX_DIM for k in ("width", "height", "depth")
        ):
            obj = replace(
                obj,
                spec=replace(
                    obj.spec, width=float(dims["width"]), height=float(dims["height"]), depth=float(dims["depth"])
                ),
                dims_source="remote",
            )
        rid = str(item.get("id") or f"remote_{n:03d}")
        parent = item.get("parent_support_id")
        out.append(RemoteObject(rid, obj, _pose(item.get("transform")), parent if isinstance(parent, str) else None))
    if not out:
        raise RemoteFailure("invalid_shape:no_usable_objects")
    room = body.get("room_type")
    return (canonical_room_type(room) if isinstance(room, str) and room.strip() else None), out


def _scene_with_poses(base: GeneratedScene, objs: list[RemoteObject]) -> GeneratedScene | None:
    """The remote poses as a scene, if every object has one and the layout passes our check."""
    if any(o.pose is None for o in objs):
        return None
    names = base.plan.objects
    index_of = {o.remote_id: i for i, o in enumerate(objs)}
    placed = []
    for i, (o, planned) in enumerate(zip(objs, names)):
        x, y, z, yaw = o.pose  # type: ignore[misc]
        support = index_of.get(o.parent) if o.parent and o.parent != FLOOR_ID else None
        stage = "manipulands" if planned.spec.placement == "surface" else "furniture"
        placed.append(Placed(planned, i, x, y, z, yaw, stage, support))
    records, _ = build_records(placed)
    if not check_layout(records, base.layout.plan()["room_box"]).ok:
        return None
    return GeneratedScene(
        base.request,
        base.layout,
        base.plan,
        PlacementResult(placed, [], {"remote_layout_kept": 1}),
        base.llm,
        base.target,
        base.seconds,
    )


def scene_from_remote(
    req: GenerationRequest, data: Mapping[str, Any], *, room_type: str | None, v2: bool
) -> tuple[GeneratedScene, str]:
    """A scene from a remote answer, and where its layout came from (``remote`` or
    ``local_replaced`` when the remote poses were missing or physically invalid)."""
    remote_room, objs = remote_objects(data)
    scene = generate_scene(
        req,
        LLMOptions(),
        v2=v2,
        objects=unique_names([o.planned for o in objs]),
        room_type=remote_room or room_type,
        planner="remote",
    )
    kept = _scene_with_poses(scene, objs)
    return (kept, "remote") if kept is not None else (scene, "local_replaced")
