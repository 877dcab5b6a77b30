"""Which variants an asset gets: three sizes, three colours, three surface materials.

The choice is deterministic (same manifest, same variants: a rerun or a resumed job rewrites
identical files) and steered by the manifest's free-text hints: a ``material_hint`` of
"glass" or an example variant "red ceramic mug" puts glass, red and ceramic first; the rest is
filled from the category's usual materials and a stable per-asset rotation of colours, so
two mugs of one scene do not all come out red.

Material looks are UsdPreviewSurface parameters, the shading model every USD renderer
reads. Physical properties (density, friction) are not decided here: the simready job owns
them, and it is told the default material through the asset's manifest entry.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

RGB = tuple[float, float, float]

SCALE_SET, COLOR_SET, MATERIAL_SET = "scale", "color", "material"
VARIANT_SETS = (SCALE_SET, COLOR_SET, MATERIAL_SET)
PER_SET = 3

#: Uniform scale factors. ±15 % keeps a variant plausible for its category (a mug stays a mug)
#: while moving its bounding box and mass enough to matter for grasping and placement.
SCALES: tuple[tuple[str, float], ...] = (("small", 0.85), ("medium", 1.0), ("large", 1.15))
DEFAULT_SCALE = "medium"

#: Linear-sRGB display colours.
COLORS: dict[str, RGB] = {
    "red": (0.70, 0.08, 0.07),
    "orange": (0.85, 0.35, 0.05),
    "yellow": (0.90, 0.75, 0.10),
    "green": (0.12, 0.50, 0.18),
    "blue": (0.10, 0.25, 0.70),
    "purple": (0.40, 0.15, 0.55),
    "pink": (0.90, 0.45, 0.60),
    "white": (0.92, 0.92, 0.90),
    "black": (0.04, 0.04, 0.04),
    "gray": (0.45, 0.45, 0.45),
    "brown": (0.40, 0.24, 0.12),
    "beige": (0.82, 0.74, 0.58),
}
COLOR_ALIASES = {"grey": "gray", "silver": "gray", "cream": "beige", "tan": "beige", "navy": "blue"}


@dataclass(frozen=True)
class Look:
    """UsdPreviewSurface inputs of one material variant."""

    diffuse: RGB
    roughness: float
    metallic: float = 0.0
    opacity: float = 1.0
    ior: float = 1.5


MATERIALS: dict[str, Look] = {
    "ceramic": Look((0.90, 0.89, 0.86), roughness=0.25),
    "porcelain": Look((0.95, 0.95, 0.93), roughness=0.15),
    "glass": Look((0.85, 0.90, 0.92), roughness=0.05, opacity=0.35, ior=1.52),
    "plastic": Look((0.80, 0.80, 0.80), roughness=0.45),
    "metal": Look((0.72, 0.72, 0.74), roughness=0.30, metallic=1.0),
    "steel": Look((0.62, 0.63, 0.66), roughness=0.25, metallic=1.0),
    "aluminum": Look((0.91, 0.92, 0.92), roughness=0.35, metallic=1.0),
    "wood": Look((0.52, 0.35, 0.19), roughness=0.65),
    "fabric": Look((0.55, 0.52, 0.48), roughness=0.95),
    "leather": Look((0.30, 0.18, 0.10), roughness=0.60),
    "rubber": Look((0.10, 0.10, 0.10), roughness=0.85),
    "stone": Look((0.58, 0.56, 0.53), roughness=0.70),
    "paper": Look((0.88, 0.86, 0.80), roughness=0.90),
}
MATERIAL_ALIASES = {
    "stainless": "steel",
    "aluminium": "aluminum",
    "wooden": "wood",
    "marble": "stone",
    "granite": "stone",
    "cloth": "fabric",
    "cardboard": "paper",
}

#: The usual materials of a category, most typical first; matched on words of the category.
CATEGORY_MATERIALS: dict[str, tuple[str, ...]] = {
    "mug": ("ceramic", "glass", "plastic"),
    "cup": ("ceramic", "glass", "plastic"),
    "plate": ("ceramic", "porcelain", "plastic"),
    "bowl": ("ceramic", "glass", "plastic"),
    "glass": ("glass", "plastic", "metal"),
    "bottle": ("glass", "plastic", "aluminum"),
    "can": ("aluminum", "steel", "plastic"),
    "pan": ("steel", "aluminum", "metal"),
    "pot": ("steel", "aluminum", "ceramic"),
    "utensil": ("steel", "wood", "plastic"),
    "table": ("wood", "metal", "stone"),
    "chair": ("wood", "metal", "plastic"),
    "cabinet": ("wood", "metal", "plastic"),
    "shelf": ("wood", "metal", "plastic"),
    "desk": ("wood", "metal", "plastic"),
    "fridge": ("steel", "plastic", "aluminum"),
    "refrigerator": ("steel", "plastic", "aluminum"),
    "oven": ("steel", "metal", "plastic"),
    "microwave": ("steel", "plastic", "metal"),
    "box": ("paper", "plastic", "wood"),
    "book": ("paper", "leather", "fabric"),
    "toy": ("plastic", "wood", "fabric"),
    "pillow": ("fabric", "leather", "plastic"),
    "towel": ("fabric", "paper", "plastic"),
}
DEFAULT_MATERIALS = ("plastic", "wood", "metal")


@dataclass(frozen=True)
class VariantPlan:
    """The variants of one asset, each set in authoring order; the first of each is selected."""

    scales: tuple[tuple[str, float], ...]
    colors: tuple[tuple[str, RGB], ...]
    materials: tuple[tuple[str, Look], ...]

    def defaults(self) -> dict[str, str]:
        return {SCALE_SET: DEFAULT_SCALE, COLOR_SET: self.colors[0][0], MATERIAL_SET: self.materials[0][0]}

    def names(self) -> dict[str, list[str]]:
        return {
            SCALE_SET: [n for n, _ in self.scales],
            COLOR_SET: [n for n, _ in self.colors],
            MATERIAL_SET: [n for n, _ in self.materials],
        }


def _canonical(word: str, table: dict[str, object], aliases: dict[str, str]) -> str | None:
    word = aliases.get(word, word)
    return word if word in table else None


def _first_unique(candidates: Sequence[str | None], limit: int) -> list[str]:
    out: list[str] = []
    for c in candidates:
        if c is not None and c not in out:
            out.append(c)
        if len(out) == limit:
            break
    return out


def _category_materials(category: str) -> tuple[str, ...]:
    for word in category.replace("-", "_").split("_"):
        if word in CATEGORY_MATERIALS:
            return CATEGORY_MATERIALS[word]
    return DEFAULT_MATERIALS


def plan_variants(asset_id: str, category: str, hint_words: Sequence[str]) -> VariantPlan:
    """Three variants per set: hinted ones first, then category / rotation fill-ins."""
    hinted_materials = [_canonical(w, MATERIALS, MATERIAL_ALIASES) for w in hint_words]  # type: ignore[arg-type]
    materials = _first_unique([*hinted_materials, *_category_materials(category), *DEFAULT_MATERIALS], PER_SET)
    names = list(COLORS)
    start = zlib.crc32(asset_id.encode("utf-8")) % len(names)
    rotation = [
        names[(start + 5 * i) % len(names)] for i in range(len(names))
    ]  # 5 is coprime with 12: all colours, spread out
    hinted_colors = [_canonical(w, COLORS, COLOR_ALIASES) for w in hint_words]  # type: ignore[arg-type]
    colors = _first_unique([*hinted_colors, *rotation], PER_SET)
    return VariantPlan(
        scales=SCALES,
        colors=tuple((c, COLORS[c]) for c in colors),
        materials=tuple((m, MATERIALS[m]) for m in materials),
    )
