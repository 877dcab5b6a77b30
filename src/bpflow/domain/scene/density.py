"""How heavy things are: densities in kg/m³ by material and by object category.

Two kinds of numbers, because two kinds of volume reach simready:

* **Material densities** (solid stuff) apply when the volume is the object's real material:
  a measured, thin-walled mesh such as a modelled mug whose walls enclose little of its
  envelope. Values: Engineering ToolBox "Densities of Solids" / "Wood Species" tables and the
  CRC Handbook (mid-range of the listed spans).
* **Bulk densities** (mass ÷ outer envelope) apply when the volume is the envelope: a placeholder
  box, a non-watertight mesh measured by its bounding box, or a closed solid. Each is a typical
  product's shipping weight divided by its outer dimensions, from manufacturers' spec sheets of
  common models (numbers in the comments: kg ÷ w×h×d m).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # meshes pulls in trimesh, which jobs that only read categories do not need
    from bpflow.domain.usd.meshes import VolumeEstimate

#: Solid material densities, kg/m³.
MATERIAL_DENSITY: dict[str, float] = {
    "steel": 7850.0,  # carbon steel 7750-8050
    "stainless_steel": 8000.0,  # 304 stainless
    "iron": 7200.0,  # cast iron 6800-7800
    "aluminum": 2700.0,
    "aluminium": 2700.0,
    "wood": 700.0,  # oak/beech/maple 600-900
    "hardwood": 750.0,
    "softwood": 500.0,  # pine/spruce 400-600
    "mdf": 750.0,  # medium-density fibreboard 600-800
    "plywood": 600.0,
    "plastic": 950.0,  # HDPE 940-970, PP 900-910
    "abs": 1050.0,
    "glass": 2500.0,  # soda-lime glass
    "ceramic": 2400.0,  # stoneware / porcelain 2300-2500
    "porcelain": 2400.0,
    "stone": 2700.0,  # granite 2600-2800
    "marble": 2700.0,
    "concrete": 2400.0,
    "rubber": 1100.0,  # natural rubber 930-1200
    "leather": 860.0,
    "paper": 800.0,  # printing paper 700-1150
    "cardboard": 690.0,
    "fabric": 300.0,  # loose woven textile incl. air
    "foam": 30.0,  # polyurethane foam 20-40
    "food": 900.0,  # fruit and vegetables 800-1000
    "terracotta": 1900.0,  # fired clay 1800-2000
    "wicker": 600.0,  # rattan / willow cane
}

#: category → (bulk density kg/m³, main material). Bulk = typical mass ÷ outer envelope.
CATEGORY_BULK: dict[str, tuple[float, str]] = {
    "refrigerator": (90.0, "steel"),  # 80 kg ÷ 0.7×1.8×0.7
    "fridge": (90.0, "steel"),
    "freezer": (95.0, "steel"),  # 60 kg ÷ 0.6×1.7×0.6
    "oven": (150.0, "steel"),  # freestanding range 70 kg ÷ 0.76×0.91×0.66
    "stove": (150.0, "steel"),
    "microwave": (220.0, "steel"),  # 13 kg ÷ 0.5×0.3×0.4
    "dishwasher": (130.0, "steel"),  # 40 kg ÷ 0.6×0.85×0.6
    "washing_machine": (300.0, "steel"),  # 70 kg ÷ 0.6×0.85×0.6 (drum counterweight)
    "cabinet": (100.0, "wood"),  # base cabinet 30 kg ÷ 0.6×0.9×0.6
    "drawer": (120.0, "wood"),  # chest of drawers 35 kg ÷ 0.8×0.8×0.45
    "dresser": (120.0, "wood"),
    "nightstand": (100.0, "wood"),  # 10 kg ÷ 0.45×0.55×0.4
    "wardrobe": (80.0, "wood"),  # 70 kg ÷ 1.0×2.0×0.6 (mostly air)
    "counter": (150.0, "stone"),  # base units + stone top 160 kg ÷ 2.0×0.9×0.6
    "island": (150.0, "stone"),
    "sink": (125.0, "stainless_steel"),  # 10 kg ÷ 0.8×0.2×0.5
    "table": (40.0, "wood"),  # dining table 30 kg ÷ 1.2×0.75×0.8
    "desk": (45.0, "wood"),  # 25 kg ÷ 1.2×0.75×0.6
    "chair": (30.0, "wood"),  # 6 kg ÷ 0.45×0.9×0.5
    "stool": (40.0, "wood"),  # 4 kg ÷ 0.4×0.65×0.4
    "sofa": (35.0, "fabric"),  # 50 kg ÷ 2.0×0.85×0.9
    "couch": (35.0, "fabric"),
    "bed": (40.0, "wood"),  # 60 kg ÷ 2.0×0.5×1.6 (frame + mattress)
    "bookshelf": (70.0, "wood"),  # 30 kg ÷ 0.8×1.8×0.3
    "shelf": (70.0, "wood"),
    "monitor": (90.0, "plastic"),  # 4 kg ÷ 0.55×0.4×0.2
    "tv": (140.0, "plastic"),  # 12 kg ÷ 1.2×0.7×0.1
    "lamp": (45.0, "metal"),  # 2 kg ÷ 0.3×0.5×0.3
    "mug": (550.0, "ceramic"),  # 0.35 kg ÷ 0.08×0.1×0.08
    "cup": (450.0, "ceramic"),  # 0.25 kg ÷ 0.08×0.09×0.08 (incl. handle clearance)
    "glass": (340.0, "glass"),  # tumbler 0.2 kg ÷ 0.07×0.12×0.07
    "bowl": (220.0, "ceramic"),  # 0.4 kg ÷ 0.16×0.07×0.16
    "plate": (370.0, "ceramic"),  # 0.5 kg ÷ 0.26×0.02×0.26
    "bottle": (620.0, "glass"),  # full 1 l bottle 1.2 kg ÷ 0.08×0.3×0.08
    "can": (700.0, "aluminum"),  # full 330 ml can 0.37 kg ÷ 0.066×0.12×0.066
    "jar": (600.0, "glass"),
    "pot": (210.0, "stainless_steel"),  # 2 kg ÷ 0.25×0.15×0.25
    "pan": (380.0, "iron"),  # 1.5 kg ÷ 0.28×0.05×0.28
    "kettle": (250.0, "stainless_steel"),  # 1.2 kg ÷ 0.2×0.25×0.15
    "cutting_board": (420.0, "wood"),  # 1 kg ÷ 0.3×0.02×0.4
    "knife_block": (300.0, "wood"),  # 1.5 kg ÷ 0.1×0.25×0.2
    "book": (600.0, "paper"),  # 0.5 kg ÷ 0.15×0.23×0.03 (hard cover gaps)
    "box": (120.0, "cardboard"),  # packed shipping box
    "remote": (750.0, "plastic"),  # 0.15 kg ÷ 0.05×0.02×0.2
    "laptop": (1100.0, "aluminum"),  # 2 kg ÷ 0.35×0.02×0.25
    "keyboard": (300.0, "plastic"),  # 0.6 kg ÷ 0.45×0.03×0.15
    "pillow": (10.0, "fabric"),  # 0.5 kg ÷ 0.5×0.15×0.7
    "towel": (170.0, "fabric"),  # folded 0.5 kg ÷ 0.3×0.05×0.2
    "fruit": (800.0, "food"),  # apples/oranges 750-950
    "apple": (800.0, "food"),
    "vase": (400.0, "ceramic"),
    "plant": (250.0, "food"),  # potted plant, soil + pot
    "trash_can": (60.0, "plastic"),  # 3 kg ÷ 0.3×0.5×0.35
}
MATERIAL_DENSITY["metal"] = MATERIAL_DENSITY["steel"]

DEFAULT_BULK = 500.0
"""Unknown small objects: about half water's density (many household items float)."""

