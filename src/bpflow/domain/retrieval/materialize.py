"""Per-object materialization: ``<assets>/obj_<id>/model.usd`` + ``metadata.json`` (+ the asset bundle).

The directory is ``obj_`` + the object id, whatever the id looks like (``obj_001`` gives
``obj_obj_001``): Stage 2 looks objects up as ``assets/obj_{id}`` (reference §6.2 / §4C).

A retrieved asset is copied next to the object (``retrieved_asset/``: the USD file, its
sibling USD files, texture folders, its metadata and licence) and referenced by a relative
path, so the object directory is self-contained: it opens with pxr from the bucket, from a
download, or from a replica. Every model is built in a scratch directory and measured with
pxr before anything is uploaded; a retrieved asset that does not compose to geometry of the
planned size is not used (the object gets a placeholder, reason ``retrieved_asset_unusable``).
"""

from __future__ import annotations

import json
import posixpath
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bpflow.core.storage import Bucket
from bpflow.domain.assets import is_package_ref, resolve_package_ref
from bpflow.domain.retrieval import usd_models
from bpflow.domain.retrieval.errors import AssetUnusable
from bpflow.domain.retrieval.library import USD_EXTENSIONS
from bpflow.domain.retrieval.planned_package import PackageObject
from bpflow.domain.retrieval.select import Candidate, Decision
from bpflow.domain.retrieval.validation import validate

THIN_COVERINGS = frozenset(
    {
        "rug",
        "mat",
        "poster",
        "painting",
        "curtain",
        "tablecloth",
        "placemat",
        "coaster",
        "doormat",
        "bathmat",
        "tapestry",
        "wall_art",
        "floor_mat",
        "mousepad",
    }
)
TEXTURE_DIRS = frozenset({"texture", "textures", "tex", "texutre", "materials"})
BUNDLE_EXTRAS = frozenset({"metadata.json", "license", "license.txt", "license.md"})
RETRIEVED_DIR = "retrieved_asset"


def object_dir(assets_prefix: str, object_id: str) -> str:
    return f"{assets_prefix}/obj_{object_id}"


def is_thin_covering(obj: PackageObject) -> bool:
    def norm(text: str) -> str:
        return text.strip().lower().replace(" ", "_")

    return norm(obj.category) in THIN_COVERINGS or norm(obj.name) in THIN_COVERINGS


@dataclass
class Materialized:
    """What was written for one object, and why (the provenance entry's content)."""

    obj: PackageObject
    dir_key: str
    source: str
    model_or_library: str
    materialization: str
    retrieval_method: str
    retrieval_mode: str | None
    source_path: str = ""
    fallback_reason: str | None = None
    semantic_score: float | None = None
    lexical_score: float | None = None
    library_asset_id: str | None = None
    license: str = ""
    validation: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    fit: dict[str, Any] | None = None
    """How a retrieved asset was mapped onto its slot (``usd_models.Fit``); None otherwise."""

    @property
    def model_key(self) -> str:
        return f"{self.dir_key}/model.usd"

    def provenance(self, scene_id: str) -> dict[str, Any]:
        return {
            "object_id": self.obj.id,
            "asset_id": f"text::{scene_id}::{self.obj.id}",
            "path": self.model_key,
            "source": self.source,
            "strategy": self.obj.asset_strategy,
            "model_or_library": self.model_or_library,
            "materialization": self.materialization,
            "source_path": self.source_path,
            "library_asset_id": self.library_asset_id,
            "license": self.license,
            "retrieval_method": self.retrieval_method,
            "retrieval_mode": self.retrieval_mode,
            "semantic_score": self.semantic_score,
            "lexical_score": self.lexical_score,
            "fallback_reason": self.fallback_reason,
            "asset_validation_score": (self.validation or {}).get("score"),
            "asset_validation_passed": (self.validation or {}).get("passed"),
            "files": list(self.files),
        }


