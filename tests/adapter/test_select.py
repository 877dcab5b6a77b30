"""The decision table of the three rollout modes, and the ANN rerank (spec §3.6-3.7)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bpflow.domain.retrieval.ann import AnnIndex
from bpflow.domain.retrieval.asset_catalog import CatalogRow, library_row
from bpflow.domain.retrieval.embeddings import LocalHashEmbedder
from bpflow.domain.retrieval.library import package_entries
from bpflow.domain.retrieval.planned_package import parse_object
from bpflow.domain.retrieval.select import AnnSearcher, RetrievalSettings, normalize_mode, query_spec, select_asset

ENTRIES = package_entries()


def obj(name: str, category: str, sim_role: str = "manipulable_object", articulated: bool = False, **dims: float):  # type: ignore[no-untyped-def]
    return parse_object(
        {
            "id": "obj_001",
            "name": name,
            "category": category,
            "sim_role": sim_role,
            "articulation": {"required": articulated},
            "dimensions_est": dims or None,
        },
        0,
    )


def searcher() -> AnnSearcher:
    embedder = LocalHashEmbedder()
    rows = [library_row(e, "assets-v1") for e in ENTRIES]
    return AnnSearcher(embedder, AnnIndex(rows, embedder.embed([r.descriptor for r in rows])))


def broken() -> AnnSearcher:
    return AnnSearcher(None, None, "vector store down")


def exists(path: str) -> bool:
    return True


def decide(o, mode: str, ann: AnnSearcher | None = None, used: set[str] | None = None, **kw):  # type: ignore[no-untyped-def]
    settings = RetrievalSettings(mode=mode, **kw)
    return select_asset(o, "kitchen", ENTRIES, ann if ann is not None else searcher(), settings, used or set(), exists)


def test_lexical_primary_never_attempts_ann() -> None:
    d = decide(obj("fridge", "refrigerator"), "lexical_primary")
    assert (d.method, d.ann_attempted, d.lexical_attempted, d.fallback_reason) == ("lexical", False, True, None)
    assert d.selected is not None and d.selected.asset_id == "library::fridge_01"
    miss = decide(obj("centrifuge", "centrifuge"), "lexical_primary")
    assert miss.method == "none" and miss.selected is None and not miss.ann_attempted


def test_ann_shadow_serves_lexical_and_records_agreement() -> None:
    d = decide(obj("fridge", "refrigerator"), "ann_shadow")
    assert d.method == "lexical" and d.ann_attempted and d.ann_candidate_count >= 1
    assert d.shadow_agreement is True and d.fallback_reason is None
    assert d.candidate_count == d.ann_candidate_count + 1


def test_ann_shadow_serves_ann_on_a_lexical_miss() -> None:
    # min score 1.0: "cup" terms {cup} match the mugs' tags fully, so use a two-word name that cannot
    d = decide(obj("ceramic cup", "cup"), "ann_shadow", library_min_score=1.0)
    assert d.lexical_candidate is None
    assert (d.method, d.fallback_reason, d.shadow_agreement) == ("ann", "lexical_miss", None)
    assert d.selected is not None and d.selected.path.endswith("mug_01.usda")


def test_ann_primary_prefers_ann_and_falls_back_to_lexical_on_error() -> None:
    d = decide(obj("fridge", "refrigerator"), "ann_primary")
    assert d.method == "ann" and d.selected is not None and d.selected.source == "ann"
    failed = decide(obj("fridge", "refrigerator"), "ann_primary", ann=broken())
    assert failed.method == "lexical" and failed.fallback_reason == "ann_unavailable_or_no_match"
    assert failed.ann_attempted and failed.ann_error == "ann_query_failed:vector store down"


def test_ann_can_select_with_zero_lexical_overlap() -> None:
    d = decide(obj("couch", "couch", "static"), "ann_primary", lexical_enabled=False)
    assert not d.lexical_attempted and d.method == "ann"
    assert d.selected is not None and d.selected.asset_id == "library::sofa_01"


def test_lexical_switch_off_means_no_lexical_candidate_in_any_mode() -> None:
    for mode in ("lexical_primary", "ann_shadow", "ann_primary"):
        d = decide(obj("fridge", "refrigerator"), mode, lexical_enabled=False)
        assert not d.lexical_attempted and d.lexical_candidate is None
    assert decide(obj("fridge", "refrigerator"), "lexical_primary", lexical_enabled=False).method == "none"


def test_ann_disabled_is_never_attempted() -> None:
    d = decide(obj("fridge", "refrigerator"), "ann_primary", ann_enabled=False)
    assert not d.ann_attempted and d.method == "lexical"


def test_role_match_makes_the_articulated_cabinet_win() -> None:
    """Two cabinets with the same vector: roles and the articulation bonus decide."""
    embedder = LocalHashEmbedder()
    base = CatalogRow(
        asset_id="a",
        namespace="n",
        kind="library",
        path="asset-library/cab_static.usda",
        category="cabinet",
        descriptor="cabinet storage",
        sim_roles=("static",),
    )
    rows = [base, replace(base, asset_id="b", path="asset-library/cab_art.usda", sim_roles=("articulated_furniture",))]
    vec = embedder.embed(["cabinet storage"])
    ann = AnnSearcher(embedder, AnnIndex(rows, np.vstack([vec, vec])))
    d = decide(
        obj("cabinet", "cabinet", "articulated_furniture", articulated=True),
        "ann_primary",
        ann=ann,
        lexical_enabled=False,
    )
    top = d.ann_top_candidate
    assert top is not None and top.asset_id == "b" and top.articulation_bonus == pytest.approx(0.08)
    other = next(c for c in [d.selected] if c is not None)
    assert other.class_role_score == pytest.approx(0.6 * 1.0 + 0.4 * 1.0)


def test_rerank_formulas() -> None:
    embedder = LocalHashEmbedder()
    row = CatalogRow(
        asset_id="x",
        namespace="n",
        kind="library",
        path="asset-library/mug.usda",
        category="mug",
        descriptor="mug",
        sim_roles=("manipulable_object",),
        dims={"width": 0.1, "height": 0.1, "depth": 0.1},
    )
    ann = AnnSearcher(embedder, AnnIndex([row], embedder.embed(["mug"])))
    o = obj("mug", "mug", width=0.08, height=0.1, depth=0.08)
    d = decide(o, "ann_primary", ann=ann, lexical_enabled=False, ann_min_score=0.0)
    c = d.selected
    assert c is not None
    dim = 1 - ((0.02 / 0.1) + 0 + (0.02 / 0.1)) / 3
    assert c.dimension_score == pytest.approx(dim)
    assert c.class_role_score == pytest.approx(1.0)
    assert c.total_score == pytest.approx(0.7 * c.semantic_score + 0.2 * 1.0 + 0.1 * dim)
    assert c.clip_score == 0.0
    clip = decide(o, "ann_primary", ann=ann, lexical_enabled=False, ann_min_score=0.0, clip_rerank=True).selected
    assert clip is not None and clip.clip_score > 0
    assert clip.total_score == pytest.approx(
        0.45 * clip.semantic_score + 0.2 + 0.1 * dim + 0.2 * clip.clip_score + 0.05 * clip.bbox_l1_score
    )


def test_ann_min_score_and_max_rerank() -> None:
    d = decide(obj("centrifuge", "centrifuge"), "ann_primary")
    assert d.ann_attempted and d.ann_candidate_count == 0 and d.method == "none"
    many = decide(obj("chair", "chair", "static"), "ann_primary", ann_min_score=0.0, ann_max_rerank=3)
    assert many.ann_candidate_count == 3


def test_used_assets_are_passed_over_then_reused_rather_than_a_placeholder() -> None:
    lib = "package://bpflow/assets/library"
    mugs = {f"{lib}/mug_01/mug_01.usda", f"{lib}/mug_02/mug_02.usda"}
    d = decide(obj("mug", "mug"), "lexical_primary", used={f"{lib}/mug_01/mug_01.usda"})
    assert d.selected is not None and d.selected.path == f"{lib}/mug_02/mug_02.usda" and not d.duplicate_reused
    glass = decide(obj("mug", "mug"), "lexical_primary", used=mugs)  # a lesser unused match still wins over reuse
    assert glass.selected is not None and "glass_tumbler_01" in glass.selected.path and not glass.duplicate_reused
    every = mugs | {f"{lib}/glass_tumbler_01/glass_tumbler_01.usda"}
    again = decide(obj("mug", "mug"), "lexical_primary", used=every)
    assert again.selected is not None and again.selected.path in mugs and again.duplicate_reused
    allowed = decide(obj("mug", "mug"), "lexical_primary", used=every, allow_duplicate_paths=True)
    assert allowed.selected is not None and allowed.selected.path in mugs and not allowed.duplicate_reused


def test_unknown_mode_becomes_ann_shadow_and_query_text_shape() -> None:
    assert normalize_mode("banana") == "ann_shadow" and normalize_mode(None) == "ann_shadow"
    q = query_spec(obj("fridge", "refrigerator", "articulated_appliance", articulated=True), "kitchen")
    assert q.query_text == (
        "room:kitchen object:fridge category:refrigerator sim_role:articulated_appliance "
        "articulation_required text-generated object"
    )


def test_decision_record_shape() -> None:
    record = decide(obj("fridge", "refrigerator"), "ann_shadow").to_dict()
    assert set(record) >= {
        "mode",
        "method",
        "candidate_count",
        "latency_ms",
        "ann_attempted",
        "ann_candidate_count",
        "ann_latency_ms",
        "ann_error",
        "lexical_attempted",
        "lexical_latency_ms",
        "fallback_reason",
        "semantic_score",
        "lexical_score",
        "selected",
        "ann_top_candidate",
        "lexical_candidate",
        "shadow_agreement",
    }
