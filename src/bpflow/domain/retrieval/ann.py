"""A real approximate-nearest-neighbour index (usearch HNSW, cosine) over catalog vectors.

The index is rebuilt at the start of every adapter run from the catalog rows in the database,
so every worker of a deployment searches the same catalog without sharing a file. Building
is single-threaded, which keeps the graph (and so the answers) the same on every machine.

Import order matters: the usearch wheel exports its statically linked C++ runtime, and when it
is loaded before pxr, pxr's text writer prints integer arrays as ``[`` (a broken ``.usda``).
Loading pxr first avoids it, so this module does that before importing usearch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import numpy as np
import pxr.Usd  # noqa: F401  - must be loaded before usearch (see the module docstring)
from usearch.index import Index  # noqa: E402

T = TypeVar("T")

CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64


class AnnIndex(Generic[T]):
    """Items with one vector each; ``search`` returns (item, cosine similarity), best first."""

    def __init__(self, items: Sequence[T], vectors: np.ndarray) -> None:
        if len(items) != len(vectors):
            raise ValueError("one vector per item")
        self.items = list(items)
        self.dimension = int(vectors.shape[1]) if len(vectors) else 0
        self._index: Index | None = None
        if self.items:
            self._index = Index(
                ndim=self.dimension,
                metric="cos",
                dtype="f32",
                connectivity=CONNECTIVITY,
                expansion_add=EXPANSION_ADD,
                expansion_search=EXPANSION_SEARCH,
            )
            self._index.add(
                np.arange(len(self.items), dtype=np.uint64), np.ascontiguousarray(vectors, dtype=np.float32), threads=1
            )

    def __len__(self) -> int:
        return len(self.items)

    def search(self, vector: np.ndarray, top_k: int) -> list[tuple[T, float]]:
        if self._index is None or top_k < 1:
            return []
        if vector.shape != (self.dimension,):
            raise ValueError(f"query has {vector.shape} dimensions, the index {self.dimension}")
        matches = self._index.search(np.ascontiguousarray(vector, dtype=np.float32), min(top_k, len(self.items)))
        return [
            (self.items[int(key)], float(1.0 - dist)) for key, dist in zip(matches.keys, matches.distances, strict=True)
        ]
