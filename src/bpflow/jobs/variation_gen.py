"""variation-gen-job: USD variants (scale, colour, material) of the assets the replicator selected.

Env (reference spec-stages-assets-usd.md §9.6, with bpflow's differences noted):
  BUCKET / BPFLOW_BUCKET_URL, SCENE_ID        required
  REPLICATOR_PREFIX        default scenes/<id>/replicator (reads variation_assets/manifest.json)
  VARIATION_ASSETS_PREFIX  default scenes/<id>/variation_assets (everything is written here)
  ASSETS_PREFIX            default scenes/<id>/assets (bpflow: the scene manifest and source assets)
  PROGRESS_MARKER_PATH     default <VARIATION_ASSETS_PREFIX>/.progress.json
  RESUME_FROM_PROGRESS     skip assets an earlier run finished (their variant file still exists)
  PRIORITY_FILTER          comma list of required/recommended/optional; empty = all
  MAX_ASSETS               at most this many assets (0 = no limit)
  ENABLE_3D_GENERATION     the reference's paid text-to-3D path; not available here, so "true" is refused

Writes, under VARIATION_ASSETS_PREFIX: ``obj_<id>/variants.usda`` per asset,
``variation_assets.json`` and ``scene_manifest.json`` (only when at least one asset has
variants; stale copies are removed otherwise, so the workflow sees "no assets"),
``manifest_with_results.json``, ``generation_report.json``, and merges its progress into the
progress marker. It never writes ``.variation_pipeline_complete``: that marker starts Stage 4
and is the workflow's to write, once, after checking these outputs (the reference job wrote it
too, triggering Genie Sim export twice).

Exit 0 when every selected asset got variants, when some did (the failures are in the report),
or when nothing needed generating; exit 2 with one JSON error line for bad input or when no
selected asset could be varied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.core.errors import ConfigError, JobFailed, ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import env_bool, env_int, env_scene_prefix, env_str, job_bucket, log_json, run_main
from bpflow.core.storage import Bucket
from bpflow.domain.usd.prefixes import load_env
from bpflow.domain.usd.workspace import Workspace
from bpflow.domain.variation.documents import UNKNOWN_LICENSE, Generated, variation_assets_doc, variation_scene_manifest
from bpflow.domain.variation.palette import plan_variants
from bpflow.domain.variation.paths import replicator_manifest, variant_file
from bpflow.domain.variation.requests import (
    VariationRequest,
    distinct_ids,
    parse_manifest,
    parse_priority_filter,
    select,
)
from bpflow.domain.variation.sources import SourceMissing, SourceObject, find_visual, match_object, source_objects
from bpflow.domain.variation.variant_usd import build_variants
from bpflow.state.cas_json import iso_z, update_json, utc_now

USDA_CONTENT_TYPE = "model/vnd.usda"


class Settings:
    """The job's parameters, read and checked before anything is touched."""

    def __init__(self) -> None:
        env = load_env()  # SCENE_ID and every prefix, defaulted and checked to stay inside the scene
        self.scene_id = env.scene_id
        self.scene_root = env.root
        self.replicator = env.replicator
        self.variation = env.variation_assets
        self.assets = env.assets
        self.progress = env_scene_prefix(self.scene_id, "PROGRESS_MARKER_PATH", self.variation + "/.progress.json")
        self.resume = env_bool("RESUME_FROM_PROGRESS", False)
        self.priority_filter = env_str("PRIORITY_FILTER", "")
        self.priorities = parse_priority_filter(self.priority_filter)
        self.max_assets = env_int("MAX_ASSETS", 0)
        if self.max_assets < 0:
            raise ConfigError(f"MAX_ASSETS must be >= 0, got {self.max_assets}", field="MAX_ASSETS")
        if env_bool("ENABLE_3D_GENERATION", False):
            raise ConfigError(
                "ENABLE_3D_GENERATION=true asks for text-to-3D generation (meshy / external service), which this build "
                "does not have; variants are authored from the scene's own assets. Unset it to run.",
                field="ENABLE_3D_GENERATION",
            )

    def config(self) -> dict[str, Any]:
        return {
            "replicator_prefix": self.replicator,
            "variation_assets_prefix": self.variation,
            "assets_prefix": self.assets,
            "progress_marker_path": self.progress,
            "resume_from_progress": self.resume,
            "priority_filter": self.priority_filter,
            "max_assets": self.max_assets,
        }


