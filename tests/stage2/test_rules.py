"""Pure Stage-2 rules: the interactive gate, densities and volumes, articulation, placement,
box overlap and robot spawn search."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.isaaclab.spawn import CLEARANCE, Obstacle, convex_hull, distance_to_polygon, plan_spawn
from bpflow.domain.scene.articulation import articulates, plan_parts
from bpflow.domain.scene.density import choose_density
from bpflow.domain.scene.layout import LayoutObject
from bpflow.domain.scene.manifest import SceneObject
from bpflow.domain.scene.obb import Box, interpenetrating, penetration
from bpflow.domain.scene.pose import axes_for, fit_scale, quat_from_matrix, resolve_placement, rotate
from bpflow.domain.usd import interactive_gate as gate
from bpflow.domain.usd.meshes import estimate_volume

# -- the interactive gate (spec §2.3 step 5.7) --------------------------------------------------

OK = gate.InteractiveState(False, False, "success", 0)
PARTIAL = gate.InteractiveState(False, False, "partial", 0)
STATUS_FAILURE = gate.InteractiveState(False, False, "failure", 0)
REQUIRED_FAILED = gate.InteractiveState(False, False, "success", 2)
MISSING = gate.InteractiveState(False, True, "unknown", 0)
JOB_FAILED = gate.from_marker(True, None, None)


@pytest.mark.parametrize(
    ("policy", "required", "state", "passed"),
    [
        ("warn", 2, JOB_FAILED, True),
        ("warn", 0, MISSING, True),
        ("strict", 0, OK, True),
        ("strict", 0, PARTIAL, True),  # the reference lets "partial" through
        ("strict", 0, STATUS_FAILURE, False),
        ("strict", 0, MISSING, False),
        ("strict", 0, JOB_FAILED, False),
        ("strict", 2, REQUIRED_FAILED, True),  # strict ignores required failures when the status is fine
        ("hybrid_strict", 0, STATUS_FAILURE, True),  # nothing required: a failure status is tolerated
        ("hybrid_strict", 0, MISSING, False),
        ("hybrid_strict", 0, JOB_FAILED, False),  # a failed job has no marker, whatever is required
        ("hybrid_strict", 2, STATUS_FAILURE, False),
        ("hybrid_strict", 2, REQUIRED_FAILED, False),
        ("hybrid_strict", 2, OK, True),
        ("anything-else", 2, JOB_FAILED, True),
    ],
)
def test_gate_table(policy: str, required: int, state: gate.InteractiveState, passed: bool) -> None:
    assert gate.evaluate(policy, 2, required, state).passed is passed


def test_summary_count_overrides_the_marker() -> None:
    marker = {"status": "success", "summary": {"required_failures": []}}
    assert gate.from_marker(False, marker, {"required_failure_count": 3}).required_failure_count == 3
    assert gate.from_marker(False, marker, {"required_failure_count": None}).required_failure_count == 0
    assert (
        gate.from_marker(
            False, {"status": "partial", "summary": {"required_failures": ["a"]}}, None
        ).required_failure_count
        == 1
    )
    state = gate.from_marker(False, None, None)
    assert state.marker_missing and state.marker_status == "unknown"


def test_articulation_counts() -> None:
    objs = [
        {"sim_role": "articulated_appliance"},
        {"articulation": {"candidate": True}},
        {"articulation": {"required": "true"}, "sim_role": "articulated_furniture"},
        {"articulation_required": True},
        "junk",
        {"articulation": "junk"},
    ]
    assert gate.articulation_counts(objs) == (3, 2)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["warn", "strict", "hybrid_strict", "other", ""]),
    st.integers(0, 5),
    st.integers(0, 5),
    st.booleans(),
    st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["status", "summary"]),
            st.one_of(
                st.text(max_size=8),
                st.integers(),
                st.dictionaries(st.just("required_failures"), st.lists(st.text(max_size=3), max_size=3)),
            ),
        ),
    ),
    st.one_of(
        st.none(),
        st.dictionaries(
            st.just("required_failure_count"),
            st.one_of(st.none(), st.integers(0, 4), st.booleans(), st.text(max_size=2)),
        ),
    ),
)
def test_gate_never_crashes_and_keeps_its_invariants(
    policy: str, candidate: int, required: int, failed: bool, marker: object, summary: object
) -> None:
    state = gate.from_marker(failed, marker, summary)
    decision = gate.evaluate(policy, candidate, required, state)
    if policy in ("warn", "other", ""):
        assert decision.passed
    if policy == "hybrid_strict" and state.marker_missing:
        assert not decision.passed
    if policy == "strict" and failed:
        assert not decision.passed
    assert "Interactive gate failed for scene s" in gate.failure_message("s", policy, candidate, required, state)


# -- density and volume -------------------------------------------------------------------------


def test_volume_of_a_closed_box_and_of_an_open_one() -> None:
    box = trimesh.creation.box(extents=[1.0, 2.0, 3.0])
    assert estimate_volume([box]).volume_m3 == pytest.approx(6.0)
    assert estimate_volume([box], scale=0.5).volume_m3 == pytest.approx(0.75)
    open_box = trimesh.Trimesh(vertices=box.vertices, faces=box.faces[:-2], process=False)  # one side missing
    est = estimate_volume([open_box])
    assert est.source == "bbox" and est.volume_m3 == pytest.approx(6.0)


def test_density_depends_on_what_the_volume_measured() -> None:
    shell = estimate_volume([trimesh.creation.annulus(r_min=0.035, r_max=0.04, height=0.1)])
    solid = estimate_volume([trimesh.creation.box(extents=[0.08, 0.1, 0.08])])
    assert (
        choose_density("mug", None, shell).basis == "material"
        and choose_density("mug", None, shell).density_kg_m3 == 2400
    )
    assert (
        choose_density("mug", None, solid).basis == "bulk"
        and choose_density("Coffee Mug", None, solid).density_kg_m3 == 550
    )
    assert choose_density("refrigerator", "wood", solid).material == "wood"  # a hint names the material
    assert choose_density("widget", "steel", solid).density_kg_m3 == 1000  # unknown thing: capped bulk
    assert choose_density("widget", None, solid).source == "default"


# -- articulation ------------------------------------------------------------------------------


@pytest.mark.parametrize("up_axis", ["Y", "Z"])
@pytest.mark.parametrize(
    ("category", "name", "kind", "count"),
    [
        ("refrigerator", "fridge", "revolute", 1),
        ("cabinet", "cupboard", "revolute", 2),
        ("cabinet", "cabinet with drawers", "prismatic", 3),
        ("oven", "range", "revolute", 1),
        ("dishwasher", "dw", "revolute", 1),
        ("microwave", "mw", "revolute", 1),
        ("nightstand", "ns", "prismatic", 2),
        ("washer", "washer", "revolute", 1),
        ("dryer", "dryer_001", "revolute", 1),
        ("vanity", "vanity", "revolute", 2),
        ("filing_cabinet", "filing_cabinet", "prismatic", 3),
    ],
)
def test_parts_open_out_of_the_front(up_axis: str, category: str, name: str, kind: str, count: int) -> None:
    axes = axes_for(up_axis)
    size = axes.size(1.0, 0.6 if category == "nightstand" else 0.9, 0.6)
    parts = plan_parts(category, name, "", size, axes)
    assert len(parts) == count and all(p.joint == kind and p.lower < p.upper for p in parts)
    front = np.asarray(axes.to_scene(0.0, 0.0, 1.0))
    for p in parts:
        arm = np.asarray(p.center) - np.asarray(p.pivot)
        axis = np.eye(3)["XYZ".index(p.axis)]
        opened = p.upper if p.upper > 0 else p.lower
        if p.joint == "revolute":
            th = math.radians(opened)
            moved = arm * math.cos(th) + np.cross(axis, arm) * math.sin(th) + axis * (axis @ arm) * (1 - math.cos(th))
            assert (moved - arm) @ front > 0
        else:
            assert opened * (axis @ front) > 0
        half = np.asarray(size) / 2
        assert np.all(np.abs(np.asarray(p.center)) + np.asarray(p.size) / 2 <= half + 1e-9)  # parts stay inside


def test_things_without_rules_do_not_articulate() -> None:
    assert not articulates("sofa") and plan_parts("sofa", "", "", (2.0, 0.9, 0.9), axes_for("Y")) == []
    assert articulates("Refrigerator")


# -- placement ---------------------------------------------------------------------------------


def _obj(**kw: object) -> SceneObject:
    base = dict(
        id="o",
        name="o",
        category="box",
        description="",
        sim_role="manipulable_object",
        asset_path=None,
        position=None,
        rotation_wxyz=None,
        dimensions=(0.2, 0.4, 0.6),
    )
    base.update(kw)
    return SceneObject(**base)  # type: ignore[arg-type]


def test_base_anchored_centre_is_raised_by_half_the_rotated_height() -> None:
    p = resolve_placement(_obj(), LayoutObject("o", (1.0, 0.5, 2.0), None, None), "Y")
    assert p.center == pytest.approx((1.0, 0.7, 2.0)) and p.source == "center3d"
    q = quat_from_matrix(((1, 0, 0), (0, 0, -1), (0, 1, 0)))  # lying on its side: depth is now vertical
    p = resolve_placement(_obj(), LayoutObject("o", (0.0, 0.0, 0.0), None, q), "Y")
    assert p.center[1] == pytest.approx(0.3)
    p = resolve_placement(_obj(position=(0.0, 0.0, 1.0)), None, "Z")
    assert p.center == pytest.approx((0.0, 0.0, 1.2)) and p.source == "manifest"


def test_fit_scale() -> None:
    assert fit_scale((1.0, 1.0, 1.0), (0.5, 0.5, 0.5)) == 1.0
    assert fit_scale((1.0, 1.0, 1.0), (0.5000001, 0.5, 0.5)) == 1.0
    assert fit_scale((2.0, 1.0, 1.0), (0.5, 0.5, 0.5)) == 0.5
    assert fit_scale((1.0, 1.0, 1.0), None) == 1.0


@settings(max_examples=100, deadline=None)
@given(st.floats(-math.pi, math.pi), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1))
def test_quaternion_round_trip(angle: float, x: float, y: float, z: float) -> None:
    axis = np.array([x, y, z])
    if np.linalg.norm(axis) < 1e-3:
        return
    axis /= np.linalg.norm(axis)
    r = trimesh.transformations.rotation_matrix(angle, axis)[:3, :3]
    q = quat_from_matrix(tuple(map(tuple, r)))  # type: ignore[arg-type]
    v = (0.3, -0.2, 0.7)
    assert rotate(q, v) == pytest.approx(tuple(r @ np.array(v)), abs=1e-9)


# -- boxes and spawns --------------------------------------------------------------------------


def test_touching_is_not_interpenetrating() -> None:
    table = Box.aligned((0, 0, 0), (1, 0.75, 1))
    mug = Box.aligned((0.4, 0.75, 0.4), (0.5, 0.85, 0.5))
    assert not interpenetrating(table, mug)
    sunk = Box.aligned((0.4, 0.7, 0.4), (0.5, 0.8, 0.5))
    assert interpenetrating(table, sunk) and penetration(table, sunk) == pytest.approx(0.05)
    diamond = np.array([[math.sqrt(0.5), 0, math.sqrt(0.5)], [0, 1, 0], [-math.sqrt(0.5), 0, math.sqrt(0.5)]])
    near_corner = Box(center=np.array([1.6, 0.5, 1.6]), axes=diamond, half=np.array([0.5, 0.5, 0.5]))
    assert not interpenetrating(table, near_corner)  # its axis-aligned bounds overlap the table's; it does not
    assert interpenetrating(table, Box(center=np.array([1.3, 0.5, 1.3]), axes=diamond, half=np.array([0.5, 0.5, 0.5])))


def test_distance_to_polygon() -> None:
    square = convex_hull(np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]))
    assert len(square) == 4
    assert distance_to_polygon((2.0, 0.5), square) == pytest.approx(1.0)
    assert distance_to_polygon((0.5, 0.6), square) == pytest.approx(-0.4)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.1, 0.8), st.floats(0.1, 0.8)), max_size=6),
    st.floats(-1.5, 1.5),
    st.floats(-1.5, 1.5),
)
def test_any_spawn_found_is_clear_and_in_reach(
    boxes: list[tuple[float, float, float, float]], tx: float, ty: float
) -> None:
    obstacles = [
        Obstacle(f"b{i}", convex_hull(np.array([[x - w, y - d], [x + w, y - d], [x + w, y + d], [x - w, y + d]])))
        for i, (x, y, w, d) in enumerate(boxes)
    ]
    spawn = plan_spawn((tx, ty), obstacles, (-3.0, -3.0), (3.0, 3.0), radius=0.25, reach=0.9)
    if spawn is None:
        return
    p = spawn.position
    assert math.dist(p, (tx, ty)) <= 0.9 + 1e-6
    assert all(distance_to_polygon(p, o.polygon) >= 0.25 + CLEARANCE - 1e-6 for o in obstacles)
    assert -3 + 0.25 <= p[0] <= 3 - 0.25 and -3 + 0.25 <= p[1] <= 3 - 0.25
