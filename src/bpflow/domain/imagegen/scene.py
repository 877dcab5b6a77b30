"""A room photo's plan becomes a Stage-1 package through the text path's own machinery.

The vision model decides *what* is in the room; the text path's room layout, placement solver,
package builder and quality gate decide *where* and whether the result is good enough, so an
image scene is exactly as physically plausible as a text scene and the same adapter (retrieval,
manifest, layout, inventory) turns it into the Stage-1 contracts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bpflow.domain.imagegen.vision import VisionPlan
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions, generate_scene
from bpflow.domain.textgen.llm_planner import LLMResult
from bpflow.domain.textgen.package import build_package
from bpflow.domain.textgen.quality_gate import GateThresholds, generate_with_gate

#: The package keeps the text contract's backend name (the adapter and the contracts know it);
#: the vision step is recorded as the backend entry and the planner.
TEXT_BACKEND = "internal"
BACKEND = "image_vision"
PLANNER = "vision_llm"


@dataclass(frozen=True)
class ImageSource:
    """Where the photo came from (recorded in the package's provenance)."""

    image_object: str
    image_generation: int
    image_sha256: str
    width: int
    height: int
    exif_rotated: bool


def describe(vision: VisionPlan) -> str:
    """The scene's prompt: what the model saw, in words (the faithfulness report's reference)."""
    counts = Counter(o.name for o in vision.plan.objects)
    listing = ", ".join(f"{n} {name}" if n > 1 else name for name, n in counts.items())
    room = (vision.plan.room_type or "room").replace("_", " ")
    head = vision.description or f"a photo of a {room}"
    return f"{head.rstrip('.')}. A {room} with {listing}"


def image_package(
    scene_id: str,
    vision: VisionPlan,
    llm: LLMResult,
    source: ImageSource,
    *,
    seed: int,
    tier: str,
    provider_policy: str,
    thresholds: GateThresholds,
) -> dict[str, Any]:
    """Place the photo's objects, gate the scene and return the package (or raise QualityGateFailed)."""
    prompt = describe(vision)

    def generate(text: str) -> dict[str, Any]:
        req = GenerationRequest(scene_id, text, {}, tier, seed, provider_policy)
        scene = generate_scene(
            req, LLMOptions(), objects=list(vision.plan.objects), room_type=vision.plan.room_type, planner=PLANNER
        )
        scene.llm = llm
        package = build_package(
            scene,
            text_backend=TEXT_BACKEND,
            backend={
                "selected": TEXT_BACKEND,
                "backends": [{"name": BACKEND, "status": "completed", "mode": "vision_llm"}],
            },
            provider_used=llm.provider or "none",
            mode="vision_llm",
        )
        package["used_llm"] = True
        package["source_mode"] = "image"
        package["planning"]["details"] = {
            "repairs": vision.plan.repairs[:50],
            "image_positions": vision.image_positions[:64],
        }
        package["provenance"]["image"] = {
            "object": source.image_object,
            "generation": source.image_generation,
            "sha256": source.image_sha256,
            "width": source.width,
            "height": source.height,
            "exif_rotated": source.exif_rotated,
        }
        return package

    return generate_with_gate(generate, prompt, tier, thresholds)