def _read_json(bucket: Bucket, key: str, what: str, field: str) -> Any:
    try:
        return bucket.read_json(key)
    except ObjectNotFound:
        raise ConfigError(f"{what} {key} does not exist", field=field) from None
    except ValueError as exc:
        raise ValidationFailed(f"{what} {key} is not valid JSON: {exc}", field=field) from None


def _previously_done(bucket: Bucket, s: Settings) -> set[str]:
    """Ids an earlier run finished, from the progress marker (the job's own list, or the
    report the workflow copied into it)."""
    progress = bucket.read_json_or_none(s.progress) if s.resume else None
    if not isinstance(progress, dict):
        return set()
    done = {str(i) for i in progress.get("variation_gen_completed") or [] if isinstance(i, str)}
    report = progress.get("variation_gen")
    if isinstance(report, dict):
        done |= {
            str(r.get("id"))
            for r in report.get("results") or []
            if isinstance(r, dict) and r.get("status") in ("generated", "resumed")
        }
    return done


def _license(bucket: Bucket, obj: SourceObject, visual_key: str) -> str:
    """The source asset's recorded license (manifest, then its metadata.json); a variant is a
    derivative of it. Nothing recorded stays "unknown" rather than a guessed permissive one."""
    recorded = obj.asset.get("license")
    if isinstance(recorded, str) and recorded.strip():
        return recorded.strip()
    meta = bucket.read_json_or_none(visual_key.rsplit("/", 1)[0] + "/metadata.json")
    if isinstance(meta, dict) and isinstance(meta.get("license"), str) and meta["license"].strip():
        return str(meta["license"]).strip()
    return UNKNOWN_LICENSE


def _mark_progress(bucket: Bucket, s: Settings, asset_id: str, at: str) -> None:
    def merge(doc: dict[str, Any]) -> dict[str, Any]:
        done = set(doc.get("variation_gen_completed") or []) | {asset_id}
        doc.update(
            scene_id=s.scene_id,
            variation_assets_prefix=s.variation,
            variation_gen_completed=sorted(done),
            variation_gen_updated_at=at,
        )
        return doc

    update_json(bucket, s.progress, merge)


def _generate(
    bucket: Bucket, s: Settings, req: VariationRequest, objects: list[SourceObject], done_before: set[str]
) -> Generated:
    obj = match_object(req, objects)
    visual = find_visual(bucket, obj, s.assets, s.scene_root)
    plan = plan_variants(req.id, req.category if req.category != "object" else obj.category, req.hint_words())
    key = variant_file(s.variation, req.id)
    resumed = req.id in done_before and bucket.exists(key)
    if not resumed:
        with Workspace(bucket) as ws:  # USD resolves an asset's relative references: bring its folder along
            ws.fetch_prefix(visual.rsplit("/", 1)[0])
            text = build_variants(ws.path(visual), plan, asset_id=req.id, category=obj.category, source_key=visual)
        bucket.write(key, text, content_type=USDA_CONTENT_TYPE)
        _mark_progress(bucket, s, req.id, iso_z(utc_now()))
    return Generated(
        request=req,
        source=obj,
        plan=plan,
        variants_key=key,
        source_key=visual,
        license=_license(bucket, obj, visual),
        resumed=resumed,
    )


def _replace_or_remove(bucket: Bucket, key: str, doc: dict[str, Any] | None) -> None:
    if doc is None:
        bucket.delete(key)
    else:
        bucket.write_json(key, doc)


@dataclass
class Inputs:
    manifest: dict[str, Any]
    """The replicator's variation manifest, as read."""
    scene_manifest: dict[str, Any]
    objects: list[SourceObject]
    requests: list[VariationRequest]


