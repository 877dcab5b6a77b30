"""text-scene-adapter-job: Stage 1's second half, ``python -m bpflow.jobs.text_scene_adapter``.

Reads what text-scene-gen planned (``textgen/package.json``, the request) and writes the
canonical Stage-1 outputs: ``assets/obj_<id>/model.usd`` + ``metadata.json`` per object
(retrieved from the asset library, or a placeholder box), ``assets/scene_manifest.json``,
``layout/scene_layout_scaled.json``, ``seg/inventory.json``, the retrieval report, then the
rollout state, catalog rows and the embedding / replication queue objects, and last
``textgen/adapter_summary.json``. It never writes ``assets/.regen3d_complete``: that marker
starts Stage 2, so the workflow writes it after checking the outputs (DESIGN), from the
summary's ``regen3d_marker`` (``bpflow.domain.retrieval.outputs.stage1_marker_body``).

Env: ``BPFLOW_BUCKET_URL``, ``BUCKET``, ``SCENE_ID``; ``REQUEST_OBJECT``, ``TEXTGEN_PREFIX``,
``ASSETS_PREFIX``, ``LAYOUT_PREFIX``, ``SEG_PREFIX`` (defaults under ``scenes/<SCENE_ID>/``;
each must stay inside that scene); the ``TEXT_ASSET_*`` settings of ``bpflow.core.config``;
``BPFLOW_DATABASE_URL`` / ``BPFLOW_HOME`` for the catalog; and, as in the reference, a few
options the workflow does not pass: ``TEXT_ASSET_EMBEDDING_BACKEND`` (local | minilm),
``TEXT_ASSET_ROLLOUT_MIN_PASSING_WINDOWS`` (3), ``TEXT_ASSET_ALLOW_DUPLICATE_PATHS`` (false),
``TEXT_ASSET_CLIP_RERANK_ENABLED`` (false), ``TEXT_ASSET_ARTICULATED_PRIORITY_ENABLED``
(true), ``TEXT_ASSET_VALIDATION_ENABLED`` / ``TEXT_PIPELINE_V2_ENABLED`` (soft repair).

Text-to-3D generation providers (SAM3D, Hunyuan3D) are not implemented in this build: with
none configured (the reference default, no hosts) a retrieval miss gives a placeholder, as in
the reference; a configured provider is refused with a clear error rather than ignored.
"""

from __future__ import annotations

from bpflow.core.config import Settings
from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import (
    env_bool,
    env_int,
    env_scene_prefix,
    env_str,
    job_bucket,
    job_settings,
    log_json,
    require_env,
    run_main,
)
from bpflow.core.stages import STAGES
from bpflow.core.storage import check_key
from bpflow.domain.retrieval.pipeline import AdapterConfig, run_adapter
from bpflow.domain.retrieval.rollout import PromotionRule
from bpflow.domain.retrieval.select import RetrievalSettings
from bpflow.state.cas_json import check_scene_id

PROVIDER_ENV = {
    "sam3d": (
        ("SAM3D_API_KEY", "TEXT_SAM3D_API_KEY"),
        ("TEXT_SAM3D_API_HOST", "SAM3D_API_HOST", "TEXT_SAM3D_BASE_URL"),
    ),
    "hunyuan3d": (
        ("HUNYUAN_API_KEY", "TEXT_HUNYUAN_API_KEY"),
        ("TEXT_HUNYUAN_API_HOST", "HUNYUAN_API_HOST", "TEXT_HUNYUAN_BASE_URL"),
    ),
}


def configured_providers(chain: list[str]) -> list[str]:
    def has(names: tuple[str, ...]) -> bool:
        return any(env_str(n) for n in names)

    return [p for p in chain if p in PROVIDER_ENV and has(PROVIDER_ENV[p][0]) and has(PROVIDER_ENV[p][1])]


