"""The room itself: interior box, wall thickness, door and window (the package's ``layout_plan``).

The room is centred on x/z with the floor at y = 0. Its size comes from the request's
constraints when given, else from the room type's typical size with a small per-seed jitter, so
different seeds of one prompt get slightly different rooms.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from bpflow.domain.textgen.errors import TextgenInputError
from bpflow.domain.textgen.model import RoomBox, Zone
from bpflow.domain.textgen.room_catalog import room_dimensions

JITTER_M = 0.25
MIN_JITTERED_SIDE_M = 4.0
MIN_HEIGHT_M = 2.4
DEFAULT_WALL_THICKNESS_M = 0.12
MIN_WALL_THICKNESS_M = 0.06
DEFAULT_DOOR_WIDTH_M = 0.9
DOOR_HEIGHT_M = 2.05
DOOR_CLEARANCE_DEPTH_M = 0.9
WINDOW_WIDTH_M = 1.2
WINDOW_HEIGHT_M = 1.0
WINDOW_SILL_M = 1.0

# Explicit constraint values must describe a room a person could stand in.
_LIMITS: dict[str, tuple[float, float]] = {
    "room_width_m": (2.0, 50.0),
    "room_depth_m": (2.0, 50.0),
    "room_height_m": (2.0, 12.0),
    "wall_thickness_m": (0.0, 1.0),
    "door_width_m": (0.0, 3.0),
    "window_width_m": (0.0, 10.0),
    "window_sill_m": (0.0, 5.0),
    "window_height_m": (0.0, 5.0),
}


def _number(constraints: Mapping[str, Any], key: str) -> float | None:
    if key not in constraints or constraints[key] is None:
        return None
    value = constraints[key]
    lo, hi = _LIMITS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TextgenInputError(f"constraints.{key} must be a number of metres", field=f"constraints.{key}")
    if not lo <= float(value) <= hi:
        raise TextgenInputError(f"constraints.{key} must be between {lo} and {hi} m", field=f"constraints.{key}")
    return float(value)


class RoomLayout:
    """Room box, openings and the zones furniture must leave free."""

    def __init__(self, room_type: str, constraints: Mapping[str, Any], rng: random.Random) -> None:
        width, depth, height = room_dimensions(room_type)
        # Jitter is drawn even when a constraint overrides, so the rng sequence (and with it
        # the rest of the scene) does not depend on which constraints were given.
        jw, jd = rng.uniform(-JITTER_M, JITTER_M), rng.uniform(-JITTER_M, JITTER_M)
        given_w, given_d = _number(constraints, "room_width_m"), _number(constraints, "room_depth_m")
        given_h = _number(constraints, "room_height_m")
        width = given_w if given_w is not None else max(MIN_JITTERED_SIDE_M, width + jw)
        depth = given_d if given_d is not None else max(MIN_JITTERED_SIDE_M, depth + jd)
        height = given_h if given_h is not None else max(MIN_HEIGHT_M, height)
        width, depth = round(width, 4), round(depth, 4)
        self.room_type = room_type
        self.box = RoomBox(-width / 2, width / 2, -depth / 2, depth / 2, height)
        wall = _number(constraints, "wall_thickness_m")
        self.wall_thickness_m = max(MIN_WALL_THICKNESS_M, wall if wall is not None else DEFAULT_WALL_THICKNESS_M)
        door = _number(constraints, "door_width_m")
        self.door_width_m = min(1.4, max(0.75, door if door is not None else DEFAULT_DOOR_WIDTH_M))
        self.window_width_m = _number(constraints, "window_width_m") or WINDOW_WIDTH_M
        self.window_height_m = _number(constraints, "window_height_m") or WINDOW_HEIGHT_M
        sill = _number(constraints, "window_sill_m")
        self.window_sill_m = sill if sill is not None else WINDOW_SILL_M

    def keep_clear(self) -> list[Zone]:
        """In front of the door (south wall, centred): nothing may block the way in."""
        half = self.door_width_m / 2 + 0.1
        return [Zone(-half, half, self.box.min_z, self.box.min_z + DOOR_CLEARANCE_DEPTH_M)]

    def plan(self) -> dict[str, Any]:
        """The ``layout_plan`` record of the package (spec §1.3 m)."""
        b = self.box
        return {
            "schema_version": "v1",
            "room_type": self.room_type,
            "room_box": {
                "min": [round(b.min_x, 4), 0.0, round(b.min_z, 4)],
                "max": [round(b.max_x, 4), round(b.height, 4), round(b.max_z, 4)],
            },
            "room_dimensions": {"width": round(b.width, 4), "depth": round(b.depth, 4), "height": round(b.height, 4)},
            "wall_thickness_m": self.wall_thickness_m,
            "openings": [
                {
                    "id": "opening_door_main",
                    "type": "door",
                    "wall": "south",
                    "center": [0.0, 0.0, round(b.min_z, 4)],
                    "width_m": self.door_width_m,
                    "height_m": DOOR_HEIGHT_M,
                },
                {
                    "id": "opening_window_main",
                    "type": "window",
                    "wall": "east",
                    "center": [round(b.max_x, 4), round(self.window_sill_m + self.window_height_m / 2, 4), 0.0],
                    "width_m": self.window_width_m,
                    "height_m": self.window_height_m,
                    "sill_height_m": self.window_sill_m,
                },
            ],
            "keep_clear": [
                {"id": "door_clearance", "min": [z.min_x, 0.0, z.min_z], "max": [z.max_x, 0.0, z.max_z]}
                for z in self.keep_clear()
            ],
        }
