"""The tokeniser shared by lexical retrieval, ANN reranking and the local embedder.

One rule everywhere (reference §3.3): lower-case, split on every run of characters outside
``[a-z0-9]``, keep tokens of two characters or more. Sharing it matters: a candidate scored
by one component and re-scored by another must be cut into the same words.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[^a-z0-9]+")


def tokens(text: str | None) -> list[str]:
    """Tokens in order of appearance (duplicates kept)."""
    if not text:
        return []
    return [tok for tok in _SPLIT.split(str(text).lower()) if len(tok) >= 2]


def token_set(*texts: str | None) -> set[str]:
    out: set[str] = set()
    for text in texts:
        out.update(tokens(text))
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|, 0 for two empty sets."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0
