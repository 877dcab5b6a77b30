"""Lexical retrieval (reference §3.4): the share of query terms found in a library entry's tokens.

Query terms are the tokens of the object's category and name, plus the category's synonyms
when the whole category is a key of the table below. The best entry at or above the minimum
score wins; a score of 0 never wins. Ties: an entry whose own category equals the object's
name, then one whose category equals the object's category, then the earliest in scan order
(the reference used scan order alone, which let a desk win "table" because both score 1/3).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bpflow.domain.retrieval.library import LibraryEntry
from bpflow.domain.retrieval.tokenize import tokens

SYNONYMS: dict[str, tuple[str, ...]] = {
    "refrigerator": ("fridge", "refrigerator"),
    "cabinet": ("cabinet", "drawer", "closet", "wardrobe"),
    "counter": ("counter", "island", "worktop"),
    "table": ("table", "desk", "workbench"),
    "sink": ("sink", "basin"),
    "mug": ("mug", "cup", "glass"),
    "plate": ("plate", "dish", "tray"),
    "bottle": ("bottle", "flask", "jar"),
    "bookshelf": ("bookshelf", "shelf", "rack"),
    "monitor": ("monitor", "screen", "display"),
    "chair": ("chair", "stool", "seat"),
    "sofa": ("sofa", "couch"),
}


def query_terms(category: str, name: str) -> set[str]:
    cat = (category or "").strip().lower() or "object"
    nm = (name or "").strip() or cat
    return set(tokens(cat)) | set(tokens(nm)) | set(SYNONYMS.get(cat, ()))


def score(terms: Collection[str], entry_tokens: Collection[str]) -> float:
    if not terms:
        return 0.0
    return sum(1 for t in terms if t in entry_tokens) / len(terms)


@dataclass(frozen=True)
class LexicalHit:
    entry: LibraryEntry
    score: float


def _norm(text: str) -> str:
    return text.strip().lower().replace(" ", "_")


def choose(
    entries: Sequence[LibraryEntry], category: str, name: str, *, used_paths: Collection[str], min_score: float
) -> LexicalHit | None:
    """The best entry not in ``used_paths``, or None."""
    terms = query_terms(category, name)
    floor = min(1.0, max(0.0, min_score))
    cat, nm = _norm(category), _norm(name)
    best: tuple[float, int, int] | None = None
    best_entry: LibraryEntry | None = None
    for order, entry in enumerate(entries):
        if entry.path in used_paths:
            continue
        value = score(terms, entry.tokens)
        if value <= 0.0 or value < floor:
            continue
        own = _norm(entry.category)
        rank = 2 if own and own == nm else 1 if own and own == cat else 0
        key = (round(value, 9), rank, -order)
        if best is None or key > best:
            best, best_entry = key, entry
    if best_entry is None or best is None:
        return None
    return LexicalHit(best_entry, round(best[0], 4))
