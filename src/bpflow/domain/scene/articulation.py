"""Which objects have moving parts, and how those parts move.

Which categories articulate, and with which motion, is the one category table
(``bpflow.domain.scene.categories``) that the text planner reads too. This module holds the
geometry of each motion:

* side doors: vertical hinges at the front edges, opening outwards (two doors when the body is
  wider than 0.6 m and the category allows two; a cabinet whose name or description mentions
  drawers gets drawers instead);
* flap: one door hinged at the bottom front edge (ovens, dishwashers);
* panel door: one door hinged on the left front edge, a control panel on the right (microwaves);
* drawers: about one per 0.3 m of height, sliding out along the front axis by up to 60% of the depth;
* lid: the whole top, hinged at the back edge (toolboxes, centrifuges);
* backrest: the head half of the top, hinged across the middle (hospital beds);
* sash: a front panel sliding up by half the height (fume hoods).

Parts are expressed in the object's own centred frame (see ``placement``: x = width, the up
axis = height, the front side per ``Axes.front``) so the same rule works for y-up and z-up scenes. The sign of a
revolute limit is chosen so that positive motion swings the door *out of* the front face
(a lid or backrest: upwards).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bpflow.domain.scene.categories import DRAWER_UNIT, Articulation, Motion, articulation_of
from bpflow.domain.scene.density import canonical_category, canonical_kind
from bpflow.domain.scene.pose import Axes, Vec3

DOOR_MASS_FRACTION = 0.15
DOOR_GAP = 0.006
"""Space between two doors of one body (m), as real cabinets have."""
DRAWER_MASS_FRACTION = 0.06
LID_MASS_FRACTION = 0.12

_DRAWER_WORD = re.compile(r"drawer", re.IGNORECASE)


@dataclass(frozen=True)
class PartSpec:
    name: str
    joint: str
    """``revolute`` or ``prismatic``."""
    axis: str
    """The joint axis as a USD token ("X", "Y" or "Z") in the object's frame."""
    lower: float
    upper: float
    """Degrees for revolute joints, metres for prismatic ones."""
    center: Vec3
    size: Vec3
    pivot: Vec3
    """The joint anchor in the object's frame (a hinge line point, or the drawer's centre)."""
    mass_fraction: float


def _vec(axes: Axes, width: float, up: float, depth: float) -> Vec3:
    """An offset (right, up, towards the front) in the object's frame."""
    return axes.to_scene(width, up, depth)


def _size(axes: Axes, width: float, up: float, depth: float) -> Vec3:
    return axes.size(width, up, depth)


def _letter(index: int) -> str:
    return "XYZ"[index]


def _unit(index: int) -> np.ndarray:
    v = np.zeros(3)
    v[index] = 1.0
    return v


def _swing_limits(axis_index: int, extend: Vec3, front: np.ndarray, limit: float) -> tuple[float, float]:
    """Limits so that positive rotation about +axis moves the door's free edge toward the front."""
    toward = np.cross(_unit(axis_index), np.asarray(extend))
    return (0.0, limit) if float(toward @ front) > 0 else (-limit, 0.0)