class Materializer:
    """Writes object directories for one scene; scratch files live under ``workdir``."""

    def __init__(
        self,
        bucket: Bucket,
        assets_prefix: str,
        room_type: str,
        workdir: Path,
        *,
        soft_repair: bool = False,
        max_height: float | None = None,
    ) -> None:
        self.max_height = max_height
        self.bucket = bucket
        self.assets_prefix = assets_prefix
        self.room_type = room_type
        self.workdir = workdir
        self.soft_repair = soft_repair

    # -- bundles -------------------------------------------------------------------------------
    def _bundle(self, path: str) -> tuple[str, dict[str, bytes]]:
        """(main file name, {relative name: bytes}) of the asset at a library path."""
        if is_package_ref(path):
            main = resolve_package_ref(path)
            if main is None:
                raise AssetUnusable(f"packaged asset {path} is missing", field="path")
            files: dict[str, bytes] = {p.name: p.read_bytes() for p in sorted(main.parent.iterdir()) if p.is_file()}
            return main.name, files
        folder = posixpath.dirname(path)
        main_name = posixpath.basename(path)
        files = {}
        for info in self.bucket.list(folder + "/" if folder else ""):
            rel = info.key[len(folder) + 1 :] if folder else info.key
            parts = rel.split("/")
            sibling = len(parts) == 1 and (rel.lower().endswith(USD_EXTENSIONS) or rel.lower() in BUNDLE_EXTRAS)
            texture = len(parts) > 1 and parts[0].lower() in TEXTURE_DIRS
            if (sibling or texture) and not parts[0].startswith("."):
                files[rel] = self.bucket.read(info.key)
        if main_name not in files:
            raise AssetUnusable(f"library asset {path} no longer exists", field="path")
        return main_name, files

    # -- writing ----------------------------------------------------------------------------
    def _scratch(self, obj: PackageObject) -> Path:
        folder = self.workdir / f"obj_{obj.id}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return folder

    def _upload(self, item: Materialized, scratch: Path) -> Materialized:
        """Upload the scratch directory, then drop whatever an earlier run left in the object dir."""
        written = []
        for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
            key = f"{item.dir_key}/{path.relative_to(scratch).as_posix()}"
            self.bucket.write(
                key,
                path.read_bytes(),
                content_type="application/json" if key.endswith(".json") else "application/octet-stream",
            )
            written.append(key)
        for info in list(self.bucket.list(item.dir_key + "/")):
            if info.key not in written:
                self.bucket.delete(info.key)
        item.files = written
        return item

    def _metadata(self, item: Materialized) -> dict[str, Any]:
        w, h, d = item.obj.dimensions
        source: dict[str, Any] = {
            "type": "text",
            "asset_strategy": item.obj.asset_strategy,
            "materialization": item.materialization,
        }
        if item.source_path:
            source["asset_path"] = item.source_path
        out: dict[str, Any] = {
            "id": item.obj.id,
            "class_name": item.obj.class_name,
            "mesh_bounds": {"export": {"center": [0.0, 0.0, 0.0], "size": [w, h, d]}},
            "source": source,
        }
        if item.fit is not None:
            out["fit"] = item.fit
        if item.library_asset_id:
            out["asset"] = {
                "library_asset_id": item.library_asset_id,
                "license": item.license,
                "source_path": item.source_path,
            }
        return out

    def _finish(self, item: Materialized, scratch: Path, model_text: str, *, thin: bool = False) -> Materialized:
        model = scratch / "model.usd"
        model.write_text(model_text)
        usd_models.check_model(model, item.obj.dimensions, bottom_only=thin)
        (scratch / "metadata.json").write_text(json.dumps(self._metadata(item), indent=2, sort_keys=True) + "\n")
        return self._upload(item, scratch)

    def thin_covering(self, obj: PackageObject) -> Materialized:
        item = Materialized(
            obj,
            object_dir(self.assets_prefix, obj.id),
            source="generated",
            model_or_library="textgen_thin_covering",
            materialization="thin_covering_usd",
            retrieval_method="thin_covering",
            retrieval_mode=None,
            license="CC0-1.0",
        )
        return self._finish(item, self._scratch(obj), usd_models.thin_covering_usd(obj.dimensions), thin=True)

    def placeholder(self, obj: PackageObject, decision: Decision | None, reason: str | None = None) -> Materialized:
        method = decision.method if decision and decision.method != "none" else "placeholder"
        item = Materialized(
            obj,
            object_dir(self.assets_prefix, obj.id),
            source="retrieved" if obj.asset_strategy == "retrieved" else "generated",
            model_or_library="partnet_mobility" if obj.asset_strategy == "retrieved" else "textgen_placeholder",
            materialization="placeholder_usd",
            retrieval_method=method,
            retrieval_mode=decision.mode if decision else None,
            license="CC0-1.0",
            fallback_reason=reason or (decision.fallback_reason if decision else None) or "retrieval_miss_placeholder",
        )
        item.validation = validate(obj.category, obj.name, "", self.room_type, obj.dimensions, "placeholder_usd")
        return self._finish(item, self._scratch(obj), usd_models.placeholder_usd(obj.dimensions))

    def retrieved(self, obj: PackageObject, decision: Decision, candidate: Candidate) -> Materialized:
        """Copy and reference the chosen asset; AssetUnusable if it does not fit or compose."""
        main, files = self._bundle(candidate.path)
        scratch = self._scratch(obj)
        bundle_dir = scratch / RETRIEVED_DIR
        for rel, data in files.items():
            target = bundle_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        info = usd_models.inspect_asset(bundle_dir / main)
        how = usd_models.choose_fit(info, obj.dimensions, self.max_height)
        planned, obj = obj, replace(obj, dimensions=how.dims)
        item = Materialized(
            obj,
            object_dir(self.assets_prefix, obj.id),
            source="retrieved",
            model_or_library="text_asset_library",
            materialization="retrieved_asset_bundle",
            retrieval_method=decision.method,
            retrieval_mode=decision.mode,
            source_path=candidate.path,
            fallback_reason=decision.fallback_reason,
            semantic_score=decision.semantic_score,
            lexical_score=decision.lexical_score,
            library_asset_id=candidate.asset_id,
            license=str(candidate.metadata.get("license") or ""),
        )
        item.validation = validate(
            obj.category, obj.name, candidate.path, self.room_type, obj.dimensions, "retrieved_asset_bundle"
        )
        if self.soft_repair and not item.validation["passed"]:
            repaired = self.placeholder(planned, decision, "asset_validation_soft_repair")
            assert repaired.validation is not None
            repaired.validation.update({"soft_repair_applied": True, "passed": True, "status": "pass"})
            return repaired
        item.fit = how.to_dict()
        return self._finish(
            item, scratch, usd_models.reference_usd(f"{RETRIEVED_DIR}/{main}", info, obj.dimensions, how)
        )
