"""The asset library shipped inside the package.

Retrieval needs something real to retrieve on a laptop with no asset store configured, so a
small CC0 library of procedurally built USD assets (see ``build_library``) ships with bpflow.
Each asset lives in ``library/<asset_id>/`` as ``<asset_id>.usda`` + ``metadata.json`` +
``LICENSE``.

Library assets are addressed by a reference string ``package://bpflow/assets/library/<asset_id>/<file>``
rather than a bucket key: the job never writes the library into a bucket (it writes only under
its scene), it copies the chosen asset next to the object that uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
PACKAGE_SCHEME = "package://bpflow/assets/library/"


@dataclass(frozen=True)
class LibraryAsset:
    """One packaged asset, as its ``metadata.json`` describes it."""

    asset_id: str
    category: str
    tags: tuple[str, ...]
    description: str
    sim_roles: tuple[str, ...]
    dimensions: tuple[float, float, float]
    material: str
    license: str
    author: str
    folder: Path
    file: str

    @property
    def usd_path(self) -> Path:
        return self.folder / self.file

    @property
    def ref(self) -> str:
        """The library path of the asset's USD file, as it appears in catalogs and reports."""
        return f"{PACKAGE_SCHEME}{self.asset_id}/{self.file}"


def _load(folder: Path) -> LibraryAsset:
    meta = json.loads((folder / "metadata.json").read_text())
    dims = meta["dimensions"]
    return LibraryAsset(
        asset_id=meta["asset_id"],
        category=meta["category"],
        tags=tuple(meta.get("tags", ())),
        description=meta.get("description", ""),
        sim_roles=tuple(meta.get("sim_roles", ())),
        dimensions=(float(dims["width"]), float(dims["height"]), float(dims["depth"])),
        material=meta.get("material", ""),
        license=meta.get("license", ""),
        author=meta.get("author", ""),
        folder=folder,
        file=meta["file"],
    )


@lru_cache(maxsize=1)
def library_assets() -> tuple[LibraryAsset, ...]:
    """Every packaged asset, ordered by asset id (the library's scan order)."""
    if not LIBRARY_DIR.is_dir():
        return ()
    folders = sorted(p for p in LIBRARY_DIR.iterdir() if (p / "metadata.json").is_file())
    return tuple(_load(folder) for folder in folders)


def is_package_ref(path: str) -> bool:
    return path.startswith(PACKAGE_SCHEME)


def resolve_package_ref(ref: str) -> Path | None:
    """The file a ``package://`` reference names, or None if it is not a packaged file.

    References come from the catalog database, which anyone with access may have edited, so a
    reference that climbs out of the library folder resolves to nothing.
    """
    if not is_package_ref(ref):
        return None
    rel = ref[len(PACKAGE_SCHEME) :]
    if not rel or rel.startswith("/") or any(seg in ("", ".", "..") for seg in rel.split("/")):
        return None
    path = LIBRARY_DIR / rel
    return path if path.is_file() else None


__all__ = ["LIBRARY_DIR", "PACKAGE_SCHEME", "LibraryAsset", "is_package_ref", "library_assets", "resolve_package_ref"]