THIN_SHELL_FILL = 0.5
"""Below this solid-to-envelope ratio a measured mesh is a shell: its volume is material."""

#: Spelling variants seen in Stage-1 output → the table's name.
ALIASES: dict[str, str] = {
    "refrigerator_freezer": "refrigerator",
    "coffee_mug": "mug",
    "teacup": "cup",
    "wine_glass": "glass",
    "dining_table": "table",
    "kitchen_table": "table",
    "coffee_table": "table",
    "countertop": "counter",
    "kitchen_island": "island",
    "cupboard": "cabinet",
    "kitchen_cabinet": "cabinet",
    "drawer_cabinet": "drawer",
    "chest_of_drawers": "dresser",
    "range": "oven",
    "television": "tv",
    "frying_pan": "pan",
    "saucepan": "pot",
    "armchair": "chair",
    "office_chair": "chair",
}


def canonical_category(category: str) -> str:
    key = category.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def known(kind: str) -> bool:
    return kind in CATEGORY_BULK


def canonical_kind(category: str, name: str = "") -> str:
    """What an object is, for every table in Stage 2: its category when the tables know it,
    else what its name says. Stage 1 writes generic categories with telling names
    ("appliance" named "oven", "block" named "knife_block", "mug_002")."""
    cat = canonical_category(category)
    if known(cat):
        return cat
    whole = canonical_category(name) if name else ""
    if known(whole):
        return whole
    for token in re.split(r"[^a-z]+", whole):
        if token and known(canonical_category(token)):
            return canonical_category(token)
    return cat


@dataclass(frozen=True)
class DensityChoice:
    density_kg_m3: float
    basis: str
    """``material`` (solid volume × material density) or ``bulk`` (envelope × bulk density)."""
    material: str
    source: str
    """Which table row decided: ``category:<name>``, ``material_hint:<name>`` or ``default``."""


def choose_density(category: str, material_hint: str | None, volume: VolumeEstimate) -> DensityChoice:
    """The density to multiply ``volume`` by, given what the volume measured."""
    cat = canonical_category(category)
    hint = canonical_category(material_hint) if material_hint else None
    shell = volume.source == "mesh" and volume.fill_ratio < THIN_SHELL_FILL
    if cat in CATEGORY_BULK:
        bulk, material = CATEGORY_BULK[cat]
        material = hint if hint in MATERIAL_DENSITY else material
        if shell:
            return DensityChoice(MATERIAL_DENSITY[material], "material", material, f"category:{cat}")
        return DensityChoice(bulk, "bulk", material, f"category:{cat}")
    if hint in MATERIAL_DENSITY:
        # A known material but an unknown object: its envelope is probably not all material.
        basis = "material" if shell else "bulk"
        density = MATERIAL_DENSITY[hint] if shell else min(MATERIAL_DENSITY[hint], DEFAULT_BULK * 2)
        return DensityChoice(density, basis, hint, f"material_hint:{hint}")
    return DensityChoice(DEFAULT_BULK, "bulk", "plastic", "default")
