"""Read and check what Stage 1 planning wrote (``textgen/package.json`` + the request).

Everything downstream trusts these records blindly (directory names come from ids, USD scale
from dimensions), so this module is the one gate: a value that is missing gets the reference
default, a value that is present but wrong is an :class:`InvalidTextPackage` naming the field,
never a crash further on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from bpflow.domain.retrieval.errors import InvalidTextPackage
from bpflow.domain.scene.manifest import ObjectIdentity
from bpflow.domain.textgen.room_catalog import canonical_room_type

OBJECT_ID = re.compile(r"^[a-zA-Z0-9_\-]{1,100}$")

#: reference §3.2: missing dimensions default to 0.25 m and nothing is thinner than 2 cm.
DEFAULT_DIMENSION = 0.25
MIN_DIMENSION = 0.02
MAX_DIMENSION = 100.0
DEFAULT_ROOM_BOX = {"min": [-3.0, 0.0, -3.0], "max": [3.0, 3.0, 3.0]}
DEFAULT_WALL_THICKNESS = 0.12
MIN_WALL_THICKNESS = 0.06

SOURCE_TYPES = {
    "internal": "text",
    "sage": "text_sage",
    "scenesmith": "text_scenesmith",
    "hybrid_serial": "text_hybrid_serial",
}


@dataclass(frozen=True)
class PackageObject(ObjectIdentity):
    """One planned object of ``textgen/package.json`` with every field the adapter reads already
    checked (the scene manifest's object is ``scene.manifest.SceneObject``)."""

    asset_strategy: str
    placement_stage: str
    parent_support_id: str | None
    surface_local_se2: dict[str, float] | None
    position: tuple[float, float, float]
    scale: tuple[float, float, float]
    rotation: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    articulation: dict[str, Any]
    physics_hints: dict[str, Any]
    relationships: list[Any] = field(default_factory=list)
    dimensions_source: str | None = None

    @property
    def articulation_required(self) -> bool:
        return bool(self.articulation.get("required"))

    @property
    def class_name(self) -> str:
        """The manifest's ``class_name``: category, else name, else ``object``."""
        return self.category or self.name or "object"


@dataclass(frozen=True)
class TextPackage:
    scene_id: str
    room_type: str
    seed: int
    quality_tier: str
    provider_used: str
    text_backend: str
    prompt: str
    objects: tuple[PackageObject, ...]
    room_box: dict[str, list[float]]
    wall_thickness_m: float
    openings: list[Any]
    request: dict[str, Any]
    keep_clear: tuple[tuple[float, float, float, float], ...] = ()
    """Floor zones planning left free (the way in through the door): (min x, min z, max x, max z)."""

    @property
    def source_type(self) -> str:
        return SOURCE_TYPES.get(self.text_backend, "text")


# -- field readers -------------------------------------------------------------------------------


def _fail(fld: str, reason: str) -> InvalidTextPackage:
    return InvalidTextPackage(f"{fld}: {reason}", field=fld)


def _obj(value: Any, fld: str, *, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if value is None and default is not None:
        return default
    if not isinstance(value, dict):
        raise _fail(fld, f"expected an object, got {type(value).__name__}")
    return value


def _str(value: Any, fld: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _fail(fld, f"expected a string, got {type(value).__name__}")
    if len(value) > 10_000:
        raise _fail(fld, "longer than 10000 characters")
    return value.strip() or default


def _num(value: Any, fld: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(fld, f"expected a number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise _fail(fld, "must be a finite number")
    return out


def _vec(value: Any, fld: str, keys: tuple[str, ...], default: tuple[float, ...]) -> tuple[float, ...]:
    data = _obj(value, fld, default={})
    return tuple(_num(data.get(k), f"{fld}.{k}", d) for k, d in zip(keys, default, strict=True))


def _xyz(value: Any, fld: str, default: float) -> tuple[float, float, float]:
    x, y, z = _vec(value, fld, ("x", "y", "z"), (default, default, default))
    return x, y, z


def _dimensions(value: Any, fld: str) -> tuple[float, float, float]:
    data = _obj(value, fld, default={})
    out = []
    for key in ("width", "height", "depth"):
        size = _num(data.get(key), f"{fld}.{key}", DEFAULT_DIMENSION)
        if size <= 0 or size > MAX_DIMENSION:
            raise _fail(f"{fld}.{key}", f"must be > 0 and <= {MAX_DIMENSION:g} metres, got {size:g}")
        out.append(max(MIN_DIMENSION, size))
    return out[0], out[1], out[2]


def _rotation(value: Any, fld: str) -> tuple[float, float, float, float]:
    w, x, y, z = _vec(value, fld, ("w", "x", "y", "z"), (1.0, 0.0, 0.0, 0.0))
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if norm < 1e-9:
        raise _fail(fld, "quaternion has zero length")
    return w / norm, x / norm, y / norm, z / norm


def _se2(value: Any, fld: str) -> dict[str, float] | None:
    if value is None:
        return None
    data = _obj(value, fld)
    return {k: _num(data.get(k), f"{fld}.{k}", 0.0) for k in ("x", "z", "yaw_rad")}


def parse_object(raw: Any, index: int) -> PackageObject:
    base = f"objects[{index}]"
    data = _obj(raw, base)
    oid = data.get("id")
    if not isinstance(oid, str) or not OBJECT_ID.match(oid):
        raise _fail(f"{base}.id", "must be 1-100 characters of letters, digits, '_' or '-'")
    category = _str(data.get("category"), f"{base}.category").lower()
    name = _str(data.get("name"), f"{base}.name")
    sim_role = _str(data.get("sim_role"), f"{base}.sim_role", "manipulable_object").lower()
    transform = _obj(data.get("transform"), f"{base}.transform", default={})
    parent = data.get("parent_support_id")
    relationships = data.get("relationships")
    return PackageObject(
        id=oid,
        name=name or oid,
        category=category,
        description=_str(data.get("description"), f"{base}.description", "text-generated object"),
        sim_role=sim_role,
        asset_strategy=_str(data.get("asset_strategy"), f"{base}.asset_strategy", "generated"),
        placement_stage=_str(data.get("placement_stage"), f"{base}.placement_stage"),
        parent_support_id=_str(parent, f"{base}.parent_support_id") or None,
        surface_local_se2=_se2(data.get("surface_local_se2"), f"{base}.surface_local_se2"),
        position=_xyz(transform.get("position"), f"{base}.transform.position", 0.0),
        scale=_xyz(transform.get("scale"), f"{base}.transform.scale", 1.0),
        rotation=_rotation(transform.get("rotation_quaternion"), f"{base}.transform.rotation_quaternion"),
        dimensions=_dimensions(data.get("dimensions_est"), f"{base}.dimensions_est"),
        articulation=dict(_obj(data.get("articulation"), f"{base}.articulation", default={})),
        physics_hints=dict(_obj(data.get("physics_hints"), f"{base}.physics_hints", default={})),
        relationships=list(relationships) if isinstance(relationships, list) else [],
        dimensions_source=_str(data.get("dimensions_source"), f"{base}.dimensions_source") or None,
    )


def _room_box(value: Any) -> dict[str, list[float]]:
    if value is None:
        return {k: list(v) for k, v in DEFAULT_ROOM_BOX.items()}
    data = _obj(value, "layout_plan.room_box")
    out: dict[str, list[float]] = {}
    for key in ("min", "max"):
        vec = data.get(key)
        if not isinstance(vec, list) or len(vec) != 3:
            raise _fail(f"layout_plan.room_box.{key}", "expected a list of three numbers")
        out[key] = [_num(v, f"layout_plan.room_box.{key}[{i}]", 0.0) for i, v in enumerate(vec)]
    if any(hi <= lo for lo, hi in zip(out["min"], out["max"], strict=True)):
        raise _fail("layout_plan.room_box", "max must be greater than min on every axis")
    return out


def _keep_clear(value: Any) -> tuple[tuple[float, float, float, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail("layout_plan.keep_clear", "expected a list of zones")
    zones = []
    for i, raw in enumerate(value):
        corners = []
        for key in ("min", "max"):
            fld = f"layout_plan.keep_clear[{i}].{key}"
            vec = _obj(raw, f"layout_plan.keep_clear[{i}]").get(key)
            if not isinstance(vec, list) or len(vec) != 3:
                raise _fail(fld, "expected a list of three numbers")
            corners.append([_num(v, f"{fld}[{k}]", 0.0) for k, v in enumerate(vec)])
        (x0, _, z0), (x1, _, z1) = corners
        zones.append((min(x0, x1), min(z0, z1), max(x0, x1), max(z0, z1)))
    return tuple(zones)


def resolve_room_type(request: dict[str, Any], package: dict[str, Any]) -> str:
    """Reference §2.1: request constraint, then the package, then the prompt archetype."""
    constraints = constraints_doc if isinstance(constraints_doc := request.get("constraints"), dict) else {}
    diversity = diversity_doc if isinstance(diversity_doc := constraints.get("prompt_diversity"), dict) else {}
    dims = dims_doc if isinstance(dims_doc := diversity.get("dimensions"), dict) else {}
    for candidate in (constraints.get("room_type"), package.get("room_type"), dims.get("archetype")):
        if isinstance(candidate, str) and candidate.strip():
            return canonical_room_type(candidate)
    return "generic_room"


def parse_package(package: Any, request: Any, scene_id: str) -> TextPackage:
    data = _obj(package, "package")
    req = _obj(request, "request")
    pkg_scene = data.get("scene_id")
    if pkg_scene is not None and pkg_scene != scene_id:
        raise _fail("scene_id", f"package belongs to scene {pkg_scene!r}, not {scene_id!r}")
    raw_objects = data.get("objects")
    if not isinstance(raw_objects, list):
        raise _fail("objects", "expected a list of objects")
    objects = tuple(parse_object(raw, i) for i, raw in enumerate(raw_objects))
    seen: set[str] = set()
    for i, obj in enumerate(objects):
        if obj.id in seen:
            raise _fail(f"objects[{i}].id", f"duplicate object id {obj.id!r}")
        seen.add(obj.id)
    plan = _obj(data.get("layout_plan"), "layout_plan", default={})
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail("seed", "expected an integer")
    openings = plan.get("openings", [])
    if not isinstance(openings, list):
        raise _fail("layout_plan.openings", "expected a list")
    return TextPackage(
        scene_id=scene_id,
        room_type=resolve_room_type(req, data),
        seed=seed,
        quality_tier=_str(
            data.get("quality_tier"), "quality_tier", _str(req.get("quality_tier"), "request.quality_tier", "standard")
        ),
        provider_used=_str(data.get("provider_used"), "provider_used", "none"),
        text_backend=_str(
            data.get("text_backend"), "text_backend", _str(req.get("text_backend"), "request.text_backend", "internal")
        ),
        prompt=_str(data.get("prompt"), "prompt", _str(req.get("prompt"), "request.prompt")),
        objects=objects,
        room_box=_room_box(plan.get("room_box")),
        wall_thickness_m=max(
            MIN_WALL_THICKNESS,
            _num(plan.get("wall_thickness_m"), "layout_plan.wall_thickness_m", DEFAULT_WALL_THICKNESS),
        ),
        openings=openings,
        request=req,
        keep_clear=_keep_clear(plan.get("keep_clear")),
    )
