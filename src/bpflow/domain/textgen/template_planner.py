"""The deterministic planner: prompt + constraints + tier + seed → room type and object list.

It is the fallback whenever the LLM is off, keyless or failing, and it also fills up an LLM's
plan to the tier's object count, so both paths share one composition rule (spec §1.3 d–g):
objects the prompt names come first with their counts, then the room's catalog with a quota of
articulated and manipulable objects, then extra manipulables. Furniture is limited by a floor
budget (a share of the room's area) so a dense request adds clutter on tables rather than a
second fridge that cannot fit.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bpflow.domain.textgen.errors import TextgenInputError
from bpflow.domain.textgen.model import PlannedObject, ScenePlan
from bpflow.domain.textgen.prompt_parser import parse_mentions
from bpflow.domain.textgen.room_catalog import (
    ARTICULATED_ROLES,
    COMPOSITES,
    DEFORMABLE,
    FLOOR,
    GENERIC_ROOM,
    MANIPULABLE,
    ROOM_KEYWORDS,
    SUBSTITUTION_PROBABILITY,
    SUBSTITUTIONS,
    Entry,
    canonical_room_type,
    default_role,
    is_soft_body,
    room_catalog,
    spec_for,
)

STANDARD, PREMIUM = "standard", "premium"
TIER_TARGETS = {False: {STANDARD: 12, PREMIUM: 18}, True: {STANDARD: 30, PREMIUM: 40}}
MIN_OBJECTS = 5
MAX_OBJECTS = 64
FLOOR_BUDGET_SHARE = 0.4
EXTRA_ROOM_KEYWORDS: tuple[str, ...] = ("laboratory", "workshop", "garage", "dining room", "patient room", "restroom")
_ROOM_ALIASES_EXTRA = {"restroom": "bathroom"}


def constraint_str(constraints: Mapping[str, Any], *path: str) -> str | None:
    """A string hint at ``path`` in the constraints; absent → None, wrong type → a clear error."""
    node: Any = constraints
    for i, key in enumerate(path):
        if not isinstance(node, Mapping):
            raise TextgenInputError(
                f"constraints.{'.'.join(path[:i])} must be an object", field="constraints." + ".".join(path[:i])
            )
        node = node.get(key)
        if node is None:
            return None
    if not isinstance(node, str):
        raise TextgenInputError(f"constraints.{'.'.join(path)} must be a string", field="constraints." + ".".join(path))
    return node.strip().lower() or None


def _dimension(constraints: Mapping[str, Any], name: str) -> str:
    return constraint_str(constraints, "prompt_diversity", "dimensions", name) or ""


def resolve_room_type(prompt: str, constraints: Mapping[str, Any]) -> str:
    """constraints.room_type → the archetype dimension → the first room keyword in the prompt."""
    explicit = constraint_str(constraints, "room_type") or _dimension(constraints, "archetype")
    if explicit:
        return canonical_room_type(explicit)
    text = prompt.lower()
    for keyword in (*ROOM_KEYWORDS, *EXTRA_ROOM_KEYWORDS):
        if re.search(r"\b" + re.escape(keyword) + r"\b", text):
            return canonical_room_type(_ROOM_ALIASES_EXTRA.get(keyword, keyword))
    return GENERIC_ROOM


def target_object_count(tier: str, constraints: Mapping[str, Any], v2: bool = False) -> int:
    """The tier's object count with the density / complexity modifiers (spec §1.3 e)."""
    premium = tier == PREMIUM
    target = TIER_TARGETS[v2][PREMIUM if premium else STANDARD]
    density = constraint_str(constraints, "object_density") or ""
    if density == "ultra_dense":
        target = max(target, 55)
    elif density == "dense":
        target = max(target, 40)
    elif density == "high":
        target += 10 if v2 else 6
    complexity = _dimension(constraints, "complexity")
    if "high_density" in complexity:
        target = max(target, (46 if premium else 36) if v2 else (20 if premium else 16))
    elif "medium_density" in complexity and premium:
        target = max(target, 42 if v2 else 16)
    if "articulation_heavy" in complexity:
        target = max(target, (42 if premium else 32) if v2 else (18 if premium else 14))
    return min(MAX_OBJECTS, max(MIN_OBJECTS, target))


def make_object(name: str, category: str, sim_role: str | None = None, *, required: bool = False) -> PlannedObject:
    """A planned object with its physical spec; a movable soft thing becomes a deformable."""
    role = sim_role or default_role(name, category)
    if role == MANIPULABLE and is_soft_body(category):
        role = DEFORMABLE
    spec, source = spec_for(name, category, role)
    return PlannedObject(name, category, role, spec, source, required)


def prompt_objects(prompt: str) -> tuple[list[PlannedObject], set[str]]:
    """Objects the prompt names (expanded by count, composites decomposed) and the names or
    categories it excludes ("no chairs")."""
    objects: list[PlannedObject] = []
    excluded: set[str] = set()
    for mention in parse_mentions(prompt):
        if mention.count == 0:
            excluded.update({mention.name, mention.category})
            continue
        for _ in range(mention.count):
            objects += _expand((mention.name, mention.category, default_role(mention.name, mention.category)), True)
    return objects[:MAX_OBJECTS], excluded


