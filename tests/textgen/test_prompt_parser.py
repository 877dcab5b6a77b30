"""Reading objects and counts from prompts; room-type and object-count resolution."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.textgen.errors import TextgenInputError
from bpflow.domain.textgen.prompt_parser import MAX_PER_ITEM, MAX_REQUIRED, parse_mentions, singular_forms
from bpflow.domain.textgen.room_catalog import object_vocabulary
from bpflow.domain.textgen.template_planner import prompt_objects, resolve_room_type, target_object_count


def counts(prompt: str) -> dict[str, int]:
    return {m.name: m.count for m in parse_mentions(prompt)}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a kitchen with a fridge, a table and two mugs", {"fridge": 1, "table": 1, "mug": 2}),
        ("A realistic kitchen with counters, a fridge and mugs", {"countertop": 2, "fridge": 1, "mug": 2}),
        ("an office with 3 office chairs, a desk and no plants", {"office_chair": 3, "desk": 1, "plant": 0}),
        ("a pair of knives, a couple of pillows and a dozen eggs", {"knife": 2, "pillow": 2}),
        ("two red mugs and three small bowls", {"mug": 2, "bowl": 3}),
        ("a glass table with a wine glass", {"table": 1, "glass": 1}),
        ("I can see cans and a tin can", {"can": 3}),
        ("a refrigerator and another fridge", {"fridge": 2}),
        ("shelves, boxes, dishes", {"shelf": 2, "box": 2, "dish": 2}),
        ("a kitchen", {}),
        ("", {}),
    ],
)
def test_mentions(prompt: str, expected: dict[str, int]) -> None:
    assert counts(prompt) == expected


def test_counts_are_capped() -> None:
    assert counts("1000000 mugs")["mug"] == MAX_PER_ITEM
    found = parse_mentions("12 mugs, 12 plates, 12 bowls, 12 bottles, 12 cups, 12 books")
    assert sum(m.count for m in found) == MAX_REQUIRED


def test_prompt_objects_expand_counts_and_composites() -> None:
    objects, excluded = prompt_objects("a fruit bowl, two mugs and no chairs")
    names = [o.name for o in objects]
    assert names == ["bowl", "apple", "banana", "orange", "mug", "mug"]
    assert all(o.required for o in objects)
    assert {"chair"} <= excluded


def test_singular_forms() -> None:
    assert "shelf" in singular_forms("shelves") and "knife" in singular_forms("knives")
    assert singular_forms("glass") == ["glass"]


@pytest.mark.parametrize(
    ("prompt", "constraints", "room"),
    [
        ("A realistic kitchen with counters", {}, "kitchen"),
        ("a cozy living room", {}, "living_room"),
        ("my laboratory bench", {}, "lab"),
        ("a restroom", {}, "bathroom"),
        ("a laundry room", {}, "home_laundry"),
        ("a clinic exam room", {}, "hospital"),
        ("a label printer", {}, "generic_room"),
        ("a kitchen", {"room_type": "Dining Room"}, "living_room"),
        ("a kitchen", {"prompt_diversity": {"dimensions": {"archetype": "garage"}}}, "warehouse"),
    ],
)
def test_room_type_resolution(prompt: str, constraints: dict, room: str) -> None:
    assert resolve_room_type(prompt, constraints) == room


def test_room_type_constraint_must_be_a_string() -> None:
    with pytest.raises(TextgenInputError) as err:
        resolve_room_type("x", {"room_type": 3})
    assert err.value.field == "constraints.room_type"
    with pytest.raises(TextgenInputError) as err:
        resolve_room_type("x", {"prompt_diversity": "dense"})
    assert err.value.field == "constraints.prompt_diversity"


@pytest.mark.parametrize(
    ("tier", "constraints", "v2", "n"),
    [
        ("standard", {}, False, 12),
        ("premium", {}, False, 18),
        ("standard", {}, True, 30),
        ("premium", {}, True, 40),
        ("standard", {"object_density": "high"}, False, 18),
        ("premium", {"object_density": "high"}, True, 50),
        ("standard", {"object_density": "dense"}, False, 40),
        ("premium", {"object_density": "ultra_dense"}, False, 55),
        ("standard", {"prompt_diversity": {"dimensions": {"complexity": "high_density_15_to_22_objects"}}}, False, 16),
        ("premium", {"prompt_diversity": {"dimensions": {"complexity": "medium_density"}}}, False, 18),
        ("standard", {"prompt_diversity": {"dimensions": {"complexity": "articulation_heavy"}}}, False, 14),
    ],
)
def test_target_counts(tier: str, constraints: dict, v2: bool, n: int) -> None:
    assert target_object_count(tier, constraints, v2) == n


@settings(max_examples=400, deadline=None)
@given(
    st.text(max_size=400)
    | st.lists(
        st.sampled_from(
            sorted(object_vocabulary()) + ["a", "two", "12", "no", ",", "and", "with", "pair", "of", "99999999999"]
        ),
        max_size=40,
    ).map(" ".join)
)
def test_parser_is_total_and_bounded(prompt: str) -> None:
    found = parse_mentions(prompt)
    vocab = object_vocabulary()
    assert sum(m.count for m in found) <= MAX_REQUIRED
    assert all(0 <= m.count <= MAX_PER_ITEM for m in found)
    assert all((m.name, m.category) in set(vocab.values()) for m in found)
    objects, _ = prompt_objects(prompt)
    assert len(objects) <= 64
