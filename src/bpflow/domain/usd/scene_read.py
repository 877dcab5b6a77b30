"""Reading the assembled scene back: the composed stage and each object's world box.

Jobs after the assembly (replicator, isaac-lab) measure the scene as composed, not as the
layout planned it, so what they derive (support surfaces, spawn clearances) matches the USD a
simulator will load.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxr import Usd

from bpflow.domain.usd.checks import object_prims
from bpflow.domain.usd.prefixes import Stage2Env
from bpflow.domain.usd.usd_util import world_range
from bpflow.domain.usd.workspace import Workspace

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class SceneItem:
    id: str
    prim_path: str
    category: str
    """The object's kind (``density.canonical_kind``): what the rules key on."""
    sim_role: str
    lo: Vec3
    hi: Vec3

    @property
    def center(self) -> Vec3:
        return ((self.lo[0] + self.hi[0]) / 2, (self.lo[1] + self.hi[1]) / 2, (self.lo[2] + self.hi[2]) / 2)


def open_scene(ws: Workspace, env: Stage2Env) -> Usd.Stage | None:
    """The composed ``USD_PREFIX/scene.usda`` with the assets it references; None if absent."""
    key = f"{env.usd}/scene.usda"
    if ws.fetch(key) is None:
        return None
    ws.fetch_prefix(env.assets)
    return Usd.Stage.Open(str(ws.path(key)))


def scene_items(stage: Usd.Stage) -> list[SceneItem]:
    items = []
    for oid, prim in sorted(object_prims(stage).items()):
        rng = world_range(prim)
        if rng is None:
            continue
        cat = prim.GetAttribute("bp:kind").Get() or prim.GetAttribute("bp:category").Get() or "object"
        role = prim.GetAttribute("bp:sim_role").Get() or "manipulable_object"
        items.append(SceneItem(oid, str(prim.GetPath()), str(cat), str(role), rng[0], rng[1]))
    return items
