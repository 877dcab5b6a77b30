"""Collision approximation per category (``UsdPhysics.MeshCollisionAPI`` ``approximation``).

A dynamic body needs convex shapes. One convex hull is exact enough for compact things
(bottles, boxes, closed appliances) and the cheapest to simulate. Things whose use depends on
their concavity get a convex decomposition: a mug or bowl must hold what is put in it, a table
or chair must let objects and legs go under it, a shelf must have open compartments.
"""

from __future__ import annotations

from bpflow.domain.scene.density import canonical_category

CONVEX_HULL = "convexHull"
CONVEX_DECOMPOSITION = "convexDecomposition"

CONCAVE: frozenset[str] = frozenset(
    {
        "mug",
        "cup",
        "glass",
        "bowl",
        "pot",
        "pan",
        "kettle",
        "jar",
        "vase",
        "basket",
        "bucket",
        "trash_can",
        "sink",
        "table",
        "desk",
        "chair",
        "stool",
        "bench",
        "sofa",
        "couch",
        "bed",
        "shelf",
        "bookshelf",
        "rack",
        "wardrobe",
        "bathtub",
        "plant",
        "lamp",
    }
)


def approximation_for(category: str) -> str:
    return CONVEX_DECOMPOSITION if canonical_category(category) in CONCAVE else CONVEX_HULL
