"""The asset catalog in the database: the same behaviour on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bpflow.core.storage.local import LocalBucket
from bpflow.domain.retrieval.ann import AnnIndex
from bpflow.domain.retrieval.asset_catalog import LIBRARY, SCENE_OBJECT, Catalog, CatalogRow, sync_library
from bpflow.domain.retrieval.embeddings import LocalHashEmbedder
from bpflow.domain.retrieval.library import LibraryEntry, bucket_entries, package_entries


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    url = (
        f"sqlite:///{tmp_path}/home/bpflow.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    cat = Catalog.open(url)
    cat.ensure_schema()  # idempotent: a second worker creating the tables is fine
    yield cat
    cat.close()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"  # PostgreSQL is shared by the session's tests


def no_sidecar(entry: LibraryEntry) -> None:
    return None


class CountingEmbedder(LocalHashEmbedder):
    def __init__(self, model: str = "bpflow-local-hash-v1") -> None:
        super().__init__()
        self.model = model
        self.texts = 0

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().embed(texts)


def test_sync_embeds_the_library_once(catalog: Catalog, namespace: str) -> None:
    embedder = CountingEmbedder()
    rows = sync_library(catalog, package_entries(), embedder, namespace, no_sidecar)
    assert len(rows) == len(package_entries()) and embedder.texts == len(rows)
    assert all(r.kind == LIBRARY and r.embedding is not None and r.embedding.shape == (1024,) for r in rows)
    fridge = catalog.get(namespace, "library::fridge_01")
    assert fridge is not None and fridge.category == "refrigerator" and fridge.license == "CC0-1.0"
    assert fridge.dims == {"width": 0.9, "height": 1.8, "depth": 0.77} and fridge.path.startswith("package://")
    again = sync_library(catalog, package_entries(), embedder, namespace, no_sidecar)
    assert embedder.texts == len(rows) and len(again) == len(rows)  # steady state: nothing re-embedded


def test_switching_the_embedder_re_embeds_every_row(catalog: Catalog, namespace: str) -> None:
    sync_library(catalog, package_entries()[:5], CountingEmbedder(), namespace, no_sidecar)
    other = CountingEmbedder("other-model")
    rows = sync_library(catalog, package_entries()[:3], other, namespace, no_sidecar)
    assert other.texts == 5 and {r.embedding_model for r in rows} == {"other-model"} and len(rows) == 5


def test_index_rebuilt_from_catalog_rows_finds_assets(catalog: Catalog, namespace: str) -> None:
    embedder = LocalHashEmbedder()
    sync_library(catalog, package_entries(), embedder, namespace, no_sidecar)
    rows = [r for r in catalog.rows(namespace, LIBRARY)]  # what another worker would read
    index = AnnIndex(rows, np.stack([r.embedding for r in rows]))
    (best, _), *_ = index.search(embedder.embed(["category:refrigerator object:fridge"])[0], 1)
    assert best.asset_id == "library::fridge_01"


def test_bucket_library_rows_use_their_metadata(catalog: Catalog, namespace: str, tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    bucket.write("asset-library/custom/espresso/espresso_machine.usda", "#usda 1.0\n")
    bucket.write_json(
        "asset-library/custom/espresso/metadata.json",
        {
            "category": "coffee_machine",
            "tags": ["espresso"],
            "sim_roles": ["static"],
            "dimensions": {"width": 0.3, "height": 0.4, "depth": 0.35},
            "license": "CC-BY-4.0",
        },
    )
    bucket.write("asset-library/custom/Fridge-A.usd", "#usda 1.0\n")
    entries = bucket_entries(bucket, ["asset-library"], 100)
    assert [e.path for e in entries] == [
        "asset-library/custom/Fridge-A.usd",
        "asset-library/custom/espresso/espresso_machine.usda",
    ]

    def read(entry: LibraryEntry):  # type: ignore[no-untyped-def]
        return bucket.read_json(entry.sidecar) if entry.sidecar else None

    rows = {r.asset_id: r for r in sync_library(catalog, entries, LocalHashEmbedder(), namespace, read)}
    espresso = rows["lexical::asset-library/custom/espresso/espresso_machine.usda"]
    assert espresso.category == "coffee_machine" and espresso.license == "CC-BY-4.0"
    assert espresso.source_generation == entries[1].generation
    bare = rows["lexical::asset-library/custom/Fridge-A.usd"]
    assert "fridge" in bare.description and bare.category == ""


def test_scene_rows_keep_a_computed_embedding_while_their_descriptor_holds(catalog: Catalog, namespace: str) -> None:
    row = CatalogRow(
        asset_id="text::s1::obj_001",
        namespace=namespace,
        kind=SCENE_OBJECT,
        path="scenes/s1/assets/obj_obj_001/model.usd",
        category="mug",
        descriptor="mug d",
        descriptor_hash="h1",
        extra={"scene_id": "s1"},
    )
    catalog.upsert([row], keep_embedding_if_same_descriptor=True)
    assert catalog.set_embedding(namespace, row.asset_id, np.ones(4, np.float32), "m1")
    catalog.upsert([row], keep_embedding_if_same_descriptor=True)
    kept = catalog.get(namespace, row.asset_id)
    assert kept is not None and kept.embedding_model == "m1" and kept.embedding is not None
    catalog.upsert([CatalogRow(**{**row.__dict__, "descriptor_hash": "h2"})], keep_embedding_if_same_descriptor=True)
    changed = catalog.get(namespace, row.asset_id)
    assert changed is not None and changed.embedding is None
    catalog.upsert_scene("s1", "scenes/s1/assets", [row.asset_id], "a kitchen", {"seed": 1})
    catalog.upsert_scene("s1", "scenes/s1/assets", [row.asset_id], "a kitchen, again", {"seed": 1})
    scene = catalog.scene("s1")
    assert scene is not None and scene["asset_ids"] == [row.asset_id] and scene["description"] == "a kitchen, again"


def test_namespaces_are_separate(catalog: Catalog, namespace: str) -> None:
    sync_library(catalog, package_entries()[:2], LocalHashEmbedder(), namespace, no_sidecar)
    sync_library(catalog, package_entries()[:1], LocalHashEmbedder(), namespace + "-b", no_sidecar)
    assert len(catalog.rows(namespace, LIBRARY)) == 2 and len(catalog.rows(namespace + "-b", LIBRARY)) == 1


def _fresh_databases(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    import sqlalchemy as sa

    if kind == "sqlite":
        for i in range(5):
            yield f"sqlite:///{tmp_path}/fresh{i}.sqlite"
        return
    postgres_url = request.getfixturevalue("postgres_url")
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    for _ in range(5):
        name = f"fresh_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    admin.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def test_workers_creating_the_tables_at_once_all_succeed(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A fresh database, several workers starting together: every one gets its tables."""
    import threading

    from bpflow.domain.retrieval.asset_catalog import engine_for

    for url in _fresh_databases(kind, tmp_path, request):
        catalogs = [Catalog(engine_for(url)) for _ in range(8)]
        barrier = threading.Barrier(len(catalogs))
        errors: list[BaseException] = []

        def create(cat: Catalog) -> None:
            barrier.wait()
            try:
                cat.ensure_schema()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(c,)) for c in catalogs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for cat in catalogs:
            cat.close()
        assert errors == []
