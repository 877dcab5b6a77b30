"""Ask a vision-capable LLM what a room photo contains, through the ``openai`` SDK.

The model answers the text planner's JSON shape (room type; per object a name, category, role,
count and an approximate size) plus, per object, where it sits in the photo. The answer is
repaired and validated by the text planner's own parser (``textgen.llm_planner.parse_plan``), and
the attempts, backoff and Retry-After handling are the text planner's loop: one provider policy,
one set of keys, one set of rules for 429s and malformed answers. Where things go in the scene
is then decided by the placement solver, as for a text prompt, so a wrong guess from the model
can never make the scene physically implausible.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.domain.textgen.llm_planner import (
    ChainEntry,
    LLMPlan,
    LLMResult,
    _strip_to_json,
    chat_content,
    parse_plan,
    plan_with_llm,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

VISION_PROMPT = """You look at one photo of an indoor room and describe its contents for a robot simulation.
Answer with a single compact JSON object and nothing else, shaped as:
{"room_type": "<kitchen|living_room|bedroom|office|bathroom|lab|warehouse|grocery|...>",
 "description": "<one sentence describing the room>",
 "objects": [{"name": "<snake_case noun>", "category": "<snake_case class>", "sim_role": "<role>",
              "count": <1-12, optional>, "dimensions": {"width": <m>, "height": <m>, "depth": <m>},
              "image_xy": [<0..1 horizontal centre in the photo>, <0..1 vertical centre>]}]}
Roles: static, articulated_furniture, articulated_appliance, manipulable_object, deformable_object.
Rules: list the objects you can see that stand on the floor or on another object's top (no walls,
windows, wall- or ceiling-mounted things, no rugs); estimate real-world sizes in metres."""


@dataclass
class VisionPlan:
    """A validated answer: the plan, the model's one-line description, and per-object photo
    positions (kept as evidence; placement decides the poses)."""

    plan: LLMPlan
    description: str
    image_positions: list[dict[str, Any]] = field(default_factory=list)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def parse_vision(content: str | None) -> VisionPlan:
    """The text planner's repairs, plus the description and the photo positions."""
    plan = parse_plan(content)
    payload = json.loads(_strip_to_json(content or ""))
    description = payload.get("description") if isinstance(payload.get("description"), str) else ""
    positions = []
    for item in payload.get("objects") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            xy = item.get("image_xy")
            if isinstance(xy, list) and len(xy) == 2 and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in xy):
                positions.append({"name": item["name"], "image_xy": [float(xy[0]), float(xy[1])]})
    return VisionPlan(plan, description.strip()[:300], positions)


def call_vision(entry: ChainEntry, png: bytes, *, seed: int, timeout: float, sink: list[VisionPlan]) -> LLMPlan:
    """One chat-completions call with the photo attached; raises the SDK's error or PlanRejected."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": VISION_PROMPT},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe this room."},
                {"type": "image_url", "image_url": {"url": data_url(png), "detail": "high"}},
            ],
        },
    ]
    content = chat_content(entry, messages, timeout=timeout, seed=seed)
    vision = parse_vision(content)
    sink.append(vision)
    return vision.plan


def ask_vision(
    chain: list[ChainEntry],
    png: bytes,
    *,
    seed: int,
    rounds: int,
    backoff_seconds: float,
    timeout: float,
    sleep: Callable[[float], None],
) -> tuple[LLMResult, VisionPlan | None]:
    """The planner's attempt loop over ``chain`` with the photo; the first usable answer wins."""
    answers: list[VisionPlan] = []
    result = plan_with_llm(
        chain,
        "",
        target=0,
        tier="standard",
        seed=seed,
        rounds=rounds,
        backoff_seconds=backoff_seconds,
        timeout=timeout,
        sleep=sleep,
        call=lambda e: call_vision(e, png, seed=seed, timeout=timeout, sink=answers),
    )
    return result, (answers[-1] if result.plan is not None and answers else None)
