"""The scene manifest (``assets/scene_manifest.json``) as Stage 2 reads it.

Only what Stage 2 uses is checked, but that strictly: ids (unique, the reference's pattern),
the frame, the units and the numbers that become geometry. Unknown keys are ignored, as the
reference's pydantic consumer ignores them, so text-path and image-path manifests both load.
Everything wrong is reported in one ``ValidationFailed`` (code ``invalid_manifest``) naming
each field. Lengths come back in metres: a manifest in other units (``meters_per_unit`` ≠ 1)
is converted here, once, so every Stage-2 layer is written in metres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bpflow.core.config import parse_bool
from bpflow.domain.scene.fields import Problems, number, parse_json_object, quat_wxyz, text, vec3

CODE = "invalid_manifest"
ID_PATTERN = re.compile(r"^[a-zA-Z0-9_\-]+$")
MAX_OBJECTS = 2000
FRAMES = {"y_up": "Y", "z_up": "Z"}
ARTICULATED_ROLES = frozenset({"articulated_furniture", "articulated_appliance"})
STATIC_ROLES = frozenset({"static", "static_object", "background", "structural"})


@dataclass(frozen=True)
class ObjectIdentity:
    """What every document of the pipeline says an object is, under the same names: Stage 1's
    text package (``retrieval.planned_package.PackageObject``) and the scene manifest
    (:class:`SceneObject`) both start with these fields, and the adapter carries them over."""

    id: str
    name: str
    category: str
    description: str
    sim_role: str


@dataclass(frozen=True)
class SceneObject(ObjectIdentity):
    """One object of the scene manifest, as Stage 2 and later stages read it."""

    asset_path: str | None
    position: tuple[float, float, float] | None
    rotation_wxyz: tuple[float, float, float, float] | None
    dimensions: tuple[float, float, float] | None
    """(width, height, depth) in metres: width along x, height along the up axis."""
    physics_hints: dict[str, Any] = field(default_factory=dict)
    articulation_candidate: bool = False
    articulation_required: bool = False
    index: int = 0
    support_id: str | None = None
    """The object it rests on (``placement.parent_support_id``), None for the floor."""

    @property
    def kind(self) -> str:
        """The category the Stage-2 tables use (see ``density.canonical_kind``)."""
        from bpflow.domain.scene.density import canonical_kind

        return canonical_kind(self.category, self.name)

    @property
    def is_articulated_role(self) -> bool:
        return self.sim_role in ARTICULATED_ROLES

    @property
    def is_static(self) -> bool:
        """Furniture and appliances do not move as a whole (kinematic bodies in the scene)."""
        return self.sim_role in STATIC_ROLES or self.sim_role in ARTICULATED_ROLES

    @property
    def material_hint(self) -> str | None:
        for key in ("material", "material_type", "material_hint"):
            value = self.physics_hints.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
        return None


@dataclass(frozen=True)
class Room:
    bounds: tuple[float, float, float]
    """(width, depth, height) as the manifest gives them."""
    origin: tuple[float, float, float]
    """[cx, min_up, cz]: the floor centre."""


@dataclass(frozen=True)
class Manifest:
    scene_id: str
    version: str
    up_axis: str
    """"Y" or "Z" (from ``scene.coordinate_frame``)."""
    meters_per_unit: float
    """The manifest's own unit, in metres; every length here is already converted to metres."""
    environment_type: str
    room: Room | None
    objects: tuple[SceneObject, ...]

    def by_id(self) -> dict[str, SceneObject]:
        return {o.id: o for o in self.objects}


def flag(value: Any) -> bool:
    """A manifest boolean, read as the reference does: true only for true / "true"."""
    return parse_bool(value, False, strict=True)


def _scaled(v: tuple[float, float, float] | None, k: float) -> tuple[float, float, float] | None:
    return None if v is None else (v[0] * k, v[1] * k, v[2] * k)


