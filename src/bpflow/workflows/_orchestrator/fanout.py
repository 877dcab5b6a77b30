"""Multi-seed fan-out: which child scenes a request becomes, and where their requests live.

A request with ``seed_count > 1`` runs once per seed, each seed as its own child scene
``<scene_id>-s001`` ... whose request lives under ``internal/`` (a path that starts nothing, so
the fan-out can never recurse). A single-seed request runs in place: the child is the scene.
The request bodies themselves (child request, variants index) come from
:mod:`bpflow.domain.request.contract`, the contract's one owner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bpflow.domain.request.contract import child_scene_id

CHILD_REQUEST = "internal/scene_request.generated.json"
VARIANTS_INDEX = "variants/index.json"


@dataclass(frozen=True)
class Child:
    """One seed of a request: the scene it writes and the request object its jobs read."""

    scene_id: str
    seed: int
    request_object: str
    generated: bool
    """True when the orchestrator writes the child request (multi-seed); False = the trigger object."""

    def key(self, rel: str) -> str:
        return f"scenes/{self.scene_id}/{rel}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_children(scene_id: str, seed_count: int, trigger_object: str) -> list[Child]:
    """The children in seed order (the request parser already checked their ids fit)."""
    if seed_count <= 1:
        return [Child(scene_id=scene_id, seed=1, request_object=trigger_object, generated=False)]
    out = []
    for seed in range(1, seed_count + 1):
        child = child_scene_id(scene_id, seed)
        out.append(Child(scene_id=child, seed=seed, request_object=f"scenes/{child}/{CHILD_REQUEST}", generated=True))
    return out
