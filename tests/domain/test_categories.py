"""The one category table: the text planner and Stage 2 agree on what articulates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpflow.domain.scene import categories
from bpflow.domain.scene.articulation import plan_parts, rule_for
from bpflow.domain.scene.pose import axes_for
from bpflow.domain.textgen import room_catalog as catalog


def _planned_objects() -> set[tuple[str, str, str]]:
    """Every (name, category, role) the text planners can emit without an LLM's say-so."""
    seen = {entry for entries in catalog.ROOM_CATALOGS.values() for entry in entries}
    for name, category in catalog.object_vocabulary().values():
        seen.add((name, category, catalog.default_role(name, category)))
    return seen


def test_every_articulated_object_the_planner_emits_has_parts_in_stage2() -> None:
    missing = []
    for name, category, role in sorted(_planned_objects()):
        if role not in catalog.ARTICULATED_ROLES:
            continue
        spec, _ = catalog.spec_for(name, category, role)
        axes = axes_for("Y")
        parts = plan_parts(category, name, "", axes.size(spec.width, spec.height, spec.depth), axes)
        if not parts:
            missing.append(f"{name} ({category})")
    assert missing == []


def test_planner_roles_follow_the_table_both_ways() -> None:
    for name, category, role in _planned_objects():
        row = categories.lookup(category, name)
        if row is not None and row.articulated:
            assert role == row.sim_role, (name, category, role)
        else:
            assert role not in catalog.ARTICULATED_ROLES, (name, category, role)


@pytest.mark.parametrize("word", ["dryer", "washer", "vanity", "toolbox", "Washing Machine", "cupboard", "cabinet_002"])
def test_both_sides_resolve_a_word_to_the_same_row(word: str) -> None:
    row = categories.lookup(word)
    assert row is not None and row.articulated
    assert rule_for(word) == row.articulation
    assert catalog.default_role(word, word) == row.sim_role


def test_unknown_categories_have_no_rule() -> None:
    assert categories.lookup("sofa") is None and rule_for("sofa") is None
    assert catalog.default_role("toaster", "appliance") not in catalog.ARTICULATED_ROLES


@pytest.mark.parametrize("up_axis", ["Y", "Z"])
@pytest.mark.parametrize(
    ("category", "part"), [("toolbox", "lid"), ("centrifuge", "lid"), ("hospital_bed", "backrest")]
)
def test_top_panels_lift_upwards_and_stay_inside(up_axis: str, category: str, part: str) -> None:
    axes = axes_for(up_axis)
    size = axes.size(0.9, 0.5, 2.0 if category == "hospital_bed" else 0.4)
    (p,) = plan_parts(category, category, "", size, axes)
    assert p.name == part and p.joint == "revolute" and p.lower < p.upper
    up = np.asarray(axes.to_scene(0.0, 1.0, 0.0))
    arm = np.asarray(p.center) - np.asarray(p.pivot)
    axis = np.eye(3)["XYZ".index(p.axis)]
    th = math.radians(p.upper if p.upper > 0 else p.lower)
    moved = arm * math.cos(th) + np.cross(axis, arm) * math.sin(th) + axis * (axis @ arm) * (1 - math.cos(th))
    assert (moved - arm) @ up > 0
    assert np.all(np.abs(np.asarray(p.center)) + np.asarray(p.size) / 2 <= np.asarray(size) / 2 + 1e-9)


@pytest.mark.parametrize("up_axis", ["Y", "Z"])
def test_a_fume_hood_sash_slides_up(up_axis: str) -> None:
    axes = axes_for(up_axis)
    (p,) = plan_parts("fume_hood", "fume_hood", "", axes.size(1.5, 2.4, 0.9), axes)
    assert p.joint == "prismatic" and p.axis == "XYZ"[axes.up] and p.lower == 0.0 < p.upper
