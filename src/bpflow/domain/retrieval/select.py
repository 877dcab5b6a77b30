"""One retrieval decision per object: lexical and ANN candidates, combined by rollout mode.

Modes (reference §3.7):

| mode | ANN attempted | serves | fallback_reason |
|---|---|---|---|
| ``lexical_primary`` | no | lexical, else nothing | – |
| ``ann_shadow`` | yes | lexical, else ANN top | ``lexical_miss`` |
| ``ann_primary`` | yes | ANN top, else lexical | ``ann_unavailable_or_no_match`` |

The lexical candidate is computed in every mode when ``TEXT_ASSET_LEXICAL_FALLBACK_ENABLED``
is on, and never when it is off. ANN errors are recorded in the decision, never raised.

Duplicates: an asset already used by another object of the scene is passed over unless
``TEXT_ASSET_ALLOW_DUPLICATE_PATHS``. When every match is already used, the decision is taken
again with used assets allowed (``duplicate_reused``): a second mug from the library beats a
placeholder box, which is what the reference's exclusion produced with a small library.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from bpflow.core.storage import bucket_key
from bpflow.domain.retrieval.ann import AnnIndex
from bpflow.domain.retrieval.asset_catalog import CatalogRow
from bpflow.domain.retrieval.embeddings import Embedder
from bpflow.domain.retrieval.lexical import LexicalHit, choose
from bpflow.domain.retrieval.library import LibraryEntry
from bpflow.domain.retrieval.planned_package import PackageObject
from bpflow.domain.retrieval.tokenize import jaccard, token_set, tokens

MODES = ("lexical_primary", "ann_shadow", "ann_primary")
ARTICULATED_ROLES = frozenset({"articulated_furniture", "articulated_appliance", "interactive"})
HAND_HELD_ROLES = frozenset({"manipulable_object", "deformable_object", "clutter"})


def normalize_mode(mode: str | None) -> str:
    """An unknown mode becomes ``ann_shadow``, as the reference's retrieval service does."""
    value = (mode or "").strip().lower()
    return value if value in MODES else "ann_shadow"


@dataclass(frozen=True)
class RetrievalSettings:
    mode: str = "ann_shadow"
    ann_enabled: bool = True
    lexical_enabled: bool = True
    library_min_score: float = 0.25
    ann_top_k: int = 40
    ann_min_score: float = 0.28
    ann_max_rerank: int = 20
    allow_duplicate_paths: bool = False
    clip_rerank: bool = False
    articulated_priority: bool = True


@dataclass(frozen=True)
class QuerySpec:
    """Reference §3.5: what the ANN path is asked."""

    category: str
    name: str
    description: str
    sim_role: str
    articulation_required: bool
    dimensions: tuple[float, float, float]
    tags: tuple[str, ...]
    query_text: str


def query_spec(obj: PackageObject, room_type: str) -> QuerySpec:
    category = obj.category or obj.name
    name = obj.name or category
    parts = [
        f"room:{room_type}" if room_type else "",
        f"object:{name}" if name else "",
        f"category:{category}" if category else "",
        f"sim_role:{obj.sim_role}",
        "articulation_required" if obj.articulation_required else "",
        obj.description,
    ]
    return QuerySpec(
        category=category,
        name=name,
        description=obj.description,
        sim_role=obj.sim_role,
        articulation_required=obj.articulation_required,
        dimensions=obj.dimensions,
        tags=(category, name, obj.sim_role, room_type),
        query_text=" ".join(p for p in parts if p),
    )


@dataclass
class Candidate:
    asset_id: str
    path: str
    source: str  # "lexical" | "ann"
    semantic_score: float = 0.0
    lexical_score: float = 0.0
    class_role_score: float = 0.0
    dimension_score: float = 0.5
    bbox_l1_score: float = 0.5
    clip_score: float = 0.0
    articulation_bonus: float = 0.0
    total_score: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def r(v: float) -> float:
            return round(v, 6)

        return {
            "asset_id": self.asset_id,
            "path": self.path,
            "source": self.source,
            "semantic_score": r(self.semantic_score),
            "lexical_score": r(self.lexical_score),
            "class_role_score": r(self.class_role_score),
            "dimension_score": r(self.dimension_score),
            "bbox_l1_score": r(self.bbox_l1_score),
            "clip_score": r(self.clip_score),
            "articulation_bonus": r(self.articulation_bonus),
            "total_score": r(self.total_score),
            "metadata": self.metadata,
        }


