"""The four text backends (spec §1.4): ``internal``, ``sage``, ``scenesmith``, ``hybrid_serial``.

``internal`` is the core (LLM-first planner, template fallback, placement). ``scenesmith`` asks
for a denser scene (object_density ``high``, complexity ``high_density_15_to_22_objects`` unless
the request says otherwise); it calls a live SceneSmith server when ``SCENESMITH_SERVER_URL``
is set and otherwise runs the core locally. ``sage`` runs the core, then a task-relevance
refinement: a live SAGE server when ``SAGE_SERVER_URL`` is set, else locally (the first three
manipulable objects are marked task-relevant; they are already on supports with local SE(2)
poses, so unlike the reference nothing is nudged, which could break the physical guarantees).
``hybrid_serial`` is scenesmith then sage. A live call that fails falls back to the local
implementation and the package records why (``live_error``); the backend that actually
produced the scene is always recorded.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bpflow.core.config import TEXT_BACKENDS, redact_url
from bpflow.domain.textgen.generate import GeneratedScene, GenerationRequest, LLMOptions, generate_scene
from bpflow.domain.textgen.package import build_package
from bpflow.domain.textgen.records import build_records
from bpflow.domain.textgen.remote import SCENESMITH_STAGES, RemoteFailure, post_json, scene_from_remote
from bpflow.domain.textgen.room_catalog import MANIPULABLE

INTERNAL, SCENESMITH, SAGE, HYBRID = "internal", "scenesmith", "sage", "hybrid_serial"
SAGE_REFINED_COUNT = 3


@dataclass(frozen=True)
class BackendConfig:
    """Backend-relevant settings (from the job env)."""

    v2: bool = False
    sage_url: str | None = None
    sage_timeout_seconds: float = 900.0
    sage_runtime_mode: str = "cloudrun"
    scenesmith_url: str | None = None
    scenesmith_timeout_seconds: float = 1800.0
    scenesmith_runtime_mode: str = "cloudrun"
    action_demo: bool = False


def resolve_backend(
    *, env_override: str | None, cli: str | None, request_value: str | None, default: str, allowlist: list[str]
) -> tuple[str, str]:
    """(backend, why): env TEXT_BACKEND > --backend > request > TEXT_BACKEND_DEFAULT; an unknown
    default means ``sage``; a backend outside the allowlist falls back to ``internal``."""
    chosen, source = default, "default"
    for value, where in ((request_value, "request"), (cli, "cli"), (env_override, "env")):
        if value:
            chosen, source = value.strip().lower(), where
    if chosen not in TEXT_BACKENDS:
        if source == "default":
            chosen = SAGE
        else:
            return INTERNAL, f"{source}_unknown_backend"
    if chosen not in allowlist:
        return INTERNAL, f"{source}_not_in_allowlist"
    return chosen, source


@dataclass
class _Stage:
    scene: GeneratedScene
    provider: str
    mode: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    blocks: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    constraints: Mapping[str, Any] | None = None


def _entry(name: str, started: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "status": "completed", "duration_seconds": round(time.monotonic() - started, 3), **extra}


def _internal(req: GenerationRequest, llm: LLMOptions, cfg: BackendConfig) -> _Stage:
    started = time.monotonic()
    scene = generate_scene(req, llm, v2=cfg.v2)
    entry = _entry(INTERNAL, started, mode="local", notes=f"planner={scene.plan.planner}")
    return _Stage(scene, scene.llm.provider or "none", entries=[entry])


def densify(constraints: Mapping[str, Any]) -> dict[str, Any]:
    """SceneSmith's defaults: a dense scene unless the request set density / complexity."""
    out = copy.deepcopy(dict(constraints))
    out.setdefault("object_density", "high")
    diversity = out.setdefault("prompt_diversity", {})
    if isinstance(diversity, dict):
        dims = diversity.setdefault("dimensions", {})
        if isinstance(dims, dict):
            dims.setdefault("complexity", "high_density_15_to_22_objects")
    return out


