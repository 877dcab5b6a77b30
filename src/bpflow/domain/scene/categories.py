"""The one category table: what each kind of object is, for every stage that needs to know.

The text planner decides which objects are articulated and Stage 2 builds their moving parts;
when the two kept separate lists they drifted (a planner marked a dryer articulated, Stage 2 had no
rule and the interactive gate failed the scene). Both now read this table, so a category is
articulated exactly when a rule here says how its parts move.

Rows are plain frozen data so other facts (collision approximation, dynamic or static, mass
ranges) can be added as fields without touching the readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

ARTICULATED_APPLIANCE = "articulated_appliance"
ARTICULATED_FURNITURE = "articulated_furniture"


class Motion(str, Enum):
    """How the moving parts of an object move (each has one geometric rule in Stage 2)."""

    SIDE_DOORS = "side_doors"
    """Doors on vertical hinges at the front edges; two doors when the body is wide."""
    PANEL_DOOR = "panel_door"
    """One door on a vertical hinge at the left front edge; a control panel keeps the right quarter."""
    FLAP = "flap"
    """One door hinged at the bottom front edge (oven, dishwasher)."""
    DRAWERS = "drawers"
    """Drawers stacked over the height, sliding out along the front axis."""
    LID = "lid"
    """A lid over the whole top, hinged at the back edge."""
    BACKREST = "backrest"
    """The head half of the top surface, hinged across the middle (an adjustable bed)."""
    SASH = "sash"
    """A front panel sliding up along the height (a fume hood)."""


@dataclass(frozen=True)
class Articulation:
    """Which parts move and how many there may be.

    ``max_parts`` caps the count a size-driven rule may produce (doors of a wide cabinet,
    drawers over a tall chest). ``drawers_when_named``: a body whose name or description mentions
    drawers gets drawers instead of its usual parts (a "cabinet with drawers").
    """

    motion: Motion
    limit: float
    """Degrees for hinged parts, a fraction of the body's travel dimension for sliding ones."""
    max_parts: int = 1
    drawers_when_named: bool = False


@dataclass(frozen=True)
class Category:
    """One row of the table. ``sim_role`` is the role an object of this category has by default."""

    name: str
    sim_role: str
    articulation: Articulation | None = None

    @property
    def articulated(self) -> bool:
        return self.articulation is not None


DOOR_LIMIT_DEG = 110.0
FLAP_LIMIT_DEG = 90.0
LID_LIMIT_DEG = 80.0
BACKREST_LIMIT_DEG = 60.0
DRAWER_TRAVEL = 0.6
SASH_TRAVEL = 0.5

_ONE_DOOR = Articulation(Motion.SIDE_DOORS, DOOR_LIMIT_DEG)
_TWO_DOORS = Articulation(Motion.SIDE_DOORS, DOOR_LIMIT_DEG, max_parts=2)
_CABINET = Articulation(Motion.SIDE_DOORS, DOOR_LIMIT_DEG, max_parts=2, drawers_when_named=True)
_FLAP = Articulation(Motion.FLAP, FLAP_LIMIT_DEG)
DRAWER_UNIT = Articulation(Motion.DRAWERS, DRAWER_TRAVEL, max_parts=4)
_LID = Articulation(Motion.LID, LID_LIMIT_DEG)


def _rows(role: str, articulation: Articulation, *names: str) -> list[Category]:
    return [Category(name, role, articulation) for name in names]


CATEGORIES: dict[str, Category] = {
    row.name: row
    for row in [
        *_rows(
            ARTICULATED_APPLIANCE, _ONE_DOOR, "refrigerator", "fridge", "freezer", "display_fridge", "washer", "dryer"
        ),
        *_rows(ARTICULATED_APPLIANCE, _FLAP, "oven", "stove", "dishwasher"),
        *_rows(ARTICULATED_APPLIANCE, Articulation(Motion.PANEL_DOOR, DOOR_LIMIT_DEG), "microwave"),
        *_rows(ARTICULATED_APPLIANCE, _LID, "centrifuge"),
        *_rows(ARTICULATED_FURNITURE, _CABINET, "cabinet", "tool_cabinet", "vanity"),
        *_rows(ARTICULATED_FURNITURE, _TWO_DOORS, "wardrobe"),
        *_rows(ARTICULATED_FURNITURE, DRAWER_UNIT, "drawer", "dresser", "nightstand", "filing_cabinet"),
        *_rows(ARTICULATED_FURNITURE, _LID, "toolbox"),
        *_rows(ARTICULATED_FURNITURE, Articulation(Motion.SASH, SASH_TRAVEL), "fume_hood"),
        *_rows(ARTICULATED_FURNITURE, Articulation(Motion.BACKREST, BACKREST_LIMIT_DEG), "hospital_bed"),
    ]
}

#: Other words for a row's category, so every reader resolves them alike.
ALIASES: dict[str, str] = {
    "refrigerator_freezer": "refrigerator",
    "cupboard": "cabinet",
    "kitchen_cabinet": "cabinet",
    "drawer_cabinet": "drawer",
    "chest_of_drawers": "dresser",
    "range": "oven",
    "washing_machine": "washer",
    "clothes_dryer": "dryer",
    "tool_box": "toolbox",
    "bathroom_vanity": "vanity",
}

_SUFFIX = re.compile(r"(_\d+)+$")


def normalise(word: str) -> str:
    """A category or object name as the table spells it: lower case, underscores, no ``_003``,
    aliases resolved."""
    key = _SUFFIX.sub("", word.strip().lower().replace(" ", "_").replace("-", "_"))
    return ALIASES.get(key, key)


def lookup(*words: str) -> Category | None:
    """The first of ``words`` (a category, then names that may say more) that the table knows."""
    for word in words:
        row = CATEGORIES.get(normalise(word)) if word else None
        if row is not None:
            return row
    return None


def articulation_of(*words: str) -> Articulation | None:
    row = lookup(*words)
    return row.articulation if row is not None else None


def articulated_categories() -> frozenset[str]:
    return frozenset(name for name, row in CATEGORIES.items() if row.articulated)