@dataclass
class Decision:
    mode: str
    method: str = "none"  # "ann" | "lexical" | "none"
    candidate_count: int = 0
    latency_ms: float = 0.0
    ann_attempted: bool = False
    ann_candidate_count: int = 0
    ann_latency_ms: float = 0.0
    ann_error: str | None = None
    lexical_attempted: bool = False
    lexical_latency_ms: float = 0.0
    fallback_reason: str | None = None
    selected: Candidate | None = None
    ann_top_candidate: Candidate | None = None
    lexical_candidate: Candidate | None = None
    shadow_agreement: bool | None = None
    duplicate_reused: bool = False

    @property
    def semantic_score(self) -> float | None:
        return round(self.selected.semantic_score, 6) if self.selected else None

    @property
    def lexical_score(self) -> float | None:
        return round(self.selected.lexical_score, 6) if self.selected else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "method": self.method,
            "candidate_count": self.candidate_count,
            "latency_ms": round(self.latency_ms, 4),
            "ann_attempted": self.ann_attempted,
            "ann_candidate_count": self.ann_candidate_count,
            "ann_latency_ms": round(self.ann_latency_ms, 4),
            "ann_error": self.ann_error,
            "lexical_attempted": self.lexical_attempted,
            "lexical_latency_ms": round(self.lexical_latency_ms, 4),
            "fallback_reason": self.fallback_reason,
            "semantic_score": self.semantic_score,
            "lexical_score": self.lexical_score,
            "selected": self.selected.to_dict() if self.selected else None,
            "ann_top_candidate": self.ann_top_candidate.to_dict() if self.ann_top_candidate else None,
            "lexical_candidate": self.lexical_candidate.to_dict() if self.lexical_candidate else None,
            "shadow_agreement": self.shadow_agreement,
            "duplicate_reused": self.duplicate_reused,
        }


class AnnSearcher:
    """The ANN side of retrieval: an embedder plus an index over catalog rows.

    Built once per run. When the catalog or the embedder could not be set up, it carries the
    reason instead, and every ANN attempt of the run reports it as its error (non-fatal).
    """

    def __init__(self, embedder: Embedder | None, index: AnnIndex[CatalogRow] | None, error: str | None = None) -> None:
        self.embedder = embedder
        self.index = index
        self.error = error
        self._cache: dict[str, list[tuple[CatalogRow, float]]] = {}

    def search(self, text: str, top_k: int) -> list[tuple[CatalogRow, float]]:
        if self.error is not None or self.embedder is None or self.index is None:
            raise RuntimeError(self.error or "ann index unavailable")
        key = f"{top_k}|{text}"
        if key not in self._cache:
            self._cache[key] = self.index.search(self.embedder.embed([text.strip()])[0], top_k)
        return self._cache[key]


# -- scoring ---------------------------------------------------------------------------------------


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _dims(row: CatalogRow) -> tuple[float, float, float] | None:
    dims = row.dims or {}
    try:
        w, h, d = (float(dims.get(k, dims.get(f"{k}_m", 0.0))) for k in ("width", "height", "depth"))
    except (TypeError, ValueError):
        return None
    return (w, h, d) if all(math.isfinite(v) and v > 0 for v in (w, h, d)) else None


def dimension_score(target: tuple[float, float, float], cand: tuple[float, float, float] | None) -> float:
    if cand is None:
        return 0.5
    diffs = [abs(c - t) / max(t, c, 1e-6) for c, t in zip(cand, target, strict=True)]
    return _clamp(1.0 - sum(diffs) / 3.0)


def bbox_l1_score(target: tuple[float, float, float], cand: tuple[float, float, float] | None) -> float:
    if cand is None:
        return 0.5
    return _clamp(1.0 - sum(abs(c - t) for c, t in zip(cand, target, strict=True)) / max(0.1, sum(target)))