def build_config(settings: Settings, scene_id: str) -> AdapterConfig:
    root = f"scenes/{scene_id}"
    if settings.text_asset_generation_enabled:
        providers = configured_providers(list(settings.text_asset_generation_provider_chain or []))
        if providers:
            raise ConfigError(
                f"text-to-3D generation provider(s) {', '.join(providers)} are configured, but this build does not "
                "implement them; set TEXT_ASSET_GENERATION_ENABLED=false or unset their API host/key",
                field="TEXT_ASSET_GENERATION_PROVIDER_CHAIN",
            )
    request_object = (env_str("REQUEST_OBJECT") or STAGES["source-orchestrator"].trigger_key(scene_id)).strip("/")
    check_key(request_object)
    retrieval = RetrievalSettings(
        mode=settings.text_asset_retrieval_mode,
        ann_enabled=settings.text_asset_ann_enabled,
        lexical_enabled=settings.text_asset_lexical_fallback_enabled,
        library_min_score=min(1.0, max(0.0, settings.text_asset_library_min_score)),
        ann_top_k=settings.text_asset_ann_top_k,
        ann_min_score=min(1.0, max(0.0, settings.text_asset_ann_min_score)),
        ann_max_rerank=settings.text_asset_ann_max_rerank,
        allow_duplicate_paths=env_bool("TEXT_ASSET_ALLOW_DUPLICATE_PATHS", False),
        clip_rerank=env_bool("TEXT_ASSET_CLIP_RERANK_ENABLED", False),
        articulated_priority=env_bool("TEXT_ASSET_ARTICULATED_PRIORITY_ENABLED", True),
    )
    rule = PromotionRule(
        min_decisions=max(1, settings.text_asset_rollout_min_decisions),
        min_hit_rate=settings.text_asset_rollout_min_hit_rate,
        max_error_rate=settings.text_asset_rollout_max_error_rate,
        max_p95_ms=settings.text_asset_rollout_max_p95_ms,
        min_passing_windows=max(1, env_int("TEXT_ASSET_ROLLOUT_MIN_PASSING_WINDOWS", 3)),
    )
    return AdapterConfig(
        scene_id=scene_id,
        bucket_name=env_str("BUCKET"),
        request_object=request_object,
        textgen_prefix=env_scene_prefix(scene_id, "TEXTGEN_PREFIX", f"{root}/textgen"),
        assets_prefix=env_scene_prefix(scene_id, "ASSETS_PREFIX", f"{root}/assets"),
        layout_prefix=env_scene_prefix(scene_id, "LAYOUT_PREFIX", f"{root}/layout"),
        seg_prefix=env_scene_prefix(scene_id, "SEG_PREFIX", f"{root}/seg"),
        retrieval=retrieval,
        requested_mode=settings.text_asset_retrieval_mode,
        retrieval_enabled=settings.text_asset_retrieval_enabled,
        library_prefixes=tuple(settings.text_asset_library_prefixes),
        library_max_files=settings.text_asset_library_max_files,
        cache_enabled=settings.text_asset_generated_cache_enabled,
        cache_prefix=settings.text_asset_generated_cache_prefix,
        rollout_prefix=settings.text_asset_rollout_state_prefix,
        rule=rule,
        catalog_enabled=settings.text_asset_catalog_enabled,
        database_url=settings.database_url,
        namespace=env_str("TEXT_ASSET_ANN_NAMESPACE") or env_str("VECTOR_STORE_NAMESPACE") or "assets-v1",
        embedding_backend=env_str("TEXT_ASSET_EMBEDDING_BACKEND"),
        embedding_model=settings.text_asset_embedding_model,
        embedding_queue_prefix=settings.text_asset_embedding_queue_prefix,
        replication_enabled=settings.text_asset_replication_enabled,
        replication_queue_prefix=settings.text_asset_replication_queue_prefix,
        replication_target=settings.text_asset_replication_target,
        replication_target_prefix=settings.text_asset_replication_target_prefix,
        soft_repair=env_bool("TEXT_ASSET_VALIDATION_ENABLED", False) or env_bool("TEXT_PIPELINE_V2_ENABLED", False),
    )


def _main() -> int:
    scene_id = check_scene_id(require_env("SCENE_ID"))
    config = build_config(job_settings(), scene_id)
    bucket = job_bucket()
    summary = run_adapter(bucket, config)
    outs = summary["outputs"]
    log_json(
        action="text_adapter_complete",
        scene_id=scene_id,
        objects_count=outs["objects_count"],
        retrieval_mode=outs["retrieval_mode"],
        method_counts=outs["method_counts"],
        summary=f"{config.textgen_prefix}/adapter_summary.json",
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
