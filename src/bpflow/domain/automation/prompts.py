"""Deterministic, diverse scene prompts for the daily autonomy loop (spec §5.4 "prompt engine").

A prompt is built from weighted choices per dimension (room archetype, task family, style,
clutter), its objects drawn from the text generator's own room catalog, so every prompt is
one the Stage-1 planner understands. Diversity has two guards:

* coverage rebalancing: a dimension value already used by recent prompts weighs less, so a
  week of runs walks through the archetypes instead of repeating the heaviest one;
* novelty: ``1 − max Jaccard`` of the prompt's word set against the last ``dedupe_window``
  prompts; the first candidate with novelty ≥ ``novelty_threshold`` and an unseen hash wins.

The RNG of candidate ``c`` for slot ``s`` on date ``d`` is seeded from ``d|s|c|policy``: the same
day re-run produces the same prompts, and no two slots or days share a seed.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bpflow.domain.textgen.room_catalog import (
    ART_APPLIANCE,
    ART_FURNITURE,
    DEFORMABLE,
    MANIPULABLE,
    ROOM_CATALOGS,
    STATIC,
)

DIMENSIONS: dict[str, dict[str, float]] = {
    "archetype": {
        "kitchen": 3,
        "living_room": 2,
        "bedroom": 2,
        "office": 2,
        "lab": 1,
        "warehouse": 1,
        "grocery": 1,
        "bathroom": 1,
        "home_laundry": 1,
        "utility_room": 1,
    },
    "task_family": {"pick_and_place": 3, "open_and_close": 2, "sorting": 2, "table_clearing": 2, "restocking": 1},
    "style": {"modern": 2, "compact": 1, "rustic": 1, "industrial": 1, "minimalist": 1, "bright": 1},
    "clutter": {"tidy": 1, "lived_in": 2, "busy": 1},
}
TASK_WORDS = {
    "pick_and_place": "pick-and-place practice",
    "open_and_close": "opening and closing doors and drawers",
    "sorting": "sorting objects into groups",
    "table_clearing": "clearing the surfaces",
    "restocking": "restocking shelves",
}
SMALL_COUNTS = {"tidy": (1, 2), "lived_in": (2, 3), "busy": (3, 5)}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
MAX_CANDIDATES = 6
NOVELTY_THRESHOLD = 0.35
DEDUPE_WINDOW = 60


@dataclass(frozen=True)
class Candidate:
    prompt: str
    base_prompt: str
    dimensions: dict[str, str]
    tags: list[str]
    prompt_hash: str
    novelty_score: float = 1.0
    novelty_override: bool = False
    used_llm: bool = False
    llm_attempts: int = 0
    llm_provider: str | None = None
    llm_failure_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.strip().encode("utf-8")).hexdigest()[:16]


_WORD = re.compile(r"[a-z0-9]+")


def token_set(prompt: str) -> set[str]:
    return {w for w in _WORD.findall(prompt.lower()) if len(w) > 2}


def novelty(prompt: str, recent: Sequence[str]) -> float:
    """1 − the highest Jaccard similarity to any recent prompt (1.0 with no history)."""
    mine = token_set(prompt)
    best = 0.0
    for other in recent:
        theirs = token_set(other)
        union = mine | theirs
        if union:
            best = max(best, len(mine & theirs) / len(union))
    return round(1.0 - best, 4)


def _rng(run_date: str, slot: int, candidate: int, policy: str) -> random.Random:
    seed = hashlib.sha256(f"{run_date}|{slot}|{candidate}|{policy}".encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _choose(rng: random.Random, weights: Mapping[str, float], used: Counter[str]) -> str:
    names = sorted(weights)
    adjusted = [weights[n] / (1.0 + used[n]) for n in names]
    return rng.choices(names, weights=adjusted, k=1)[0]


def _words(name: str) -> str:
    return name.replace("_", " ")


def _one(name: str) -> str:
    word = _words(name)
    if word.endswith("s") and not word.endswith("ss"):
        return f"some {word}"  # gloves, towels: already plural
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _plural(name: str) -> str:
    word = _words(name)
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def base_prompt(rng: random.Random, recent_dims: Sequence[Mapping[str, str]]) -> tuple[str, dict[str, str]]:
    dims: dict[str, str] = {}
    for dim, weights in DIMENSIONS.items():
        used = Counter(str(d.get(dim)) for d in recent_dims if isinstance(d, Mapping))
        dims[dim] = _choose(rng, weights, used)
    entries = ROOM_CATALOGS[dims["archetype"]]
    big = [e[0] for e in entries if e[2] in (STATIC, ART_FURNITURE, ART_APPLIANCE)]
    small = [e[0] for e in entries if e[2] in (MANIPULABLE, DEFORMABLE)]
    articulated = [e[0] for e in entries if e[2] in (ART_FURNITURE, ART_APPLIANCE)]
    furniture = rng.sample(big, k=min(2, len(big)))
    if articulated and not set(furniture) & set(articulated):
        furniture[-1] = rng.choice(articulated)  # something to open: the tasks need it
    items = rng.sample(small, k=min(2, len(small)))
    low, high = SMALL_COUNTS[dims["clutter"]]
    count = rng.randint(low, high)
    parts = [_one(f) for f in furniture]
    parts.append(f"{NUMBER_WORDS[count]} {_plural(items[0])}" if count > 1 else _one(items[0]))
    parts += [_one(i) for i in items[1:]]
    listing = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    room = _words(dims["archetype"])
    prompt = f"{_one(dims['style'])} {room} with {listing}, arranged for {TASK_WORDS[dims['task_family']]}"
    return prompt, dims


def choose_prompt(
    run_date: str,
    slot: int,
    policy: str,
    recent: Sequence[Mapping[str, Any]],
    *,
    expand: Any = None,
    max_candidates: int = MAX_CANDIDATES,
    threshold: float = NOVELTY_THRESHOLD,
) -> Candidate:
    """The prompt for one slot. ``recent`` are the state's ``recent_prompts`` entries
    (``{prompt, prompt_hash, dimensions}``); ``expand(base, rng)`` optionally rewrites a base
    prompt with an LLM and returns ``(prompt, attempts, provider, failure_reason)``."""
    recent_prompts = [str(r.get("prompt") or "") for r in recent]
    seen = {str(r.get("prompt_hash") or "") for r in recent}
    recent_dims = [r.get("dimensions") or {} for r in recent]
    best: Candidate | None = None
    for c in range(max_candidates):
        rng = _rng(run_date, slot, c, policy)
        base, dims = base_prompt(rng, recent_dims)
        prompt, attempts, provider, failure = base, 0, None, None
        if expand is not None:
            prompt, attempts, provider, failure = expand(base, rng)
        h = prompt_hash(prompt)
        if h in seen:
            continue
        cand = Candidate(
            prompt=prompt,
            base_prompt=base,
            dimensions=dims,
            tags=sorted(set(dims.values())),
            prompt_hash=h,
            novelty_score=novelty(prompt, recent_prompts),
            used_llm=prompt != base,
            llm_attempts=attempts,
            llm_provider=provider,
            llm_failure_reason=failure,
        )
        if cand.novelty_score >= threshold:
            return cand
        if best is None or cand.novelty_score > best.novelty_score:
            best = cand
    if best is not None:
        return Candidate(**{**best.__dict__, "novelty_override": True})
    fallback = f"a generic room with a table, a shelf and a bottle, variation {run_date} slot {slot}"
    return Candidate(
        prompt=fallback,
        base_prompt=fallback,
        dimensions={"archetype": "generic_room"},
        tags=["generic_room"],
        prompt_hash=prompt_hash(fallback),
        novelty_score=0.0,
        novelty_override=True,
        llm_failure_reason="novelty_generation_exhausted",
    )
