"""The Genie Sim bundle contracts: JSON Schemas (draft-07) and the cross-file rules between them.

The bundle is read by a different program (Genie Sim, or our local runtime) than the one that
wrote it, so a broken reference (a task naming an asset the index does not have) must be caught
by the writer before it claims success, and again by the reader before it spends simulation
time. Both call :func:`validate_bundle`. Every problem names its file and field, and all
problems of a bundle are reported together (spec-geniesim §3.7).
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from bpflow.core.contracts import Problem, _problems_from
from bpflow.core.errors import ValidationFailed

BUNDLE_JSON = ("scene_graph", "asset_index", "task_config")
SCHEMAS = ("scene_graph", "asset_index", "task_config", "export_manifest", "job_idempotency", "job_output")
COMPLETION_MARKER = "_GENIESIM_EXPORT_COMPLETE"
CONSISTENCY_PREFIX = "Genie Sim export consistency validation failed:"

_TASK_REF_FIELDS = (
    "target_object_id",
    "target_object",
    "target_object_name",
    "goal_region",
    "goal_object_id",
    "goal_object",
    "object_id",
)
_TASK_REF_LISTS = ("objects", "object_ids", "target_objects")
_POSITION_FIELDS = ("target_position", "place_position", "goal_position")
_POSITION_LISTS = ("target_positions", "goal_positions")
_COMPOSITE = frozenset({"organize", "fill", "stack"})
_CAMERA_ALIASES = {
    "left": "left",
    "left_wrist": "left",
    "side": "left",
    "right": "right",
    "head": "right",
    "overhead": "right",
    "wrist": "wrist",
    "hand": "wrist",
    "eye_in_hand": "wrist",
}


class BundleInvalid(ValidationFailed):
    """The bundle breaks its contracts; ``problems`` lists every one (file, field, why)."""

    code = "geniesim_bundle_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{first.field}: {first.message}{more}",
            field=first.field,
            details={"problems": [p.to_dict() for p in problems]},
        )


# -- schemas ---------------------------------------------------------------------------------
@cache
def schema(name: str) -> dict[str, Any]:
    text = (
        resources.files("bpflow.core.contracts")
        .joinpath("schemas", "geniesim", f"{name}.schema.json")
        .read_text(encoding="utf-8")
    )
    body: dict[str, Any] = json.loads(text)
    return body


@cache
def _validator(name: str) -> Draft7Validator:
    return Draft7Validator(schema(name), format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_problems(name: str, doc: Any, *, file: str | None = None) -> list[Problem]:
    """Problems of ``doc`` against contract ``name``; fields are prefixed with the file name."""
    file = file or f"{name}.json"
    out: list[Problem] = []
    for error in sorted(_validator(name).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        for p in _problems_from(error):
            field = file if p.field == "$" else f"{file}:{p.field}"
            out.append(Problem(field, p.message, p.code))
    return out


# -- hashing (job idempotency, §1.6 B) ---------------------------------------------------------
def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()


# -- task taxonomy backfill (§7.2) -------------------------------------------------------------
def backfill_tasks(task_config: dict[str, Any]) -> dict[str, Any]:
    """The GPU job's normalisation of ``suggested_tasks`` (a copy), applied before schema
    validation and hashing so hand-written task configs with fewer fields are still accepted."""
    out = copy.deepcopy(task_config)
    tasks = out.get("suggested_tasks")
    if not isinstance(tasks, list):
        return out
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        task_type = str(task.get("task_type") or "task").strip().lower()
        task["task_type"] = task_type
        target = task.get("target_object") or f"object_{i}"
        task["target_object"] = target
        task.setdefault("task_id", f"{task_type}::{target}")
        task.setdefault("task_name", task.get("description_hint") or f"{task_type}_{target}")
        composite = task_type in _COMPOSITE
        task.setdefault("task_complexity", "composite" if composite else "atomic")
        task.setdefault("curriculum_split", "target" if composite else "pretrain")
        cams = task.get("required_camera_ids")
        normal: list[str] = []
        for c in cams if isinstance(cams, list) else []:
            alias = _CAMERA_ALIASES.get(str(c).strip().lower())
            if alias and alias not in normal:
                normal.append(alias)
        task["required_camera_ids"] = normal + [c for c in ("left", "right", "wrist") if c not in normal]
    return out


# -- cross-file consistency (§3.7) -------------------------------------------------------------
def _bounds(raw: Any, where: str) -> tuple[list[float], list[float]]:
    def nums(v: Any) -> bool:
        return (
            isinstance(v, list)
            and len(v) == 3
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        )

    if isinstance(raw, list) and len(raw) == 2 and nums(raw[0]) and nums(raw[1]):
        return [float(x) for x in raw[0]], [float(x) for x in raw[1]]
    if isinstance(raw, dict) and all(isinstance(raw.get(k), list) and len(raw[k]) == 2 for k in "xyz"):
        return [float(raw[k][0]) for k in "xyz"], [float(raw[k][1]) for k in "xyz"]
    if isinstance(raw, dict) and all(isinstance(raw.get(k), (int, float)) for k in ("width", "depth", "height")):
        w, d, h = float(raw["width"]), float(raw["depth"]), float(raw["height"])
        return [-w / 2, -d / 2, 0.0], [w / 2, d / 2, h]
    raise BundleInvalid([Problem(where, f"Unsupported/Invalid workspace_bounds {raw!r}", "workspace_bounds")])


def _refs(task: dict[str, Any]) -> list[str]:
    out = [task[k] for k in _TASK_REF_FIELDS if isinstance(task.get(k), str) and task[k].strip()]
    for k in _TASK_REF_LISTS:
        for item in task.get(k) or [] if isinstance(task.get(k), list) else []:
            if isinstance(item, str) and item.strip():
                out.append(item)
            elif isinstance(item, dict):
                for kk in ("object_id", "id", "name", "asset_id"):
                    if isinstance(item.get(kk), str) and item[kk].strip():
                        out.append(item[kk])
                        break
    return out


def _positions(task: dict[str, Any]) -> list[tuple[str, Any]]:
    out = [(k, task[k]) for k in _POSITION_FIELDS if k in task]
    for k in _POSITION_LISTS:
        for i, p in enumerate(task.get(k) or [] if isinstance(task.get(k), list) else []):
            out.append((f"{k}[{i}]", p))
    for i, obj in enumerate(task.get("target_objects") or [] if isinstance(task.get("target_objects"), list) else []):
        if isinstance(obj, dict) and "position" in obj:
            out.append((f"target_objects[{i}].position", obj["position"]))
    return [
        (k, p) for k, p in out if isinstance(p, list) and len(p) == 3 and all(isinstance(x, (int, float)) for x in p)
    ]


def consistency_problems(
    scene_graph: dict[str, Any], asset_index: dict[str, Any], task_config: dict[str, Any]
) -> list[Problem]:
    """Every cross-file rule that fails: node → asset, task → asset, task positions in bounds."""
    problems: list[Problem] = []
    assets = {a["asset_id"] for a in asset_index.get("assets") or [] if isinstance(a, dict) and a.get("asset_id")}
    missing_nodes = sorted(
        {
            n["asset_id"]
            for n in scene_graph.get("nodes") or []
            if isinstance(n, dict) and n.get("asset_id") and n["asset_id"] not in assets
        }
    )
    if missing_nodes:
        problems.append(
            Problem(
                "scene_graph.json:nodes[].asset_id",
                f"Scene graph references missing asset_ids {missing_nodes} (scene_graph: scene_graph.json, asset_index: asset_index.json)",
                "missing_asset",
            )
        )
    scene_id = str(scene_graph.get("scene_id") or "")

    def known(x: str) -> bool:
        if x in assets:
            return True
        if not scene_id or scene_id == "unknown" or x.startswith(f"{scene_id}_obj_") or x.startswith(f"{scene_id}:"):
            return False
        return f"{scene_id}_obj_{x}" in assets

    tasks = [t for key in ("suggested_tasks", "tasks") for t in (task_config.get(key) or []) if isinstance(t, dict)]
    bad_fields: dict[str, str] = {}
    for i, task in enumerate(tasks):
        for ref in _refs(task):
            if not known(ref):
                field = next((k for k in _TASK_REF_FIELDS if task.get(k) == ref), "objects")
                bad_fields.setdefault(ref, f"task_config.json:suggested_tasks[{i}].{field}")
    if bad_fields:
        problems.append(
            Problem(
                sorted(bad_fields.values())[0],
                f"Task config references missing object ids {sorted(bad_fields)} (task_config: task_config.json, asset_index: asset_index.json)",
                "missing_object",
            )
        )
    robot = robot_doc if isinstance(robot_doc := task_config.get("robot_config"), dict) else {}
    global_raw = robot.get("workspace_bounds", task_config.get("workspace_bounds"))
    global_bounds = (
        _bounds(global_raw, "task_config.json:robot_config.workspace_bounds") if global_raw is not None else None
    )
    for i, task in enumerate(tasks):
        own = task.get("workspace_bounds")
        if own is None and isinstance(task.get("robot_config"), dict):
            own = task["robot_config"].get("workspace_bounds")
        bounds = (
            _bounds(own, f"task_config.json:suggested_tasks[{i}].workspace_bounds")
            if own is not None
            else global_bounds
        )
        if bounds is None:
            continue
        lo, hi = bounds
        for key, p in _positions(task):
            if not all(lo[k] <= p[k] <= hi[k] for k in range(3)):
                name = task.get("task_type") or task.get("task_name") or "unknown"
                problems.append(
                    Problem(
                        f"task_config.json:suggested_tasks[{i}].{key}",
                        f"Task[{i}] ({name}) {key}={p} outside workspace bounds min={lo} max={hi} (task_config: task_config.json)",
                        "outside_workspace",
                    )
                )
    return problems


def completion_marker_problems(marker: Any) -> list[Problem]:
    """The GPU job's extra rule: the bundle declares a schema this runtime reads (3.x)."""
    f = COMPLETION_MARKER
    if not isinstance(marker, dict):
        return [Problem(f, "must be a JSON object", "type")]
    out = []
    if marker.get("export_schema_version") != "1.0.0":
        out.append(
            Problem(
                f"{f}:export_schema_version", f"must be '1.0.0', got {marker.get('export_schema_version')!r}", "const"
            )
        )
    gv = str(marker.get("geniesim_schema_version") or "")
    if gv.split(".")[0] != "3":
        out.append(Problem(f"{f}:geniesim_schema_version", f"major version must be 3, got {gv!r}", "version"))
    compat = compat_doc if isinstance(compat_doc := marker.get("schema_compatibility"), dict) else {}
    lo, hi = str(compat.get("min_geniesim_version") or ""), str(compat.get("max_geniesim_version") or "")
    if not _version_in_range("3.0.0", lo, hi):
        out.append(Problem(f"{f}:schema_compatibility", f"3.0.0 is not within [{lo!r}, {hi!r}]", "version"))
    return out


