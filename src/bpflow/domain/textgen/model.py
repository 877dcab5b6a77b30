"""The in-memory shapes passed between planner, placement, gate and package.

A plan says *what* is in the room (names, categories, roles, sizes); placement decides *where*.
Keeping them apart is what lets an LLM plan, a template plan and a remote backend's object list
all go through the same physically checked placement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpflow.domain.textgen.room_catalog import CategorySpec


@dataclass(frozen=True)
class PlannedObject:
    """One object the planner wants in the scene. ``required``: the prompt asked for it by name
    (``two mugs``), so it is kept first when a list must be trimmed."""

    name: str
    category: str
    sim_role: str
    spec: CategorySpec
    dims_source: str = "catalog"
    required: bool = False

    @property
    def width(self) -> float:
        return self.spec.width

    @property
    def height(self) -> float:
        return self.spec.height

    @property
    def depth(self) -> float:
        return self.spec.depth


@dataclass
class ScenePlan:
    """What the planner produced, and how (recorded in the package's provenance)."""

    room_type: str
    objects: list[PlannedObject]
    planner: str  # "llm" | "template" | "remote"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomBox:
    """The room's interior: x in [min_x, max_x], z in [min_z, max_z], floor at y = 0."""

    min_x: float
    max_x: float
    min_z: float
    max_z: float
    height: float

    @property
    def width(self) -> float:
        return self.max_x - self.min_x

    @property
    def depth(self) -> float:
        return self.max_z - self.min_z

    def as_dict(self) -> dict[str, list[float]]:
        return {"min": [self.min_x, 0.0, self.min_z], "max": [self.max_x, self.height, self.max_z]}


@dataclass(frozen=True)
class Zone:
    """A floor area kept free of furniture (in front of the door)."""

    min_x: float
    max_x: float
    min_z: float
    max_z: float


@dataclass
class Placed:
    """A planned object with a pose. ``y`` is the object's base (bottom), not its centre.

    ``index`` is the object's position in the plan; ``support`` / ``facing`` are indices in the
    placed list (the object it stands on, None for the floor; the table a chair faces).
    """

    obj: PlannedObject
    index: int
    x: float
    y: float
    z: float
    yaw: float
    stage: str
    support: int | None = None
    local_se2: tuple[float, float, float] | None = None
    anchor_wall: str | None = None
    facing: int | None = None
