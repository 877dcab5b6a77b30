"""replicator-job: placement regions, randomisation policies and variation candidates.

Env: ``BUCKET``, ``SCENE_ID``, ``SEG_PREFIX``, ``ASSETS_PREFIX``, ``USD_PREFIX``,
``REPLICATOR_PREFIX``, ``REQUESTED_POLICIES`` (comma list; default: all built-in policies),
``LLM_PROVIDER`` (only ``auto``/``none``/``rules``: the scene analysis here is rule-based).

Needs ``SEG_PREFIX/inventory_enriched.json`` or ``inventory.json`` (spec §9.4) and the
assembled ``USD_PREFIX/scene.usda``, which it measures (``stage2.scene_read``). Writes under
``REPLICATOR_PREFIX/``: ``placement_regions.usda`` (and ``placement_regions/`` copy),
``configs/<policy>.json``, ``policies/<policy>.py``, ``replicator_master.py``,
``variation_assets/manifest.json``, ``affordance_graph.json``, ``bundle_metadata.json`` and
``README.md``. Not ``.replicator_complete``: that marker starts Stage 3, so the workflow
writes it once it has checked this bundle.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bpflow.core.errors import ConfigError, ValidationFailed
from bpflow.core.jobkit import env_str, job_bucket, log_json, run_main
from bpflow.domain.replicator.bundle import (
    DEFAULT_POLICIES,
    affordances,
    floor_region,
    on_relations,
    policy_configs,
    support_regions,
    variation_candidates,
    write_regions_usda,
)
from bpflow.domain.replicator.scripts import master_script, policy_script
from bpflow.domain.usd.inputs import load_manifest, read_json_optional, stamp
from bpflow.domain.usd.prefixes import load_env
from bpflow.domain.usd.scene_read import open_scene, scene_items
from bpflow.domain.usd.usd_util import relative_asset_path
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

RULES_PROVIDERS = ("auto", "none", "rules", "mock")


def _policies() -> list[str]:
    raw = env_str("REQUESTED_POLICIES")
    if not raw:
        return list(DEFAULT_POLICIES)
    names = [p.strip() for p in raw.split(",") if p.strip()]
    bad = [p for p in names if not p.replace("_", "").isalnum()]
    if bad:
        raise ConfigError(
            f"REQUESTED_POLICIES has invalid policy ids {bad}: use letters, digits and '_'", field="REQUESTED_POLICIES"
        )
    return list(dict.fromkeys(names))


def _main() -> int:
    env = load_env()
    provider = (env_str("LLM_PROVIDER", "auto") or "auto").lower()
    if provider not in RULES_PROVIDERS:
        raise ConfigError(
            f"LLM_PROVIDER={provider} needs an LLM scene analysis this build does not include; use auto",
            code="replicator_provider_unavailable",
            field="LLM_PROVIDER",
        )
    policies = _policies()
    bucket = job_bucket()
    inventory_key = next(
        (k for k in (f"{env.seg}/inventory_enriched.json", f"{env.seg}/inventory.json") if bucket.exists(k)), None
    )
    if inventory_key is None:
        raise ValidationFailed(f"{env.seg}/inventory.json does not exist", code="inventory_missing", field="SEG_PREFIX")
    inventory = read_json_optional(bucket, inventory_key)
    if not isinstance(inventory, dict) or not isinstance(inventory.get("objects"), list):
        raise ValidationFailed(
            f"{inventory_key} must be an object with an objects list", code="invalid_inventory", field=inventory_key
        )
    manifest, _ = load_manifest(bucket, env)
    assembly = read_json_optional(bucket, f"{env.usd}/usd_assembly_manifest.json") or {}
    room = assembly.get("room") if isinstance(assembly, dict) else None
    simready_marker = read_json_optional(bucket, f"{env.assets}/.simready_complete") or {}
    interactive = read_json_optional(bucket, f"{env.assets}/interactive/interactive_results.json") or {}
    joints = {
        str(o["id"]): o.get("joints", [])
        for o in interactive.get("objects", [])
        if isinstance(o, dict) and o.get("is_articulated")
    }
    out = env.replicator
    with Workspace(bucket) as ws:
        stage = open_scene(ws, env)
        if stage is None:
            raise ValidationFailed(
                f"{env.usd}/scene.usda does not exist; the USD assembly runs before the replicator",
                code="scene_missing",
                field="USD_PREFIX",
            )
        items = scene_items(stage)
        if not items:
            raise ValidationFailed(
                f"{env.usd}/scene.usda has no objects under /World/Objects", code="scene_empty", field="USD_PREFIX"
            )
        regions = support_regions(items, manifest.up_axis)
        if isinstance(room, dict) and isinstance(room.get("min"), list) and isinstance(room.get("max"), list):
            regions.append(floor_region(items, tuple(room["min"]), tuple(room["max"]), manifest.up_axis))
        for key in (f"{out}/placement_regions.usda", f"{out}/placement_regions/placement_regions.usda"):
            write_regions_usda(ws.path(key), regions, manifest.up_axis)
            ws.publish(key, content_type="text/plain")
    by_id = manifest.by_id()
    configs = policy_configs(policies, regions, items, joints)
    for pid, cfg in configs.items():
        bucket.write_json(f"{out}/configs/{pid}.json", cfg)
        bucket.write(f"{out}/policies/{pid}.py", policy_script(pid, env.scene_id), content_type="text/x-python")
    bucket.write(
        f"{out}/replicator_master.py",
        master_script(
            env.scene_id, relative_asset_path(f"{out}/replicator_master.py", f"{env.usd}/scene.usda"), list(configs)
        ),
        content_type="text/x-python",
    )
    now = iso_z(utc_now())
    variations = variation_candidates(
        items, by_id, simready_marker.get("simready_assets", {}) if isinstance(simready_marker, dict) else {}
    )
    by_priority = Counter(a["priority"] for a in variations)
    bucket.write_json(
        f"{out}/variation_assets/manifest.json",
        {
            "scene_id": env.scene_id,
            "scene_type": manifest.environment_type,
            "environment_type": manifest.environment_type,
            "generated_at": now,
            "total_assets": len(variations),
            "policies": list(configs),
            "by_priority": {k: by_priority.get(k, 0) for k in ("required", "recommended", "optional")},
            "by_category": dict(sorted(Counter(a["category"] for a in variations).items())),
            "assets": variations,
            "generation_config": {
                "variants_per_asset": 4,
                "axes": ["scale", "color", "material"],
                "scale_range": [0.9, 1.1],
            },
        },
    )
    graph = {
        "scene_id": env.scene_id,
        "generated_at": now,
        "nodes": [
            {
                "object_id": i.id,
                "category": i.category,
                "sim_role": i.sim_role,
                "prim_path": i.prim_path,
                "affordances": affordances(i, joints.get(i.id, [])),
                "joints": joints.get(i.id, []),
            }
            for i in items
        ],
        "edges": on_relations(items, manifest.up_axis),
        "regions": [r.to_dict() for r in regions],
    }
    bucket.write_json(f"{out}/affordance_graph.json", graph)
    metadata = {
        "scene_id": env.scene_id,
        "environment_type": manifest.environment_type,
        "scene_type": manifest.environment_type,
        "policies": list(configs),
        "placement_regions_count": len(regions),
        "variation_assets_count": len(variations),
        "affordance_graph": f"{out}/affordance_graph.json",
        "affordance_graph_regions": len(regions),
        "analysis_summary": {
            "method": "rules",
            "objects": len(items),
            "support_regions": sum(1 for r in regions if r.type == "support_top"),
            "inventory": inventory_key,
            "inventory_objects": len(inventory["objects"]),
        },
        "generated_at": now,
        "written_by": stamp(),
    }
    bucket.write_json(f"{out}/bundle_metadata.json", metadata)
    bucket.write(f"{out}/README.md", _readme(env.scene_id, metadata), content_type="text/markdown")
    log_json(action="complete", regions=len(regions), policies=list(configs), variation_assets=len(variations))
    return 0


def _readme(scene_id: str, metadata: dict[str, Any]) -> str:
    return (
        f"# Replicator bundle for scene {scene_id}\n\n"
        "Generated by bpflow replicator-job from the assembled scene.\n\n"
        "- `placement_regions.usda`: support surfaces and free floor (guide quads, `bp:*` attributes)\n"
        "- `configs/<policy>.json` + `policies/<policy>.py`: one randomisation policy each\n"
        "- `replicator_master.py`: run inside Isaac Sim to register every policy\n"
        "- `variation_assets/manifest.json`: Stage 3 variation candidates\n"
        "- `affordance_graph.json`: affordances, `on` relations and regions (input of isaac-lab)\n\n"
        f"```json\n{json.dumps({k: metadata[k] for k in ('policies', 'placement_regions_count', 'variation_assets_count')}, indent=2)}\n```\n"
    )


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
