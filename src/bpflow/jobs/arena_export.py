"""arena-export-job: the scene as an Isaac Lab Arena package under ``scenes/{scene}/arena/``.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``ASSETS_PREFIX``, ``USD_PREFIX``,
``ARENA_PREFIX``, ``GENIESIM_PREFIX``, ``TRIGGER_SOURCE`` (``usd`` | ``geniesim`` |
``isaac_lab``), ``USE_LLM_AFFORDANCES``, ``ENABLE_HUB_REGISTRATION``, ``HUB_NAMESPACE``.

Writes ``arena_manifest.json``, ``asset_registry.json``, ``scene_module.py``, ``tasks/*.py``,
``hub_config.yaml`` (hub registration only) and ``.arena_export_complete`` (``{status:
"complete", scene_id, task_count, affordance_count, files_generated, premium_analytics_enabled,
premium_analytics_manifests}``; it triggers nothing). The objects' affordances come from the
simulation's view of the scene (``domain.arena.affordances``); with ``USE_LLM_AFFORDANCES`` and
an ``OPENAI_API_KEY`` an LLM may refine which apply. Every generated Python file is compiled
before anything is written; the tasks are the evaluation's (``domain.evaluation.scene_tasks``).
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import env_bool, env_scene_prefix, env_str, job_bucket, log_json, require_env, run_main
from bpflow.core.stages import STAGES
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

TRIGGER_SOURCES = ("usd", "geniesim", "isaac_lab")
#: The arena stage's completion marker's name (``core/stages.yaml``), written last in ``ARENA_PREFIX``.
COMPLETE_NAME = posixpath.basename(STAGES["arena-export"].complete_in("arena"))


def _llm_ask() -> Any:
    """A one-shot chat call on the configured OpenAI-protocol endpoint, or None without a key."""
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        return None
    import openai

    client = openai.OpenAI(api_key=key, base_url=os.environ.get("OPENAI_BASE_URL") or None, max_retries=1, timeout=60)
    model = os.environ.get("OPENAI_MODEL", "gpt-5.1")

    def ask(prompt: str) -> str:
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
        return reply.choices[0].message.content or ""

    return ask


def registry_of(sim: Any, spec_paths: dict[str, str], *, use_llm: bool) -> dict[str, Any]:
    from bpflow.domain.arena.affordances import centre, object_affordances, refine_with_llm

    objects: dict[str, Any] = {}
    for oid in sorted(sim.objects):
        o = sim.objects[oid]
        objects[oid] = {
            "id": oid,
            "category": o.category,
            "sim_role": o.sim_role,
            "kind": o.kind,
            "usd_prim": spec_paths.get(oid),
            "mass_kg": round(float(o.mass), 4),
            "size_m": [round(float(v), 4) for v in o.size],
            "centre_m": centre(sim, oid),
            "affordances": object_affordances(sim, oid),
        }
    source = "geometry"
    ask = _llm_ask() if use_llm else None
    if ask is not None:
        try:
            keep = refine_with_llm(objects, ask)
        except Exception as exc:  # noqa: BLE001 - an LLM outage must not lose the export
            log_json(action="llm_affordances_unavailable", error=str(exc)[:300])
            keep = {}
        for oid, types in keep.items():
            objects[oid]["affordances"] = [a for a in objects[oid]["affordances"] if a["type"] in types]
        source = "geometry+llm" if keep else "geometry (llm gave no usable answer)"
    elif use_llm:
        source = "geometry (USE_LLM_AFFORDANCES set, no OPENAI_API_KEY)"
    return {"objects": objects, "affordance_source": source}


def _main() -> int:
    from bpflow.domain.arena.export import build_files
    from bpflow.domain.evaluation.scene_tasks import load_scene_with_tasks, read_manifest
    from bpflow.domain.sim.usd_read import read_scene

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    arena = env_scene_prefix(scene, "ARENA_PREFIX", f"scenes/{scene}/arena")
    usd_prefix = env_scene_prefix(scene, "USD_PREFIX", f"scenes/{scene}/usd")
    assets = env_scene_prefix(scene, "ASSETS_PREFIX", f"scenes/{scene}/assets")
    source = env_str("TRIGGER_SOURCE", "usd")
    if source not in TRIGGER_SOURCES:
        raise ValidationFailed(
            f"TRIGGER_SOURCE must be one of {list(TRIGGER_SOURCES)}, not {source!r}", field="TRIGGER_SOURCE"
        )
    hub = env_bool("ENABLE_HUB_REGISTRATION", False)
    namespace = env_str("HUB_NAMESPACE", "blueprint-robotics")
    manifest = read_manifest(bucket, scene)
    with Workspace(bucket) as ws:
        ws.fetch_prefix(usd_prefix)
        ws.fetch_prefix(assets)  # the scene USD references its objects' simready layers under assets/
        usd = ws.root / usd_prefix / "scene.usda"
        if not usd.is_file():
            raise ValidationFailed(f"{usd_prefix}/scene.usda is missing", code="usd_missing", field="USD_PREFIX")
        sim, tasks, task_source = load_scene_with_tasks(bucket, scene, usd, manifest)
        paths = {o.id: o.prim_path for o in read_scene(usd).objects}
        mount = {
            k: (v.tolist() if hasattr(v, "tolist") else v)
            for k, v in sim.mount.items()
            if k in ("base", "yaw", "surface_id", "surface_top")
        }
    registry = registry_of(sim, paths, use_llm=env_bool("USE_LLM_AFFORDANCES", False))
    files = build_files(
        scene_id=scene,
        registry=registry,
        tasks=tasks,
        mount=mount,
        task_source=task_source,
        trigger_source=source,
        hub=hub,
        namespace=namespace,
        generated_at=iso_z(utc_now()),
    )
    for rel, text in files.items():
        if rel.endswith(".py"):
            try:
                compile(text, f"{arena}/{rel}", "exec")
            except SyntaxError as exc:  # a generator bug: never publish code that does not compile
                raise RuntimeError(f"generated {rel} does not compile: {exc}") from exc
    for rel, text in sorted(files.items()):
        ctype = (
            "application/json"
            if rel.endswith(".json")
            else "text/x-python"
            if rel.endswith(".py")
            else "application/yaml"
        )
        bucket.write(f"{arena}/{rel}", text.encode(), content_type=ctype)
    affordances = sum(len(o["affordances"]) for o in registry["objects"].values())
    bucket.write_json(
        f"{arena}/{COMPLETE_NAME}",
        {
            "status": "complete",
            "scene_id": scene,
            "task_count": len(tasks),
            "affordance_count": affordances,
            "files_generated": sorted(files),
            "premium_analytics_enabled": False,
            "premium_analytics_manifests": [],
            "trigger_source": source,
            "timestamp": iso_z(utc_now()),
        },
    )
    log_json(
        action="arena_export_complete",
        scene_id=scene,
        tasks=len(tasks),
        affordances=affordances,
        files=len(files),
        trigger_source=source,
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
