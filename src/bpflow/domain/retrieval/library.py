"""What retrieval can choose from: the packaged library, then the bucket's library prefixes.

Scan rules (reference §3.3, with this build's decisions):
- the packaged library comes first, in asset-id order, so it wins lexical ties;
- then every prefix of ``TEXT_ASSET_LIBRARY_PREFIXES`` in order, then the generated-asset
  cache prefix when the cache is enabled and not already listed;
- a bucket file counts if its extension is ``.usd``/``.usda``/``.usdz`` (any case) and its
  name does not start with ``.``; at most ``TEXT_ASSET_LIBRARY_MAX_FILES`` bucket files in all;
- **scene outputs are not library content**: nothing under ``scenes/<scene_id>/`` is indexed
  (the reference indexed other scenes' ``model.usd`` wrappers, whose relative references
  dangle once copied, and copies of library assets, which only duplicate the library).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bpflow.core.storage import Bucket
from bpflow.domain.assets import library_assets
from bpflow.domain.retrieval.tokenize import token_set

USD_EXTENSIONS = (".usd", ".usda", ".usdz")
SCENE_OUTPUT = re.compile(r"^scenes/[^/]+/")


@dataclass(frozen=True)
class LibraryEntry:
    """One retrievable USD file. ``path`` is a ``package://`` reference or a bucket key."""

    path: str
    tokens: frozenset[str]
    origin: str  # "package" | "bucket"
    asset_id: str
    category: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    sim_roles: tuple[str, ...] = ()
    dimensions: tuple[float, float, float] | None = None
    license: str = ""
    generation: int = 0
    sidecar: str | None = field(default=None, compare=False)
    """Bucket key of a ``metadata.json`` beside the file, when there is one."""


def package_entries() -> list[LibraryEntry]:
    out = []
    for asset in library_assets():
        toks = token_set(asset.asset_id, asset.category, *asset.tags, f"{asset.asset_id}/{asset.file}")
        out.append(
            LibraryEntry(
                path=asset.ref,
                tokens=frozenset(toks),
                origin="package",
                asset_id=f"library::{asset.asset_id}",
                category=asset.category,
                tags=asset.tags,
                description=asset.description,
                sim_roles=asset.sim_roles,
                dimensions=asset.dimensions,
                license=asset.license,
            )
        )
    return out


def library_roots(prefixes: Iterable[str], cache_prefix: str | None) -> list[str]:
    roots = [p.strip().strip("/") for p in prefixes if p and p.strip().strip("/")]
    cache = (cache_prefix or "").strip().strip("/")
    if cache and cache not in roots:
        roots.append(cache)
    return roots


def is_library_file(key: str) -> bool:
    name = posixpath.basename(key)
    return bool(name) and not name.startswith(".") and name.lower().endswith(USD_EXTENSIONS)


def bucket_entries(bucket: Bucket, roots: Iterable[str], max_files: int) -> list[LibraryEntry]:
    out: list[LibraryEntry] = []
    seen: set[str] = set()
    for root in roots:
        listing = list(bucket.list(root + "/"))
        keys = {info.key for info in listing}
        for info in listing:
            if len(out) >= max_files:
                return out
            key = info.key
            if key in seen or SCENE_OUTPUT.match(key) or not is_library_file(key):
                continue
            seen.add(key)
            stem = posixpath.splitext(posixpath.basename(key))[0]
            sidecar = posixpath.join(posixpath.dirname(key), "metadata.json")
            out.append(
                LibraryEntry(
                    path=key,
                    tokens=frozenset(token_set(stem, key)),
                    origin="bucket",
                    asset_id=f"lexical::{key}",
                    generation=info.generation,
                    sidecar=sidecar if sidecar in keys else None,
                )
            )
    return out


def scan_library(
    bucket: Bucket, *, prefixes: Iterable[str], cache_prefix: str | None, max_files: int, enabled: bool = True
) -> list[LibraryEntry]:
    """The whole index in scan order; empty when retrieval is disabled."""
    if not enabled:
        return []
    return package_entries() + bucket_entries(bucket, library_roots(prefixes, cache_prefix), max(1, max_files))
