"""What a room of each type contains, and how big and how heavy real things are.

Everything the planners and the placement solver know about the physical world lives here as
data, so a new room type or object category is a table edit, not a code change. Sizes are real
furniture / household dimensions in metres (width = local x, height = y, depth = local z, the
object's front facing local +z), which is what makes a placed scene plausible: a mug is 10 cm
tall and fits on a table, a fridge is 1.8 m and stands against a wall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bpflow.domain.scene import categories

# Simulation roles (the reference's five).
STATIC = "static"
ART_FURNITURE = categories.ARTICULATED_FURNITURE
ART_APPLIANCE = categories.ARTICULATED_APPLIANCE
MANIPULABLE = "manipulable_object"
DEFORMABLE = "deformable_object"
SIM_ROLES: tuple[str, ...] = (STATIC, ART_FURNITURE, ART_APPLIANCE, MANIPULABLE, DEFORMABLE)
ARTICULATED_ROLES = frozenset({ART_FURNITURE, ART_APPLIANCE})
MOVABLE_ROLES = frozenset({MANIPULABLE, DEFORMABLE})

FLOOR = "floor"
SURFACE = "surface"


@dataclass(frozen=True)
class CategorySpec:
    """Physical facts about one object category.

    ``placement``: rests on the floor or on another object's top face. ``wall``: belongs against
    a wall, back to it (fridges, beds, shelves). ``support``: its top face can hold other objects.
    ``near``: categories it is usually placed beside (a chair by a table). ``rests_on``: the
    supports a surface object prefers (a monitor on a desk).
    """

    width: float
    height: float
    depth: float
    mass_kg: float
    placement: str = FLOOR
    wall: bool = False
    support: bool = False
    near: tuple[str, ...] = ()
    rests_on: tuple[str, ...] = ()
    material: str = "generic"


def _f(
    w: float,
    h: float,
    d: float,
    mass: float,
    *,
    wall: bool = False,
    support: bool = False,
    near: tuple[str, ...] = (),
    material: str = "wood",
) -> CategorySpec:
    return CategorySpec(w, h, d, mass, FLOOR, wall, support, near, (), material)


def _s(
    w: float, h: float, d: float, mass: float, *, rests_on: tuple[str, ...] = (), material: str = "plastic"
) -> CategorySpec:
    return CategorySpec(w, h, d, mass, SURFACE, False, False, (), rests_on, material)


_WORK = ("counter", "table", "desk", "lab_bench", "workbench", "island")
_KITCHEN_TOPS = ("counter", "island", "table", "appliance")
_BED_SIDE = ("nightstand", "dresser", "desk", "side_table")
_LIVING_TOPS = ("coffee_table", "side_table", "tv_stand", "table")
_SEATS_FOR = ("table", "desk", "counter", "island", "lab_bench", "workbench", "checkout_counter")

CATEGORY_SPECS: dict[str, CategorySpec] = {
    # -- large furniture and appliances (floor) ------------------------------------------
    "counter": _f(1.6, 0.9, 0.6, 60.0, wall=True, support=True, material="stone"),
    "island": _f(1.8, 0.9, 0.9, 90.0, support=True, material="stone"),
    "sink": _f(0.8, 0.9, 0.6, 35.0, wall=True, material="ceramic"),
    "refrigerator": _f(0.9, 1.8, 0.8, 80.0, wall=True, material="metal"),
    "cabinet": _f(0.8, 1.8, 0.5, 45.0, wall=True),
    "appliance": _f(0.76, 0.9, 0.65, 55.0, wall=True, support=True, material="metal"),
    "dishwasher": _f(0.6, 0.85, 0.6, 45.0, wall=True, support=True, material="metal"),
    "table": _f(1.2, 0.75, 0.7, 25.0, support=True),
    "chair": _f(0.45, 0.9, 0.5, 6.0, near=_SEATS_FOR),
    "stool": _f(0.4, 0.65, 0.4, 4.0, near=_SEATS_FOR),
    "sofa": _f(2.0, 0.85, 0.9, 55.0, wall=True, material="fabric"),
    "armchair": _f(0.8, 0.9, 0.8, 20.0, near=("coffee_table", "side_table"), material="fabric"),
    "coffee_table": _f(1.1, 0.45, 0.6, 18.0, support=True),
    "side_table": _f(0.5, 0.55, 0.5, 8.0, support=True),
    "tv_stand": _f(1.6, 0.5, 0.4, 30.0, wall=True, support=True),
    "bookshelf": _f(0.8, 1.8, 0.3, 35.0, wall=True),
    "shelf": _f(1.0, 1.0, 0.4, 20.0, wall=True, support=True),
    "floor_lamp": _f(0.35, 1.6, 0.35, 5.0, material="metal"),
    "plant": _f(0.4, 0.9, 0.4, 8.0, material="organic"),
    "bed": _f(1.6, 0.55, 2.1, 70.0, wall=True, support=True, material="fabric"),
    "nightstand": _f(0.5, 0.55, 0.4, 12.0, wall=True, support=True, near=("bed", "hospital_bed")),
    "wardrobe": _f(1.2, 2.0, 0.6, 80.0, wall=True),
    "dresser": _f(1.2, 0.8, 0.5, 45.0, wall=True, support=True),
    "desk": _f(1.2, 0.75, 0.6, 30.0, wall=True, support=True),
    "office_chair": _f(0.6, 1.0, 0.6, 12.0, near=("desk", "table"), material="fabric"),
    "filing_cabinet": _f(0.45, 1.3, 0.6, 40.0, wall=True, support=True, material="metal"),
    "trash_bin": _f(0.3, 0.4, 0.3, 2.0, material="plastic"),
    "laundry_basket": _f(0.5, 0.55, 0.35, 1.5, material="plastic"),
    "lab_bench": _f(1.8, 0.9, 0.75, 90.0, wall=True, support=True, material="metal"),
    "fume_hood": _f(1.5, 2.3, 0.9, 250.0, wall=True, material="metal"),
    "shelving_unit": _f(2.0, 2.4, 0.9, 120.0, wall=True, material="metal"),
    "pallet": _f(1.2, 0.15, 1.0, 25.0, support=True),
    "crate": _f(0.6, 0.4, 0.4, 6.0),
    "workbench": _f(1.8, 0.9, 0.75, 70.0, wall=True, support=True),
    "tool_cabinet": _f(0.8, 1.0, 0.5, 60.0, wall=True, support=True, material="metal"),
    "hand_truck": _f(0.5, 1.2, 0.5, 12.0, material="metal"),
    "barrel": _f(0.6, 0.9, 0.6, 20.0, material="metal"),
    "safety_cone": _f(0.3, 0.5, 0.3, 1.0, material="plastic"),
    "checkout_counter": _f(1.8, 0.95, 0.8, 80.0, wall=True, support=True),
    "shopping_cart": _f(0.6, 1.0, 0.9, 15.0, material="metal"),
    "display_fridge": _f(1.2, 2.0, 0.8, 150.0, wall=True, material="metal"),
    "water_heater": _f(0.6, 1.5, 0.6, 60.0, wall=True, material="metal"),
    "washer": _f(0.6, 0.85, 0.6, 70.0, wall=True, support=True, material="metal"),
    "dryer": _f(0.6, 0.85, 0.6, 50.0, wall=True, support=True, material="metal"),
    "bucket": _f(0.3, 0.35, 0.3, 1.0, material="plastic"),
    "hospital_bed": _f(1.0, 0.65, 2.1, 120.0, wall=True, support=True, material="metal"),
    "iv_stand": _f(0.5, 1.8, 0.5, 4.0, material="metal"),
    "medical_cart": _f(0.6, 0.95, 0.45, 25.0, support=True, material="metal"),
    "toilet": _f(0.4, 0.8, 0.7, 25.0, wall=True, material="ceramic"),
    "bathtub": _f(1.7, 0.6, 0.8, 60.0, wall=True, material="ceramic"),
    "vanity": _f(0.8, 0.85, 0.5, 35.0, wall=True, support=True),
    "bath_mat": _f(0.8, 0.01, 0.5, 0.5, material="fabric"),
    # -- things that sit on a top face (surface) -----------------------------------------
    # width with the handle: a 8 cm mug is 12 cm across handle included
    "mug": _s(0.12, 0.10, 0.08, 0.35, rests_on=_KITCHEN_TOPS + _BED_SIDE, material="ceramic"),
    "cup": _s(0.11, 0.09, 0.08, 0.25, rests_on=_KITCHEN_TOPS + _BED_SIDE, material="ceramic"),
    "glass": _s(0.07, 0.12, 0.07, 0.2, rests_on=_KITCHEN_TOPS + _BED_SIDE, material="glass"),
    "plate": _s(0.26, 0.03, 0.26, 0.45, rests_on=_KITCHEN_TOPS, material="ceramic"),
    "dish": _s(0.24, 0.04, 0.24, 0.4, rests_on=_KITCHEN_TOPS, material="ceramic"),
    "tray": _s(0.4, 0.03, 0.3, 0.5, rests_on=_KITCHEN_TOPS + ("medical_cart",)),
    "bowl": _s(0.18, 0.08, 0.18, 0.3, rests_on=_KITCHEN_TOPS, material="ceramic"),
    "bottle": _s(0.09, 0.30, 0.09, 0.55, rests_on=_KITCHEN_TOPS + ("vanity", "shelf", "washer")),
    "canister": _s(0.12, 0.2, 0.12, 0.4, rests_on=_KITCHEN_TOPS, material="metal"),
    "thermos": _s(0.08, 0.28, 0.08, 0.4, rests_on=_KITCHEN_TOPS + ("desk",), material="metal"),
    "flask": _s(0.08, 0.25, 0.08, 0.3, rests_on=_KITCHEN_TOPS + ("lab_bench",), material="glass"),
    "jar": _s(0.1, 0.15, 0.1, 0.4, rests_on=_KITCHEN_TOPS + ("shelf",), material="glass"),
    "container": _s(0.2, 0.15, 0.15, 0.4, rests_on=_WORK + ("shelf",)),
    "bin": _s(0.3, 0.2, 0.4, 0.8, rests_on=_WORK + ("shelf", "pallet")),
    "basket": _s(0.4, 0.25, 0.3, 0.6, rests_on=_WORK + ("shelf", "washer", "dryer")),
    "board": _s(0.4, 0.02, 0.3, 0.8, rests_on=_KITCHEN_TOPS),
    "block": _s(0.12, 0.22, 0.15, 1.2, rests_on=("counter", "island")),
    "knife": _s(0.03, 0.02, 0.25, 0.15, rests_on=_KITCHEN_TOPS, material="metal"),
    "utensil": _s(0.03, 0.02, 0.18, 0.05, rests_on=_KITCHEN_TOPS, material="metal"),
    "fruit": _s(0.08, 0.08, 0.08, 0.15, rests_on=_KITCHEN_TOPS + ("checkout_counter",), material="organic"),
    "kettle": _s(0.22, 0.25, 0.16, 1.0, rests_on=("counter", "island", "appliance"), material="metal"),
    "toaster": _s(0.28, 0.2, 0.18, 1.5, rests_on=("counter", "island"), material="metal"),
    "microwave": _s(0.5, 0.3, 0.38, 12.0, rests_on=("counter", "island"), material="metal"),
    "coffee_maker": _s(0.25, 0.35, 0.22, 2.5, rests_on=("counter", "island")),
    "pot": _s(0.28, 0.18, 0.28, 1.5, rests_on=("appliance", "counter", "island"), material="metal"),
    "pan": _s(0.28, 0.06, 0.45, 1.2, rests_on=("appliance", "counter", "island"), material="metal"),
    "book": _s(0.18, 0.03, 0.24, 0.30, rests_on=_BED_SIDE + _LIVING_TOPS + ("shelf",), material="paper"),
    "magazine": _s(0.21, 0.01, 0.28, 0.2, rests_on=_LIVING_TOPS + _BED_SIDE, material="paper"),
    "manual": _s(0.21, 0.02, 0.28, 0.3, rests_on=("desk", "table", "workbench"), material="paper"),
    "notebook": _s(0.15, 0.02, 0.21, 0.2, rests_on=("desk", "table"), material="paper"),
    "remote": _s(0.05, 0.02, 0.18, 0.12, rests_on=_LIVING_TOPS),
    "vase": _s(0.12, 0.25, 0.12, 0.6, rests_on=_LIVING_TOPS + ("dresser", "table"), material="ceramic"),
    "candle": _s(0.07, 0.1, 0.07, 0.2, rests_on=_LIVING_TOPS + ("dresser", "table"), material="wax"),
    "television": _s(1.1, 0.65, 0.08, 12.0, rests_on=("tv_stand", "dresser")),
    "lamp": _s(0.25, 0.45, 0.25, 1.5, rests_on=("nightstand", "desk", "side_table", "dresser")),
    "alarm_clock": _s(0.12, 0.08, 0.06, 0.3, rests_on=("nightstand", "dresser", "desk")),
    "phone": _s(0.08, 0.01, 0.16, 0.2, rests_on=_BED_SIDE + _LIVING_TOPS, material="glass"),
    "monitor": _s(0.55, 0.4, 0.2, 4.0, rests_on=("desk", "table", "medical_cart")),
    "keyboard": _s(0.45, 0.03, 0.15, 0.75, rests_on=("desk", "table")),
    "mouse": _s(0.07, 0.04, 0.11, 0.15, rests_on=("desk", "table")),
    "laptop": _s(0.33, 0.02, 0.23, 1.5, rests_on=("desk", "table", "coffee_table")),
    "tablet": _s(0.25, 0.01, 0.17, 0.5, rests_on=("desk", "table", "coffee_table")),
    "controller": _s(0.15, 0.05, 0.1, 0.25, rests_on=("desk", "table", "coffee_table", "tv_stand")),
    "trackball": _s(0.1, 0.05, 0.13, 0.2, rests_on=("desk", "table")),
    "printer": _s(0.45, 0.25, 0.4, 8.0, rests_on=("desk", "table", "filing_cabinet")),
    "stapler": _s(0.15, 0.06, 0.04, 0.3, rests_on=("desk", "table"), material="metal"),
    "pen": _s(0.015, 0.015, 0.14, 0.02, rests_on=("desk", "table")),
    "pencil": _s(0.01, 0.01, 0.18, 0.01, rests_on=("desk", "table"), material="wood"),
    "holder": _s(0.08, 0.1, 0.08, 0.15, rests_on=("desk", "table", "vanity")),
    "microscope": _s(0.3, 0.4, 0.25, 6.0, rests_on=("lab_bench", "table"), material="metal"),
    "beaker": _s(0.08, 0.12, 0.08, 0.15, rests_on=("lab_bench", "table"), material="glass"),
    "test_tube_rack": _s(0.2, 0.1, 0.08, 0.3, rests_on=("lab_bench", "table")),
    "centrifuge": _s(0.4, 0.3, 0.45, 15.0, rests_on=("lab_bench",), material="metal"),
    "pipette": _s(0.03, 0.02, 0.2, 0.05, rests_on=("lab_bench", "table")),
    "box": _s(0.4, 0.3, 0.3, 2.0, rests_on=("pallet", "workbench", "shelf", "table"), material="cardboard"),
    "wrench": _s(0.05, 0.02, 0.25, 0.4, rests_on=("workbench", "tool_cabinet", "table"), material="metal"),
    "screwdriver": _s(0.03, 0.03, 0.2, 0.1, rests_on=("workbench", "tool_cabinet", "table"), material="metal"),
    "pliers": _s(0.06, 0.02, 0.2, 0.25, rests_on=("workbench", "tool_cabinet", "table"), material="metal"),
    "tool": _s(0.05, 0.03, 0.25, 0.4, rests_on=("workbench", "tool_cabinet", "table"), material="metal"),
    "toolbox": _s(0.5, 0.25, 0.25, 4.0, rests_on=("workbench", "tool_cabinet", "shelf"), material="metal"),
    "can": _s(0.07, 0.12, 0.07, 0.4, rests_on=("shelf", "checkout_counter", "table", "counter"), material="metal"),
    "cereal_box": _s(0.2, 0.3, 0.07, 0.5, rests_on=("shelf", "checkout_counter", "table"), material="cardboard"),
    "detergent": _s(0.15, 0.3, 0.1, 2.0, rests_on=("washer", "dryer", "shelf")),
    "spray_bottle": _s(0.1, 0.25, 0.07, 0.5, rests_on=("shelf", "washer", "vanity", "counter")),
    "soap": _s(0.09, 0.03, 0.06, 0.1, rests_on=("vanity", "shelf")),
    # a ceramic tumbler: 6-7 cm across, 10-11 cm tall (the toothbrushes stand inside it)
    "toothbrush_holder": _s(0.07, 0.11, 0.07, 0.2, rests_on=("vanity", "shelf"), material="ceramic"),
    "towel": _s(
        0.4,
        0.04,
        0.3,
        0.4,
        rests_on=("vanity", "counter", "shelf", "bed", "washer", "dryer", "medical_cart"),
        material="fabric",
    ),
    "cloth": _s(0.4, 0.01, 0.3, 0.1, rests_on=("counter", "island", "table", "workbench"), material="fabric"),
    "sponge": _s(0.1, 0.04, 0.07, 0.03, rests_on=("counter", "vanity", "island"), material="foam"),
    "pillow": _s(0.6, 0.15, 0.4, 0.6, rests_on=("bed", "hospital_bed"), material="fabric"),
    "blanket": _s(0.5, 0.08, 0.4, 1.2, rests_on=("bed", "hospital_bed", "coffee_table", "dresser"), material="fabric"),
    "shirt": _s(0.35, 0.03, 0.3, 0.2, rests_on=("dryer", "washer", "table", "bed", "shelf"), material="fabric"),
    "sock": _s(0.1, 0.02, 0.25, 0.05, rests_on=("dryer", "washer", "table", "bed"), material="fabric"),
    "bag": _s(0.3, 0.35, 0.15, 0.3, rests_on=("checkout_counter", "table", "counter"), material="fabric"),
    "gloves": _s(
        0.12, 0.03, 0.25, 0.1, rests_on=("medical_cart", "lab_bench", "workbench", "table"), material="fabric"
    ),
}

# Names whose physical facts differ from their category's (an island is a counter, but free).
NAME_SPECS: dict[str, CategorySpec] = {
    "island": CATEGORY_SPECS["island"],
    "oven": CATEGORY_SPECS["appliance"],
    "stove": CATEGORY_SPECS["appliance"],
    "pantry": _f(0.9, 2.0, 0.6, 60.0, wall=True),
    "nightstand": CATEGORY_SPECS["nightstand"],
    "bedside_table": CATEGORY_SPECS["nightstand"],
    "dining_table": _f(1.6, 0.75, 0.9, 35.0, support=True),
    "folding_table": _f(1.5, 0.75, 0.7, 15.0, support=True, material="plastic"),
    "display_table": _f(1.5, 0.8, 0.9, 30.0, support=True),
    "media_cabinet": _f(1.2, 0.6, 0.45, 30.0, wall=True, support=True),
    "linen_cabinet": _f(0.5, 1.8, 0.35, 25.0, wall=True),
    "medical_cabinet": _f(0.9, 1.9, 0.45, 60.0, wall=True, material="metal"),
    "low_shelf": CATEGORY_SPECS["shelf"],
    "utility_sink": _f(0.6, 0.9, 0.5, 25.0, wall=True, material="plastic"),
    "produce_crate": _f(0.6, 0.4, 0.4, 6.0),
    # a bathroom bottle is a 250-400 ml shampoo or lotion bottle (6-7 cm across, ~20 cm tall),
    # not the 30 cm, 9 cm wide kitchen bottle its category stands for
    "shampoo": _s(0.065, 0.2, 0.065, 0.4, rests_on=("vanity", "shelf")),
}

UNKNOWN_FLOOR_SPEC = _f(0.35, 0.35, 0.35, 4.0, material="generic")
UNKNOWN_SURFACE_SPEC = _s(0.15, 0.15, 0.15, 0.5, material="generic")

# ---------------------------------------------------------------------------------------------
# Rooms
# ---------------------------------------------------------------------------------------------

GENERIC_ROOM = "generic_room"

#: width (x) × depth (z) × height (y) in metres, before the per-seed jitter.
ROOM_DIMENSIONS: dict[str, tuple[float, float, float]] = {
    "kitchen": (7.0, 6.0, 3.1),
    "grocery": (9.0, 8.0, 3.5),
    "living_room": (8.0, 7.0, 3.2),
    "bedroom": (6.0, 5.5, 3.0),
    "office": (7.0, 6.0, 3.0),
    "lab": (8.5, 7.0, 3.4),
    "warehouse": (10.0, 9.0, 4.2),
    "loading_dock": (12.0, 10.0, 5.0),
    "utility_room": (6.5, 5.5, 3.0),
    "home_laundry": (4.5, 3.8, 2.8),
    "hospital": (8.0, 7.0, 3.2),
    "bathroom": (4.0, 3.5, 2.8),
    GENERIC_ROOM: (6.0, 6.0, 3.0),
}

#: Prompt keywords, scanned in this order (the first hit wins).
ROOM_KEYWORDS: tuple[str, ...] = (
    "kitchen",
    "grocery",
    "retail",
    "grocery store",
    "supermarket",
    "loading dock",
    "shipping bay",
    "living room",
    "bedroom",
    "bathroom",
    "laundry room",
    "laundry",
    "office",
    "lab",
    "hospital",
    "clinic",
    "warehouse",
    "utility room",
    "mechanical room",
)

ROOM_ALIASES: dict[str, str] = {
    "kitchen_dining_nook": "kitchen",
    "dining_room": "living_room",
    "livingroom": "living_room",
    "living_space": "living_room",
    "laboratory": "lab",
    "study": "office",
    "workshop": "warehouse",
    "garage": "warehouse",
    "retail": "grocery",
    "store": "grocery",
    "shop": "grocery",
    "supermarket": "grocery",
    "grocery_store": "grocery",
    "loadingdock": "loading_dock",
    "shipping_bay": "loading_dock",
    "dock": "loading_dock",
    "utility": "utility_room",
    "mechanical_room": "utility_room",
    "laundry": "home_laundry",
    "laundry_room": "home_laundry",
    "hospital_room": "hospital",
    "patient_room": "hospital",
    "clinic": "hospital",
}

Entry = tuple[str, str, str]  # (name, category, sim_role)

ROOM_CATALOGS: dict[str, tuple[Entry, ...]] = {
    "kitchen": (
        ("countertop", "counter", STATIC),
        ("sink", "sink", STATIC),
        ("fridge", "refrigerator", ART_APPLIANCE),
        ("cabinet", "cabinet", ART_FURNITURE),
        ("island", "counter", STATIC),
        ("pantry", "cabinet", ART_FURNITURE),
        ("oven", "appliance", ART_APPLIANCE),
        ("stool", "stool", STATIC),
        ("cutting_board", "board", MANIPULABLE),
        ("knife_block", "knife_block", STATIC),
        ("mug", "mug", MANIPULABLE),
        ("plate", "plate", MANIPULABLE),
        ("bottle", "bottle", MANIPULABLE),
        ("bowl", "bowl", MANIPULABLE),
        ("utensil", "utensil", MANIPULABLE),
        ("jar", "container", MANIPULABLE),
    ),
    "living_room": (
        ("sofa", "sofa", STATIC),
        ("armchair", "armchair", STATIC),
        ("coffee_table", "coffee_table", STATIC),
        ("tv_stand", "tv_stand", STATIC),
        ("television", "television", STATIC),
        ("bookshelf", "bookshelf", STATIC),
        ("side_table", "side_table", STATIC),
        ("media_cabinet", "cabinet", ART_FURNITURE),
        ("floor_lamp", "floor_lamp", STATIC),
        ("plant", "plant", STATIC),
        ("remote", "remote", MANIPULABLE),
        ("book", "book", MANIPULABLE),
        ("mug", "mug", MANIPULABLE),
        ("vase", "vase", MANIPULABLE),
        ("magazine", "magazine", MANIPULABLE),
        ("fruit_bowl", "fruit_bowl", STATIC),
    ),
    "bedroom": (
        ("bed", "bed", STATIC),
        ("nightstand", "nightstand", ART_FURNITURE),
        ("wardrobe", "wardrobe", ART_FURNITURE),
        ("dresser", "dresser", ART_FURNITURE),
        ("desk", "desk", STATIC),
        ("chair", "chair", STATIC),
        ("lamp", "lamp", STATIC),
        ("laundry_basket", "laundry_basket", STATIC),
        ("pillow", "pillow", MANIPULABLE),
        ("blanket", "blanket", MANIPULABLE),
        ("book", "book", MANIPULABLE),
        ("alarm_clock", "alarm_clock", MANIPULABLE),
        ("glass", "glass", MANIPULABLE),
        ("phone", "phone", MANIPULABLE),
    ),
    "office": (
        ("desk", "desk", STATIC),
        ("office_chair", "office_chair", STATIC),
        ("filing_cabinet", "filing_cabinet", ART_FURNITURE),
        ("bookshelf", "bookshelf", STATIC),
        ("meeting_table", "table", STATIC),
        ("plant", "plant", STATIC),
        ("trash_bin", "trash_bin", STATIC),
        ("monitor", "monitor", STATIC),
        ("keyboard", "keyboard", MANIPULABLE),
        ("mouse", "mouse", MANIPULABLE),
        ("mug", "mug", MANIPULABLE),
        ("book", "book", MANIPULABLE),
        ("pen_holder", "pen_holder", STATIC),
        ("stapler", "stapler", MANIPULABLE),
    ),
    "lab": (
        ("lab_bench", "lab_bench", STATIC),
        ("fume_hood", "fume_hood", ART_FURNITURE),
        ("storage_cabinet", "cabinet", ART_FURNITURE),
        ("stool", "stool", STATIC),
        ("sample_fridge", "refrigerator", ART_APPLIANCE),
        ("microscope", "microscope", STATIC),
        ("centrifuge", "centrifuge", ART_APPLIANCE),
        ("beaker", "beaker", MANIPULABLE),
        ("flask", "flask", MANIPULABLE),
        ("test_tube_rack", "test_tube_rack", MANIPULABLE),
        ("pipette", "pipette", MANIPULABLE),
        ("gloves", "gloves", MANIPULABLE),
    ),
    "warehouse": (
        ("shelving_unit", "shelving_unit", STATIC),
        ("pallet", "pallet", STATIC),
        ("workbench", "workbench", STATIC),
        ("tool_cabinet", "tool_cabinet", ART_FURNITURE),
        ("hand_truck", "hand_truck", STATIC),
        ("barrel", "barrel", STATIC),
        ("safety_cone", "safety_cone", STATIC),
        ("crate", "crate", STATIC),
        ("box", "box", MANIPULABLE),
        ("toolbox", "toolbox", ART_FURNITURE),
        ("tool", "tool", MANIPULABLE),
        ("container", "container", MANIPULABLE),
        ("bin", "bin", MANIPULABLE),
    ),
    "grocery": (
        ("shelf", "shelf", STATIC),
        ("display_table", "table", STATIC),
        ("checkout_counter", "checkout_counter", STATIC),
        ("display_fridge", "display_fridge", ART_APPLIANCE),
        ("shopping_cart", "shopping_cart", STATIC),
        ("produce_crate", "crate", STATIC),
        ("basket", "basket", MANIPULABLE),
        ("fruit", "fruit", MANIPULABLE),
        ("bottle", "bottle", MANIPULABLE),
        ("can", "can", MANIPULABLE),
        ("cereal_box", "cereal_box", MANIPULABLE),
        ("jar", "container", MANIPULABLE),
        ("bag", "bag", MANIPULABLE),
    ),
    "loading_dock": (
        ("pallet", "pallet", STATIC),
        ("crate", "crate", STATIC),
        ("shelving_unit", "shelving_unit", STATIC),
        ("hand_truck", "hand_truck", STATIC),
        ("barrel", "barrel", STATIC),
        ("safety_cone", "safety_cone", STATIC),
        ("workbench", "workbench", STATIC),
        ("tool_cabinet", "tool_cabinet", ART_FURNITURE),
        ("box", "box", MANIPULABLE),
        ("container", "container", MANIPULABLE),
    ),
    "utility_room": (
        ("water_heater", "water_heater", STATIC),
        ("washer", "washer", ART_APPLIANCE),
        ("utility_sink", "sink", STATIC),
        ("shelf", "shelf", STATIC),
        ("cabinet", "cabinet", ART_FURNITURE),
        ("bucket", "bucket", STATIC),
        ("toolbox", "toolbox", ART_FURNITURE),
        ("detergent", "detergent", MANIPULABLE),
        ("spray_bottle", "spray_bottle", MANIPULABLE),
        ("towel", "towel", MANIPULABLE),
    ),
    "home_laundry": (
        ("washer", "washer", ART_APPLIANCE),
        ("dryer", "dryer", ART_APPLIANCE),
        ("laundry_basket", "laundry_basket", STATIC),
        ("low_shelf", "shelf", STATIC),
        ("folding_table", "table", STATIC),
        ("detergent", "detergent", MANIPULABLE),
        ("towel", "towel", MANIPULABLE),
        ("shirt", "shirt", MANIPULABLE),
        ("sock", "sock", MANIPULABLE),
        ("spray_bottle", "spray_bottle", MANIPULABLE),
    ),
    "hospital": (
        ("hospital_bed", "hospital_bed", ART_FURNITURE),
        ("bedside_table", "nightstand", ART_FURNITURE),
        ("iv_stand", "iv_stand", STATIC),
        ("chair", "chair", STATIC),
        ("medical_cabinet", "cabinet", ART_FURNITURE),
        ("medical_cart", "medical_cart", STATIC),
        ("sink", "sink", STATIC),
        ("monitor", "monitor", STATIC),
        ("tray", "tray", MANIPULABLE),
        ("bottle", "bottle", MANIPULABLE),
        ("cup", "cup", MANIPULABLE),
    ),
    "bathroom": (
        ("toilet", "toilet", STATIC),
        ("bathtub", "bathtub", STATIC),
        ("vanity", "vanity", ART_FURNITURE),
        ("linen_cabinet", "cabinet", ART_FURNITURE),
        ("trash_bin", "trash_bin", STATIC),
        ("bath_mat", "bath_mat", STATIC),
        ("shelf", "shelf", STATIC),
        ("towel", "towel", MANIPULABLE),
        ("soap", "soap", MANIPULABLE),
        ("toothbrush_holder", "toothbrush_holder", MANIPULABLE),
        ("shampoo", "bottle", MANIPULABLE),
    ),
    GENERIC_ROOM: (
        ("table", "table", STATIC),
        ("shelf", "shelf", STATIC),
        ("chair", "chair", STATIC),
        ("cabinet", "cabinet", ART_FURNITURE),
        ("container", "container", MANIPULABLE),
        ("tool", "tool", MANIPULABLE),
        ("bottle", "bottle", MANIPULABLE),
        ("book", "book", MANIPULABLE),
    ),
}


def _table_role(name: str, category: str, role: str) -> str:
    """The category table decides articulation: a row with a motion rule makes the object
    articulated (with the table's role), and no articulated role survives without a rule."""
    row = categories.lookup(category, name)
    if row is not None and row.articulated:
        return row.sim_role
    return STATIC if role in ARTICULATED_ROLES else role


ROOM_CATALOGS = {
    room: tuple((name, category, _table_role(name, category, role)) for name, category, role in entries)
    for room, entries in ROOM_CATALOGS.items()
}

#: Composite entries expand into their parts (the reference's decomposition).
COMPOSITES: dict[str, tuple[Entry, ...]] = {
    "fruit_bowl": (
        ("bowl", "bowl", STATIC),
        ("apple", "fruit", MANIPULABLE),
        ("banana", "fruit", MANIPULABLE),
        ("orange", "fruit", MANIPULABLE),
    ),
    "knife_block": (
        ("knife_block", "block", STATIC),
        ("chef_knife", "knife", MANIPULABLE),
        ("paring_knife", "knife", MANIPULABLE),
    ),
    "pen_holder": (("pen_holder", "holder", STATIC), ("pen", "pen", MANIPULABLE), ("pencil", "pencil", MANIPULABLE)),
    "dish_rack": (("dish_rack", "tray", STATIC), ("plate", "plate", MANIPULABLE), ("cup", "cup", MANIPULABLE)),
    "cutlery_set": (
        ("fork", "utensil", MANIPULABLE),
        ("spoon", "utensil", MANIPULABLE),
        ("knife", "knife", MANIPULABLE),
    ),
    "tea_set": (("teapot", "kettle", MANIPULABLE), ("cup", "cup", MANIPULABLE), ("saucer", "dish", MANIPULABLE)),
    "spice_rack": (
        ("spice_rack", "tray", STATIC),
        ("spice_jar", "jar", MANIPULABLE),
        ("spice_jar", "jar", MANIPULABLE),
    ),
}

#: Manipulable substitutions (probability ``SUBSTITUTION_PROBABILITY``): name and category change.
SUBSTITUTIONS: dict[str, tuple[str, ...]] = {
    "mug": ("cup", "bowl", "glass"),
    "plate": ("dish", "tray"),
    "bottle": ("canister", "thermos", "flask"),
    "book": ("magazine", "manual"),
    "keyboard": ("tablet", "laptop"),
    "mouse": ("controller", "trackball"),
    "container": ("bin", "basket", "crate"),
    "tool": ("wrench", "screwdriver", "pliers"),
}
SUBSTITUTION_PROBABILITY = 0.35

#: A manipulable whose category contains one of these is a soft body.
SOFT_BODY_KEYWORDS: tuple[str, ...] = (
    "towel",
    "cloth",
    "fabric",
    "shirt",
    "sock",
    "blanket",
    "gloves",
    "rope",
    "cable",
    "bag",
    "pillow",
    "cushion",
    "sponge",
    "napkin",
    "curtain",
    "sheet",
    "scarf",
    "apron",
)


def canonical_token(value: str) -> str:
    """Lower case, runs of anything but letters/digits → ``_``: names and categories from an LLM
    or a prompt become stable identifiers (``Coffee Table`` → ``coffee_table``)."""
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


def canonical_room_type(value: str) -> str:
    """Canonical room type; unknown names stay as given (canonicalised) so an LLM's ``garden``
    remains ``garden`` and gets the generic catalog and dimensions."""
    token = canonical_token(value)
    token = ROOM_ALIASES.get(token, token)
    return token or GENERIC_ROOM


def room_catalog(room_type: str) -> tuple[Entry, ...]:
    return ROOM_CATALOGS.get(room_type, ROOM_CATALOGS[GENERIC_ROOM])


def room_dimensions(room_type: str) -> tuple[float, float, float]:
    return ROOM_DIMENSIONS.get(room_type, ROOM_DIMENSIONS[GENERIC_ROOM])


def spec_for(name: str, category: str, sim_role: str) -> tuple[CategorySpec, str]:
    """The physical spec of an object and where it came from (``catalog`` or ``default``).

    A known name wins over its category (an island is a free-standing counter); an unknown
    category gets a small surface object if it is movable, else a 35 cm floor object.
    """
    if name in NAME_SPECS:
        return NAME_SPECS[name], "catalog"
    if category in CATEGORY_SPECS:
        return CATEGORY_SPECS[category], "catalog"
    if sim_role in MOVABLE_ROLES:
        return UNKNOWN_SURFACE_SPEC, "default"
    return UNKNOWN_FLOOR_SPEC, "default"


def is_soft_body(category: str) -> bool:
    return any(word in category for word in SOFT_BODY_KEYWORDS)


# ---------------------------------------------------------------------------------------------
# Words people use for objects
# ---------------------------------------------------------------------------------------------

#: Extra phrases (underscored, singular) → (name, category), beyond every catalog name/category.
SYNONYMS: dict[str, tuple[str, str]] = {
    "fridge": ("fridge", "refrigerator"),
    "refrigerator": ("fridge", "refrigerator"),
    "freezer": ("freezer", "refrigerator"),
    "counter": ("countertop", "counter"),
    "countertop": ("countertop", "counter"),
    "kitchen_counter": ("countertop", "counter"),
    "kitchen_island": ("island", "counter"),
    "island": ("island", "counter"),
    "oven": ("oven", "appliance"),
    "stove": ("stove", "appliance"),
    "cooktop": ("stove", "appliance"),
    "cupboard": ("cabinet", "cabinet"),
    "couch": ("sofa", "sofa"),
    "settee": ("sofa", "sofa"),
    "tv": ("television", "television"),
    "television": ("television", "television"),
    "tv_stand": ("tv_stand", "tv_stand"),
    "bookcase": ("bookshelf", "bookshelf"),
    "book_shelf": ("bookshelf", "bookshelf"),
    "night_stand": ("nightstand", "nightstand"),
    "bedside_table": ("bedside_table", "nightstand"),
    "end_table": ("side_table", "side_table"),
    "trash_can": ("trash_bin", "trash_bin"),
    "garbage_can": ("trash_bin", "trash_bin"),
    "wastebasket": ("trash_bin", "trash_bin"),
    "waste_bin": ("trash_bin", "trash_bin"),
    "bin": ("bin", "bin"),
    "coffee_mug": ("mug", "mug"),
    "teacup": ("cup", "cup"),
    "tea_cup": ("cup", "cup"),
    "wine_glass": ("glass", "glass"),
    "water_bottle": ("bottle", "bottle"),
    "dining_table": ("dining_table", "table"),
    "kitchen_table": ("table", "table"),
    "desk_lamp": ("lamp", "lamp"),
    "table_lamp": ("lamp", "lamp"),
    "reading_lamp": ("lamp", "lamp"),
    "floor_lamp": ("floor_lamp", "floor_lamp"),
    "houseplant": ("plant", "plant"),
    "potted_plant": ("plant", "plant"),
    "computer": ("monitor", "monitor"),
    "screen": ("monitor", "monitor"),
    "cell_phone": ("phone", "phone"),
    "smartphone": ("phone", "phone"),
    "notepad": ("notebook", "notebook"),
    "cutting_board": ("cutting_board", "board"),
    "chopping_board": ("cutting_board", "board"),
    "knife_block": ("knife_block", "block"),
    "fork": ("fork", "utensil"),
    "spoon": ("spoon", "utensil"),
    "spatula": ("spatula", "utensil"),
    "saucepan": ("pot", "pot"),
    "frying_pan": ("pan", "pan"),
    "skillet": ("pan", "pan"),
    "teapot": ("teapot", "kettle"),
    "apple": ("apple", "fruit"),
    "banana": ("banana", "fruit"),
    "lemon": ("lemon", "fruit"),
    "pear": ("pear", "fruit"),
    "washing_machine": ("washer", "washer"),
    "washer": ("washer", "washer"),
    "clothes_dryer": ("dryer", "dryer"),
    "tumble_dryer": ("dryer", "dryer"),
    "hamper": ("laundry_basket", "laundry_basket"),
    "laundry_basket": ("laundry_basket", "laundry_basket"),
    "tub": ("bathtub", "bathtub"),
    "bath_tub": ("bathtub", "bathtub"),
    "bath": ("bathtub", "bathtub"),
    "bath_mat": ("bath_mat", "bath_mat"),
    "bathmat": ("bath_mat", "bath_mat"),
    "sink_vanity": ("vanity", "vanity"),
    "toothbrush": ("toothbrush_holder", "toothbrush_holder"),
    "shampoo": ("shampoo", "bottle"),
    "soap_dispenser": ("soap", "soap"),
    "shopping_cart": ("shopping_cart", "shopping_cart"),
    "cart": ("shopping_cart", "shopping_cart"),
    "trolley": ("hand_truck", "hand_truck"),
    "dolly": ("hand_truck", "hand_truck"),
    "rack": ("shelving_unit", "shelving_unit"),
    "pallet_rack": ("shelving_unit", "shelving_unit"),
    "cardboard_box": ("box", "box"),
    "carton": ("box", "box"),
    "drum": ("barrel", "barrel"),
    "cone": ("safety_cone", "safety_cone"),
    "hammer": ("hammer", "tool"),
    "soda_can": ("can", "can"),
    "cereal": ("cereal_box", "cereal_box"),
    "test_tube": ("test_tube_rack", "test_tube_rack"),
    "fume_hood": ("fume_hood", "fume_hood"),
    "hospital_bed": ("hospital_bed", "hospital_bed"),
    "iv_pole": ("iv_stand", "iv_stand"),
    "cushion": ("pillow", "pillow"),
    "duvet": ("blanket", "blanket"),
    "quilt": ("blanket", "blanket"),
    "rag": ("cloth", "cloth"),
    "dish_towel": ("towel", "towel"),
    "tshirt": ("shirt", "shirt"),
    "t_shirt": ("shirt", "shirt"),
    "socks": ("sock", "sock"),
    "glove": ("gloves", "gloves"),
    "handbag": ("bag", "bag"),
    "backpack": ("bag", "bag"),
}


def default_role(name: str, category: str) -> str:
    """The role an object has when nobody said: catalog first, then what the category implies
    (doors → articulated, fits on a table → manipulable, else static)."""
    for entries in ROOM_CATALOGS.values():
        for entry_name, entry_category, role in entries:
            if entry_name == name and entry_category == category:
                return role
    row = categories.lookup(category, name)
    if row is not None and row.articulated:
        return row.sim_role
    spec, _ = spec_for(name, category, STATIC)
    if spec.placement == SURFACE and spec.mass_kg <= 5.0:
        return DEFORMABLE if is_soft_body(category) else MANIPULABLE
    return STATIC


#: Category ids that are not words a prompt uses for the object (or are common verbs).
_NOT_NOUNS = frozenset({"appliance", "block", "holder", "board"})


def object_vocabulary() -> dict[str, tuple[str, str]]:
    """Every phrase (underscored, singular) the prompt parser recognises → (name, category)."""
    vocab: dict[str, tuple[str, str]] = {}
    for category in CATEGORY_SPECS:
        if category not in _NOT_NOUNS:
            vocab[category] = (category, category)
    for entries in ROOM_CATALOGS.values():
        for name, category, _role in entries:
            if name not in COMPOSITES and name not in _NOT_NOUNS:
                vocab.setdefault(name, (name, category))
    for composite in COMPOSITES:
        vocab.setdefault(composite, (composite, composite))
    vocab.update(SYNONYMS)
    vocab.update({"soda_can": ("can", "can"), "tin_can": ("can", "can")})
    return vocab