def _object(raw: Any, i: int, problems: Problems, seen: set[str], unit: float) -> SceneObject | None:
    path = f"objects[{i}]"
    if not isinstance(raw, dict):
        problems.add(path, "must be an object")
        return None
    oid = raw.get("id")
    if not isinstance(oid, str) or not ID_PATTERN.fullmatch(oid) or len(oid) > 128:
        problems.add(f"{path}.id", "must be a string of letters, digits, '_' or '-' (at most 128)")
        return None
    if oid in seen:
        problems.add(f"{path}.id", f"duplicate object id {oid!r}")
        return None
    seen.add(oid)
    category = text(raw.get("category"), f"{path}.category", problems, default="object") or "object"
    asset = raw.get("asset")
    asset_path = None
    if asset is not None:
        if not isinstance(asset, dict):
            problems.add(f"{path}.asset", "must be an object")
        else:
            asset_path = text(asset.get("path"), f"{path}.asset.path", problems, default="") or None
    transform = raw.get("transform") or {}
    position = rotation = None
    if not isinstance(transform, dict):
        problems.add(f"{path}.transform", "must be an object")
    else:
        if transform.get("position") is not None:
            position = vec3(transform["position"], f"{path}.transform.position", problems)
        if transform.get("rotation_quaternion") is not None:
            rotation = quat_wxyz(transform["rotation_quaternion"], f"{path}.transform.rotation_quaternion", problems)
    dims = None
    if raw.get("dimensions_est") is not None:
        dims = vec3(
            raw["dimensions_est"], f"{path}.dimensions_est", problems, positive=True, keys=("width", "height", "depth")
        )
        if dims is not None and max(dims) * unit > 100:
            problems.add(f"{path}.dimensions_est", "must be at most 100 m on each side")
            dims = None
    hints = raw.get("physics_hints") or {}
    if not isinstance(hints, dict):
        problems.add(f"{path}.physics_hints", "must be an object")
        hints = {}
    art = raw.get("articulation") or {}
    if not isinstance(art, dict):
        problems.add(f"{path}.articulation", "must be an object")
        art = {}
    sim_role = (
        text(raw.get("sim_role"), f"{path}.sim_role", problems, default="manipulable_object") or "manipulable_object"
    )
    return SceneObject(
        id=oid,
        name=text(raw.get("name"), f"{path}.name", problems, default=oid) or oid,
        category=category.lower(),
        description=desc if isinstance(desc := raw.get("description"), str) else "",
        sim_role=sim_role,
        asset_path=asset_path,
        position=_scaled(position, unit),
        rotation_wxyz=rotation,
        dimensions=_scaled(dims, unit),
        physics_hints=dict(hints),
        articulation_candidate=flag(art.get("candidate")),
        articulation_required=flag(art.get("required")) or flag(raw.get("articulation_required")),
        index=i,
        support_id=_support(raw),
    )


def _support(raw: dict[str, Any]) -> str | None:
    placement = placement_doc if isinstance(placement_doc := raw.get("placement"), dict) else {}
    value = placement.get("parent_support_id")
    return value if isinstance(value, str) and value and value not in ("room_floor", "floor") else None


def _room(raw: Any, problems: Problems, unit: float) -> Room | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("scene.room", "must be an object")
        return None
    bounds = vec3(raw.get("bounds"), "scene.room.bounds", problems, positive=True, keys=("width", "depth", "height"))
    origin = vec3(raw.get("origin", [0.0, 0.0, 0.0]), "scene.room.origin", problems)
    if bounds is None or origin is None:
        return None
    return Room(bounds=_scaled(bounds, unit), origin=_scaled(origin, unit))  # type: ignore[arg-type]


def parse_manifest(raw: bytes, *, document: str = "scene_manifest.json", expected_scene: str | None = None) -> Manifest:
    data = parse_json_object(raw, document, CODE)
    problems = Problems(document)
    scene = data.get("scene") or {}
    if not isinstance(scene, dict):
        problems.add("scene", "must be an object")
        scene = {}
    frame = scene.get("coordinate_frame", "y_up")
    if frame not in FRAMES:
        problems.add("scene.coordinate_frame", f"must be one of {sorted(FRAMES)}, got {frame!r}"[:200])
    mpu = number(scene.get("meters_per_unit", 1.0), "scene.meters_per_unit", problems, positive=True)
    unit = mpu or 1.0
    scene_id = data.get("scene_id")
    if scene_id is not None and not isinstance(scene_id, str):
        problems.add("scene_id", "must be a string")
    elif expected_scene is not None and scene_id not in (None, expected_scene):
        problems.add("scene_id", f"is {scene_id!r} but the manifest is in scene {expected_scene!r}")
    version = data.get("version", "1.0.0")
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        problems.add("version", "must look like 1.0.0")
    raw_objects = data.get("objects")
    objects: list[SceneObject] = []
    if not isinstance(raw_objects, list):
        problems.add("objects", "must be a list")
    elif len(raw_objects) > MAX_OBJECTS:
        problems.add("objects", f"has {len(raw_objects)} entries; at most {MAX_OBJECTS} are supported")
    else:
        seen: set[str] = set()
        for i, item in enumerate(raw_objects):
            obj = _object(item, i, problems, seen, unit)
            if obj is not None:
                objects.append(obj)
    env_type = scene.get("environment_type")
    room = _room(scene.get("room"), problems, unit)
    problems.raise_if_any(CODE)
    return Manifest(
        scene_id=str(scene_id or expected_scene or ""),
        version=str(version),
        up_axis=FRAMES[frame],
        meters_per_unit=float(mpu or 1.0),
        environment_type=env_type if isinstance(env_type, str) and env_type else "generic",
        room=room,
        objects=tuple(objects),
    )