def _scenesmith(req: GenerationRequest, llm: LLMOptions, cfg: BackendConfig) -> _Stage:
    started = time.monotonic()
    dense = densify(req.constraints)
    dreq = replace(req, constraints=dense)
    block: dict[str, Any] = {
        "status": "completed",
        "runtime_mode": cfg.scenesmith_runtime_mode,
        "server_url": redact_url(cfg.scenesmith_url) if cfg.scenesmith_url else None,
        "live_requested": bool(cfg.scenesmith_url),
        "live_used": False,
        "stages": list(SCENESMITH_STAGES),
    }
    stage: _Stage | None = None
    if cfg.scenesmith_url:
        body = {
            "schema_version": "v1",
            "scene_id": req.scene_id,
            "prompt": req.prompt,
            "quality_tier": req.quality_tier,
            "seed": req.seed,
            "provider_policy": req.provider_policy,
            "constraints": dense,
            "pipeline_stages": list(SCENESMITH_STAGES),
        }
        try:
            data = post_json(cfg.scenesmith_url, body, cfg.scenesmith_timeout_seconds)
            scene, layout_source = scene_from_remote(dreq, data, room_type=None, v2=cfg.v2)
            block["live_used"] = True
            block["live_invocation"] = {
                "request_id": data.get("request_id"),
                "layout_source": layout_source,
                "object_count": len(scene.placement.placed),
            }
            stage = _Stage(scene, SCENESMITH, "scenesmith_live")
        except RemoteFailure as exc:
            block["live_error"] = exc.reason
    if stage is None:
        stage = _Stage(generate_scene(dreq, llm, v2=cfg.v2), "", None)
        stage.provider = stage.scene.llm.provider or "none"
    mode = "live" if block["live_used"] else "local"
    stage.entries = [_entry(SCENESMITH, started, mode=mode)]
    stage.blocks[SCENESMITH] = block
    stage.timing["scenesmith_generation_seconds"] = round(time.monotonic() - started, 3)
    stage.constraints = dense
    return stage


def _sage(req: GenerationRequest, base: _Stage, source_backend: str, cfg: BackendConfig) -> _Stage:
    started = time.monotonic()
    before = len(base.scene.placement.placed)
    block: dict[str, Any] = {
        "status": "completed",
        "runtime_mode": cfg.sage_runtime_mode,
        "server_url": redact_url(cfg.sage_url) if cfg.sage_url else None,
        "source_backend": source_backend,
        "live_requested": bool(cfg.sage_url),
        "live_used": False,
    }
    scene = base.scene
    if cfg.sage_url:
        records, _ = build_records(base.scene.placement.placed)
        body = {
            "schema_version": "v1",
            "scene_id": req.scene_id,
            "prompt": req.prompt,
            "quality_tier": req.quality_tier,
            "seed": req.seed,
            "source_backend": source_backend,
            "constraints": dict(base.constraints or req.constraints),
            "base_scene": {
                "room_type": scene.layout.room_type,
                "room_box": scene.layout.plan()["room_box"],
                "objects": records,
            },
        }
        try:
            data = post_json(cfg.sage_url, body, cfg.sage_timeout_seconds)
            sreq = replace(req, constraints=base.constraints or req.constraints)
            scene, layout_source = scene_from_remote(sreq, data, room_type=base.scene.layout.room_type, v2=cfg.v2)
            block["live_used"] = True
            block["live_invocation"] = {"request_id": data.get("request_id"), "layout_source": layout_source}
        except RemoteFailure as exc:
            block["live_error"] = exc.reason
    after = len(scene.placement.placed)
    block.update(
        object_count_before_refinement=before, object_count_after_refinement=after, object_count_delta=after - before
    )
    stage = _Stage(
        scene,
        SAGE,
        "sage_live" if block["live_used"] else "sage_refined",
        entries=base.entries
        + [_entry(SAGE, started, mode="live" if block["live_used"] else "local", source_backend=source_backend)],
        blocks={**base.blocks, SAGE: block},
        timing=dict(base.timing),
        constraints=base.constraints,
    )
    stage.timing["sage_refinement_seconds"] = round(time.monotonic() - started, 3)
    return stage


