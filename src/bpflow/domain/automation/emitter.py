"""The emitter: invent the day's scene requests, once per date (spec §5.4).

It never publishes to the trigger path itself: it leaves each request under the run folder
and lists them in ``emitted_requests.json``; the workflow publishes them (create-only, so a
re-run never re-triggers a scene). That keeps the rule that only workflows write objects that
start other workflows, and makes publishing work the same on every bucket backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bpflow.core.errors import ConfigError, PreconditionFailed
from bpflow.core.storage import Bucket
from bpflow.domain.automation.daily import ORCHESTRATOR
from bpflow.domain.automation.prompts import DEDUPE_WINDOW, Candidate, choose_prompt
from bpflow.domain.automation.state import EMITTER_JOB, SCHEMA_VERSION, DailyPaths, parse_state
from bpflow.state.cas_json import iso_z, read_versioned_json, update_json, utc_now

BACKENDS = frozenset({"internal", "scenesmith", "sage", "hybrid_serial"})
TIERS = frozenset({"standard", "premium"})
MAX_QUOTA = 100


@dataclass(frozen=True)
class EmitOptions:
    bucket_name: str
    run_date: str
    quota: int
    provider_policy: str
    text_backend: str
    quality_tier: str
    seed_count: int
    allow_image_fallback: bool
    timezone: str

    def check(self) -> EmitOptions:
        if not 1 <= self.quota <= MAX_QUOTA:
            raise ConfigError(
                f"TEXT_DAILY_QUOTA must be between 1 and {MAX_QUOTA}, got {self.quota}", field="TEXT_DAILY_QUOTA"
            )
        if self.text_backend not in BACKENDS:
            raise ConfigError(
                f"TEXT_AUTONOMY_TEXT_BACKEND must be one of {sorted(BACKENDS)}, got {self.text_backend!r}",
                field="TEXT_AUTONOMY_TEXT_BACKEND",
            )
        if self.quality_tier not in TIERS:
            raise ConfigError(
                f"TEXT_AUTONOMY_QUALITY_TIER must be standard or premium, got {self.quality_tier!r}",
                field="TEXT_AUTONOMY_QUALITY_TIER",
            )
        if self.seed_count < 1:
            raise ConfigError(
                f"TEXT_AUTONOMY_SEED_COUNT must be >= 1, got {self.seed_count}", field="TEXT_AUTONOMY_SEED_COUNT"
            )
        return self


def scene_id_for(run_date: str, slot: int, cand: Candidate) -> str:
    return f"textauto_{run_date.replace('-', '')}_{slot:03d}_{cand.prompt_hash[:8]}"


def request_body(opts: EmitOptions, scene_id: str, slot: int, cand: Candidate) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "scene_id": scene_id,
        "source_mode": "text",
        "text_backend": opts.text_backend,
        "prompt": cand.prompt,
        "quality_tier": opts.quality_tier,
        "seed_count": opts.seed_count,
        "constraints": {
            "room_type": cand.dimensions.get("archetype") or "generic_room",
            "autonomy": {"mode": "text_daily", "run_date": opts.run_date, "slot_index": slot, "job": EMITTER_JOB},
            "prompt_diversity": {
                "prompt_hash": cand.prompt_hash,
                "novelty_score": cand.novelty_score,
                "novelty_override": cand.novelty_override,
                "tags": cand.tags,
                "dimensions": cand.dimensions,
                "base_prompt": cand.base_prompt,
                "used_llm": cand.used_llm,
                "llm_attempts": cand.llm_attempts,
                "llm_provider": cand.llm_provider,
                "llm_failure_reason": cand.llm_failure_reason,
            },
        },
        "provider_policy": opts.provider_policy,
        "fallback": {"allow_image_fallback": opts.allow_image_fallback},
    }


Expand = Callable[[str, Any], tuple[str, int, str | None, str | None]]


def emit(
    bucket: Bucket,
    paths: DailyPaths,
    opts: EmitOptions,
    *,
    expand: Expand | None = None,
    log: Callable[..., None] = lambda **_: None,
) -> dict[str, Any]:
    """Emit the quota; returns ``{"status": emitted | paused | already_emitted, ...}``."""
    opts.check()
    if bucket.exists(paths.pause_marker):
        log(action="paused", reason="pause_marker", marker=paths.pause_marker)
        return {"status": "paused"}
    state = read_versioned_json(bucket, paths.state).value
    if parse_state(state).paused:
        log(action="paused", reason="state_paused", state=paths.state)
        return {"status": "paused"}
    now = iso_z(utc_now())
    try:
        bucket.create_json(
            paths.emitter_lock,
            {
                "schema_version": SCHEMA_VERSION,
                "job": EMITTER_JOB,
                "run_date": opts.run_date,
                "bucket": opts.bucket_name,
                "timestamp": now,
            },
        )
    except PreconditionFailed:
        log(action="already_emitted", lock=paths.emitter_lock)
        return {"status": "already_emitted"}

    recent = [r for r in state.get("recent_prompts") or [] if isinstance(r, dict)][-DEDUPE_WINDOW:]
    emitted: list[dict[str, Any]] = []
    for slot in range(1, opts.quota + 1):
        cand = choose_prompt(opts.run_date, slot, opts.provider_policy, recent, expand=expand)
        scene_id = scene_id_for(opts.run_date, slot, cand)
        bucket.write_json(paths.request_draft(scene_id), request_body(opts, scene_id, slot, cand))
        entry = {
            "scene_id": scene_id,
            "request_object": ORCHESTRATOR.trigger_key(scene_id),
            "draft_object": paths.request_draft(scene_id),
            "prompt_hash": cand.prompt_hash,
            "novelty_score": cand.novelty_score,
            "novelty_override": cand.novelty_override,
            "tags": cand.tags,
            "dimensions": cand.dimensions,
            "used_llm": cand.used_llm,
            "llm_attempts": cand.llm_attempts,
            "llm_provider": cand.llm_provider,
            "llm_failure_reason": cand.llm_failure_reason,
        }
        emitted.append(entry)
        recent.append(
            {
                "prompt": cand.prompt,
                "prompt_hash": cand.prompt_hash,
                "dimensions": cand.dimensions,
                "run_date": opts.run_date,
                "scene_id": scene_id,
            }
        )
        log(action="emitted", scene_id=scene_id, prompt=cand.prompt, novelty=cand.novelty_score)

    def merge(current: dict[str, Any]) -> dict[str, Any]:
        kept = [r for r in current.get("recent_prompts") or [] if isinstance(r, dict)]
        known = {r.get("prompt_hash") for r in kept}
        kept += [r for r in recent if r.get("prompt_hash") not in known]
        current.update(
            {
                "schema_version": SCHEMA_VERSION,
                "recent_prompts": kept[-DEDUPE_WINDOW:],
                "last_emit_run_date": opts.run_date,
                "last_emitted_at": now,
            }
        )
        return current

    update_json(bucket, paths.state, merge)
    bucket.write_json(
        paths.emitted_index,
        {
            "schema_version": SCHEMA_VERSION,
            "run_date": opts.run_date,
            "bucket": opts.bucket_name,
            "scene_ids": [e["scene_id"] for e in emitted],
            "requests": emitted,
        },
    )
    bucket.write_json(
        paths.emit_manifest,
        {
            "schema_version": SCHEMA_VERSION,
            "job": EMITTER_JOB,
            "status": "emitted",
            "run_date": opts.run_date,
            "quota": opts.quota,
            "quality_tier": opts.quality_tier,
            "text_backend": opts.text_backend,
            "provider_policy": opts.provider_policy,
            "state_object": paths.state,
            "emitted_index_object": paths.emitted_index,
            "lock_object": paths.emitter_lock,
            "lock_backend": "bucket",
            "emitted_count": len(emitted),
            "timestamp": now,
            "timezone": opts.timezone,
        },
    )
    return {"status": "emitted", "scene_ids": [e["scene_id"] for e in emitted]}
