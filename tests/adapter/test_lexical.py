"""Tokeniser and lexical scoring, on the reference's own examples (spec §3.3-3.4)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bpflow.domain.retrieval.lexical import choose, query_terms, score
from bpflow.domain.retrieval.library import LibraryEntry, package_entries
from bpflow.domain.retrieval.tokenize import jaccard, token_set, tokens


def entry(path: str, category: str = "") -> LibraryEntry:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return LibraryEntry(
        path=path,
        tokens=frozenset(token_set(stem, path)),
        origin="bucket",
        asset_id=f"lexical::{path}",
        category=category,
    )


def test_tokeniser_matches_the_reference_example() -> None:
    assert tokens("scenes/scene_01/assets/obj_001/retrieved_asset/Refrigerator-A.usd") == [
        "scenes",
        "scene",
        "01",
        "assets",
        "obj",
        "001",
        "retrieved",
        "asset",
        "refrigerator",
        "usd",
    ]
    assert tokens("") == [] and tokens(None) == []


@given(st.text())
def test_tokens_are_lowercase_alphanumeric_and_at_least_two_long(text: str) -> None:
    for tok in tokens(text):
        assert len(tok) >= 2 and tok == tok.lower() and all(c in "abcdefghijklmnopqrstuvwxyz0123456789" for c in tok)


def test_query_terms_add_synonyms_only_for_a_whole_category() -> None:
    assert query_terms("refrigerator", "fridge") == {"fridge", "refrigerator"}
    assert query_terms("cabinet", "pantry") == {"pantry", "cabinet", "drawer", "closet", "wardrobe"}
    assert query_terms("kitchen cabinet", "") == {"kitchen", "cabinet"}
    assert query_terms("", "") == {"object"}


def test_worked_example_scores_one_half() -> None:
    lib = [entry("asset-library/kitchen/refrigerator.usd")]
    hit = choose(lib, "refrigerator", "fridge", used_paths=set(), min_score=0.25)
    assert hit is not None and hit.score == 0.5


def test_minimum_score_and_zero_never_wins() -> None:
    lib = [entry("asset-library/misc/widget.usd")]
    assert choose(lib, "refrigerator", "fridge", used_paths=set(), min_score=0.0) is None
    assert (
        choose(
            [entry("asset-library/kitchen/refrigerator.usd")], "refrigerator", "fridge", used_paths=set(), min_score=0.6
        )
        is None
    )


def test_ties_prefer_the_objects_own_category_then_scan_order() -> None:
    lib = package_entries()
    table = choose(lib, "table", "table", used_paths=set(), min_score=0.25)
    desk = choose(lib, "table", "desk", used_paths=set(), min_score=0.25)
    assert table is not None and table.entry.asset_id == "library::table_dining_01"
    assert desk is not None and desk.entry.asset_id == "library::desk_office_01"
    a, b = entry("asset-library/a/mug.usd"), entry("asset-library/b/mug.usd")
    first = choose([a, b], "mug", "mug", used_paths=set(), min_score=0.25)
    assert first is not None and first.entry is a


def test_used_paths_are_skipped() -> None:
    lib = package_entries()
    one = choose(lib, "mug", "mug", used_paths=set(), min_score=0.25)
    assert one is not None
    two = choose(lib, "mug", "mug", used_paths={one.entry.path}, min_score=0.25)
    assert two is not None and two.entry.path != one.entry.path
    none = choose(lib, "mug", "mug", used_paths={one.entry.path, two.entry.path}, min_score=0.25)
    assert none is None or none.entry.category != "mug"


@given(st.sets(st.text(min_size=2, max_size=5)), st.sets(st.text(min_size=2, max_size=5)))
def test_scores_are_fractions(terms: set[str], toks: set[str]) -> None:
    assert 0.0 <= score(terms, toks) <= 1.0
    assert 0.0 <= jaccard(terms, toks) <= 1.0


def test_common_planner_categories_find_library_assets() -> None:
    lib = package_entries()
    for category, name, expected in [
        ("refrigerator", "fridge", "fridge_01"),
        ("counter", "island", "counter_kitchen_01"),
        ("cabinet", "pantry", "cabinet_tall_01"),
        ("appliance", "oven", "oven_01"),
        ("board", "cutting_board", "cutting_board_01"),
        ("sofa", "couch", "sofa_01"),
        ("monitor", "monitor", "monitor_01"),
        ("container", "jar", "jar_01"),
    ]:
        hit = choose(lib, category, name, used_paths=set(), min_score=0.25)
        assert hit is not None and hit.entry.asset_id == f"library::{expected}", (category, name, hit)