def _expand(entry: Entry, required: bool = False) -> list[PlannedObject]:
    name, category, role = entry
    parts = COMPOSITES.get(name, (entry,))
    return [make_object(n, c, r, required=required) for n, c, r in parts]


def _area(obj: PlannedObject) -> float:
    return obj.width * obj.depth if obj.spec.placement == FLOOR else 0.0


class _Composer:
    def __init__(
        self,
        room_type: str,
        target: int,
        rng: random.Random,
        existing: Iterable[PlannedObject],
        excluded: set[str],
        floor_budget_m2: float,
    ) -> None:
        self.rng = rng
        self.target = target
        self.objects = list(existing)
        self.budget = floor_budget_m2
        self.entries = [e for e in room_catalog(room_type) if e[0] not in excluded and e[1] not in excluded]

    def names(self) -> set[str]:
        return {o.name for o in self.objects}

    def add(self, entry: Entry, *, allow_duplicate: bool = False) -> bool:
        parts = _expand(entry)
        if not allow_duplicate and any(p.name in self.names() for p in parts):
            return False
        area = sum(_area(o) for o in self.objects) + sum(_area(p) for p in parts)
        if any(p.spec.placement == FLOOR for p in parts) and area > self.budget:
            return False
        self.objects += parts
        return True

    def take(self, pool: list[Entry], count: int) -> None:
        for entry in pool:
            if count <= 0 or len(self.objects) >= self.target:
                return
            if self.add(entry):
                count -= 1

    def compose(self, min_articulated: int, min_manipulable: int) -> list[PlannedObject]:
        articulated = [e for e in self.entries if e[2] in ARTICULATED_ROLES]
        manipulable = [e for e in self.entries if e[2] == MANIPULABLE]
        self.rng.shuffle(articulated)
        self.rng.shuffle(manipulable)
        have_art = sum(o.sim_role in ARTICULATED_ROLES for o in self.objects)
        have_man = sum(o.sim_role in (MANIPULABLE, DEFORMABLE) for o in self.objects)
        self.take(articulated, min_articulated - have_art)
        self.take(manipulable, min_manipulable - have_man)
        rest = list(self.entries)
        self.rng.shuffle(rest)
        self.take(rest, len(rest))
        filler = manipulable or [e for e in room_catalog(GENERIC_ROOM) if e[2] == MANIPULABLE]
        for _ in range(4 * self.target):
            if len(self.objects) >= self.target:
                break
            self.add(self.rng.choice(filler), allow_duplicate=True)
        return self.objects


def compose_objects(
    room_type: str,
    target: int,
    rng: random.Random,
    constraints: Mapping[str, Any],
    *,
    existing: Iterable[PlannedObject] = (),
    excluded: set[str] | None = None,
    floor_area_m2: float,
) -> list[PlannedObject]:
    """Fill ``existing`` (the prompt's or the LLM's objects) up to ``target`` from the room's
    catalog (spec §1.3 g quotas), substitute some manipulables, trim, and name uniquely."""
    existing = list(existing)
    target = max(target, min(len(existing), MAX_OBJECTS))
    complexity = _dimension(constraints, "complexity")
    focus = _dimension(constraints, "manipulation_focus")
    family = _dimension(constraints, "task_family")
    min_articulated = 2 if ("articulation_heavy" in complexity or "drawer" in focus) else 1
    min_manipulable = max(4, target // 3)
    if "small_items" in focus or "sorting" in family:
        min_manipulable = max(min_manipulable, target // 2)
    composer = _Composer(room_type, target, rng, existing, excluded or set(), FLOOR_BUDGET_SHARE * floor_area_m2)
    objects = composer.compose(min_articulated, min_manipulable)[:target]
    objects = [_maybe_substitute(o, rng) for o in objects]
    rng.shuffle(objects)
    return unique_names(objects)


def _maybe_substitute(obj: PlannedObject, rng: random.Random) -> PlannedObject:
    choices = SUBSTITUTIONS.get(obj.name) or SUBSTITUTIONS.get(obj.category)
    if obj.required or obj.sim_role != MANIPULABLE or not choices:
        return obj
    if rng.random() >= SUBSTITUTION_PROBABILITY:
        return obj
    new = rng.choice(choices)
    return make_object(new, new, MANIPULABLE)


def unique_names(objects: list[PlannedObject]) -> list[PlannedObject]:
    """The second mug is ``mug_002``: names must identify objects within a scene."""
    seen: dict[str, int] = {}
    out = []
    for obj in objects:
        n = seen.get(obj.name, 0) + 1
        seen[obj.name] = n
        if n > 1:
            obj = PlannedObject(
                f"{obj.name}_{n:03d}", obj.category, obj.sim_role, obj.spec, obj.dims_source, obj.required
            )
        out.append(obj)
    return out


def template_plan(
    prompt: str, room_type: str, target: int, rng: random.Random, constraints: Mapping[str, Any], floor_area_m2: float
) -> ScenePlan:
    """The whole deterministic plan for a room whose type and size are already fixed."""
    required, excluded = prompt_objects(prompt)
    objects = compose_objects(
        room_type, target, rng, constraints, existing=required, excluded=excluded, floor_area_m2=floor_area_m2
    )
    return ScenePlan(room_type, objects, "template", {"prompt_objects": len(required), "excluded": sorted(excluded)})
