"""Assemble the files text-scene-gen writes (spec §1.6): ``package.json`` and the views derived
from it (``placement_graph.json``, ``quality_gate_report.json``), and ``.textgen_complete``.

The package is the Stage-1 → adapter contract: the adapter reads ``objects[]`` (id, name,
category, sim_role, transform, dimensions_est, physics_hints, articulation, obb), ``layout_plan``
(room box, walls, openings), ``placement_graph``, ``provenance`` and ``quality_gate_report``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bpflow.domain.textgen.generate import GeneratedScene
from bpflow.domain.textgen.records import CONVENTIONS, build_records
from bpflow.domain.textgen.reports import (
    critic_scores,
    faithfulness_report,
    placement_graph,
    placement_stages,
    quality_metrics,
    support_surfaces,
)

LLM_COST_ESTIMATE_USD = {"standard": 0.04, "premium": 0.08}
MAX_LOGGED_DROPS = 64


def generation_mode(used_llm: bool) -> str:
    return "llm" if used_llm else "deterministic_fallback"


def build_package(
    scene: GeneratedScene,
    *,
    text_backend: str,
    backend: Mapping[str, Any],
    provider_used: str,
    mode: str | None = None,
    constraints: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole package for one placed scene; ``quality_gate_report`` carries the metrics, the
    gate adds its checks and status (``quality_gate.apply_gate``)."""
    req = scene.request
    records, ids = build_records(scene.placement.placed)
    layout_plan = scene.layout.plan()
    dropped = scene.placement.dropped
    metrics, _ = quality_metrics(records, layout_plan["room_box"], dropped=len(dropped))
    faith = faithfulness_report(req.prompt, records)
    critic = critic_scores(scene.placement.placed, metrics, faith["score"])
    used_llm = scene.plan.planner == "llm"
    llm = scene.llm
    backends = list(backend.get("backends", []))
    return {
        "schema_version": "v1",
        "scene_id": req.scene_id,
        "room_type": scene.layout.room_type,
        "seed": req.seed,
        "quality_tier": req.quality_tier,
        "provider_policy": req.provider_policy,
        "provider_used": provider_used,
        "used_llm": used_llm,
        "llm_attempts": llm.attempts,
        "llm_failure_reason": llm.failure_reason,
        "fallback_strategy": "deterministic_template" if scene.plan.planner == "template" else "none",
        "prompt": req.prompt,
        "constraints": dict(constraints if constraints is not None else req.constraints),
        "conventions": dict(CONVENTIONS),
        "objects": records,
        "layout_plan": layout_plan,
        "placement_stages": placement_stages(
            records, scene.placement.placed, critic, len(dropped), layout_plan["room_box"], scene.placement.stats
        ),
        "critic_scores": critic,
        "support_surfaces": support_surfaces(records),
        "faithfulness_report": faith,
        "placement_graph": placement_graph(records, scene.placement.placed, ids),
        "physics_hints": {r["id"]: r["physics_hints"] for r in records},
        "planning": {
            "planner": scene.plan.planner,
            "target_object_count": scene.target,
            "placed_object_count": len(records),
            "dropped_objects": [{"name": o.name, "category": o.category, "reason": why} for o, why in dropped][
                :MAX_LOGGED_DROPS
            ],
            "details": dict(scene.plan.details),
            "llm_attempt_log": llm.log,
            "llm_skipped_providers": llm.skipped_providers,
        },
        "provenance": {
            "assets": [
                {
                    "object_id": r["id"],
                    "strategy": r["asset_strategy"],
                    "provider": provider_used,
                    "source": "library" if r["asset_strategy"] == "retrieved" else "generated",
                    "model_or_library": "partnet_mobility"
                    if r["asset_strategy"] == "retrieved"
                    else "textgen_placeholder",
                }
                for r in records
            ],
            "generation": {
                "strategy": "hybrid_generation_retrieval",
                "articulation_policy": "particulate_first",
                "text_backend": text_backend,
                "planner": scene.plan.planner,
            },
            "backends": backends,
        },
        "quality_gate_report": {
            "schema_version": "v1",
            "scene_id": req.scene_id,
            "quality_tier": req.quality_tier,
            "provider": provider_used,
            "metrics": metrics,
            "cost": {
                "estimated_cost_usd": LLM_COST_ESTIMATE_USD.get(req.quality_tier, 0.04) if used_llm else 0.0,
                "llm_calls": llm.attempts,
                "tier": req.quality_tier,
            },
            "timing": {"generation_seconds": round(scene.seconds, 3)},
            "generation_mode": mode or generation_mode(used_llm),
            "llm_attempts": llm.attempts,
            "llm_failure_reason": llm.failure_reason,
            "fallback_strategy": "deterministic_template" if scene.plan.planner == "template" else "none",
            "faithfulness": faith,
            "critic_scores": critic,
            "text_backend": text_backend,
        },
        "text_backend": text_backend,
        "backend": {"selected": backend.get("selected", text_backend), "backends": backends},
    }


def textgen_complete(
    package: Mapping[str, Any],
    *,
    source_mode: str,
    profile: str,
    request_object: str,
    textgen_prefix: str,
    action_demo: Mapping[str, Any],
    timestamp: str,
) -> dict[str, Any]:
    """The ``.textgen_complete`` body (spec §1.6): generation_mode is llm iff the LLM planned it."""
    used_llm = bool(package["used_llm"])
    attempts = int(package["llm_attempts"])
    return {
        "scene_id": package["scene_id"],
        "status": "completed",
        "source_mode": source_mode,
        "text_backend": package["text_backend"],
        "quality_tier": package["quality_tier"],
        "provider_policy": package["provider_policy"],
        "provider_used": package["provider_used"],
        "seed": package["seed"],
        "profile": profile,
        "retry_used": bool((package.get("retry") or {}).get("used")),
        "generation_mode": generation_mode(used_llm),
        "llm_attempts": attempts,
        "llm_fallback_used": (not used_llm) and attempts > 0,
        "llm_failure_reason": package["llm_failure_reason"],
        "action_demo": dict(action_demo),
        "request_object": request_object,
        "textgen_prefix": textgen_prefix,
        "object_count": len(package["objects"]),
        "timestamp": timestamp,
    }