def _inputs(bucket: Bucket, s: Settings) -> Inputs:
    """Both manifests, validated; request ids made distinct from the scene's object ids."""
    manifest = _read_json(
        bucket, replicator_manifest(s.replicator), "replicator variation manifest", "REPLICATOR_PREFIX"
    )
    key = s.assets + "/scene_manifest.json"
    scene_doc: dict[str, Any] = {}
    objects: list[SourceObject] = []
    if bucket.exists(key):
        _, scene_doc, objects = source_objects(bucket.read(key), s.scene_id, key)
    requests = distinct_ids(parse_manifest(manifest), {o.id for o in objects})
    return Inputs(manifest, scene_doc, objects, requests)


def _write_documents(
    bucket: Bucket, s: Settings, inp: Inputs, done: list[Generated], results: dict[str, dict[str, Any]], selected: int
) -> dict[str, Any]:
    """The catalogue, the variants' scene manifest (or their removal), the annotated manifest and
    the report; returns the report's summary."""
    now = iso_z(utc_now())
    _replace_or_remove(
        bucket, s.variation + "/variation_assets.json", variation_assets_doc(s.scene_id, now, done) if done else None
    )
    _replace_or_remove(
        bucket,
        s.variation + "/scene_manifest.json",
        variation_scene_manifest(s.scene_id, inp.scene_manifest, done) if done else None,
    )
    ordered = [results[r.id] for r in inp.requests]
    assets = [{**a, "generation_result": res} for a, res in zip(inp.manifest["assets"], ordered)]
    bucket.write_json(s.variation + "/manifest_with_results.json", {**inp.manifest, "assets": assets})
    summary = {
        "requested": len(inp.requests),
        "selected": selected,
        "generated": sum(1 for g in done if not g.resumed),
        "resumed": sum(1 for g in done if g.resumed),
        "failed": sum(1 for r in ordered if r["status"] == "failed"),
        "skipped": len(inp.requests) - selected,
        "variation_assets": len(done),
    }
    bucket.write_json(
        s.variation + "/generation_report.json",
        {"scene_id": s.scene_id, "generated_at": now, "summary": summary, "results": ordered, "config": s.config()},
    )
    return summary


def _main() -> int:
    bucket = job_bucket()
    s = Settings()
    inp = _inputs(bucket, s)
    selected, passed_over = select(inp.requests, s.priorities, s.max_assets)
    log_json(
        action="plan",
        scene_id=s.scene_id,
        requested=len(inp.requests),
        selected=[r.id for r in selected],
        passed_over=[r.id for r in passed_over],
    )
    if selected and not inp.objects:
        raise ConfigError(
            f"scene manifest {s.assets}/scene_manifest.json does not exist or lists no objects", field="ASSETS_PREFIX"
        )
    done_before = _previously_done(bucket, s)

    done: list[Generated] = []
    results = {
        r.id: {
            "id": r.id,
            "name": r.name,
            "status": "skipped",
            "reason": "not selected (source_hint, PRIORITY_FILTER or MAX_ASSETS)",
        }
        for r in passed_over
    }
    for req in selected:
        try:
            g = _generate(bucket, s, req, inp.objects, done_before)
        except SourceMissing as exc:
            results[req.id] = {"id": req.id, "name": req.name, "status": "failed", "reason": str(exc)}
            log_json(action="asset_failed", asset=req.id, reason=str(exc))
            continue
        done.append(g)
        results[req.id] = {
            "id": req.id,
            "name": req.name,
            "status": "resumed" if g.resumed else "generated",
            "source_object_id": g.source.id,
            "variants_path": g.variants_key,
        }
        log_json(
            action="asset_resumed" if g.resumed else "asset_generated",
            asset=req.id,
            source=g.source_key,
            path=g.variants_key,
        )

    summary = _write_documents(bucket, s, inp, done, results, len(selected))
    log_json(action="done", scene_id=s.scene_id, **summary)
    if selected and not done:
        reasons = "; ".join(f"{r['id']}: {r['reason']}" for r in results.values() if r["status"] == "failed")
        raise JobFailed(
            f"none of the {len(selected)} selected assets could be varied: {reasons}", code="no_variation_assets"
        )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
