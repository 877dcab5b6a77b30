"""The replicator variation manifest parser: valid input round-trips, bad input names its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.core.errors import ConfigError, ValidationFailed
from bpflow.domain.variation.requests import (
    PRIORITIES,
    asset_id,
    distinct_ids,
    parse_manifest,
    parse_priority_filter,
    select,
)

ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")

names = st.text(min_size=1, max_size=80).filter(lambda s: asset_id(s) != "")
assets = st.fixed_dictionaries(
    {"name": names},
    optional={
        "category": st.sampled_from(["mug", "Table", "bottle", "object"]),
        "priority": st.sampled_from([*PRIORITIES, "REQUIRED"]),
        "source_hint": st.one_of(st.none(), st.sampled_from(["generate", "library", "variation"])),
        "example_variants": st.lists(st.text(max_size=20), max_size=4),
        "material_hint": st.one_of(st.none(), st.text(max_size=20)),
        "physics_hints": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(assets, max_size=12))
def test_valid_manifests_parse_to_unique_safe_ids(items: list[dict[str, Any]]) -> None:
    reqs = parse_manifest({"assets": items})
    assert len(reqs) == len(items)
    ids = [r.id for r in reqs]
    assert len(set(ids)) == len(ids)
    assert all(ID_RE.match(i) and len(i) <= 70 for i in ids)
    assert all(r.priority in PRIORITIES for r in reqs)
    assert [r.index for r in reqs] == list(range(len(items)))


@settings(max_examples=200, deadline=None)
@given(st.lists(assets, max_size=12), st.sets(st.sampled_from(PRIORITIES)), st.integers(min_value=0, max_value=5))
def test_selection_respects_filter_limit_and_hint(items: list[dict[str, Any]], wanted: set[str], limit: int) -> None:
    reqs = parse_manifest({"assets": items})
    chosen, passed = select(reqs, frozenset(wanted), limit)
    assert sorted(r.id for r in chosen + passed) == sorted(r.id for r in reqs)
    assert all(r.needs_generation and (not wanted or r.priority in wanted) for r in chosen)
    if limit:
        assert len(chosen) <= limit
    ranks = [PRIORITIES.index(r.priority) for r in chosen]
    assert ranks == sorted(ranks)  # required first


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "manifest"),
        ({}, "assets"),
        ({"assets": {"a": 1}}, "assets"),
        ({"assets": ["mug"]}, "assets[0]"),
        ({"assets": [{"category": "mug"}]}, "assets[0].name"),
        ({"assets": [{"name": "   "}]}, "assets[0].name"),
        ({"assets": [{"name": "ok"}, {"name": "!!!"}]}, "assets[1].name"),
        ({"assets": [{"name": "ok", "priority": "urgent"}]}, "assets[0].priority"),
        ({"assets": [{"name": "ok", "category": 3}]}, "assets[0].category"),
        ({"assets": [{"name": "ok", "example_variants": "red mug"}]}, "assets[0].example_variants"),
        ({"assets": [{"name": "ok", "physics_hints": [1]}]}, "assets[0].physics_hints"),
        ({"assets": [{"name": "ok", "source_object_id": 7}]}, "assets[0].source_object_id"),
    ],
)
def test_bad_manifests_name_the_field(doc: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_manifest(doc)
    assert err.value.field == field
    assert err.value.to_dict()["code"] == "validation_failed"


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_crashes(doc: Any) -> None:
    try:
        parse_manifest(doc)
    except ValidationFailed as exc:
        assert exc.field


@settings(max_examples=200, deadline=None)
@given(
    st.lists(assets, max_size=8),
    st.sets(st.sampled_from(["mug_0", "a", "variation_mug_0", "variation_a", "table"]), max_size=5),
)
def test_ids_never_clash_with_scene_objects(items: list[dict[str, Any]], reserved: set[str]) -> None:
    reqs = distinct_ids(parse_manifest({"assets": items}), reserved)
    ids = [r.id for r in reqs]
    assert len(set(ids)) == len(ids) and not set(ids) & reserved
    assert all(ID_RE.match(i) for i in ids)


def test_request_named_after_its_object_is_renamed() -> None:
    [req] = distinct_ids(parse_manifest({"assets": [{"name": "mug_0", "category": "mug"}]}), {"mug_0", "table_0"})
    assert (req.id, req.name) == ("variation_mug_0", "mug_0")


def test_duplicate_names_get_distinct_ids_and_explicit_source() -> None:
    reqs = parse_manifest(
        {"assets": [{"name": "Red Mug!"}, {"name": "red mug"}, {"name": "Red_Mug", "object_id": "mug_0"}]}
    )
    assert [r.id for r in reqs] == ["Red_Mug", "red_mug", "Red_Mug_2"]
    assert reqs[2].source_object_id == "mug_0"


def test_priority_filter() -> None:
    assert parse_priority_filter("") == frozenset()
    assert parse_priority_filter(" Required, optional ") == {"required", "optional"}
    with pytest.raises(ConfigError) as err:
        parse_priority_filter("required,soon")
    assert err.value.field == "PRIORITY_FILTER"
