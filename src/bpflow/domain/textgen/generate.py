"""One scene from one request: plan (LLM first, template as fallback), room, placement.

Every backend runs this core; they differ in what they do around it (spec §1.4). The one
``random.Random`` seeded from (scene_id, prompt, seed, tier) drives the room jitter, the template
composition and the placement, in that order, so a scene is reproducible in any process.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bpflow.domain.textgen.errors import PlacementFailed
from bpflow.domain.textgen.llm_planner import ChainEntry, LLMResult, plan_with_llm
from bpflow.domain.textgen.model import PlannedObject, ScenePlan
from bpflow.domain.textgen.packing import PlacementResult, place_objects
from bpflow.domain.textgen.room import RoomLayout
from bpflow.domain.textgen.template_planner import (
    compose_objects,
    constraint_str,
    prompt_objects,
    resolve_room_type,
    target_object_count,
    template_plan,
)


@dataclass(frozen=True)
class GenerationRequest:
    """The parts of a normalized scene request that shape the scene."""

    scene_id: str
    prompt: str
    constraints: Mapping[str, Any]
    quality_tier: str
    seed: int
    provider_policy: str


@dataclass(frozen=True)
class LLMOptions:
    """How (and whether) to ask an LLM. ``chain`` holds only entries that have a key."""

    enabled: bool = False
    chain: tuple[ChainEntry, ...] = ()
    skipped: tuple[str, ...] = ()
    rounds: int = 3
    backoff_seconds: float = 2.0
    timeout_seconds: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass
class GeneratedScene:
    request: GenerationRequest
    layout: RoomLayout
    plan: ScenePlan
    placement: PlacementResult
    llm: LLMResult
    target: int
    seconds: float


def rng_seed(scene_id: str, prompt: str, seed: int, tier: str) -> int:
    """First 8 bytes of sha256("<scene_id>|<prompt>|<seed>|<tier>"), big-endian, mod 2^32."""
    digest = hashlib.sha256(f"{scene_id}|{prompt}|{seed}|{tier}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % (2**32)


def ask_llm(req: GenerationRequest, opts: LLMOptions, target: int) -> LLMResult:
    """The LLM attempt (or the reason there was none)."""
    if not opts.enabled:
        return LLMResult(None, None, 0, "llm_disabled", skipped_providers=list(opts.skipped))
    if not opts.chain:
        return LLMResult(None, None, 0, "llm_no_api_key", skipped_providers=list(opts.skipped))
    result = plan_with_llm(
        list(opts.chain),
        req.prompt,
        target=target,
        tier=req.quality_tier,
        seed=req.seed,
        rounds=opts.rounds,
        backoff_seconds=opts.backoff_seconds,
        timeout=opts.timeout_seconds,
        sleep=opts.sleep,
    )
    result.skipped_providers = list(opts.skipped)
    return result


def merge_with_prompt(
    llm_objects: list[PlannedObject], prompt: str, target: int
) -> tuple[list[PlannedObject], set[str], int]:
    """The LLM's objects, with what the prompt names guaranteed: matching objects are marked
    required (kept first), missing ones added; the rest trimmed to the target. Returns the
    objects, the exclusions, and how many were added from the prompt."""
    required, excluded = prompt_objects(prompt)
    need = Counter(o.category for o in required)
    kept: list[PlannedObject] = []
    others: list[PlannedObject] = []
    for obj in llm_objects:
        if obj.name in excluded or obj.category in excluded:
            continue
        if need[obj.category] > 0:
            need[obj.category] -= 1
            kept.append(replace(obj, required=True))
        else:
            others.append(obj)
    missing = []
    for obj in required:
        if need[obj.category] > 0:
            need[obj.category] -= 1
            missing.append(obj)
    head = kept + missing
    return head + others[: max(0, target - len(head))], excluded, len(missing)


def generate_scene(
    req: GenerationRequest,
    llm_opts: LLMOptions,
    *,
    v2: bool = False,
    objects: list[PlannedObject] | None = None,
    room_type: str | None = None,
    planner: str = "remote",
) -> GeneratedScene:
    """Plan and place one scene. With ``objects`` (a remote backend's list) planning is skipped
    and only the room and the placement are computed here."""
    started = time.monotonic()
    rng = random.Random(rng_seed(req.scene_id, req.prompt, req.seed, req.quality_tier))
    target = target_object_count(req.quality_tier, req.constraints, v2)
    explicit_room = constraint_str(req.constraints, "room_type")
    if objects is not None:
        llm = LLMResult(None, None, 0, "llm_not_used_remote_backend")
        room = resolve_room_type(req.prompt, req.constraints) if explicit_room or not room_type else room_type
    else:
        llm = ask_llm(req, llm_opts, target)
        llm_room = llm.plan.room_type if llm.plan is not None else None
        room = llm_room if llm_room and not explicit_room else resolve_room_type(req.prompt, req.constraints)
    layout = RoomLayout(room, req.constraints, rng)
    area = layout.box.width * layout.box.depth
    if objects is not None:
        plan = ScenePlan(room, list(objects), planner)
    elif llm.plan is not None:
        merged, excluded, added = merge_with_prompt(llm.plan.objects, req.prompt, target)
        filled = compose_objects(
            room, target, rng, req.constraints, existing=merged, excluded=excluded, floor_area_m2=area
        )
        plan = ScenePlan(
            room,
            filled,
            "llm",
            {
                "llm_object_count": len(llm.plan.objects),
                "added_from_prompt": added,
                "template_fill_count": len(filled) - len(merged),
                "repairs": llm.plan.repairs[:50],
            },
        )
    else:
        plan = template_plan(req.prompt, room, target, rng, req.constraints, area)
    placement = place_objects(layout, plan.objects, rng)
    if not placement.placed:
        raise PlacementFailed(
            f"no object fits in the {room} room ({layout.box.width:.2f} x {layout.box.depth:.2f} m)",
            field="constraints",
            details={"room_type": room},
        )
    return GeneratedScene(req, layout, plan, placement, llm, target, time.monotonic() - started)