def _version_in_range(version: str, lo: str, hi: str) -> bool:
    def parts(v: str) -> list[int | None] | None:
        out: list[int | None] = []
        for p in (v.split(".") + ["0", "0"])[:3]:
            if p in ("x", "*"):
                out.append(None)
            elif p.isdigit():
                out.append(int(p))
            else:
                return None
        return out

    v, a, b = parts(version), parts(lo), parts(hi)
    if v is None or a is None or b is None or None in a:
        return False
    if tuple(v) < tuple(a):
        return False
    for x, y in zip(v, b):
        if y is None:
            return True
        if x != y:
            return x < y  # type: ignore[operator]
    return True


# -- whole bundle ------------------------------------------------------------------------------
def load_bundle_dir(folder: Path) -> dict[str, Any]:
    """The bundle documents of a folder (``None`` for a missing file; a parse error raises)."""
    docs: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in (*BUNDLE_JSON, "export_manifest"):
        path = folder / f"{name}.json"
        if not path.is_file():
            docs[name] = None
            continue
        try:
            docs[name] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(Problem(f"{name}.json", f"Failed to parse {name} JSON at {path}: {exc}", "json"))
    marker = folder / COMPLETION_MARKER
    if marker.is_file():
        try:
            docs["completion"] = json.loads(marker.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(Problem(COMPLETION_MARKER, f"not JSON: {exc}", "json"))
    else:
        docs["completion"] = None
    if problems:
        raise BundleInvalid(problems)
    return docs


def bundle_problems(
    docs: dict[str, Any], *, require_completion: bool = True, require_manifest: bool = True
) -> list[Problem]:
    """Schemas, then (only when the three core files parse and pass) the cross-file rules."""
    problems: list[Problem] = []
    for name in BUNDLE_JSON:
        if docs.get(name) is None:
            problems.append(Problem(f"{name}.json", f"{name} missing", "missing_file"))
    if require_manifest and docs.get("export_manifest") is None:
        problems.append(Problem("export_manifest.json", "export_manifest missing", "missing_file"))
    if require_completion and docs.get("completion") is None:
        problems.append(Problem(COMPLETION_MARKER, "export completion marker missing", "missing_file"))
    if problems:
        return problems
    task_config = backfill_tasks(docs["task_config"]) if isinstance(docs["task_config"], dict) else docs["task_config"]
    for name in BUNDLE_JSON:
        problems += schema_problems(name, task_config if name == "task_config" else docs[name])
    if docs.get("export_manifest") is not None:
        problems += schema_problems("export_manifest", docs["export_manifest"])
    if docs.get("completion") is not None:
        problems += completion_marker_problems(docs["completion"])
    if problems:
        return problems
    try:
        return consistency_problems(docs["scene_graph"], docs["asset_index"], task_config)
    except BundleInvalid as exc:
        return exc.problems


def validate_bundle(docs: dict[str, Any], **kw: bool) -> None:
    problems = bundle_problems(docs, **kw)
    if problems:
        raise BundleInvalid(problems)