def rerank(query: QuerySpec, row: CatalogRow, semantic: float, settings: RetrievalSettings) -> Candidate:
    """Reference §3.6 step 4: the component scores and the total of one ANN candidate."""
    qtokens = set(tokens(query.query_text))
    ctokens = token_set(row.asset_id, row.category, row.description, row.path, *row.sim_roles, *row.tags)
    lexical = jaccard(qtokens, ctokens)
    cls = 1.0 if row.category and row.category.lower() in (query.category.lower(), query.name.lower()) else lexical
    roles = {r.lower() for r in row.sim_roles}
    role = 0.6 if not roles else 1.0 if query.sim_role.lower() in roles else 0.0
    class_role = 0.6 * cls + 0.4 * role
    dims = _dims(row)
    dim = dimension_score(query.dimensions, dims)
    bbox = bbox_l1_score(query.dimensions, dims)
    clip = jaccard(qtokens, ctokens) if settings.clip_rerank else 0.0
    bonus = 0.0
    if settings.articulated_priority and query.articulation_required:
        bonus = 0.08 if roles & ARTICULATED_ROLES else -0.04
    if settings.clip_rerank:
        total = 0.45 * semantic + 0.20 * class_role + 0.10 * dim + 0.20 * clip + 0.05 * bbox + bonus
    else:
        total = 0.7 * semantic + 0.2 * class_role + 0.1 * dim + bonus
    return Candidate(
        asset_id=row.asset_id,
        path=row.path,
        source="ann",
        semantic_score=semantic,
        lexical_score=lexical,
        class_role_score=class_role,
        dimension_score=dim,
        bbox_l1_score=bbox,
        clip_score=clip,
        articulation_bonus=bonus,
        total_score=total,
        metadata={
            "source": "ann",
            "class_name": row.category,
            "sim_roles": list(row.sim_roles),
            "kind": row.kind,
            "license": row.license,
        },
    )


def resolve_path(path: str) -> str:
    """A catalog path as a library path: ``gs://bucket/key`` → ``key``; others unchanged."""
    return bucket_key(path, ("gs://", "s3://"))


def ann_candidates(
    query: QuerySpec,
    searcher: AnnSearcher,
    settings: RetrievalSettings,
    used: Collection[str],
    exists: Callable[[str], bool],
) -> list[Candidate]:
    out: list[Candidate] = []
    for row, score in searcher.search(query.query_text, settings.ann_top_k):
        path = resolve_path(row.path)
        if not path or path.startswith("/") or path in used or not exists(path):
            continue
        semantic = _clamp(score)
        if semantic < settings.ann_min_score:
            continue
        cand = rerank(query, row, semantic, settings)
        cand.path = path
        out.append(cand)
    out.sort(key=lambda c: -c.total_score)
    return out[: settings.ann_max_rerank]


def lexical_candidate(hit: LexicalHit) -> Candidate:
    entry = hit.entry
    score = _clamp(hit.score)
    return Candidate(
        asset_id=entry.asset_id,
        path=entry.path,
        source="lexical",
        lexical_score=score,
        class_role_score=1.0,
        dimension_score=0.5,
        total_score=score,
        metadata={
            "source": "lexical",
            "path_rel": entry.path,
            "class_name": entry.category,
            "sim_roles": list(entry.sim_roles),
            "license": entry.license,
        },
    )


