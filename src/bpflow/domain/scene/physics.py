"""The physics columns of the category table: how heavy a thing may be, whether a robot can push
it, and whether it must collide as more than one convex hull.

Kept beside ``categories`` (same spelling rules, ``categories.normalise``) so every stage that
decides masses, colliders or kinematic flags reads one row per category:

* ``mass_kg``: the plausible range of a real product (manufacturers' spec sheets of common
  models); simready checks every computed mass against it;
* ``dynamic``: a free rigid body (chairs, stools, small tables, everything carried by hand);
  heavy or fixed furniture (counters, beds, wardrobes, appliances) stays kinematic;
* ``concave``: its use depends on its inside (a bin, a basket, a mug), so one convex hull would
  fill it; it collides as a convex decomposition.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpflow.domain.scene.categories import lookup, normalise


@dataclass(frozen=True)
class PhysicsRow:
    mass_kg: tuple[float, float]
    dynamic: bool
    concave: bool = False


def _static(lo: float, hi: float) -> PhysicsRow:
    return PhysicsRow((lo, hi), dynamic=False)


def _dyn(lo: float, hi: float, concave: bool = False) -> PhysicsRow:
    return PhysicsRow((lo, hi), dynamic=True, concave=concave)


PHYSICS: dict[str, PhysicsRow] = {
    # heavy or fixed furniture and appliances
    "counter": _static(40, 350),
    "island": _static(60, 400),
    "sink": _static(15, 150),
    "refrigerator": _static(50, 160),
    "fridge": _static(50, 160),
    "freezer": _static(40, 120),
    "display_fridge": _static(80, 300),
    "cabinet": _static(10, 130),
    "tool_cabinet": _static(30, 160),
    "appliance": _static(30, 130),
    "oven": _static(30, 130),
    "stove": _static(30, 130),
    "dishwasher": _static(30, 80),
    "washer": _static(50, 110),
    "dryer": _static(30, 80),
    "microwave": _static(8, 25),
    "centrifuge": _static(8, 40),
    "sofa": _static(20, 130),
    "tv_stand": _static(15, 80),
    "bookshelf": _static(15, 90),
    "shelf": _static(8, 70),
    "bed": _static(40, 150),
    "hospital_bed": _static(60, 200),
    "wardrobe": _static(40, 160),
    "dresser": _static(25, 110),
    "nightstand": _static(5, 35),
    "desk": _static(15, 90),
    "table": _static(10, 70),
    "filing_cabinet": _static(15, 70),
    "lab_bench": _static(50, 250),
    "fume_hood": _static(100, 400),
    "shelving_unit": _static(40, 250),
    "workbench": _static(30, 160),
    "checkout_counter": _static(40, 220),
    "water_heater": _static(30, 110),
    "toilet": _static(15, 60),
    "bathtub": _static(30, 200),
    "vanity": _static(15, 90),
    "medical_cart": _static(10, 60),
    "barrel": _static(5, 70),
    "floor_lamp": _static(2, 12),
    "plant": _static(2, 30),
    "television": _static(4, 30),
    "monitor": _static(2, 10),
    # light furniture a robot can push or carry
    "chair": _dyn(2, 25),
    "stool": _dyn(2, 15),
    "armchair": _dyn(10, 50),
    "office_chair": _dyn(5, 25),
    "coffee_table": _dyn(8, 45),
    "side_table": _dyn(3, 20),
    "pallet": _dyn(10, 40),
    "crate": _dyn(2, 25),
    "hand_truck": _dyn(5, 25),
    "safety_cone": _dyn(0.5, 5),
    "shopping_cart": _dyn(8, 35),
    "iv_stand": _dyn(2, 12),
    # containers: their inside is the point
    "trash_bin": _dyn(0.3, 8, True),
    "laundry_basket": _dyn(0.3, 4, True),
    "basket": _dyn(0.2, 4, True),
    "bin": _dyn(0.3, 8, True),
    "bucket": _dyn(0.3, 4, True),
    "mug": _dyn(0.15, 0.7, True),
    "cup": _dyn(0.1, 0.6, True),
    "glass": _dyn(0.08, 0.8, True),
    "bowl": _dyn(0.1, 1.5, True),
    "pot": _dyn(0.5, 4, True),
    "vase": _dyn(0.2, 4, True),
    "beaker": _dyn(0.05, 0.5, True),
    "jar": _dyn(0.1, 2),
    "kettle": _dyn(0.4, 3),
    # things carried by hand
    "plate": _dyn(0.2, 1.5),
    "dish": _dyn(0.2, 1.5),
    "tray": _dyn(0.2, 2.5),
    "bottle": _dyn(0.1, 2.0),
    "pan": _dyn(0.4, 3.5),
    "book": _dyn(0.1, 2.5),
    "box": _dyn(0.2, 12),
    "toolbox": _dyn(1, 15),
    "lamp": _dyn(0.5, 5),
    "wrench": _dyn(0.05, 1.2),
    "tool": _dyn(0.05, 1.5),
    "utensil": _dyn(0.01, 0.2),
    "knife": _dyn(0.05, 0.4),
    "fruit": _dyn(0.05, 0.5),
    "pillow": _dyn(0.2, 2.0),
    "towel": _dyn(0.1, 1.5),
    "remote": _dyn(0.05, 0.35),
    "phone": _dyn(0.1, 0.35),
    "keyboard": _dyn(0.3, 1.5),
    "mouse": _dyn(0.05, 0.3),
    "laptop": _dyn(0.8, 3.5),
    "block": _dyn(0.4, 3.5),
    "board": _dyn(0.2, 2.5),
    "alarm_clock": _dyn(0.08, 0.8),
    "can": _dyn(0.02, 0.6),
}

ALIASES: dict[str, str] = {
    "trash_can": "trash_bin",
    "wastebasket": "trash_bin",
    "hamper": "laundry_basket",
    "couch": "sofa",
    "tv": "television",
    "desk_lamp": "lamp",
    "cutting_board": "board",
    "knife_block": "block",
    "spoon": "utensil",
    "washing_machine": "washer",
}

#: Rows for categories the table does not know, by how the object is used.
MANIPULABLE_DEFAULT = PhysicsRow((0.005, 30.0), dynamic=True)
STATIC_DEFAULT = PhysicsRow((0.05, 500.0), dynamic=False)
ARTICULATED_ROLES = frozenset({"articulated_furniture", "articulated_appliance"})
MOVABLE_ROLES = frozenset({"manipulable_object", "deformable_object", "clutter"})


def physics_row(sim_role: str, *words: str) -> PhysicsRow:
    """The row for the first of ``words`` (category, then names) the table knows; else a default
    by role. An articulated object is never a free body: its base is held by a joint."""
    for word in words:
        key = normalise(word) if word else ""
        key = ALIASES.get(key, key)
        if key in PHYSICS:
            row = PHYSICS[key]
            break
    else:
        row = MANIPULABLE_DEFAULT if sim_role in MOVABLE_ROLES else STATIC_DEFAULT
    if sim_role in ARTICULATED_ROLES or (
        lookup(*words) is not None
        and lookup(*words).articulated  # type: ignore[union-attr]
        and sim_role not in MOVABLE_ROLES
    ):
        return PhysicsRow(row.mass_kg, dynamic=False, concave=row.concave)
    return row


def mass_verdict(row: PhysicsRow, mass_kg: float) -> str:
    """``ok``, ``too_light`` or ``too_heavy`` against the row's range."""
    lo, hi = row.mass_kg
    return "too_light" if mass_kg < lo else "too_heavy" if mass_kg > hi else "ok"