def _refine_package(package: dict[str, Any], stage: _Stage) -> None:
    """Mark the first manipulable objects task-relevant and record the refinement."""
    block = stage.blocks[SAGE]
    source = "sage_live" if block["live_used"] else "sage_refined"
    refined = [o for o in package["objects"] if o["sim_role"] == MANIPULABLE][:SAGE_REFINED_COUNT]
    for obj in refined:
        obj["physics_hints"]["sage_task_relevance"] = "high"
        obj["task_refined"] = True
        obj["source_backend"] = source
        package["physics_hints"][obj["id"]] = obj["physics_hints"]
    block["refined_object_ids"] = [o["id"] for o in refined]
    package["quality_gate_report"]["refinement"] = {
        "source_backend": block["source_backend"],
        "live_requested": block["live_requested"],
        "live_used": block["live_used"],
        "object_count_before": block["object_count_before_refinement"],
        "object_count_after": block["object_count_after_refinement"],
        "object_count_delta": block["object_count_delta"],
        "task_refined_object_count": len(refined),
    }
    package["provenance"]["generation"]["refined_by"] = SAGE


def action_demo(package: Mapping[str, Any]) -> dict[str, Any] | None:
    """reach → grasp → place for the first task-relevant object, onto another support."""
    targets = [o for o in package["objects"] if o.get("task_refined")]
    if not targets:
        return None
    target = targets[0]
    supports = [
        s["owner_object_id"] for s in package["support_surfaces"] if s["owner_object_id"] != target["parent_support_id"]
    ]
    place_on = supports[0] if supports else target["parent_support_id"]
    return {
        "schema_version": "v1",
        "status": "generated",
        "action_source": "sage",
        "robot_type": "franka",
        "scene_id": package["scene_id"],
        "seed": package["seed"],
        "planned_actions": [
            {"name": "reach", "target_object_id": target["id"]},
            {"name": "grasp", "target_object_id": target["id"]},
            {"name": "place", "target_object_id": place_on},
        ],
    }


def run_backend(name: str, req: GenerationRequest, llm: LLMOptions, cfg: BackendConfig) -> dict[str, Any]:
    """Generate the package with backend ``name`` (already resolved and allowed)."""
    if name == INTERNAL:
        stage = _internal(req, llm, cfg)
    elif name == SCENESMITH:
        stage = _scenesmith(req, llm, cfg)
    elif name == SAGE:
        stage = _sage(req, _internal(req, llm, cfg), INTERNAL, cfg)
    elif name == HYBRID:
        stage = _sage(req, _scenesmith(req, llm, cfg), SCENESMITH, cfg)
        stage.entries.append({"name": HYBRID, "status": "completed", "composition": "scenesmith_then_sage"})
    else:
        raise ValueError(f"unknown text backend {name!r}")
    package = build_package(
        stage.scene,
        text_backend=name,
        backend={"selected": name, "backends": stage.entries},
        provider_used=stage.provider,
        mode=stage.mode,
        constraints=stage.constraints,
    )
    package.update(stage.blocks)
    package["quality_gate_report"]["timing"].update(stage.timing)
    if SCENESMITH in stage.blocks:
        package["quality_gate_report"][SCENESMITH] = {
            k: stage.blocks[SCENESMITH][k] for k in ("live_requested", "live_used")
        }
    if SAGE in stage.blocks:
        _refine_package(package, stage)
        if cfg.action_demo:
            demo = action_demo(package)
            if demo is not None:
                package["sage_action_demo"] = demo
    return package
