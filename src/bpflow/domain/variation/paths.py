"""Where Stage 3 lives inside a scene, in one place.

The workflow passes these prefixes to its jobs as env vars, and the jobs accept overrides of
them; both sides derive them from here so a renamed object cannot make the workflow look for
something the job never writes. (The guard on prefixes a job is given is Stage 2's
``bpflow.domain.usd.prefixes.check_prefix``: both stages refuse the same escapes.)
"""

from __future__ import annotations

from dataclasses import dataclass

from bpflow.core.stages import STAGES
from bpflow.state.cas_json import scene_key

STAGE = STAGES["variation-assets"]


@dataclass(frozen=True)
class Stage3Paths:
    """Object keys of one scene's Stage 3 (reference: spec-stages-assets-usd.md §6.2)."""

    scene_id: str

    def key(self, *parts: str) -> str:
        return scene_key(self.scene_id, *parts)

    # -- prefixes (no trailing slash, as the reference passes them) --------------------------
    @property
    def assets(self) -> str:
        return self.key("assets")

    @property
    def usd(self) -> str:
        return self.key("usd")

    @property
    def replicator(self) -> str:
        return self.key("replicator")

    @property
    def isaac_lab(self) -> str:
        return self.key("isaac_lab")

    @property
    def variation_assets(self) -> str:
        return self.key("variation_assets")

    # -- objects -------------------------------------------------------------------------------
    @property
    def progress(self) -> str:
        return self.variation_assets + "/.progress.json"

    @property
    def report(self) -> str:
        return self.variation_assets + "/generation_report.json"

    @property
    def assets_json(self) -> str:
        return self.variation_assets + "/variation_assets.json"

    @property
    def complete_marker(self) -> str:
        return self.key(STAGE.complete[0])

    @property
    def failed_marker(self) -> str:
        return self.key(STAGE.failed[0])

    @property
    def simready_failed_marker(self) -> str:
        return self.variation_assets + "/simready/.failed"

    @property
    def simready_marker(self) -> str:
        return self.variation_assets + "/.simready_complete"

    @property
    def isaac_baseline_marker(self) -> str:
        return self.key(STAGES["usd-assembly"].complete_in("isaac_lab"))

    @property
    def isaac_refresh_marker(self) -> str:
        return self.isaac_lab + "/.isaac_lab_refresh_complete"

    # -- each job's env (the workflow passes these; the jobs read them) ---------------------
    def variation_gen_env(self, resume: bool) -> dict[str, object]:
        return {
            "REPLICATOR_PREFIX": self.replicator,
            "VARIATION_ASSETS_PREFIX": self.variation_assets,
            "ASSETS_PREFIX": self.assets,
            "PROGRESS_MARKER_PATH": self.progress,
            "RESUME_FROM_PROGRESS": resume,
            "PRIORITY_FILTER": "",
        }

    def simready_env(self, resume: bool) -> dict[str, object]:
        return {
            "ASSETS_PREFIX": self.variation_assets,
            "SIMREADY_PHYSICS_MODE": "deterministic",
            "PROGRESS_MARKER_PATH": self.progress,
            "RESUME_FROM_PROGRESS": resume,
        }

    def refresh_env(self) -> dict[str, object]:
        return {
            "ASSETS_PREFIX": self.assets,
            "USD_PREFIX": self.usd,
            "REPLICATOR_PREFIX": self.replicator,
            "ISAAC_LAB_PREFIX": self.isaac_lab,
            "VARIATION_ASSETS_PREFIX": self.variation_assets,
            "ISAAC_REFRESH_ONLY": "true",
            "RUN_RUNTIME_VALIDATION": "false",
        }


def replicator_manifest(replicator_prefix: str) -> str:
    """The replicator's list of assets to vary: variation-gen's one required input."""
    return replicator_prefix + "/variation_assets/manifest.json"


def variant_file(variation_prefix: str, asset_id: str) -> str:
    """One asset's variant file. ``obj_<id>/`` is the directory shape every Stage-2 consumer
    looks in (spec-text-stage1-and-artifacts.md §3.2), so the simready job finds it too."""
    return f"{variation_prefix}/obj_{asset_id}/variants.usda"