# -- the decision ----------------------------------------------------------------------------------


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _decide(
    obj: PackageObject,
    query: QuerySpec,
    entries: Sequence[LibraryEntry],
    searcher: AnnSearcher | None,
    settings: RetrievalSettings,
    used: Collection[str],
    exists: Callable[[str], bool],
) -> Decision:
    started = time.perf_counter()
    decision = Decision(mode=settings.mode)
    lexical: Candidate | None = None
    if settings.lexical_enabled:
        decision.lexical_attempted = True
        t0 = time.perf_counter()
        hit = choose(entries, obj.category or "object", obj.name, used_paths=used, min_score=settings.library_min_score)
        if hit is not None and exists(hit.entry.path):
            lexical = lexical_candidate(hit)
        decision.lexical_latency_ms = _ms(t0)
    ann: list[Candidate] = []
    if settings.ann_enabled and settings.mode in ("ann_shadow", "ann_primary"):
        decision.ann_attempted = True
        t0 = time.perf_counter()
        try:
            if searcher is None:
                raise RuntimeError("ann index unavailable")
            ann = ann_candidates(query, searcher, settings, used, exists)
        except Exception as exc:  # noqa: BLE001 - reference: ANN failures are recorded, never fatal
            decision.ann_error = f"ann_query_failed:{exc}"
            ann = []
        decision.ann_latency_ms = _ms(t0)
    decision.ann_candidate_count = len(ann)
    decision.ann_top_candidate = ann[0] if ann else None
    decision.lexical_candidate = lexical
    decision.candidate_count = len(ann) + (1 if lexical else 0)
    top = decision.ann_top_candidate
    if settings.mode == "ann_primary":
        _prefer(decision, (top, "ann"), (lexical, "lexical"), "ann_unavailable_or_no_match")
    elif settings.mode == "ann_shadow":
        _prefer(decision, (lexical, "lexical"), (top, "ann"), "lexical_miss")
        if lexical is not None and top is not None:
            decision.shadow_agreement = top.path == lexical.path
    elif lexical is not None:
        decision.selected, decision.method = lexical, "lexical"
    decision.latency_ms = _ms(started)
    return decision


def _prefer(
    decision: Decision, first: tuple[Candidate | None, str], then: tuple[Candidate | None, str], fallback_reason: str
) -> None:
    """Select the mode's own candidate, else the other one, saying why it fell back."""
    (candidate, method), (other, other_method) = first, then
    if candidate is not None:
        decision.selected, decision.method = candidate, method
    elif other is not None:
        decision.selected, decision.method = other, other_method
        decision.fallback_reason = fallback_reason


def _word(text: str) -> str:
    return "_".join(tokens(text)) if text else ""


def honours_kind(candidate: Candidate, obj: PackageObject, entries: Sequence[LibraryEntry]) -> bool:
    """Whether the candidate is the planned kind of thing: its category or one of its tags is the
    object's category or name (``mug_002`` counts as ``mug``)."""
    entry = next((e for e in entries if e.path == candidate.path), None)
    names = {_word(str(candidate.metadata.get("class_name") or ""))}
    if entry is not None:
        names |= {_word(entry.category), *(_word(t) for t in entry.tags)}
    base = obj.name.rsplit("_", 1)[0] if obj.name.rsplit("_", 1)[-1].isdigit() else obj.name
    wanted = {_word(obj.category), _word(obj.name), _word(base)} - {""}
    return bool(wanted & names)


def select_asset(
    obj: PackageObject,
    room_type: str,
    entries: Sequence[LibraryEntry],
    searcher: AnnSearcher | None,
    settings: RetrievalSettings,
    used_paths: Collection[str],
    exists: Callable[[str], bool],
) -> Decision:
    """The decision for one object (see the module docstring for the duplicate rule)."""
    query = query_spec(obj, room_type)
    used = () if settings.allow_duplicate_paths else used_paths
    decision = _decide(obj, query, entries, searcher, settings, used, exists)
    if (
        decision.selected is not None
        and used
        and obj.sim_role not in HAND_HELD_ROLES
        and not honours_kind(decision.selected, obj, entries)
    ):
        # furniture and appliances: the right kind of thing already used beats a different kind
        # (a second washer, not a dishwasher standing in for one; a chair, not a stool). A small
        # hand-held thing may still take a similar stand-in (a glass for a third mug).
        again = _decide(obj, query, entries, searcher, settings, (), exists)
        if again.selected is not None and honours_kind(again.selected, obj, entries):
            again.duplicate_reused = True
            again.latency_ms += decision.latency_ms
            return again
    if decision.selected is None and used:
        again = _decide(obj, query, entries, searcher, settings, (), exists)
        if again.selected is not None:
            again.duplicate_reused = True
            again.latency_ms += decision.latency_ms
            return again
    return decision
