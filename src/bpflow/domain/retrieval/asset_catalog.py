"""The asset catalog: one row per asset, in the database at ``BPFLOW_DATABASE_URL``.

Why the database (and not a file in the bucket): every worker of a PostgreSQL deployment
already shares that database, so a catalog held there is one catalog for all of them, updated
transactionally (upserts), and the ANN index can be rebuilt from it by any worker at the start
of a run. With the embedded default it is the same SQLite file the runtime uses.

Two tables, created when missing:
- ``bpflow_asset_catalog``: library assets (``kind = library``: the packaged library and the
  bucket's library prefixes, with their embedding) and the objects of adapted scenes
  (``kind = scene_object``, asset id ``text::<scene>::<object>``, published at the end of a run,
  embedded later by the embedding queue's consumer);
- ``bpflow_scene_catalog``: one row per adapted scene.

Rows are keyed by (namespace, asset id): the namespace is the vector namespace
(``TEXT_ASSET_ANN_NAMESPACE``), so a new namespace (say, for another embedding model) starts
beside the old one instead of overwriting it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bpflow.core.errors import ConfigError
from bpflow.domain.retrieval.embeddings import Embedder, as_blob, from_blob
from bpflow.domain.retrieval.library import LibraryEntry

ASSETS_TABLE = "bpflow_asset_catalog"
SCENES_TABLE = "bpflow_scene_catalog"
LIBRARY = "library"
SCENE_OBJECT = "scene_object"

metadata = sa.MetaData()
assets_table = sa.Table(
    ASSETS_TABLE,
    metadata,
    sa.Column("namespace", sa.String(128), primary_key=True),
    sa.Column("asset_id", sa.String(1100), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("category", sa.String(256), nullable=False, default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("path", sa.String(1100), nullable=False),
    sa.Column("dims", sa.JSON, nullable=True),
    sa.Column("license", sa.String(64), nullable=False, default=""),
    sa.Column("sim_roles", sa.JSON, nullable=False),
    sa.Column("source", sa.String(64), nullable=False, default=""),
    sa.Column("source_generation", sa.BigInteger, nullable=False, default=0),
    sa.Column("descriptor", sa.Text, nullable=False, default=""),
    sa.Column("descriptor_hash", sa.String(64), nullable=False, default=""),
    sa.Column("embedding", sa.LargeBinary, nullable=True),
    sa.Column("embedding_model", sa.String(128), nullable=True),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
scenes_table = sa.Table(
    SCENES_TABLE,
    metadata,
    sa.Column("scene_id", sa.String(256), primary_key=True),
    sa.Column("assets_prefix", sa.String(1100), nullable=False),
    sa.Column("asset_ids", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


@dataclass(frozen=True)
class CatalogRow:
    asset_id: str
    namespace: str
    kind: str
    path: str
    category: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    dims: dict[str, float] | None = None
    license: str = ""
    sim_roles: tuple[str, ...] = ()
    source: str = ""
    source_generation: int = 0
    descriptor: str = ""
    descriptor_hash: str = ""
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)
    embedding_model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def descriptor_of(category: str, description: str, sim_roles: Iterable[str], tags: Iterable[str]) -> str:
    """What gets embedded for a library asset: its class, words, roles and tags (reference §2.2
    without the scene prompt, which a library asset does not have)."""
    parts = [category, description, " ".join(sim_roles), " ".join(tags)]
    return " ".join(p.strip() for p in parts if p and p.strip())


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def engine_for(url: str) -> Engine:
    """An engine for ``BPFLOW_DATABASE_URL``: psycopg 3 for PostgreSQL, a 30 s busy wait for SQLite
    (the runtime may be writing the same file)."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    if url.startswith("sqlite"):
        # sqlite:///rel/file is relative to the working directory, sqlite:////abs/file absolute.
        path = url.split("://", 1)[1].split("?", 1)[0].removeprefix("/")
        if path not in ("", ":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(url, connect_args={"timeout": 30})
    return sa.create_engine(url)


def _to_row(record: sa.Row[Any]) -> CatalogRow:
    data = record._mapping
    blob = data["embedding"]
    return CatalogRow(
        asset_id=data["asset_id"],
        namespace=data["namespace"],
        kind=data["kind"],
        path=data["path"],
        category=data["category"] or "",
        tags=tuple(data["tags"] or ()),
        description=data["description"] or "",
        dims=data["dims"],
        license=data["license"] or "",
        sim_roles=tuple(data["sim_roles"] or ()),
        source=data["source"] or "",
        source_generation=int(data["source_generation"] or 0),
        descriptor=data["descriptor"] or "",
        descriptor_hash=data["descriptor_hash"] or "",
        embedding=from_blob(blob) if blob else None,
        embedding_model=data["embedding_model"],
        extra=dict(data["extra"] or {}),
    )


def _to_record(row: CatalogRow, now: str) -> dict[str, Any]:
    return {
        "asset_id": row.asset_id,
        "namespace": row.namespace,
        "kind": row.kind,
        "category": row.category,
        "tags": list(row.tags),
        "description": row.description,
        "path": row.path,
        "dims": row.dims,
        "license": row.license,
        "sim_roles": list(row.sim_roles),
        "source": row.source,
        "source_generation": row.source_generation,
        "descriptor": row.descriptor,
        "descriptor_hash": row.descriptor_hash,
        "embedding": as_blob(row.embedding) if row.embedding is not None else None,
        "embedding_model": row.embedding_model if row.embedding is not None else None,
        "extra": row.extra,
        "updated_at": now,
    }


class Catalog:
    """The catalog tables on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Catalog:
        catalog = cls(engine_for(url))
        catalog.ensure_schema()
        return catalog

    def close(self) -> None:
        self.engine.dispose()

    def ensure_schema(self) -> None:
        """Create the tables if missing; workers racing to create them all succeed.

        ``checkfirst`` then ``CREATE`` is not atomic: another process may create a table (or its
        type, on PostgreSQL) in between. Each such loss means someone else made progress, so
        trying again, up to once per object, always ends with every table there.
        """
        attempts = len(metadata.sorted_tables) * 2 + 2
        for attempt in range(attempts):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                return
            except sa.exc.DBAPIError:
                if attempt == attempts - 1:
                    raise

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            return postgresql_insert
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert
        # pragma: no cover - only the two databases bpflow runs on
        raise ConfigError(
            f"the asset catalog needs SQLite or PostgreSQL, not {self.engine.dialect.name}", field="BPFLOW_DATABASE_URL"
        )

    def upsert(self, rows: Sequence[CatalogRow], *, keep_embedding_if_same_descriptor: bool = False) -> int:
        """Insert or replace rows by asset id.

        With ``keep_embedding_if_same_descriptor`` an existing embedding survives when the
        descriptor did not change: republishing a scene must not throw away the vector the
        embedding consumer computed for it.
        """
        if not rows:
            return 0
        now = _now()
        insert = self._insert()
        stmt = insert(assets_table)
        update = {
            c.name: stmt.excluded[c.name] for c in assets_table.columns if c.name not in ("namespace", "asset_id")
        }
        if keep_embedding_if_same_descriptor:
            same = assets_table.c.descriptor_hash == stmt.excluded.descriptor_hash
            for name in ("embedding", "embedding_model"):
                update[name] = sa.case((same, assets_table.c[name]), else_=stmt.excluded[name])
        stmt = stmt.on_conflict_do_update(index_elements=["namespace", "asset_id"], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt, [_to_record(r, now) for r in rows])
        return len(rows)

    def upsert_scene(
        self, scene_id: str, assets_prefix: str, asset_ids: Sequence[str], description: str, extra: dict[str, Any]
    ) -> None:
        insert = self._insert()
        record = {
            "scene_id": scene_id,
            "assets_prefix": assets_prefix,
            "asset_ids": list(asset_ids),
            "description": description,
            "extra": extra,
            "updated_at": _now(),
        }
        stmt = insert(scenes_table).values(record)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scene_id"], set_={k: stmt.excluded[k] for k in record if k != "scene_id"}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def rows(self, namespace: str | None = None, kind: str | None = None) -> list[CatalogRow]:
        query = sa.select(assets_table).order_by(assets_table.c.asset_id)
        if namespace is not None:
            query = query.where(assets_table.c.namespace == namespace)
        if kind is not None:
            query = query.where(assets_table.c.kind == kind)
        with self.engine.connect() as conn:
            return [_to_row(r) for r in conn.execute(query)]

    def get(self, namespace: str, asset_id: str) -> CatalogRow | None:
        query = sa.select(assets_table).where(
            assets_table.c.namespace == namespace, assets_table.c.asset_id == asset_id
        )
        with self.engine.connect() as conn:
            record = conn.execute(query).first()
        return _to_row(record) if record is not None else None

    def scene(self, scene_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            record = conn.execute(sa.select(scenes_table).where(scenes_table.c.scene_id == scene_id)).first()
        return dict(record._mapping) if record is not None else None

    def set_embedding(self, namespace: str, asset_id: str, vector: np.ndarray, model: str) -> bool:
        """Store an embedding computed elsewhere (the embedding queue's consumer)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(assets_table)
                .where(assets_table.c.namespace == namespace, assets_table.c.asset_id == asset_id)
                .values(embedding=as_blob(vector), embedding_model=model, updated_at=_now())
            )
        return bool(result.rowcount)


# -- library rows --------------------------------------------------------------------------------

SidecarReader = Callable[[LibraryEntry], dict[str, Any] | None]


def library_row(entry: LibraryEntry, namespace: str, sidecar: dict[str, Any] | None = None) -> CatalogRow:
    """The catalog row describing a library entry (bucket entries enriched by their metadata.json)."""
    meta = sidecar or {}
    category = str(meta.get("category") or entry.category or "")
    tags = tuple(str(t) for t in meta.get("tags") or entry.tags)
    description = str(meta.get("description") or entry.description or "")
    roles = tuple(str(r) for r in meta.get("sim_roles") or entry.sim_roles)
    dims_src = meta.get("dimensions")
    dims: dict[str, float] | None = None
    if isinstance(dims_src, dict):
        try:
            dims = {k: float(dims_src[k]) for k in ("width", "height", "depth")}
        except (KeyError, TypeError, ValueError):
            dims = None
    elif entry.dimensions is not None:
        dims = dict(zip(("width", "height", "depth"), entry.dimensions, strict=True))
    if not (category or description or tags):
        # A bare USD file: its words are all we know (``asset-library/kitchen/Fridge-A.usd``).
        description = " ".join(sorted(entry.tokens - {"usd", "usda", "usdz"}))
    descriptor = descriptor_of(category, description, roles, tags)
    return CatalogRow(
        asset_id=entry.asset_id,
        namespace=namespace,
        kind=LIBRARY,
        path=entry.path,
        category=category,
        tags=tags,
        description=description,
        dims=dims,
        license=str(meta.get("license") or entry.license or ""),
        sim_roles=roles,
        source=entry.origin,
        source_generation=entry.generation,
        descriptor=descriptor,
        descriptor_hash=sha256(descriptor),
    )


def embed_rows(rows: Sequence[CatalogRow], embedder: Embedder) -> list[CatalogRow]:
    if not rows:
        return []
    vectors = embedder.embed([r.descriptor for r in rows])
    return [replace(r, embedding=v, embedding_model=embedder.model) for r, v in zip(rows, vectors, strict=True)]


def _current(existing: CatalogRow | None, wanted: CatalogRow, model: str) -> bool:
    return (
        existing is not None
        and existing.embedding is not None
        and existing.embedding_model == model
        and existing.descriptor_hash == wanted.descriptor_hash
        and existing.path == wanted.path
        and existing.source_generation == wanted.source_generation
    )


def sync_library(
    catalog: Catalog, entries: Sequence[LibraryEntry], embedder: Embedder, namespace: str, read_sidecar: SidecarReader
) -> list[CatalogRow]:
    """Bring the catalog's library rows up to date with this scan; return every library row of
    the namespace embedded by ``embedder`` (rows other workers added included).

    Only rows that are new or changed are embedded and written, so a steady-state run reads
    the catalog and writes nothing. Rows embedded by another model are re-embedded from their
    stored descriptor, so switching the embedder heals the whole catalog in one run.
    """
    existing = {r.asset_id: r for r in catalog.rows(namespace, LIBRARY)}
    stale: list[CatalogRow] = []
    for entry in entries:
        old = existing.get(entry.asset_id)
        if entry.origin == "bucket" and old is not None and old.source_generation == entry.generation:
            wanted = replace(old, path=entry.path)  # unchanged object: no need to re-read its metadata
        else:
            wanted = library_row(entry, namespace, read_sidecar(entry) if entry.sidecar else None)
        if not _current(old, wanted, embedder.model):
            stale.append(wanted)
    scanned = {r.asset_id for r in stale}
    stale += [r for r in existing.values() if r.asset_id not in scanned and r.embedding_model != embedder.model]
    catalog.upsert(embed_rows(stale, embedder))
    return [
        r for r in catalog.rows(namespace, LIBRARY) if r.embedding is not None and r.embedding_model == embedder.model
    ]


def memory_library(
    entries: Sequence[LibraryEntry], embedder: Embedder, namespace: str, read_sidecar: SidecarReader
) -> list[CatalogRow]:
    """The same rows without a database (``TEXT_ASSET_CATALOG_ENABLED=false``)."""
    rows = [library_row(e, namespace, read_sidecar(e) if e.sidecar else None) for e in entries]
    return embed_rows(rows, embedder)
