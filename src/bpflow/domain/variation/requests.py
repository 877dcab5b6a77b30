"""The replicator's ``variation_assets/manifest.json``: which assets Stage 3 should vary.

The manifest is written by another stage (or by hand), so it is validated here field by field
and every problem names the field (``assets[2].priority``) and the reason, instead of surfacing
later as a KeyError deep in USD code. Asset names become object ids and directory names, so
they are reduced to a safe id alphabet here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from bpflow.core.errors import ConfigError, ValidationFailed

PRIORITIES = ("required", "recommended", "optional")
DEFAULT_PRIORITY = "recommended"

#: ``source_hint`` values that ask Stage 3 to make the asset (the reference generates when the
#: hint is ``generate`` or missing; any other hint names a source that already has it).
GENERATE_HINTS = frozenset({"generate", "variation", "variant"})

#: Keys an asset may use to name the scene object it is a variant of, in order of preference.
SOURCE_KEYS = ("source_object_id", "object_id", "source_object")

MAX_ID_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class VariationRequest:
    """One requested variation asset, validated."""

    id: str
    name: str
    index: int
    category: str
    priority: str = DEFAULT_PRIORITY
    source_hint: str | None = None
    source_object_id: str | None = None
    description: str = ""
    semantic_class: str = ""
    material_hint: str = ""
    style_hint: str = ""
    example_variants: tuple[str, ...] = ()
    physics_hints: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def needs_generation(self) -> bool:
        return self.source_hint is None or self.source_hint.strip().lower() in GENERATE_HINTS

    def hint_words(self) -> list[str]:
        """Lower-case words of every free-text hint, for matching colours and materials."""
        text = " ".join((self.material_hint, self.style_hint, self.description, *self.example_variants))
        return re.findall(r"[a-z]+", text.lower())


def asset_id(name: str) -> str:
    """A name reduced to ``[A-Za-z0-9_-]`` (the manifest id alphabet), or "" if nothing is left."""
    return _UNSAFE.sub("_", name).strip("_")[:MAX_ID_LENGTH].strip("_")


def _opt_str(asset: dict[str, Any], key: str, where: str) -> str | None:
    value = asset.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}.{key} must be a string, got {type(value).__name__}", field=f"{where}.{key}")
    return value.strip() or None


def _str_list(asset: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = asset.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(f"{where}.{key} must be a list of strings", field=f"{where}.{key}")
    return tuple(v.strip() for v in value if v.strip())


def _source_object(asset: dict[str, Any], where: str) -> str | None:
    for key in SOURCE_KEYS:
        value = _opt_str(asset, key, where)
        if value is not None:
            return value
    return None


def _one(asset: Any, index: int, taken: set[str]) -> VariationRequest:
    where = f"assets[{index}]"
    if not isinstance(asset, dict):
        raise ValidationFailed(f"{where} must be an object, got {type(asset).__name__}", field=where)
    name = _opt_str(asset, "name", where)
    if name is None:
        raise ValidationFailed(f"{where}.name is required (a non-empty string)", field=f"{where}.name")
    base = asset_id(name)
    if not base:
        raise ValidationFailed(
            f"{where}.name {name!r} has no letters or digits to make an id from", field=f"{where}.name"
        )
    ident, n = base, 1
    while ident in taken:  # two assets with one name still get two directories
        n += 1
        ident = f"{base}_{n}"
    taken.add(ident)
    priority = (_opt_str(asset, "priority", where) or DEFAULT_PRIORITY).lower()
    if priority not in PRIORITIES:
        raise ValidationFailed(
            f"{where}.priority must be one of {', '.join(PRIORITIES)}, got {priority!r}", field=f"{where}.priority"
        )
    hints = asset.get("physics_hints")
    if hints is not None and not isinstance(hints, dict):
        raise ValidationFailed(f"{where}.physics_hints must be an object", field=f"{where}.physics_hints")
    return VariationRequest(
        id=ident,
        name=name,
        index=index,
        category=(_opt_str(asset, "category", where) or "object").lower(),
        priority=priority,
        source_hint=_opt_str(asset, "source_hint", where),
        source_object_id=_source_object(asset, where),
        description=_opt_str(asset, "description", where) or "",
        semantic_class=_opt_str(asset, "semantic_class", where) or "",
        material_hint=_opt_str(asset, "material_hint", where) or "",
        style_hint=_opt_str(asset, "style_hint", where) or "",
        example_variants=_str_list(asset, "example_variants", where),
        physics_hints=dict(hints or {}),
    )


def parse_manifest(doc: Any) -> list[VariationRequest]:
    """Every asset of the manifest, in manifest order. Raises ValidationFailed on the first bad field."""
    if not isinstance(doc, dict):
        raise ValidationFailed(
            f"the variation manifest must be a JSON object, got {type(doc).__name__}", field="manifest"
        )
    assets = doc.get("assets")
    if not isinstance(assets, list):
        raise ValidationFailed("the variation manifest needs an 'assets' list", field="assets")
    taken: set[str] = set()
    return [_one(a, i, taken) for i, a in enumerate(assets)]


def distinct_ids(requests: list[VariationRequest], reserved: set[str]) -> list[VariationRequest]:
    """Requests whose id is a scene object's id get ``variation_<id>``: a variant must never be
    mistaken for the object it varies (the replicator names requests after their objects)."""
    taken = set(reserved) | {r.id for r in requests}
    out = []
    for req in requests:
        if req.id in reserved:
            ident, n = f"variation_{req.id}"[:MAX_ID_LENGTH], 1
            while ident in taken:
                n += 1
                ident = f"variation_{req.id}_{n}"
            taken.add(ident)
            req = replace(req, id=ident)
        out.append(req)
    return out


def parse_priority_filter(raw: str | None, env_name: str = "PRIORITY_FILTER") -> frozenset[str]:
    """``"required,recommended"`` → that set; empty means "every priority"."""
    wanted = frozenset(p.strip().lower() for p in (raw or "").split(",") if p.strip())
    unknown = sorted(wanted - set(PRIORITIES))
    if unknown:
        raise ConfigError(
            f"{env_name} has unknown priorities {unknown}; known: {', '.join(PRIORITIES)}", field=env_name
        )
    return wanted


def select(
    requests: Iterable[VariationRequest], priorities: frozenset[str], max_assets: int
) -> tuple[list[VariationRequest], list[VariationRequest]]:
    """(selected, passed over): assets that need generating and pass the priority filter,
    required ones first, cut at ``max_assets`` (0 = no limit)."""
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    chosen: list[VariationRequest] = []
    passed: list[VariationRequest] = []
    for req in requests:
        (chosen if req.needs_generation and (not priorities or req.priority in priorities) else passed).append(req)
    chosen.sort(key=lambda r: (rank[r.priority], r.index))
    if max_assets > 0 and len(chosen) > max_assets:
        passed.extend(chosen[max_assets:])
        chosen = chosen[:max_assets]
    return chosen, sorted(passed, key=lambda r: r.index)