def _side_doors(axes: Axes, w: float, h: float, d: float, count: int, limit: float) -> list[PartSpec]:
    t = min(0.04, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    parts = []
    door_w = (w - DOOR_GAP * (count - 1)) / count  # neighbouring doors keep a gap, or they jam
    for i in range(count):
        left_edge = -w / 2 + i * (door_w + DOOR_GAP)
        hinge_on_right = count == 1 or i == count - 1
        hinge_x = left_edge + door_w if hinge_on_right else left_edge
        center_x = left_edge + door_w / 2
        extend = _vec(axes, center_x - hinge_x, 0.0, 0.0)
        lower, upper = _swing_limits(axes.up, extend, front, limit)
        parts.append(
            PartSpec(
                name="door" if count == 1 else f"door_{i}",
                joint="revolute",
                axis=_letter(axes.up),
                lower=lower,
                upper=upper,
                center=_vec(axes, center_x, 0.0, d / 2 - t / 2),
                size=_size(axes, door_w, h - 2 * DOOR_GAP, t),  # clear of the floor it stands on
                pivot=_vec(axes, hinge_x, 0.0, d / 2),
                mass_fraction=DOOR_MASS_FRACTION / count,
            )
        )
    return parts


def _left_door(axes: Axes, w: float, h: float, d: float, limit: float) -> list[PartSpec]:
    t = min(0.03, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    door_w = 0.75 * w  # the control panel takes the right quarter
    hinge_x = -w / 2
    center_x = hinge_x + door_w / 2
    lower, upper = _swing_limits(axes.up, _vec(axes, door_w / 2, 0.0, 0.0), front, limit)
    return [
        PartSpec(
            "door",
            "revolute",
            _letter(axes.up),
            lower,
            upper,
            _vec(axes, center_x, 0.0, d / 2 - t / 2),
            _size(axes, door_w, h, t),
            _vec(axes, hinge_x, 0.0, d / 2),
            DOOR_MASS_FRACTION,
        )
    ]


def _flap(axes: Axes, w: float, h: float, d: float, limit: float) -> list[PartSpec]:
    t = min(0.05, 0.1 * d)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    door_h = 0.8 * h  # a kick plate / control strip stays fixed
    hinge_up = -h / 2 + 0.1 * h
    lower, upper = _swing_limits(axes.width, _vec(axes, 0.0, door_h / 2, 0.0), front, limit)
    return [
        PartSpec(
            "door",
            "revolute",
            _letter(axes.width),
            lower,
            upper,
            _vec(axes, 0.0, hinge_up + door_h / 2, d / 2 - t / 2),
            _size(axes, w, door_h, t),
            _vec(axes, 0.0, hinge_up, d / 2),
            DOOR_MASS_FRACTION,
        )
    ]


def _top_panel(
    axes: Axes, w: float, h: float, d: float, limit: float, *, name: str, hinge_depth: float, far_depth: float
) -> list[PartSpec]:
    """A panel lying on the top face from ``hinge_depth`` to ``far_depth`` (front-axis offsets),
    hinged across the width at ``hinge_depth`` so that positive motion lifts its free edge."""
    t = min(0.04, 0.1 * h)
    up = np.asarray(axes.to_scene(0.0, 1.0, 0.0))
    length = abs(far_depth - hinge_depth)
    mid = (hinge_depth + far_depth) / 2
    lower, upper = _swing_limits(axes.width, _vec(axes, 0.0, 0.0, mid - hinge_depth), up, limit)
    return [
        PartSpec(
            name,
            "revolute",
            _letter(axes.width),
            lower,
            upper,
            _vec(axes, 0.0, h / 2 - t / 2, mid),
            _size(axes, w, t, length),
            _vec(axes, 0.0, h / 2, hinge_depth),
            LID_MASS_FRACTION,
        )
    ]


def _sash(axes: Axes, w: float, h: float, d: float, travel: float) -> list[PartSpec]:
    """A front panel over the middle of the height that slides up by ``travel`` × its height."""
    t = min(0.02, 0.1 * d)
    sash_h = 0.4 * h
    center = _vec(axes, 0.0, 0.0, d / 2 - t / 2)
    reach = round(travel * sash_h, 6)  # the up axis always points up, in both frames
    return [
        PartSpec(
            "sash",
            "prismatic",
            _letter(axes.up),
            0.0,
            reach,
            center,
            _size(axes, 0.9 * w, sash_h, t),
            center,
            DOOR_MASS_FRACTION,
        )
    ]


def _drawers(axes: Axes, w: float, h: float, d: float, travel: float, max_parts: int) -> list[PartSpec]:
    count = int(min(max_parts, max(1, round(h / 0.3))))
    slot = h / count
    body_d = 0.8 * d
    parts = []
    for i in range(count):
        up = -h / 2 + (i + 0.5) * slot
        center = _vec(axes, 0.0, up, d / 2 - body_d / 2)
        parts.append(
            PartSpec(
                name=f"drawer_{i}",
                joint="prismatic",
                axis=_letter(axes.depth),
                lower=0.0 if axes.front > 0 else -round(travel * body_d, 6),
                upper=round(travel * body_d, 6) if axes.front > 0 else 0.0,
                center=center,
                size=_size(axes, 0.9 * w, 0.8 * slot, body_d),
                pivot=center,
                mass_fraction=DRAWER_MASS_FRACTION,
            )
        )
    return parts


def rule_for(category: str, name: str = "") -> Articulation | None:
    """The table's rule for an object: its own category first, then what Stage 2 reads it as
    (a generic ``appliance`` named ``oven``), then its name."""
    cat = canonical_category(category)
    return articulation_of(cat, canonical_kind(cat, name), canonical_category(name) if name else "")


def articulates(category: str, name: str = "") -> bool:
    return rule_for(category, name) is not None


def plan_parts(category: str, name: str, description: str, size: Vec3, axes: Axes) -> list[PartSpec]:
    """The moving parts of an object of ``size`` (scene axes); empty when it has none."""
    rule = rule_for(category, name)
    if rule is None:
        return []
    w, h, d = size[axes.width], size[axes.up], size[axes.depth]
    mentions_drawers = bool(_DRAWER_WORD.search(f"{name} {description}"))
    if rule.motion is Motion.DRAWERS or (rule.drawers_when_named and mentions_drawers):
        drawers = rule if rule.motion is Motion.DRAWERS else DRAWER_UNIT
        return _drawers(axes, w, h, d, drawers.limit, drawers.max_parts)
    if rule.motion is Motion.SIDE_DOORS:
        doors = 2 if rule.max_parts >= 2 and w > 0.6 else 1
        return _side_doors(axes, w, h, d, doors, rule.limit)
    if rule.motion is Motion.FLAP:
        return _flap(axes, w, h, d, rule.limit)
    if rule.motion is Motion.PANEL_DOOR:
        return _left_door(axes, w, h, d, rule.limit)
    if rule.motion is Motion.LID:
        return _top_panel(axes, w, h, d, rule.limit, name="lid", hinge_depth=-d / 2, far_depth=d / 2)
    if rule.motion is Motion.BACKREST:
        return _top_panel(axes, w, h, d, rule.limit, name="backrest", hinge_depth=0.0, far_depth=-d / 2)
    return _sash(axes, w, h, d, rule.limit)
