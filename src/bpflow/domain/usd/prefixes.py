"""The prefixes a Stage-2 job works under, from its env, checked to stay inside the scene.

A job writes only under its own scene's prefix (DESIGN: bad input never touches another scene),
so every prefix a workflow or an operator passes is normalised and refused when it would leave
``scenes/<SCENE_ID>/``. Defaults are the reference's derived prefixes (spec §2.2).

Stage 3 runs simready on a scene's variation assets with ``SCENE_ID=<id>_variation`` (spec §6.3
step 8); such a job works under ``scenes/<id>/``, the scene the variations belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpflow.core.errors import ConfigError, InvalidSceneId
from bpflow.core.jobkit import env_str, require_env, scene_prefix
from bpflow.core.triggers import validate_scene_id

#: env name → the scene-relative default folder (spec §2.2 "derived prefixes").
PREFIX_DEFAULTS: dict[str, str] = {
    "ASSETS_PREFIX": "assets",
    "LAYOUT_PREFIX": "layout",
    "USD_PREFIX": "usd",
    "SEG_PREFIX": "seg",
    "REPLICATOR_PREFIX": "replicator",
    "ISAAC_LAB_PREFIX": "isaac_lab",
    "VARIATION_ASSETS_PREFIX": "variation_assets",
}


def scene_root(scene_id: str) -> str:
    return f"scenes/{validate_scene_id(scene_id)}/"


VARIATION_SUFFIX = "_variation"


def data_scene(scene_id: str) -> str:
    """The scene whose folder a job works in (``<id>_variation`` → ``<id>``)."""
    base = scene_id.removesuffix(VARIATION_SUFFIX)
    return base if base and base != scene_id else scene_id


@dataclass(frozen=True)
class Stage2Env:
    scene_id: str
    """The scene the job's outputs belong to (its folder: ``root``)."""
    assets: str
    layout: str
    usd: str
    seg: str
    replicator: str
    isaac_lab: str
    variation_assets: str

    @property
    def root(self) -> str:
        return scene_root(self.scene_id).rstrip("/")

    def key(self, rel: str) -> str:
        """A scene-relative key: ``scene.key("usd-assembly-job/x")``."""
        return f"{self.root}/{rel}"

    def inside(self, key: object) -> str | None:
        """A key another job recorded, if it names an object of this scene (else None)."""
        if not isinstance(key, str) or ".." in key.split("/") or not key.startswith(self.root + "/"):
            return None
        return key


def load_env() -> Stage2Env:
    """Read ``SCENE_ID`` and every prefix (default: the reference's layout under the scene)."""
    raw_scene = require_env("SCENE_ID")
    try:
        scene_id = data_scene(validate_scene_id(raw_scene))
    except InvalidSceneId as exc:
        raise ConfigError(exc.message, field="SCENE_ID") from None
    values: dict[str, str] = {}
    for name, default in PREFIX_DEFAULTS.items():
        given = env_str(name)
        values[name] = scene_prefix(scene_id, name, given) if given else f"scenes/{scene_id}/{default}"
    return Stage2Env(
        scene_id=scene_id,
        assets=values["ASSETS_PREFIX"],
        layout=values["LAYOUT_PREFIX"],
        usd=values["USD_PREFIX"],
        seg=values["SEG_PREFIX"],
        replicator=values["REPLICATOR_PREFIX"],
        isaac_lab=values["ISAAC_LAB_PREFIX"],
        variation_assets=values["VARIATION_ASSETS_PREFIX"],
    )
